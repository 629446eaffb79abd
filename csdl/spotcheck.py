"""Spot checks (kiểm tra xác suất): a reproducible sample of entered values, each compared with
the paper (tests, the printed class summary), and the error rate with its exact 95% interval.

The population is every owed value of a period that holds something in the database
(`queries/spot_population.sql`, built on `entry_cells`, so "owed" means what it means
everywhere); one item is one value, a level or a score. A sample is drawn from the population
put in a stable order, with `numpy.random.default_rng(seed)`, so the same check always draws the
same items. Checks and verdicts are kept in app.db; each write is one short transaction,
audited after it commits. Names of students, classes and teachers are stored with the items as
they were when the sample was drawn: the list printed for the classroom reads the same later.
"""
from __future__ import annotations

import json
import math
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from . import changes, exports, progress, queries, records, rules, schedule, snapshots
from .scope import check as check_school  # `scope` here is a spot check's scope
from .i18n import fmt_date, fmt_datetime, t
from .text import fold, nfc
from .timeutil import now_local

METHODS = ("simple", "stratified", "risk")
VERDICTS = ("match", "mismatch", "cannot_verify")
CONFIDENCE = 0.95
QUALITY_FLAGS = ("score_zero", "level_score_mismatch", "invalid_value")
FLAGS = ("changed_after_lock", "entered_late", *QUALITY_FLAGS)
# Risk-weighted sampling: an item's weight is 1 plus these for what it is flagged with, so an
# item changed after the lock is five times as likely to be drawn as an unflagged one.
RISK_WEIGHTS = {"changed_after_lock": 4.0, "entered_late": 2.0, "quality": 4.0}
# One item of the population; unique, and the order the population is put in before drawing.
ITEM_KEY = ["class_id", "student_id", "item_type", "item_code", "field"]
FONT_DIR = Path(__file__).with_name("fonts")

# Items in the order of the catalogue (subjects, then qualities and competencies), as on paper.
_ITEM_ORDER = {code: i for i, code in enumerate(
    [subject.code for subject in rules.SUBJECTS] + [trait.code for trait in rules.TRAITS])}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spot_check (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_year TEXT NOT NULL,
    school_id TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,    -- the data the sample was drawn from
    period TEXT NOT NULL,
    scope TEXT NOT NULL,          -- JSON: grades, classes, subjects, traits (empty = all)
    method TEXT NOT NULL CHECK (method IN ('simple', 'stratified', 'risk')),
    seed INTEGER NOT NULL,
    size INTEGER NOT NULL,
    target_rate REAL,             -- the error rate the size was chosen to show is not exceeded
    created_by TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'finished')),
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS spot_check_school ON spot_check (school_id, school_year);
CREATE TABLE IF NOT EXISTS spot_item (
    check_id INTEGER NOT NULL REFERENCES spot_check (id),
    position INTEGER NOT NULL,    -- 1.. in the order of the printed list
    student_id TEXT NOT NULL,
    full_name TEXT,
    class_id TEXT NOT NULL,
    class_name TEXT,
    grade INTEGER,
    item_type TEXT NOT NULL,
    item_code TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('level', 'score')),
    db_value TEXT,
    staff_id TEXT,
    staff_name TEXT,
    flags TEXT NOT NULL DEFAULT '',  -- comma-separated FLAGS the item had when drawn
    verdict TEXT CHECK (verdict IN ('match', 'mismatch', 'cannot_verify')),
    paper_value TEXT,
    note TEXT,
    verified_by TEXT,
    verified_at TEXT,
    request_id INTEGER,           -- the change request made from a mismatch
    PRIMARY KEY (check_id, position)
);
"""
CHECK_COLUMNS = ["id", "school_year", "school_id", "snapshot_id", "period", "scope", "method",
                 "seed", "size", "target_rate", "created_by", "created_at", "status",
                 "finished_at"]
ITEM_COLUMNS = ["check_id", "position", "student_id", "full_name", "class_id", "class_name",
                "grade", "item_type", "item_code", "field", "db_value", "staff_id", "staff_name",
                "flags", "verdict", "paper_value", "note", "verified_by", "verified_at",
                "request_id"]
# What a table of results holds per group (and `checks` per check).
TALLY_COLUMNS = ["size", "verified", "checked", "mismatches", "cannot_verify", "error_rate",
                 "ci_low", "ci_high"]


class SpotError(Exception):
    """A check, verdict or request that cannot be recorded; `key` is an i18n message key."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def sample_size(max_rate: float, confidence: float = CONFIDENCE) -> int:
    """Zero-failure acceptance sampling: the smallest n with (1 − p)^n ≤ 1 − confidence. If n
    items drawn at random are all right, the error rate is below p with that confidence."""
    if not 0 < max_rate < 1 or not 0 < confidence < 1:
        raise SpotError("spot.bad_rate", rate=max_rate)
    n = math.ceil(math.log(1 - confidence) / math.log(1 - max_rate))
    while n > 1 and (1 - max_rate) ** (n - 1) <= 1 - confidence:  # floating-point slack
        n -= 1
    while (1 - max_rate) ** n > 1 - confidence:
        n += 1
    return n


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p); each term is computed in log space, so large n
    neither overflows nor underflows."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    return min(1.0, math.fsum(
        math.exp(log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p
                 + (n - i) * log_q) for i in range(k + 1)))


