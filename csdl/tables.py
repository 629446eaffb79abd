"""What a table shows on screen, and tables that wrap (no Streamlit import here: ui.table
draws them).

st.dataframe draws a canvas grid: it never wraps, so a long text (a rule's description, a
reason typed by a teacher) is cut at its column's edge, and a table whose columns are wider
than the page gets a horizontal scrollbar that hides the last columns. Tables a user reads
whole — long texts, many counts under long headers, a table in a narrow page column — are
shown with st.table instead: an HTML table whose headers and cells wrap, so every column and
every text fits at 1366 px as at 1920 px (tests/browser/test_fit.py). st.table renders each
cell and header as Markdown: every text is made literal, as the data must show as typed. The
Excel file is the same either way: the raw values under the translated headers, a title row
and the snapshot.
"""
from __future__ import annotations

import pandas as pd

from .i18n import fmt_number, fmt_percent, t
from .literal import literal

# Past this many rows the table scrolls inside a fixed height, its header kept in view.
SCROLL_ROWS = 25
SCROLL_HEIGHT = 560


def screen_text(df: pd.DataFrame, columns: dict[str, str], lang: str) -> pd.DataFrame:
    """The columns named, under translated headers, numbers in the user's style — as
    ui.table shows them."""
    shown = df[list(columns)].copy()
    for col in shown.columns:
        if col in ("completion", "ratio", "share", "chance", "precision", "recall"):
            shown[col] = [fmt_percent(v, lang) if pd.notna(v) else "–" for v in shown[col]]
        elif pd.api.types.is_integer_dtype(shown[col]) and col not in ("grade",):
            shown[col] = [fmt_number(v, lang) for v in shown[col]]
    shown.columns = [t(k, lang) for k in columns.values()]
    return shown


def literal_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell and header as Markdown that shows it as typed; a missing value empty."""
    out = df.map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v))
                 else literal(v))
    out.columns = [literal(c) for c in df.columns]
    return out.reset_index(drop=True)


def height(rows: int) -> int | str:
    return SCROLL_HEIGHT if rows > SCROLL_ROWS else "content"
