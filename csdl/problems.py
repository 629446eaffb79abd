"""What the readers and the import report: a problem names its file, sheet, row and column."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"  # structural: the whole import is refused
WARNING = "warning"  # a bad cell: stored as not entered, kept in invalid_value


@dataclass(frozen=True)
class Problem:
    file: str
    code: str  # key of a message in csdl.i18n
    severity: str = ERROR
    sheet: str | None = None
    row: int | None = None  # 1-based, as Excel shows it
    column: str | None = None  # column letter(s) as Excel shows them, or a header text
    params: dict[str, Any] = field(default_factory=dict)

    def where(self, lang: str = "vi") -> str:
        from .i18n import t

        parts = [self.file]
        if self.sheet:
            parts.append(t("where.sheet", lang, sheet=self.sheet))
        if self.row is not None:
            parts.append(t("where.row", lang, row=self.row))
        if self.column:
            parts.append(t("where.column", lang, column=self.column))
        return ", ".join(parts)

    def message(self, lang: str = "vi") -> str:
        from .i18n import t

        return f"{self.where(lang)}: {t('problem.' + self.code, lang, **self.params)}"


class ImportRefused(Exception):
    """Raised with every structural problem found; nothing has been written."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def column_letter(index0: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = index0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