def _bisect(decreasing_in_p, target: float) -> float:
    """The p in [0, 1] where a function decreasing in p crosses `target`."""
    low, high = 0.0, 1.0
    for _ in range(80):
        mid = (low + high) / 2
        if decreasing_in_p(mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact two-sided interval for k errors in n checked (α/2 on each side): the lower end
    is the p at which P(X ≥ k) = α/2, the upper the p at which P(X ≤ k) = α/2."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 ≤ k ≤ n and n > 0, got k={k}, n={n}")
    tail = (1 - confidence) / 2
    low = 0.0 if k == 0 else _bisect(lambda p: _binomial_cdf(k - 1, n, p), 1 - tail)
    high = 1.0 if k == n else _bisect(lambda p: _binomial_cdf(k, n, p), tail)
    return low, high


def tally(verdicts: pd.Series) -> dict[str, object]:
    """Counts and the error rate of a set of items' verdicts. The rate is mismatches over the
    items compared with the paper (match or mismatch); cannot_verify is left out of it."""
    size = len(verdicts)
    mismatches = int((verdicts == "mismatch").sum())
    checked = mismatches + int((verdicts == "match").sum())
    cannot = int((verdicts == "cannot_verify").sum())
    rate = low = high = None
    if checked:
        rate = mismatches / checked
        low, high = clopper_pearson(mismatches, checked)
    return {"size": size, "verified": checked + cannot, "checked": checked,
            "mismatches": mismatches, "cannot_verify": cannot, "error_rate": rate,
            "ci_low": low, "ci_high": high}


def unit_code(item_type: str, item_code: str) -> str:
    """The progress unit of an item: its subject, or PCNL for qualities and competencies."""
    return rules.TRAITS_UNIT if item_type == "trait" else item_code


GROUP_KEYS = {"class": ["class_id", "class_name"], "subject": ["unit_code"],
              "teacher": ["staff_id", "staff_name"]}


def by_group(items: pd.DataFrame, by: str) -> pd.DataFrame:
    """The tally per class, subject (qualities and competencies as one unit, PCNL) or teacher;
    classes in the list's order, subjects in the catalogue's, teachers by name."""
    keyed = items.assign(unit_code=[unit_code(a, b) for a, b in zip(items["item_type"],
                                                                      items["item_code"])],
                         staff_id=items["staff_id"].fillna(""),
                         staff_name=items["staff_name"].fillna(""))
    order = {"class": keyed["position"],
             "subject": keyed["unit_code"].map({u: i for i, u in enumerate(rules.UNIT_ORDER)}),
             "teacher": keyed["staff_name"].map(fold)}[by]
    keyed = keyed.iloc[np.argsort(order.to_numpy(), kind="stable")]
    keys = GROUP_KEYS[by]
    # groupby(sort=False) keeps the groups in the order they are first met.
    rows = [{**dict(zip(keys, key)), **tally(group["verdict"])}
            for key, group in keyed.groupby(keys, sort=False, dropna=False)]
    return pd.DataFrame(rows, columns=keys + TALLY_COLUMNS)


