"""Facilities (issue 7) against the norms of Thông tư 13/2020 as amended by TT23/2024
(DOMAIN.md §5): rooms by type and construction, classrooms per class, the special rooms the
standard asks for, student toilets against the number of boys and girls, computers per
student, and the condition of rooms and equipment.

Pure functions over the `facility_*` questions; every norm is a setting (csdl.settings).
Room types and equipment items are free text in the project's template, so they are
recognised by their words, diacritics and case aside:

- a **classroom** is a room whose type is "Phòng học" (not a subject room), and it is
  **usable** unless its condition is "Hỏng" (a blank condition says nothing: usable);
- **special rooms**: music (âm nhạc), fine arts (mĩ/mỹ thuật), computer room (tin học), library
  (thư viện), meeting room (phòng họp, hội đồng), health room (y tế), storeroom (kho); one
  usable room of each kind is asked for;
- **student toilets** are equipment items: urinals (bồn / máng tiểu), toilets (bệ / chậu xí,
  bồn cầu) and hand basins (chậu rửa, rửa tay), for boys ("nam") or girls ("nữ"); items naming
  teachers (giáo viên) are not the students'. Boys need 1 urinal + 1 toilet + 1 basin per
  `boys_per_toilet_set`, girls 1 toilet + 1 basin per `girls_per_toilet_set` (rounded up);
  basins are often shared, so all student basins are compared with both needs together;
- **computers** are items naming "máy tính" / "máy vi tính" (not teachers', not calculators);
- a count is the working count where the template gives it, else the quantity.
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

from .settings import Settings
from .staffing import required
from .text import fold, nfc

CLASSROOM = "Phòng học"
CONSTRUCTIONS = {"kienco": "solid", "bankienco": "semi_solid", "tam": "temporary"}
CONSTRUCTION_KEYS = ("solid", "semi_solid", "temporary", "unknown")
CONDITIONS = {"tot": "good", "cansuachua": "repair", "hong": "broken"}
CONDITION_KEYS = ("good", "repair", "broken", "unknown")
# kind → phrases (tuples of folded words) that name it, in the order the page lists them
SPECIAL_ROOMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "music": (("am", "nhac"),),
    "arts": (("mi", "thuat"), ("my", "thuat")),
    "computer": (("tin", "hoc"),),
    "library": (("thu", "vien"),),
    "meeting": (("phong", "hop"), ("hoi", "dong")),
    "health": (("y", "te"),),
    "storeroom": (("kho",),),
}
FIXTURES: dict[str, tuple[tuple[str, ...], ...]] = {
    "urinal": (("bon", "tieu"), ("mang", "tieu"), ("tieu", "nam")),
    "toilet": (("xi",), ("bon", "cau"), ("xi", "bet")),
    "basin": (("rua", "tay"), ("chau", "rua"), ("lavabo",)),
}
_TEACHERS = ("giao", "vien")
_COMPUTER = (("may", "tinh"), ("may", "vi", "tinh"), ("computer",))
_NOT_COMPUTER = (("bo", "tui"), ("cam", "tay"))  # calculators
_WORD = re.compile(r"\w+")


# --- words -------------------------------------------------------------------------------
def words(text: object) -> tuple[str, ...]:
    """The folded words of a text: 'Phòng Âm nhạc' → ('phong', 'am', 'nhac')."""
    if not isinstance(text, str):
        return ()
    plain = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    return tuple(fold(w) for w in _WORD.findall(plain.lower()) if fold(w))


def _has(found: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(found[i:i + n] == phrase for i in range(len(found) - n + 1))


def _any(found: tuple[str, ...], phrases) -> bool:
    return any(_has(found, p) for p in phrases)


def room_kind(room_type: object) -> str | None:
    """'classroom', a key of SPECIAL_ROOMS, or None for any other room."""
    found = words(room_type)
    for kind, phrases in SPECIAL_ROOMS.items():
        if _any(found, phrases):
            return kind
    if found[:2] == ("phong", "hoc") and "bo" not in found[2:3]:
        return "classroom"
    return None


def construction(value: object) -> str:
    return CONSTRUCTIONS.get(fold(value) if isinstance(value, str) else "", "unknown")


def condition(value: object) -> str:
    return CONDITIONS.get(fold(value) if isinstance(value, str) else "", "unknown")


def usable(value: object) -> bool:
    """A room is usable unless its condition is 'Hỏng' (broken)."""
    return condition(value) != "broken"


def fixture(item: object) -> tuple[str, str | None] | None:
    """(kind, 'boys' | 'girls' | None) for a student toilet fixture; None otherwise."""
    found = words(item)
    if _has(found, _TEACHERS):
        return None
    kind = next((k for k, phrases in FIXTURES.items() if _any(found, phrases)), None)
    if kind is None:
        return None
    gender = "boys" if "nam" in found else "girls" if "nu" in found else None
    return kind, gender


def is_computer(item: object) -> bool:
    found = words(item)
    return _any(found, _COMPUTER) and not _has(found, _TEACHERS) and not _any(found, _NOT_COMPUTER)


def _count(quantity: object, working: object) -> int:
    """The working count where given, else the quantity."""
    for value in (working, quantity):
        if value is not None and not pd.isna(value):
            return int(value)
    return 0


# --- rooms -------------------------------------------------------------------------------
def _each(fn, values) -> list:
    """fn of each value, computed once per distinct value (a school's rooms repeat a few
    names; the word matching costs ~60 µs a call)."""
    done: dict = {}
    out = []
    for v in values:
        try:
            out.append(done[v])
        except (KeyError, TypeError):
            out.append(fn(v))
            try:
                done[v] = out[-1]
            except TypeError:
                pass
    return out


def annotate_rooms(rooms: pd.DataFrame) -> pd.DataFrame:
    out = rooms.copy()
    out["room_type"] = [nfc(v) if isinstance(v, str) else "" for v in out["room_type"]]
    out["kind"] = _each(room_kind, out["room_type"])
    out["construction_key"] = _each(construction, out["construction"])
    out["condition_key"] = _each(condition, out["condition"])
    out["usable"] = pd.Series(_each(usable, out["condition"]), index=out.index, dtype=bool)
    return out


def _type_order(room_types: pd.Series) -> list[int]:
    """Positions of room types in display order: classrooms first, then by name (folded)."""
    keys = [(room_kind(t) != "classroom", fold(t), i) for i, t in enumerate(room_types)]
    return [k[2] for k in sorted(keys)]


def rooms_by_type(rooms: pd.DataFrame) -> pd.DataFrame:
    """Per room type: rooms, solid / semi_solid / temporary / unknown (construction), usable,
    area_m2. Classrooms first, then the types by name."""
    a = annotate_rooms(rooms)
    columns = ["room_type", "rooms", *CONSTRUCTION_KEYS, "usable", "area_m2"]
    if a.empty:
        return pd.DataFrame(columns=columns)
    table = pd.crosstab(a["room_type"], a["construction_key"]).reindex(
        columns=list(CONSTRUCTION_KEYS), fill_value=0)
    table["rooms"] = table.sum(axis=1)
    table["usable"] = a.groupby("room_type")["usable"].sum()
    table["area_m2"] = a.groupby("room_type")["area_m2"].sum(min_count=1)
    table = table.reset_index()
    table = table.iloc[_type_order(table["room_type"])]
    out = table[columns].reset_index(drop=True)
    out.columns.name = None
    for c in ["rooms", *CONSTRUCTION_KEYS, "usable"]:
        out[c] = out[c].astype(int)
    return out


def room_conditions(rooms: pd.DataFrame) -> pd.DataFrame:
    """Per room type: rooms in good condition, needing repair, broken, not stated."""
    a = annotate_rooms(rooms)
    columns = ["room_type", "rooms", *CONDITION_KEYS]
    if a.empty:
        return pd.DataFrame(columns=columns)
    table = pd.crosstab(a["room_type"], a["condition_key"]).reindex(
        columns=list(CONDITION_KEYS), fill_value=0)
    table["rooms"] = table.sum(axis=1)
    table = table.reset_index()
    out = table.iloc[_type_order(table["room_type"])][columns].reset_index(drop=True)
    out.columns.name = None
    for c in ["rooms", *CONDITION_KEYS]:
        out[c] = out[c].astype(int)
    return out


def classrooms(rooms: pd.DataFrame) -> dict:
    """classrooms (rooms of type 'Phòng học'), usable, and of them solid / semi / temporary."""
    a = annotate_rooms(rooms)
    own = a[a["kind"] == "classroom"]
    out = {"classrooms": int(len(own)), "usable": int(own["usable"].sum())}
    for key in CONSTRUCTION_KEYS:
        out[key] = int((own["construction_key"] == key).sum())
    return out


def classrooms_per_class(rooms: pd.DataFrame, classes: int, norm: float) -> dict:
    """Usable classrooms per class against the norm: have, classes, ratio, norm, needed, met."""
    have = classrooms(rooms)["usable"]
    return _against(have, classes, norm)


def _against(have: int, base: int, norm: float) -> dict:
    needed = required(norm, base)
    return {"have": int(have), "base": int(base),
            "ratio": have / base if base else None, "norm": norm, "needed": needed,
            "shortfall": max(needed - have, 0), "met": have >= needed}


def special_rooms(rooms: pd.DataFrame) -> pd.DataFrame:
    """Each special room the standard asks for: kind, rooms, usable, present (a usable one),
    room_types (as the template names them)."""
    a = annotate_rooms(rooms)
    rows = []
    for kind in SPECIAL_ROOMS:
        own = a[a["kind"] == kind]
        rows.append({"kind": kind, "rooms": int(len(own)), "usable": int(own["usable"].sum()),
                     "present": bool(own["usable"].any()),
                     "room_types": ", ".join(dict.fromkeys(own["room_type"]))})
    return pd.DataFrame(rows, columns=["kind", "rooms", "usable", "present", "room_types"])


# --- toilets, computers, equipment ----------------------------------------------------------
def students_by_gender(students: pd.DataFrame) -> dict:
    """boys, girls, unknown and total from `facility_students` (gender, students)."""
    out = {"boys": 0, "girls": 0, "unknown": 0}
    for gender, n in zip(students["gender"], students["students"]):
        key = fold(gender) if isinstance(gender, str) else ""
        out["boys" if key == "nam" else "girls" if key == "nu" else "unknown"] += int(n)
    out["total"] = sum(out.values())
    return out


def toilets(equipment: pd.DataFrame, boys: int, girls: int, settings: Settings) -> pd.DataFrame:
    """Student toilet fixtures against the norm, one row each: fixture (boys_urinal,
    boys_toilet, girls_toilet, basin), have, needed, shortfall, met; and the student fixtures
    whose gender is not stated (toilet_unstated / urinal_unstated, no norm) when there are any."""
    have: dict[str, int] = {}
    for item, quantity, working_ in zip(equipment["item"], equipment["quantity"],
                                        equipment["working"]):
        found = fixture(item)
        if found is None:
            continue
        kind, gender = found
        key = "basin" if kind == "basin" else f"{gender}_{kind}" if gender else f"{kind}_unstated"
        have[key] = have.get(key, 0) + _count(quantity, working_)
    boys_sets = required(1 / settings.boys_per_toilet_set, boys)
    girls_sets = required(1 / settings.girls_per_toilet_set, girls)
    need = {"boys_urinal": boys_sets, "boys_toilet": boys_sets, "girls_toilet": girls_sets,
            "basin": boys_sets + girls_sets}
    rows = [{"fixture": k, "have": have.get(k, 0), "needed": n,
             "shortfall": max(n - have.get(k, 0), 0), "met": have.get(k, 0) >= n}
            for k, n in need.items()]
    rows += [{"fixture": k, "have": have[k], "needed": None, "shortfall": None, "met": None}
             for k in ("urinal_unstated", "toilet_unstated") if have.get(k)]
    return pd.DataFrame(rows, columns=["fixture", "have", "needed", "shortfall", "met"])


def computers(equipment: pd.DataFrame) -> int:
    """Working computers for students (the quantity where the working count is not given)."""
    return sum(_count(q, w) for item, q, w in zip(equipment["item"], equipment["quantity"],
                                                  equipment["working"]) if is_computer(item))


def computers_per_student(equipment: pd.DataFrame, students: int, norm: float) -> dict:
    return _against(computers(equipment), students, norm)


def equipment_condition(equipment: pd.DataFrame) -> pd.DataFrame:
    """Per item: quantity, working, broken (quantity − working) and the share working."""
    out = equipment[["item", "quantity", "working"]].copy()
    q = pd.to_numeric(out["quantity"], errors="coerce")
    w = pd.to_numeric(out["working"], errors="coerce")
    out["broken"] = _whole(q - w)
    out["share"] = (w / q.where(q > 0)).astype(float)
    out["quantity"], out["working"] = _whole(q), _whole(w)
    return out.reset_index(drop=True)


def _whole(values: pd.Series) -> pd.Series:
    """Whole numbers as int, or as objects with None where some are missing."""
    if values.isna().any():
        return pd.Series([None if pd.isna(v) else int(v) for v in values], index=values.index,
                         dtype=object)
    return values.astype(int)


# --- every norm in one table --------------------------------------------------------------
def norms(rooms: pd.DataFrame, equipment: pd.DataFrame, classes: int, students: dict,
          settings: Settings) -> pd.DataFrame:
    """One row per norm: indicator, have, base (what it is counted against), ratio, norm,
    needed, met. Indicators: classrooms_per_class, special_<kind>, toilet fixtures,
    computers_per_student."""
    rows = []
    per_class = classrooms_per_class(rooms, classes, settings.classrooms_per_class)
    rows.append({"indicator": "classrooms_per_class", **per_class})
    for r in special_rooms(rooms).itertuples():
        rows.append({"indicator": f"special_{r.kind}", "have": r.usable, "base": None,
                     "ratio": None, "norm": 1, "needed": 1, "shortfall": 0 if r.present else 1,
                     "met": r.present})
    for r in toilets(equipment, students["boys"], students["girls"], settings).itertuples():
        if r.needed is None or pd.isna(r.needed):
            continue
        base = {"boys_urinal": students["boys"], "boys_toilet": students["boys"],
                "girls_toilet": students["girls"],
                "basin": students["boys"] + students["girls"]}[r.fixture]
        rows.append({"indicator": f"toilet_{r.fixture}", "have": r.have, "base": base,
                     "ratio": None, "norm": None, "needed": int(r.needed),
                     "shortfall": int(r.shortfall), "met": bool(r.met)})
    per_student = computers_per_student(equipment, students["total"],
                                        settings.computers_per_student)
    rows.append({"indicator": "computers_per_student", **per_student})
    return pd.DataFrame(rows, columns=["indicator", "have", "base", "ratio", "norm", "needed",
                                       "shortfall", "met"])


def describe(table: pd.DataFrame, students: dict, settings: Settings,
             lang: str = "vi") -> pd.DataFrame:
    """The norms table (`norms`) as text for the screen and Excel: indicator, value, norm and
    verdict, each in `lang`, beside the `met` flag."""
    from .i18n import fmt_number, t

    def n(value: object, decimals: int = 0) -> str:
        return fmt_number(value, lang, decimals)

    rows = []
    for r in table.itertuples():
        ind = r.indicator
        if ind in ("classrooms_per_class", "computers_per_student"):
            decimals = 2 if ind == "classrooms_per_class" else 3
            value = t("facilities.value_ratio", lang,
                      ratio="–" if r.ratio is None or pd.isna(r.ratio) else n(r.ratio, decimals),
                      have=n(r.have), base=n(r.base))
            norm = t(f"facilities.norm.{ind}", lang, norm=n(r.norm, decimals), base=n(r.base),
                     needed=n(r.needed))
        elif ind.startswith("special_"):
            value, norm = n(r.have), t("facilities.norm.special", lang)
        else:
            fixture_ = ind.removeprefix("toilet_")
            value = n(r.have)
            norm = t(f"facilities.norm.{fixture_}", lang, boys=n(students["boys"]),
                     girls=n(students["girls"]), boys_per=n(settings.boys_per_toilet_set),
                     girls_per=n(settings.girls_per_toilet_set), needed=n(r.needed))
        verdict = t("facilities.met", lang) if r.met else \
            t("facilities.not_met", lang, shortfall=n(r.shortfall))
        rows.append({"indicator": t(f"facilities.indicator.{ind}", lang), "value": value,
                     "norm": norm, "verdict": verdict, "met": bool(r.met)})
    return pd.DataFrame(rows, columns=["indicator", "value", "norm", "verdict", "met"])
