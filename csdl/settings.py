"""Norms that DOMAIN.md §5 marks as open to change: defaults here, overridable per installation
in `<data>/settings.yaml` (for example `class_size_max: 30`). No Streamlit, no state."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import yaml

SETTINGS_FILE = "settings.yaml"


class SettingsError(Exception):
    """settings.yaml cannot be used; the message names the file and the setting."""


@dataclass(frozen=True)
class Settings:
    class_size_max: int = 35  # students per class (Thông tư 28/2020, Điều lệ trường tiểu học)
    disabled_per_class_max: int = 2  # students with disabilities per inclusive class
    combined_class_size_max: int = 15  # students in a combined-grade class (lớp ghép)
    teachers_per_class: float = 1.5  # schools teaching two sessions a day (unconfirmed target)
    # Facilities (Thông tư 13/2020 as amended by TT23/2024; DOMAIN.md §5).
    classrooms_per_class: float = 1.0  # usable classrooms ("Phòng học") per class
    boys_per_toilet_set: int = 30  # boys per set of 1 urinal + 1 toilet + 1 basin
    girls_per_toilet_set: int = 20  # girls per set of 1 toilet + 1 basin
    # Computers for students per enrolled student: not in DOMAIN.md; one for every 20 students
    # is this project's assumption, to be set by the school or the district.
    computers_per_student: float = 0.05


def load(data_dir: Path | str) -> Settings:
    """The defaults, with the values of `<data>/settings.yaml` where it gives them."""
    path = Path(data_dir) / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        given = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: {exc}") from exc
    if not isinstance(given, dict):
        raise SettingsError(f"{path}: expected 'name: value' lines")
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise SettingsError(f"{path}: unknown settings {', '.join(map(str, unknown))}; "
                            f"known: {', '.join(known)}")
    values = {}
    for name, value in given.items():
        kind = int if known[name].type == "int" else float
        # bool is an int in Python; a yes/no is never a count.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
                or (kind is int and value != int(value)):
            raise SettingsError(f"{path}: {name} must be a positive "
                                f"{'whole number' if kind is int else 'number'}, got {value!r}")
        values[name] = kind(value)
    return replace(Settings(), **values)