# --------------------------------------------------------------------------------------------
# The population and its risk flags
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """What a check covers; an empty filter means all. Subjects and traits together name the
    items checked: choosing only subjects leaves the traits out, and the other way round."""
    grades: tuple[int, ...] = ()
    classes: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()

    def __post_init__(self) -> None:  # sorted, so equal scopes store the same JSON
        object.__setattr__(self, "grades", tuple(sorted(int(g) for g in self.grades)))
        for name in ("classes", "subjects", "traits"):
            object.__setattr__(self, name, tuple(sorted(str(v) for v in getattr(self, name))))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Scope:
        return cls(**{k: tuple(v) for k, v in json.loads(text or "{}").items()})

    def apply(self, values: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=values.index)
        if self.grades:
            keep &= values["grade"].isin(self.grades)
        if self.classes:
            keep &= values["class_id"].isin(self.classes)
        if self.subjects or self.traits:
            keep &= (((values["item_type"] == "subject") & values["item_code"].isin(self.subjects))
                     | ((values["item_type"] == "trait") & values["item_code"].isin(self.traits)))
        return values[keep]


def _values(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
            period: str) -> pd.DataFrame:
    con = queries.prepare(snapshots.connect(data_dir, snapshot.snapshot_id))
    try:
        return queries.run(con, "spot_population", school_id=school_id, period=period)
    finally:
        con.close()


