"""The meeting deck (issue 8): slides built from a snapshot, aggregate and anonymised only.

A slide is a title, one large chart, two or three key figures and one sentence of takeaway
computed from the data. The chart is held as plain numbers (`Chart`): `figure()` draws it with
plotly for the page and the HTML file, `csdl.deck_pptx` writes the very same numbers as a native
PowerPoint chart, so the three outputs cannot disagree.

Anonymity (DESIGN.md, the meeting screen):
  * no student or teacher name is ever read into a slide: classes are named by class name, the
    staff and rooms are counted by a query that returns counts only;
  * a count of people (students, staff, data-quality findings — each finding concerns one
    student or teacher) from 1 to 4 is written "<5" in figures, takeaways, labels and tables
    (`count_text`); 0 stays 0, since it points at nobody;
  * charts of such counts never hold a value from 1 to 4, in the plotly figure or in the PPTX
    chart data: such a count is rounded up to 5 and its bar labelled "<5" (`protect_counts`),
    so each category keeps its own bar and nothing below 5 is written in the file;
  * charts of shares (levels, classifications) leave out any group of fewer than 5 students and
    say so in the slide's note; a count in a hover text follows `count_text`.
  Counts of classes, rooms, entry values and days are not counts of people and show exactly.
  Totals are exact, so a lone small count can sometimes be worked out by subtraction from a
  total; the rule keeps individual-level counts out of the deck, it is not a full
  disclosure-control method.

No Streamlit here; the page, the CLI and the tests call `gather` then `build`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from . import progress, queries, rules, snapshots
from .i18n import fmt_date, fmt_datetime, fmt_number, fmt_percent, t

SMALL = 5  # a count of people below this is shown as "<5"
SLIDES = ("overview", "progress", "classes_behind", "results", "year_end", "quality", "staff",
          "facilities")
MAX_CLASSES = 10  # classes on the "classes behind" slide
MAX_ROOM_TYPES = 7  # room types drawn one by one; the rest are summed

BRAND = "#1f6f8b"
RED = "#d7301f"
GREY = "#bdbdbd"
LEVEL_COLORS = {
    "T": "#238b45", "H": "#f0a202", "C": "#d7301f",
    "HTXS": "#00441b", "HTT": "#41ab5d", "HT": "#f0a202", "CHT": "#d7301f",
}
_BEHIND = ("locked_incomplete", "overdue")
# csdl.staffing's levels of the main qualification, in the chart's order
QUALIFICATIONS = ("postgraduate", "university", "college", "intermediate", "other")


# --- the slide model ------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]  # ratios 0–1 when the chart is `percent`, else counts
    color: str | None = None
    point_colors: tuple[str, ...] | None = None
    hover: tuple[str, ...] | None = None  # per point, already anonymised
    labels: tuple[str, ...] | None = None  # per point text where it is not the value ("<5")


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" (horizontal), "column", "stacked" (100% horizontal), "doughnut"
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    percent: bool = False
    axis_title: str = ""


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: str


@dataclass(frozen=True)
class Slide:
    key: str
    title: str
    chart: Chart | None
    figures: tuple[KeyFigure, ...]
    takeaway: str
    note: str = ""


@dataclass
class Deck:
    school_id: str
    school_name: str
    period: str
    snapshot_id: str
    taken_at: datetime
    made_on: date
    lang: str
    slides: list[Slide] = field(default_factory=list)

    @property
    def period_name(self) -> str:
        return period_name(self.period, self.lang)

    def footer(self) -> str:
        return t("deck.footer", self.lang, school=self.school_name, period=self.period_name,
                 snapshot=self.snapshot_id, when=fmt_datetime(self.taken_at),
                 today=fmt_date(self.made_on))

    def file_stem(self) -> str:
        return f"trinh_chieu_{self.school_id}_{self.period}_{self.snapshot_id}"


# --- anonymising counts ---------------------------------------------------------------------

def count_text(n: int | float | None, lang: str = "vi") -> str:
    """A count of people as shown anywhere in the deck: 1–4 → "<5", else the number."""
    if n is None or pd.isna(n):
        return "–"
    n = int(n)
    return f"<{SMALL}" if 0 < n < SMALL else fmt_number(n, lang)


def protect_counts(counts: Iterable[tuple[str, int]],
                   lang: str = "vi") -> list[tuple[str, int, str]]:
    """(category, value to draw, label) for a chart of people counts: a count from 1 to
    SMALL - 1 is drawn as SMALL and labelled "<5", so no value below 5 reaches a chart; zero
    categories are dropped (a bar of nothing says nothing)."""
    out = []
    for label, n in counts:
        n = int(n)
        if n > 0:
            out.append((label, max(n, SMALL), count_text(n, lang)))
    return out


def _count_series(name: str, drawn: list[tuple[str, int, str]], lang: str) -> Series:
    return Series(name, tuple(float(v) for _, v, _ in drawn), color=BRAND,
                  labels=tuple(text for _, _, text in drawn))


# --- the data a deck is built from ----------------------------------------------------------

@dataclass
class Sources:
    """Everything the slides need, already aggregated: no names (the progress units carry the
    teacher's name for the progress page; no slide reads that column)."""
    school_id: str
    school_name: str
    period: str
    snapshot: snapshots.SnapshotInfo
    units: pd.DataFrame  # progress.compute: class × subject units with status and deadline
    school_window: progress.Window | None
    grades: pd.DataFrame  # completion_by_grade: students per grade
    classes: pd.DataFrame  # the school's classes (class_id, class_name, grade)
    levels: pd.DataFrame | None = None  # results_subject_levels
    year: pd.DataFrame | None = None  # results_classification
    quality: pd.DataFrame | None = None  # quality.summary; None when settings are unusable
    quality_error: str | None = None
    staff: pd.DataFrame | None = None  # deck_staff: counts by group, qualification, major, status
    rooms: pd.DataFrame | None = None  # deck_rooms: counts by room type × condition


def default_slides(period: str | None = None) -> list[str]:
    """The deck shown when none is chosen: every slide that has something for the period (the
    year-end results exist only at CN)."""
    return [s for s in SLIDES if s != "year_end" or period in (None, "CN")]


def parse_slides(text: str | Sequence[str] | None, period: str | None = None) -> list[str]:
    """Slide keys from "a,b" (or a list), in the deck's order; None or empty → the period's
    default slides. Raises ValueError naming the unknown keys."""
    if text is None:
        return default_slides(period)
    wanted = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    wanted = [s for s in wanted if s]
    unknown = [s for s in wanted if s not in SLIDES]
    if unknown:
        raise ValueError(", ".join(unknown))
    return [s for s in SLIDES if s in wanted] or default_slides(period)


def gather(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str, period: str,
           slides: Sequence[str] = SLIDES, lang: str = "vi",
           units: pd.DataFrame | None = None,
           query: Callable[..., pd.DataFrame] | None = None) -> Sources:
    """Read what the chosen slides need from the snapshot and app.db. `units` may be passed
    in when the caller already holds progress.compute's result (the page caches it), and
    `query(name, **params)` when it holds a cached runner of named questions (ui.query): then
    the snapshot is not opened on every run of the page."""
    from . import quality, schedule
    from .settings import SettingsError

    if units is None:
        units = progress.compute(data_dir, snapshot, school_id, period)
    found = schedule.window_for(data_dir, snapshot.school_year, period, None,
                                school_id=school_id)
    con = None
    if query is None:
        con = queries.prepare(snapshots.connect(data_dir, snapshot.snapshot_id))

        def query(name: str, **params: object) -> pd.DataFrame:
            return queries.run(con, name, **params)
    try:
        schools = query("schools", school_ids=[school_id])
        name = schools.loc[schools["school_id"] == school_id, "name"]
        src = Sources(
            school_id=school_id, school_name=str(name.iloc[0]) if len(name) else school_id,
            period=period, snapshot=snapshot, units=units,
            school_window=progress.Window(*found) if found else None,
            grades=query("completion_by_grade", school_id=school_id, period=period),
            classes=query("classes", school_id=school_id))
        if "results" in slides:
            src.levels = query("results_subject_levels", school_id=school_id, period=period)
        if "year_end" in slides:
            src.year = query("results_classification", school_id=school_id)
        if "staff" in slides:
            src.staff = query("deck_staff", school_id=school_id)
        if "facilities" in slides:
            src.rooms = query("deck_rooms", school_id=school_id)
    finally:
        if con is not None:
            con.close()
    if "quality" in slides:
        try:
            src.quality = quality.summary(
                quality.cached_findings(data_dir, snapshot, school_id, lang), lang)
        except SettingsError as exc:
            src.quality_error = str(exc)
    return src


def build(src: Sources, slides: Sequence[str] = SLIDES, lang: str = "vi",
          made_on: date | None = None) -> Deck:
    """The deck of the chosen slides, in the deck's order."""
    from .timeutil import now_local

    deck = Deck(school_id=src.school_id, school_name=src.school_name, period=src.period,
                snapshot_id=src.snapshot.snapshot_id, taken_at=src.snapshot.taken_at,
                made_on=made_on or now_local().date(), lang=lang)
    for key in SLIDES:
        if key in slides:
            deck.slides.append(BUILDERS[key](src, lang))
    return deck


def make(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str, period: str,
         slides: Sequence[str] | None = None, lang: str = "vi",
         made_on: date | None = None) -> Deck:
    """gather + build, for the CLI and the tests; the period's default slides unless chosen."""
    slides = default_slides(period) if slides is None else slides
    return build(gather(data_dir, snapshot, school_id, period, slides, lang), slides, lang,
                 made_on)


# --- helpers --------------------------------------------------------------------------------

def period_name(period: str, lang: str = "vi") -> str:
    names = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI
    return f"{names.get(period, period)} ({period})"


def slide_name(key: str, lang: str = "vi") -> str:
    return t(f"deck.slide.{key}", lang)


def _grade(g: object, lang: str) -> str:
    return t("chart.grade_label", lang, grade=int(g))


def _ratio(entered: float, expected: float) -> float | None:
    return float(entered) / float(expected) if expected else None


def _when(deadline: date | None, now: datetime, lang: str) -> str:
    """'còn 6 ngày đến hạn nhập (14/01/2027)' and its past / today / no-schedule forms."""
    if deadline is None or pd.isna(deadline):
        return t("deck.when.no_schedule", lang)
    days = progress.days_until(deadline, now)
    if days > 0:
        return t("deck.when.days_left", lang, days=fmt_number(days, lang), date=fmt_date(deadline))
    if days == 0:
        return t("deck.when.today", lang, date=fmt_date(deadline))
    return t("deck.when.past", lang, days=fmt_number(-days, lang), date=fmt_date(deadline))


def _days_figure(deadline: date | None, now: datetime, lang: str,
                 done: bool = False) -> KeyFigure:
    """Days to the deadline, days past it, or — once everything is entered — the date."""
    if done and deadline is not None:
        return KeyFigure(t("col.deadline", lang), fmt_date(deadline))
    days = progress.days_until(deadline, now) if deadline is not None else None
    if days is not None and days < 0:
        return KeyFigure(t("deck.fig.days_past", lang), fmt_number(-days, lang))
    return KeyFigure(t("progress.days_to_deadline", lang),
                     "–" if days is None else fmt_number(days, lang))


def _deadline_of(units: pd.DataFrame) -> date | None:
    found = units["deadline"].dropna() if "deadline" in units else pd.Series(dtype=object)
    return found.iloc[0] if len(found) else None


def by_grade(units: pd.DataFrame) -> pd.DataFrame:
    """Completion per grade from the progress units: grade, expected, entered, completion."""
    out = units.groupby("grade", as_index=False)[["expected", "entered"]].sum()
    out["completion"] = [_ratio(e, x) for e, x in zip(out["entered"], out["expected"])]
    return out.sort_values("grade", ignore_index=True)


def by_class(units: pd.DataFrame) -> pd.DataFrame:
    """Completion and worst status per class (by class name; no teacher)."""
    out = units.groupby("class_id", as_index=False, sort=False).agg(
        class_name=("class_name", "first"), grade=("grade", "first"),
        expected=("expected", "sum"), entered=("entered", "sum"),
        status=("status", progress.worst))
    out["completion"] = [_ratio(e, x) for e, x in zip(out["entered"], out["expected"])]
    return out


def level_shares(counts: pd.DataFrame, by: str, levels: Sequence[str],
                 level_col: str = "level") -> pd.DataFrame:
    """Shares of each level per `by` (e.g. grade), every level present: by, level, count,
    total, share."""
    from . import results

    return results.shares(counts, [by], levels, level_col).rename(columns={"students": "count"})


# --- the slides -----------------------------------------------------------------------------

def _overview(src: Sources, lang: str) -> Slide:
    units, now = src.units, src.snapshot.taken_at
    title = t("deck.title.overview", lang, period=period_name(src.period, lang))
    figures = progress.summary_figures(units) if len(units) else None
    deadline = src.school_window.deadline if src.school_window else None
    if not figures or not figures["expected"]:
        return Slide("overview", title, None, (_days_figure(deadline, now, lang),),
                     t("overview.nothing_expected", lang))
    entered, expected = figures["entered"], figures["expected"]
    chart = Chart("doughnut", (t("chart.completed", lang), t("col.missing", lang)),
                  (Series(t("col.expected", lang), (float(entered), float(expected - entered)),
                          point_colors=(BRAND, GREY)),))
    pct = fmt_percent(figures["completion"], lang)
    takeaway = (t("deck.take.complete", lang, period=period_name(src.period, lang))
                if entered >= expected else
                t("deck.take.overview", lang, pct=pct, period=period_name(src.period, lang),
                  when=_when(deadline, now, lang)))
    return Slide("overview", title, chart, (
        KeyFigure(t("progress.completion", lang), pct),
        _days_figure(deadline, now, lang, entered >= expected),
        KeyFigure(t("progress.classes_overdue", lang),
                  f"{fmt_number(figures['classes_overdue'], lang)} / "
                  f"{fmt_number(figures['classes'], lang)}"),
    ), takeaway, t("overview.entered_of", lang, entered=fmt_number(entered, lang),
                   expected=fmt_number(expected, lang)))


def _progress(src: Sources, lang: str) -> Slide:
    units, now = src.units, src.snapshot.taken_at
    name = period_name(src.period, lang)
    title = t("deck.title.progress", lang, period=name)
    grades = by_grade(units) if len(units) else pd.DataFrame()
    grades = grades[grades["expected"] > 0] if len(grades) else grades
    if grades.empty:
        return Slide("progress", title, None, (), t("overview.nothing_expected", lang))
    chart = Chart("bar", tuple(_grade(g, lang) for g in grades["grade"]),
                  (Series(t("col.completion", lang), tuple(float(v) for v in grades["completion"]),
                          color=BRAND),), percent=True, axis_title=t("chart.completion_pct", lang))
    total = _ratio(grades["entered"].sum(), grades["expected"].sum())
    slowest = grades.sort_values(["completion", "grade"]).iloc[0]
    deadline = _deadline_of(units[units["grade"] == slowest["grade"]])
    if slowest["completion"] >= 1:
        takeaway = t("deck.take.all_grades_complete", lang, period=name)
    else:
        takeaway = t("deck.take.slowest_grade", lang, grade=int(slowest["grade"]),
                     pct=fmt_percent(slowest["completion"], lang), when=_when(deadline, now, lang))
    return Slide("progress", title, chart, (
        KeyFigure(t("progress.completion", lang), fmt_percent(total, lang)),
        KeyFigure(t("deck.fig.slowest_grade", lang),
                  f"{_grade(slowest['grade'], lang)} · {fmt_percent(slowest['completion'], lang)}"),
        _days_figure(deadline or (src.school_window.deadline if src.school_window else None),
                     now, lang, total is not None and total >= 1),
    ), takeaway)


def classes_behind(units: pd.DataFrame, limit: int = MAX_CLASSES) -> pd.DataFrame:
    """The classes to show: every class past its deadline or locked incomplete, then the
    lowest completion among the other incomplete ones, up to `limit`, lowest first."""
    classes = by_class(units)
    incomplete = classes[classes["entered"] < classes["expected"]]
    behind = incomplete[incomplete["status"].isin(_BEHIND)]
    rest = incomplete[~incomplete["status"].isin(_BEHIND)]
    chosen = pd.concat([behind.sort_values(["completion", "class_name"]),
                        rest.sort_values(["completion", "class_name"])]).head(limit)
    return chosen.sort_values(["completion", "class_name"], ignore_index=True)


def _classes_behind(src: Sources, lang: str) -> Slide:
    units = src.units
    name = period_name(src.period, lang)
    title = t("deck.title.classes_behind", lang, period=name)
    if units.empty or not units["expected"].sum():
        return Slide("classes_behind", title, None, (), t("overview.nothing_expected", lang))
    classes = by_class(units)
    figures = progress.summary_figures(units)
    complete = int((classes["entered"] >= classes["expected"]).sum())
    n = fmt_number(figures["classes"], lang)
    key_figures = (
        KeyFigure(t("progress.classes_overdue", lang),
                  f"{fmt_number(figures['classes_overdue'], lang)} / {n}"),
        KeyFigure(t("progress.classes_at_risk", lang), fmt_number(figures["classes_at_risk"], lang)),
        KeyFigure(t("deck.fig.classes_complete", lang), f"{fmt_number(complete, lang)} / {n}"),
    )
    shown = classes_behind(units)
    if shown.empty:
        return Slide("classes_behind", title, None, key_figures,
                     t("deck.take.all_classes_complete", lang, period=name))
    chart = Chart("bar", tuple(shown["class_name"].astype(str)), (Series(
        t("col.completion", lang), tuple(float(v) for v in shown["completion"]),
        point_colors=tuple(RED if s in _BEHIND else BRAND for s in shown["status"]),
        hover=tuple(t("status." + s, lang) for s in shown["status"])),),
        percent=True, axis_title=t("chart.completion_pct", lang))
    lowest = shown.iloc[0]
    takeaway = t("deck.take.classes_behind" if figures["classes_overdue"]
                 else "deck.take.classes_behind_none_late", lang, name=lowest["class_name"],
                 pct=fmt_percent(lowest["completion"], lang),
                 overdue=fmt_number(figures["classes_overdue"], lang))
    return Slide("classes_behind", title, chart, key_figures, takeaway,
                 t("deck.note.classes_behind", lang))


def _share_chart(shares: pd.DataFrame, students: dict, levels: Sequence[str], kind: str,
                 lang: str) -> tuple[Chart | None, list[int]]:
    """100% stacked bars per grade; grades with fewer than SMALL students are left out (their
    numbers are returned so the slide can say so)."""
    hidden = sorted(int(g) for g in shares["grade"].unique() if students.get(g, 0) < SMALL)
    shown = shares[~shares["grade"].isin(hidden)]
    grades = list(dict.fromkeys(shown["grade"]))
    if not grades:
        return None, hidden
    series = []
    for level in levels:
        part = shown[shown["level"] == level].set_index("grade").reindex(grades)
        series.append(Series(
            t(f"level.{kind}.{level}", lang),
            tuple(float(v) if pd.notna(v) else 0.0 for v in part["share"]),
            color=LEVEL_COLORS[level],
            hover=tuple(count_text(c, lang) for c in part["count"].fillna(0))))
    return Chart("stacked", tuple(_grade(g, lang) for g in grades), tuple(series), percent=True,
                 axis_title=t("chart.share_pct", lang)), hidden


def _hidden_note(hidden: list[int], lang: str) -> str:
    if not hidden:
        return ""
    return t("deck.note.hidden_grades", lang, grades=", ".join(_grade(g, lang) for g in hidden))


def _results(src: Sources, lang: str) -> Slide:
    name = period_name(src.period, lang)
    title = t("deck.title.results", lang, period=name)
    levels = src.levels if src.levels is not None else pd.DataFrame()
    if levels.empty:
        return Slide("results", title, None, (), t("results.no_levels", lang))
    students = dict(zip(src.grades["grade"], src.grades["students"]))
    if sum(students.values()) < SMALL:
        return Slide("results", title, None, (), t("deck.take.too_few", lang))
    shares = level_shares(levels, "grade", rules.SUBJECT_LEVELS)
    chart, hidden = _share_chart(shares, students, rules.SUBJECT_LEVELS, "subject", lang)
    whole = level_shares(levels.assign(all=1), "all", rules.SUBJECT_LEVELS).set_index("level")
    figures = (
        KeyFigure(t("level.subject.T", lang), fmt_percent(whole.at["T", "share"], lang)),
        KeyFigure(t("level.subject.C", lang), fmt_percent(whole.at["C", "share"], lang)),
        KeyFigure(t("deck.fig.values", lang), fmt_number(int(whole["count"].sum()), lang)),
    )
    drawn = shares[~shares["grade"].isin(hidden) & (shares["level"] == "C")]
    if drawn.empty:
        takeaway = t("deck.take.too_few", lang)
    elif not drawn["count"].sum():
        takeaway = t("deck.take.results_no_c", lang)
    else:
        worst = drawn.sort_values(["share", "grade"], ascending=[False, True]).iloc[0]
        takeaway = t("deck.take.results", lang, grade=int(worst["grade"]),
                     pct=fmt_percent(worst["share"], lang))
    note = " ".join(n for n in (t("results.entered_only", lang), _hidden_note(hidden, lang)) if n)
    return Slide("results", title, chart, figures, takeaway, note)


def _year_end(src: Sources, lang: str) -> Slide:
    title = t("deck.title.year_end", lang)
    if src.period != "CN":
        return Slide("year_end", title, None, (), t("deck.take.year_not_cn", lang))
    year = src.year if src.year is not None else pd.DataFrame()
    if year.empty:
        return Slide("year_end", title, None, (), t("results.no_year", lang))
    shares = level_shares(year, "grade", rules.CLASSIFICATIONS, "classification")
    total = int(year["students"].sum())
    if total < SMALL:
        return Slide("year_end", title, None, (), t("deck.take.too_few", lang))
    students = shares.groupby("grade")["count"].sum().to_dict()
    chart, hidden = _share_chart(shares, students, rules.CLASSIFICATIONS, "classification", lang)
    counts = year.groupby("classification")["students"].sum()
    share = {c: int(counts.get(c, 0)) / total for c in rules.CLASSIFICATIONS}
    cht = int(counts.get("CHT", 0))
    figures = (
        KeyFigure(t("level.classification.HTXS", lang), fmt_percent(share["HTXS"], lang)),
        KeyFigure(t("level.classification.HTT", lang), fmt_percent(share["HTT"], lang)),
        KeyFigure(t("level.classification.CHT", lang), count_text(cht, lang)),
    )
    takeaway = t("deck.take.year", lang, htxs=fmt_percent(share["HTXS"], lang),
                 htt=fmt_percent(share["HTT"], lang), cht=count_text(cht, lang))
    note = " ".join(n for n in (t("deck.note.small", lang), _hidden_note(hidden, lang)) if n)
    return Slide("year_end", title, chart, figures, takeaway, note)


def _quality(src: Sources, lang: str) -> Slide:
    title = t("deck.title.quality", lang)
    if src.quality is None:
        return Slide("quality", title, None, (),
                     t("results.settings_error", lang, error=src.quality_error or "–"))
    summary = src.quality
    total = int(summary["count"].sum())
    high = int(summary.loc[summary["severity"] == "high", "count"].sum())
    found = summary[summary["count"] > 0]
    # Findings count entries, not people: shown exactly (no "<5").
    figures = (
        KeyFigure(t("deck.fig.findings", lang), fmt_number(total, lang)),
        KeyFigure(t("deck.fig.high", lang), fmt_number(high, lang)),
        KeyFigure(t("deck.fig.rules_found", lang),
                  f"{fmt_number(len(found), lang)} / {fmt_number(len(summary), lang)}"),
    )
    if found.empty:
        return Slide("quality", title, None, figures, t("deck.take.quality_none", lang))
    drawn = [(name, int(n), fmt_number(int(n), lang))
             for name, n in zip(found["name"], found["count"])]
    chart = Chart("bar", tuple(k for k, _, _ in drawn),
                  (_count_series(t("col.count", lang), drawn, lang),),
                  axis_title=t("col.count", lang))
    top = found.sort_values(["count"], ascending=False, kind="stable").iloc[0]
    takeaway = t("deck.take.quality", lang, rule=top["name"],
                 count=fmt_number(int(top["count"]), lang), high=fmt_number(high, lang))
    return Slide("quality", title, chart, figures, takeaway, t("deck.note.quality", lang))


def working_staff(staff: pd.DataFrame | None) -> pd.DataFrame:
    """The count rows (deck_staff) of staff at work, as csdl.staffing reads the status."""
    from . import staffing

    if staff is None or staff.empty:
        return pd.DataFrame(columns=["position_group", "qualification", "major", "status",
                                     "staff"])
    return staff[[staffing.is_working(s) for s in staff["status"]]]


def _staff(src: Sources, lang: str) -> Slide:
    from . import staffing

    title = t("deck.title.staff", lang)
    staff = working_staff(src.staff)
    total = int(staff["staff"].sum())
    if not total:
        return Slide("staff", title, None, (), t("deck.take.no_staff", lang))
    levels = staff.assign(level=[staffing.qualification_level(q) for q in staff["qualification"]])
    per_level = levels.groupby("level")["staff"].sum()
    drawn = protect_counts(
        [(t(f"deck.qualification.{k}", lang), int(per_level.get(k, 0))) for k in QUALIFICATIONS],
        lang)
    chart = Chart("column", tuple(k for k, _, _ in drawn),
                  (_count_series(t("deck.axis.staff", lang), drawn, lang),),
                  axis_title=t("deck.axis.staff", lang))
    unknown = t("deck.unknown", lang)
    groups = (staff.groupby(staff["position_group"].fillna(unknown))["staff"].sum()
              .sort_values(ascending=False, kind="stable"))
    figures = (KeyFigure(t("deck.fig.staff_total", lang), count_text(total, lang)),) + tuple(
        KeyFigure(str(g), count_text(n, lang)) for g, n in groups.head(2).items())
    teachers = staff[[staffing.is_teacher(g) for g in staff["position_group"]]]
    n_teachers = int(teachers["staff"].sum())
    if n_teachers >= SMALL:
        standard = [staffing.qualification_standard(q, m)
                    for q, m in zip(teachers["qualification"], teachers["major"])]
        meets = int(teachers.loc[[s in ("meets", "above") for s in standard], "staff"].sum())
        takeaway = t("deck.take.staff", lang, total=count_text(total, lang),
                     share=fmt_percent(meets / n_teachers, lang))
    else:
        takeaway = t("deck.take.staff_total", lang, total=count_text(total, lang))
    return Slide("staff", title, chart, figures, takeaway,
                 " ".join((t("deck.note.staff", lang), t("deck.note.small", lang))))


def _facilities(src: Sources, lang: str) -> Slide:
    from . import facilities

    title = t("deck.title.facilities", lang)
    rooms = src.rooms if src.rooms is not None else pd.DataFrame()
    if rooms.empty or not rooms["rooms"].sum():
        return Slide("facilities", title, None, (), t("deck.take.no_rooms", lang))
    by_type = (rooms.groupby(rooms["room_type"].fillna(t("deck.unknown", lang)))["rooms"].sum()
               .sort_values(ascending=False, kind="stable"))
    drawn = list(by_type.head(MAX_ROOM_TYPES).items())
    rest = int(by_type.iloc[MAX_ROOM_TYPES:].sum())
    if rest:
        drawn.append((t("deck.other_room_types", lang), rest))
    chart = Chart("bar", tuple(k for k, _ in drawn),
                  (Series(t("deck.axis.rooms", lang), tuple(float(v) for _, v in drawn),
                          color=BRAND),), axis_title=t("deck.axis.rooms", lang))
    total = int(rooms["rooms"].sum())
    classrooms = int(rooms.loc[[facilities.room_kind(r) == "classroom"
                                for r in rooms["room_type"]], "rooms"].sum())
    repair = int(rooms.loc[[facilities.condition(c) in ("repair", "broken")
                            for c in rooms["condition"]], "rooms"].sum())
    n_classes = len(src.classes)
    figures = (
        KeyFigure(t("deck.fig.rooms_total", lang), fmt_number(total, lang)),
        KeyFigure(t("deck.fig.classrooms", lang),
                  f"{fmt_number(classrooms, lang)} / {fmt_number(n_classes, lang)}"),
        KeyFigure(t("deck.fig.rooms_repair", lang), fmt_number(repair, lang)),
    )
    takeaway = t("deck.take.facilities", lang, classrooms=fmt_number(classrooms, lang),
                 classes=fmt_number(n_classes, lang), repair=fmt_number(repair, lang))
    return Slide("facilities", title, chart, figures, takeaway, t("deck.note.rooms", lang))


BUILDERS = {"overview": _overview, "progress": _progress, "classes_behind": _classes_behind,
            "results": _results, "year_end": _year_end, "quality": _quality, "staff": _staff,
            "facilities": _facilities}


# --- the plotly figure of a chart (page and HTML) -------------------------------------------

def _value_text(value: float, percent: bool, lang: str, decimals: int = 1) -> str:
    return fmt_percent(value, lang, decimals) if percent else fmt_number(value, lang)


def figure(chart: Chart, lang: str = "vi", height: int = 520) -> go.Figure:
    """The chart drawn with plotly, large type for a projector, numbers in the user's style.
    The values drawn are exactly the chart's (percent charts in %, ×100)."""
    scale = 100.0 if chart.percent else 1.0
    fig = go.Figure()
    if chart.kind == "doughnut":
        s = chart.series[0]
        fig.add_trace(go.Pie(
            labels=list(chart.categories), values=list(s.values), hole=0.55, sort=False,
            direction="clockwise", marker=dict(colors=list(s.point_colors or ())),
            text=[fmt_number(v, lang) for v in s.values], textinfo="percent",
            hovertemplate="%{label}: %{text}<extra></extra>", textfont=dict(size=26)))
    for s in chart.series if chart.kind != "doughnut" else ():
        values = [v * scale for v in s.values]
        horizontal = chart.kind in ("bar", "stacked")
        decimals = 0 if chart.kind == "stacked" else 1
        text = (list(s.labels) if s.labels else
                [(_value_text(v, chart.percent, lang, decimals)
                  if chart.kind != "stacked" or v >= 0.06 else "") for v in s.values])
        hover = [f"({h})" if h else "" for h in (s.hover or [""] * len(values))]
        shown = list(s.labels) if s.labels else [_value_text(v, chart.percent, lang)
                                                  for v in s.values]
        fig.add_trace(go.Bar(
            x=values if horizontal else list(chart.categories),
            y=list(chart.categories) if horizontal else values,
            orientation="h" if horizontal else "v", name=s.name, text=text,
            textposition="inside" if chart.kind == "stacked" else "auto",
            insidetextanchor="middle", textfont=dict(size=20),
            marker_color=list(s.point_colors) if s.point_colors else s.color,
            customdata=[[v, h] for v, h in zip(shown, hover)],
            hovertemplate=("%{y}" if horizontal else "%{x}")
            + ": %{customdata[0]} %{customdata[1]}<extra>" + s.name + "</extra>"))
    value_axis = dict(title=dict(text=chart.axis_title, font=dict(size=18)),
                      tickfont=dict(size=18), ticksuffix="%" if chart.percent else "")
    if chart.percent:
        value_axis["range"] = [0, 100]
    category_axis = dict(tickfont=dict(size=22), automargin=True)
    if chart.kind in ("bar", "stacked"):
        fig.update_layout(xaxis=value_axis, yaxis=dict(category_axis, autorange="reversed"))
    elif chart.kind == "column":
        fig.update_layout(yaxis=value_axis, xaxis=category_axis)
    fig.update_layout(
        barmode="stack" if chart.kind == "stacked" else "group", height=height,
        margin=dict(l=10, r=10, t=70 if chart.kind == "stacked" else 40, b=10),
        separators=",." if lang == "vi" else ".,",
        font=dict(size=20), showlegend=chart.kind in ("stacked", "doughnut"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", font=dict(size=18),
                    traceorder="normal"))
    return fig