def _among(values: pd.DataFrame, others: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """For each row of `values`, whether `others` has a row with the same `columns`."""
    if values.empty or others.empty:
        return np.zeros(len(values), dtype=bool)
    return pd.MultiIndex.from_frame(values[columns]).isin(
        pd.MultiIndex.from_frame(others[columns]))


def _entered_late(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                  period: str, values: pd.DataFrame) -> np.ndarray:
    """Its class × unit is overdue or locked incomplete at the snapshot, or the value was not
    there in the last snapshot taken by the entry deadline (the grade's, else the school's)."""
    units = progress.compute(data_dir, snapshot, school_id, period)
    behind = units[units["status"].isin(["overdue", "locked_incomplete"])]
    keyed = values.assign(unit=[unit_code(a, b) for a, b in zip(values["item_type"],
                                                                 values["item_code"])])
    late = _among(keyed, behind.rename(columns={"item_code": "unit"}), ["class_id", "unit"])
    snaps, _ = snapshots.list_snapshots(data_dir)
    earlier = [s for s in snaps if s.school_year == snapshot.school_year
               and s.source == snapshot.source and s.taken_at < snapshot.taken_at]
    present: dict[str, pd.DataFrame] = {}
    for grade in values["grade"].dropna().unique():
        window = schedule.window_for(data_dir, snapshot.school_year, period, int(grade),
                                     school_id=school_id)
        if window is None or snapshot.taken_at.date() <= window[1]:
            continue  # no deadline, or not passed yet: nothing can be late by it
        by_deadline = [s for s in earlier if s.taken_at.date() <= window[1]]
        if not by_deadline:
            continue  # no data from before the deadline to tell
        base = by_deadline[-1]
        if base.snapshot_id not in present:
            present[base.snapshot_id] = _values(data_dir, base, school_id, period)
        of_grade = (values["grade"] == grade).to_numpy()
        late |= of_grade & ~_among(values, present[base.snapshot_id],
                                   ["student_id", "item_type", "item_code", "field"])
    return late


def population(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
               period: str, scope: Scope = Scope()) -> pd.DataFrame:
    """Every value in scope, in the stable order of ITEM_KEY, with a column per risk flag."""
    values = scope.apply(_values(data_dir, snapshot, school_id, period))
    values = values.sort_values(ITEM_KEY, ignore_index=True)
    changed = changes.changed_after_lock(data_dir, snapshot, school_id, period)
    values["changed_after_lock"] = _among(
        values, changed[changed["change"] != "removed"],
        ["student_id", "item_type", "item_code", "field"])
    values["entered_late"] = _entered_late(data_dir, snapshot, school_id, period, values)
    return values


def risk_weights(values: pd.DataFrame) -> np.ndarray:
    quality = values[list(QUALITY_FLAGS)].any(axis=1).to_numpy()
    return (1.0 + RISK_WEIGHTS["changed_after_lock"] * values["changed_after_lock"].to_numpy()
            + RISK_WEIGHTS["entered_late"] * values["entered_late"].to_numpy()
            + RISK_WEIGHTS["quality"] * quality)


def flags_of(values: pd.DataFrame) -> list[str]:
    """Each row's risk flags, comma-separated, as spot_item stores them."""
    return [",".join(f for f in FLAGS if row[f]) for _, row in values[list(FLAGS)].iterrows()]


# --------------------------------------------------------------------------------------------
# Drawing a sample
# --------------------------------------------------------------------------------------------

def allocate(sizes: Sequence[int], n: int) -> list[int]:
    """Proportional allocation of n over strata of these sizes; the largest remainders get the
    items the whole parts leave over (ties to the earlier stratum), so the total is exactly n."""
    total = sum(sizes)
    quotas = [n * s / total for s in sizes]
    counts = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(sizes)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[:n - sum(counts)]:
        counts[i] += 1
    return counts


def simple_random(values: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    ordered = values.sort_values(ITEM_KEY, ignore_index=True)
    picked = np.random.default_rng(seed).choice(len(ordered), size=n, replace=False)
    return ordered.iloc[np.sort(picked)]


def stratified_by_class(values: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Each class gets its proportional share of n (allocate), drawn at random within it."""
    ordered = values.sort_values(ITEM_KEY, ignore_index=True)
    rng = np.random.default_rng(seed)
    strata = ordered.groupby("class_id", sort=True).indices
    counts = allocate([len(rows) for rows in strata.values()], n)
    picked = [rng.choice(rows, size=count, replace=False)
              for rows, count in zip(strata.values(), counts)]
    return ordered.iloc[np.sort(np.concatenate(picked))]


def risk_weighted(values: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Weighted sampling without replacement (Efraimidis–Spirakis): each item gets the key
    u^(1/w) for a uniform u, and the n largest keys are drawn."""
    ordered = values.sort_values(ITEM_KEY, ignore_index=True)
    uniform = 1.0 - np.random.default_rng(seed).random(len(ordered))  # in (0, 1]
    keys = np.log(uniform) / risk_weights(ordered)
    return ordered.iloc[np.sort(np.argsort(-keys, kind="stable")[:n])]


_DRAW = {"simple": simple_random, "stratified": stratified_by_class, "risk": risk_weighted}


def draw(values: pd.DataFrame, method: str, n: int, seed: int) -> pd.DataFrame:
    """The sample in the order of the printed list (class, student, catalogue order, level
    before score), numbered from 1 in `position`."""
    if method not in METHODS:
        raise SpotError("spot.bad_method", method=method)
    if values.empty:
        raise SpotError("spot.empty_population")
    if not 1 <= n <= len(values):
        raise SpotError("spot.bad_size", size=n, available=len(values))
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpotError("spot.bad_seed", seed=seed)
    sample = _DRAW[method](values, int(n), int(seed))
    sample = sample.assign(_item=sample["item_code"].map(_ITEM_ORDER).fillna(len(_ITEM_ORDER)))
    sample = sample.sort_values(["grade", "class_name", "class_id", "student_id", "_item",
                                 "field"], ignore_index=True).drop(columns="_item")
    return sample.assign(position=range(1, len(sample) + 1))


def draw_sample(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                period: str, scope: Scope, method: str, size: int, seed: int) -> pd.DataFrame:
    if period not in rules.PERIODS:
        raise SpotError("spot.bad_period", period=period)
    return draw(population(data_dir, snapshot, school_id, period, scope), method, size, seed)


# --------------------------------------------------------------------------------------------
# Checks and verdicts in app.db
# --------------------------------------------------------------------------------------------

@contextmanager
def _connect(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    """One short transaction on app.db, with this module's tables in place."""
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        yield con


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")


@dataclass(frozen=True)
class SpotCheck:
    id: int
    school_year: str
    school_id: str
    snapshot_id: str
    period: str
    scope: Scope
    method: str
    seed: int
    size: int
    target_rate: float | None
    created_by: str | None
    created_at: datetime
    status: str
    finished_at: datetime | None = None


def create_check(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                 period: str, scope: Scope, method: str, size: int, seed: int,
                 target_rate: float | None, actor: str | None,
                 at: datetime | None = None) -> int:
    """Draw the sample and store the check with its items, open for verdicts."""
    if target_rate is not None and not 0 < target_rate < 1:
        raise SpotError("spot.bad_rate", rate=target_rate)
    sample = draw_sample(data_dir, snapshot, school_id, period, scope, method, size, seed)
    at = at or now_local()
    with _connect(data_dir) as con:
        cur = con.execute(
            "INSERT INTO spot_check (school_year, school_id, snapshot_id, period, scope, method, "
            "seed, size, target_rate, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (snapshot.school_year, school_id, snapshot.snapshot_id, period, scope.to_json(),
             method, int(seed), len(sample), target_rate, actor, _stamp(at)))
        check_id = int(cur.lastrowid)
        sample = sample.assign(flags=flags_of(sample))
        con.executemany(
            "INSERT INTO spot_item (check_id, position, student_id, full_name, class_id, "
            "class_name, grade, item_type, item_code, field, db_value, staff_id, staff_name, "
            "flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(check_id, int(r.position), r.student_id, r.full_name, r.class_id, r.class_name,
              None if pd.isna(r.grade) else int(r.grade), r.item_type, r.item_code, r.field,
              r.db_value, _text_or_none(r.staff_id), _text_or_none(r.staff_name), r.flags)
             for r in sample.itertuples(index=False)])
    records.audit(data_dir, actor, "spot_check_create", check_id=check_id,
                  snapshot_id=snapshot.snapshot_id, school_id=school_id, period=period,
                  scope=scope.to_json(), method=method, seed=int(seed), size=len(sample),
                  target_rate=target_rate)
    return check_id


def _text_or_none(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def get_check(data_dir: Path | str, check_id: int) -> SpotCheck:
    with _connect(data_dir) as con:
        row = con.execute(f"SELECT {', '.join(CHECK_COLUMNS)} FROM spot_check WHERE id = ?",
                          (int(check_id),)).fetchone()
    if row is None:
        raise SpotError("spot.no_such_check", check_id=check_id)
    data = dict(zip(CHECK_COLUMNS, row))
    return SpotCheck(**{**data, "scope": Scope.from_json(data["scope"]),
                        "created_at": datetime.fromisoformat(data["created_at"]),
                        "finished_at": (datetime.fromisoformat(data["finished_at"])
                                        if data["finished_at"] else None)})


def items(data_dir: Path | str, check_id: int) -> pd.DataFrame:
    """The check's items in the order of the printed list."""
    with _connect(data_dir) as con:
        rows = con.execute(f"SELECT {', '.join(ITEM_COLUMNS)} FROM spot_item "
                           "WHERE check_id = ? ORDER BY position", (int(check_id),)).fetchall()
    out = pd.DataFrame(rows, columns=ITEM_COLUMNS, dtype=object)
    out["position"] = out["position"].astype(int)
    out["request_id"] = out["request_id"].astype("Int64")
    return out


def next_position(check_items: pd.DataFrame, after: int = 0) -> int | None:
    """Where to go on: the first item without a verdict after `after`, else the first one
    anywhere (None when every item has one). With after=0, where a check is resumed."""
    open_items = check_items[check_items["verdict"].isna()]
    later = open_items[open_items["position"] > after]
    chosen = later if len(later) else open_items
    return int(chosen["position"].iloc[0]) if len(chosen) else None


def paper_value(item_type: str, field_name: str, text: object) -> str | None:
    """The value read off the paper written as the database writes it ('8', 'T', 'Đ');
    None when it is not a value of that field. `CCG` is taken for `C`, `D` for `Đ`."""
    if field_name == "score":
        digits = nfc(text)
        if not (digits.isascii() and digits.isdigit()) or int(digits) > rules.SCORE_MAX:
            return None
        return str(int(digits))
    levels = rules.TRAIT_LEVELS if item_type == "trait" else rules.SUBJECT_LEVELS
    spelled = {fold(level): level for level in levels}
    if item_type == "trait":
        spelled["ccg"] = "C"
    return spelled.get(fold(text))


def record_verdict(data_dir: Path | str, check_id: int, position: int, verdict: str,
                   paper: str | None = None, note: str | None = None,
                   actor: str | None = None, at: datetime | None = None) -> None:
    """Record (or correct, while the check is open) one item's verdict. A mismatch needs the
    value on paper, and one that differs from the database."""
    if verdict not in VERDICTS:
        raise SpotError("spot.bad_verdict", verdict=verdict)
    at = at or now_local()
    note = nfc(note) or None
    with _connect(data_dir) as con:
        found = con.execute(
            "SELECT c.status, i.item_type, i.field, i.db_value, i.request_id, i.verdict "
            "FROM spot_item i JOIN spot_check c ON c.id = i.check_id "
            "WHERE i.check_id = ? AND i.position = ?", (int(check_id), int(position))).fetchone()
        if found is None:
            raise SpotError("spot.no_such_item", check_id=check_id, position=position)
        status, item_type, field_name, db_value, request_id, previous = found
        if status != "open":
            raise SpotError("spot.check_finished", check_id=check_id)
        if request_id is not None and verdict != "mismatch":
            raise SpotError("spot.verdict_has_request", request_id=request_id)
        written = None
        if verdict == "mismatch":
            if not nfc(paper):
                raise SpotError("spot.paper_required")
            written = paper_value(item_type, field_name, paper)
            if written is None:
                raise SpotError("spot.paper_invalid", value=nfc(paper))
            if written == db_value:
                raise SpotError("spot.paper_same", value=written)
        con.execute(
            "UPDATE spot_item SET verdict = ?, paper_value = ?, note = ?, verified_by = ?, "
            "verified_at = ? WHERE check_id = ? AND position = ?",
            (verdict, written, note, actor, _stamp(at), int(check_id), int(position)))
    records.audit(data_dir, actor, "spot_verdict", check_id=check_id, position=position,
                  verdict=verdict, paper_value=written, note=note, previous=previous)


def finish_check(data_dir: Path | str, check_id: int, actor: str | None,
                 at: datetime | None = None) -> None:
    """Close a check once every item has a verdict; its verdicts are final from then on."""
    at = at or now_local()
    with _connect(data_dir) as con:
        found = con.execute("SELECT status FROM spot_check WHERE id = ?",
                            (int(check_id),)).fetchone()
        if found is None:
            raise SpotError("spot.no_such_check", check_id=check_id)
        if found[0] != "open":
            raise SpotError("spot.check_finished", check_id=check_id)
        left = con.execute("SELECT count(*) FROM spot_item WHERE check_id = ? AND verdict IS NULL",
                           (int(check_id),)).fetchone()[0]
        if left:
            raise SpotError("spot.unverified_left", count=left)
        con.execute("UPDATE spot_check SET status = 'finished', finished_at = ? WHERE id = ?",
                    (_stamp(at), int(check_id)))
    records.audit(data_dir, actor, "spot_check_finish", check_id=check_id)


def checks(data_dir: Path | str, school_id: str | None = None,
           school_year: str | None = None) -> pd.DataFrame:
    """Every check (oldest first) with its tally: size, verified, checked (match or mismatch),
    mismatches, cannot_verify, error_rate and its 95% interval."""
    check_school(school_id)  # None (every school) only when unrestricted
    if not records.db_path(data_dir).exists():
        return pd.DataFrame(columns=CHECK_COLUMNS + TALLY_COLUMNS[1:])
    with _connect(data_dir) as con:
        heads = con.execute(
            f"SELECT {', '.join(CHECK_COLUMNS)} FROM spot_check "
            "WHERE (? IS NULL OR school_id = ?) AND (? IS NULL OR school_year = ?) ORDER BY id",
            (school_id, school_id, school_year, school_year)).fetchall()
        verdicts = con.execute(
            "SELECT check_id, verdict FROM spot_item WHERE check_id IN "
            "(SELECT id FROM spot_check WHERE (? IS NULL OR school_id = ?) "
            "AND (? IS NULL OR school_year = ?))",
            (school_id, school_id, school_year, school_year)).fetchall()
    out = pd.DataFrame(heads, columns=CHECK_COLUMNS)
    by_check = pd.DataFrame(verdicts, columns=["check_id", "verdict"]).groupby("check_id")
    tallies = pd.DataFrame([tally(by_check.get_group(i)["verdict"]) if i in by_check.groups
                            else tally(pd.Series([], dtype=object)) for i in out["id"]],
                           columns=TALLY_COLUMNS).drop(columns="size")
    rates = ["error_rate", "ci_low", "ci_high"]
    tallies[rates] = tallies[rates].astype(float)  # NaN where nothing is compared yet
    return pd.concat([out, tallies], axis=1)


def request_change(data_dir: Path | str, check_id: int, position: int, requested_by: str,
                   actor: str | None, lang: str = "vi", at: datetime | None = None) -> int:
    """Turn a mismatch into a change request (csdl.changes): the database's value to the
    paper's, the note as the reason; the request is linked back to the item."""
    check = get_check(data_dir, check_id)
    found = items(data_dir, check_id)
    found = found[found["position"] == int(position)]
    if found.empty:
        raise SpotError("spot.no_such_item", check_id=check_id, position=position)
    item = found.iloc[0]
    if item["verdict"] != "mismatch":
        raise SpotError("spot.not_mismatch", position=position)
    if pd.notna(item["request_id"]):
        raise SpotError("spot.request_exists", request_id=int(item["request_id"]))
    reason = item["note"] or t("spot.request_reason", lang, check_id=check_id, position=position)
    request_id = changes.record_request(
        data_dir, school_year=check.school_year, school_id=check.school_id,
        student_id=item["student_id"], period=check.period, item_type=item["item_type"],
        item_code=item["item_code"], field=item["field"], old_value=item["db_value"],
        new_value=item["paper_value"], reason=reason, requested_by=requested_by, actor=actor,
        at=at)
    with _connect(data_dir) as con:
        con.execute("UPDATE spot_item SET request_id = ? WHERE check_id = ? AND position = ? "
                    "AND request_id IS NULL", (request_id, int(check_id), int(position)))
    records.audit(data_dir, actor, "spot_change_request", check_id=check_id, position=position,
                  request_id=request_id)
    return request_id


# --------------------------------------------------------------------------------------------
# The list to take into the classroom
# --------------------------------------------------------------------------------------------

def item_name(code: str, lang: str = "vi") -> str:
    found = rules.SUBJECT_BY_CODE.get(code) or rules.TRAIT_BY_CODE.get(code)
    if found is None:
        return code
    return found.name_en if lang == "en" else found.name_vi


PRINT_HEADERS = ("spot.col_position", "spot.col_class", "spot.col_student", "spot.col_item",
                 "spot.col_field", "spot.col_db_value", "spot.col_paper", "spot.col_match",
                 "spot.col_note")


def sample_table(check_items: pd.DataFrame, lang: str = "vi") -> pd.DataFrame:
    """The printed list: what to look for on paper, with blank columns to write in."""
    return pd.DataFrame({
        t(PRINT_HEADERS[0], lang): check_items["position"].astype(int),
        t(PRINT_HEADERS[1], lang): check_items["class_name"],
        t(PRINT_HEADERS[2], lang): check_items["full_name"],
        t(PRINT_HEADERS[3], lang): [item_name(c, lang) for c in check_items["item_code"]],
        t(PRINT_HEADERS[4], lang): [t(f"spot.field_{f}", lang) for f in check_items["field"]],
        t(PRINT_HEADERS[5], lang): check_items["db_value"],
        t(PRINT_HEADERS[6], lang): "", t(PRINT_HEADERS[7], lang): "",
        t(PRINT_HEADERS[8], lang): "",
    })


def print_title(check: SpotCheck, lang: str = "vi") -> tuple[str, str]:
    """The title (the check and its period) and the subtitle (snapshot, who drew it, date)."""
    names = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI
    title = t("spot.print_title", lang, check_id=check.id,
              period=f"{names[check.period]} ({check.period})")
    subtitle = t("spot.print_subtitle", lang,
                 snapshot=fmt_datetime(snapshots.taken_at_of(check.snapshot_id)),
                 created=fmt_datetime(check.created_at), by=check.created_by or "–",
                 printed=fmt_date(now_local()))
    return title, subtitle


def sample_excel(check: SpotCheck, check_items: pd.DataFrame, lang: str = "vi") -> bytes:
    title, subtitle = print_title(check, lang)
    return exports.workbook([exports.Sheet(t("spot.sheet_name", lang, check_id=check.id),
                                           sample_table(check_items, lang), title, subtitle)])


# Column widths of the PDF list in mm (A4 portrait, 194 mm between the margins).
_PDF_WIDTHS = (9, 10, 40, 40, 17, 19, 18, 13, 28)


def sample_pdf(check: SpotCheck, check_items: pd.DataFrame, lang: str = "vi") -> bytes:
    """The list as an A4 PDF (DejaVu Sans, for Vietnamese), rows tall enough to write in and
    the header repeated on every page."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    title, subtitle = print_title(check, lang)

    class ListPDF(FPDF):
        def footer(self) -> None:  # a loose page still says which check it belongs to
            self.set_font("DejaVu", "", 7)
            self.set_xy(self.l_margin, self.h - 8)
            self.cell(self.epw, 4, f"{title} · {self.page_no()}/{{nb}}", align="R")

    pdf = ListPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.set_margins(8, 10, 8)
    pdf.set_title(title)
    pdf.set_creator("csdl")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(pdf.epw, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(pdf.epw, 5, subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 8)
    table = sample_table(check_items, lang)
    with pdf.table(col_widths=_PDF_WIDTHS, line_height=7, text_align="LEFT",
                   headings_style=FontFace(emphasis="BOLD", fill_color=(221, 235, 247))) as grid:
        grid.row([str(h) for h in table.columns])
        for values in table.itertuples(index=False):
            grid.row(["" if v is None else str(v) for v in values])
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# The demo school's checks
# --------------------------------------------------------------------------------------------

DEMO_CHECKER = "phohieutruong"
DEMO_SEEDS = {"GK1": 2611, "CK1": 2701}
_DEMO_NOTES = {"score": "Bài kiểm tra ghi {paper}", "level": "Bảng tổng hợp đã ký ghi {paper}",
               "cannot_verify": "Học sinh vắng, chưa có bài để đối chiếu"}


def _working_days_after(day: date, count: int) -> list[date]:
    out, current = [], day
    while len(out) < count:
        current += timedelta(days=1)
        if current.weekday() < 5:
            out.append(current)
    return out


def _other_value(item_type: str, field_name: str, value: str) -> str:
    """A plausible slip: the neighbouring level, or a score one point off."""
    if field_name == "score":
        score = int(value) if value.isdigit() else rules.SCORE_MAX
        return str(score - 1 if score >= rules.SCORE_MAX else score + 1)
    levels = rules.TRAIT_LEVELS if item_type == "trait" else rules.SUBJECT_LEVELS
    return levels[(levels.index(value) + 1) % len(levels)] if value in levels else levels[1]


def store_demo_checks(data_dir: Path | str, only: list[str] | None = None) -> None:
    """On the demo's latest snapshot: a finished GK1 check (stratified, sized to show an error
    rate below 5%) with three mismatches and two items that could not be verified, recorded by
    the vice-principal over the two working days after the snapshot (GK1 locked long before);
    and a CK1 check in progress (simple random, 30 items, 12 verified). Idempotent (nothing is
    added for a school that has checks); deterministic (fixed seeds)."""
    latest = snapshots.latest_snapshot(data_dir)
    if latest is None or latest.source != "demo":
        return
    day1, day2 = _working_days_after(latest.taken_at.date(), 2)
    for school_id in _school_ids(data_dir, latest):
        if only is not None and school_id not in only:
            continue  # a district's demo: paperwork for its first schools only
        if not checks(data_dir, school_id, latest.school_year).empty:
            continue
        finished = _demo_check(data_dir, latest, school_id, "GK1", "stratified",
                               sample_size(0.05), 0.05, datetime.combine(day1, time(7, 30)))
        if finished is not None:
            check_items = items(data_dir, finished)
            positions = list(check_items["position"])
            rng = np.random.default_rng(DEMO_SEEDS["GK1"])  # which items the paper contradicts
            special = rng.choice(positions, size=min(5, len(positions)), replace=False)
            verdicts = dict(zip(special, ["mismatch"] * 3 + ["cannot_verify"] * 2))
            for row in check_items.itertuples():
                verdict = verdicts.get(row.position, "match")
                paper = note = None
                if verdict == "mismatch":
                    paper = _other_value(row.item_type, row.field, row.db_value)
                    note = _DEMO_NOTES[row.field].format(paper=paper)
                elif verdict == "cannot_verify":
                    note = _DEMO_NOTES[verdict]
                first_half = row.position <= len(positions) // 2
                at = datetime.combine(day1 if first_half else day2, time(8, 0)) + timedelta(
                    minutes=3 * row.position)
                record_verdict(data_dir, finished, row.position, verdict, paper, note,
                               DEMO_CHECKER, at)
            finish_check(data_dir, finished, DEMO_CHECKER, datetime.combine(day2, time(16, 30)))
        in_progress = _demo_check(data_dir, latest, school_id, "CK1", "simple", 30, None,
                                  datetime.combine(day2, time(13, 30)))
        if in_progress is not None:
            for position in range(1, 13):
                record_verdict(data_dir, in_progress, position, "match", actor=DEMO_CHECKER,
                               at=datetime.combine(day2, time(14, 0)) + timedelta(
                                   minutes=4 * position))


def _school_ids(data_dir: Path | str, snapshot: snapshots.SnapshotInfo) -> list[str]:
    con = snapshots.connect(data_dir, snapshot.snapshot_id)
    try:
        return [r[0] for r in con.execute("SELECT school_id FROM school ORDER BY 1").fetchall()]
    finally:
        con.close()


def _demo_check(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                period: str, method: str, size: int, target_rate: float | None,
                at: datetime) -> int | None:
    """A demo check, or None when the period has nothing entered yet at the snapshot."""
    values = _values(data_dir, snapshot, school_id, period)
    if values.empty:
        return None
    return create_check(data_dir, snapshot, school_id, period, Scope(), method,
                        min(size, len(values)), DEMO_SEEDS[period], target_rate, DEMO_CHECKER,
                        at)
