"""Chart builders: DataFrame in, plotly Figure out; no Streamlit, so they test as plain functions."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from . import rules
from .i18n import fmt_percent, t

BRAND = "#1f6f8b"


def completion_by_grade(df: pd.DataFrame, lang: str = "vi") -> go.Figure:
    """Horizontal bars of completion per grade, labelled in the Vietnamese style."""
    labels = [t("chart.grade_label", lang, grade=g) for g in df["grade"]]
    values = [float(v) * 100 if pd.notna(v) else 0.0 for v in df["completion"]]
    text = [fmt_percent(v, lang) if pd.notna(v) else "–" for v in df["completion"]]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", text=text,
                           textposition="auto", marker_color=BRAND,
                           customdata=df[["entered", "expected"]].to_numpy(),
                           hovertemplate="%{y}: %{text} (%{customdata[0]:,} / %{customdata[1]:,})<extra></extra>"))
    fig.update_layout(
        xaxis=dict(range=[0, 100], title=t("chart.completion_pct", lang), ticksuffix="%"),
        yaxis=dict(autorange="reversed"), height=80 + 48 * max(len(df), 1),
        margin=dict(l=10, r=10, t=10, b=40), separators=",." if lang == "vi" else ".,")
    return fig


def progress_heatmap(progress: pd.DataFrame, lang: str = "vi") -> go.Figure:
    """Classes × subjects, coloured by completion; hover names the teacher and the status."""
    name_col = "item_name_en" if lang == "en" else "item_name_vi"
    order = {code: i for i, code in enumerate(rules.UNIT_ORDER)}
    items = list(dict.fromkeys(progress.sort_values(
        "item_code", key=lambda c: c.map(lambda x: order.get(x, 99)))[name_col]))
    classes = list(dict.fromkeys(progress["class_name"]))
    # A dict of the rows (not .loc per cell: that cost ~0.1 s for a school's 300 cells).
    cell = {(c, i): {"completion": v, "entered": e, "expected": x, "staff_name": n, "status": s}
            for c, i, v, e, x, n, s in zip(
                progress["class_name"], progress[name_col], progress["completion"],
                progress["entered"], progress["expected"], progress["staff_name"],
                progress["status"])}
    z, text, hover = [], [], []
    for cls in classes:
        zr, tr_, hr = [], [], []
        for item in items:
            if (cls, item) in cell:
                row = cell[(cls, item)]
                value = float(row["completion"]) if pd.notna(row["completion"]) else None
                zr.append(None if value is None else value * 100)
                tr_.append(fmt_percent(value, lang, 0))
                hr.append(f"{cls} · {item}<br>{row['entered']:,} / {row['expected']:,}"
                          f"<br>{row['staff_name'] or '—'}<br>{t('status.' + row['status'], lang)}")
            else:
                zr.append(None)
                tr_.append("")
                hr.append("")
        z.append(zr)
        text.append(tr_)
        hover.append(hr)
    fig = go.Figure(go.Heatmap(
        z=z, x=items, y=classes, text=text, texttemplate="%{text}", hovertext=hover,
        hoverinfo="text", zmin=0, zmax=100, xgap=2, ygap=2,
        colorscale=[[0, "#d7301f"], [0.5, "#fdcc8a"], [0.9, "#a1d99b"], [1, "#238b45"]],
        colorbar=dict(title="%", ticksuffix="%")))
    fig.update_layout(height=120 + 28 * len(classes), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(side="top", tickangle=-35), yaxis=dict(autorange="reversed"))
    return fig


def burnup(totals: pd.DataFrame, lang: str = "vi", opens=None, deadline=None, lock=None,
           projection: tuple | None = None) -> go.Figure:
    """Completion across snapshots, with the deadline and lock and the projected finish."""
    fig = go.Figure(go.Scatter(
        x=totals["taken_at"], y=[float(v) * 100 for v in totals["completion"].fillna(0)],
        mode="lines+markers", name=t("chart.completed", lang), line=dict(color=BRAND, width=3)))
    if projection is not None:
        (x0, y0), (x1, y1) = projection
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0 * 100, y1 * 100], mode="lines",
                                 name=t("chart.projection", lang),
                                 line=dict(color="#e6550d", dash="dash")))
    for day, key, color in ((opens, "chart.opens", "#999999"), (deadline, "chart.deadline", "#e6550d"),
                            (lock, "chart.lock", "#d7301f")):
        if day is not None:
            fig.add_vline(x=pd.Timestamp(day).timestamp() * 1000, line_dash="dot", line_color=color,
                          annotation_text=t(key, lang), annotation_position="top left")
    fig.update_layout(yaxis=dict(range=[0, 105], title=t("chart.completion_pct", lang),
                                 ticksuffix="%"), xaxis=dict(tickformat="%d/%m"),
                      height=380, margin=dict(l=10, r=10, t=30, b=10),
                      separators=",." if lang == "vi" else ".,",
                      legend=dict(orientation="h", y=-0.15))
    return fig


# --- results (issue 7) ----------------------------------------------------------------------
# One colour per level everywhere: best green, middle amber, not completed red.
LEVEL_COLORS = {
    "subject": {"T": "#238b45", "H": "#f0a202", "C": "#d7301f"},
    "trait": {"T": "#238b45", "Đ": "#f0a202", "C": "#d7301f"},
    "classification": {"HTXS": "#00441b", "HTT": "#41ab5d", "HT": "#f0a202", "CHT": "#d7301f"},
}


def _separators(lang: str) -> str:
    return ",." if lang == "vi" else ".,"


def level_share_bars(shares: pd.DataFrame, kind: str, lang: str = "vi",
                     label_col: str = "label", group_col: str | None = None) -> go.Figure:
    """100% stacked horizontal bars: one bar per row label (rows as `shares` orders them), one
    segment per level of `kind` ("subject", "trait" or "classification"). `shares` is the long
    table of csdl.results.shares plus a label column; `group_col` adds an outer axis label
    (a trait's group)."""
    colors = LEVEL_COLORS[kind]
    rows = shares.drop_duplicates([c for c in (group_col, label_col) if c])
    y_of = (lambda df: [list(df[group_col]), list(df[label_col])]) if group_col \
        else (lambda df: list(df[label_col]))
    fig = go.Figure()
    for level, color in colors.items():
        part = shares[shares["level"] == level]
        fig.add_trace(go.Bar(
            x=[float(v) * 100 if pd.notna(v) else 0.0 for v in part["share"]], y=y_of(part),
            orientation="h", name=t(f"level.{kind}.{level}", lang), marker_color=color,
            text=[fmt_percent(v, lang, 0) if pd.notna(v) and v >= 0.06 else "" for v in part["share"]],
            textposition="inside", insidetextanchor="middle",
            customdata=part[["students", "total"]].to_numpy(),
            hovertemplate="%{y}: %{x:.1f}% (%{customdata[0]:,} / %{customdata[1]:,})<extra>"
                          + level + "</extra>"))
    fig.update_layout(
        barmode="stack", xaxis=dict(range=[0, 100], title=t("chart.share_pct", lang), ticksuffix="%"),
        yaxis=dict(autorange="reversed"), height=110 + 30 * max(len(rows), 1),
        margin=dict(l=10, r=10, t=10, b=40), separators=_separators(lang),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", traceorder="normal"))
    return fig


def score_histogram(distribution: pd.DataFrame, lang: str = "vi",
                    series_col: str = "label") -> go.Figure:
    """Students per test score 1–10, one bar series per value of `series_col` (a grade)."""
    fig = go.Figure()
    for name, part in distribution.groupby(series_col, sort=False):
        fig.add_trace(go.Bar(x=list(part["score"]), y=list(part["students"]), name=str(name),
                             hovertemplate="%{x}: %{y:,}<extra>" + str(name) + "</extra>"))
    fig.update_layout(
        barmode="group", height=340, margin=dict(l=10, r=10, t=10, b=40),
        xaxis=dict(title=t("chart.score", lang), tickmode="linear", tick0=1, dtick=1,
                   range=[0.5, 10.5]),
        yaxis=dict(title=t("chart.students", lang)), separators=_separators(lang),
        legend=dict(orientation="h", y=1.02, yanchor="bottom"))
    return fig


def transition_heatmap(matrix: pd.DataFrame, before: str, after: str,
                       lang: str = "vi") -> go.Figure:
    """From level (rows) to level (columns) between two periods, each cell a count of the same
    students; the diagonal is 'no change'."""
    from .i18n import fmt_number

    z = matrix.to_numpy().tolist()
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index],
        text=[[fmt_number(v, lang) for v in row] for row in z],
        texttemplate="%{text}", colorscale="Blues", showscale=False, xgap=2, ygap=2,
        hovertemplate="%{y} → %{x}: %{text}<extra></extra>"))
    fig.update_layout(
        xaxis=dict(title=t("chart.level_at", lang, period=after), side="top", type="category"),
        yaxis=dict(title=t("chart.level_at", lang, period=before), autorange="reversed",
                   type="category"),
        height=120 + 60 * len(matrix), margin=dict(l=10, r=10, t=60, b=10))
    return fig


def classes_side_by_side(shares: pd.DataFrame, lang: str = "vi",
                         label_col: str = "label") -> go.Figure:
    """Two (or more) classes' subject shares next to each other, the same subjects on one
    axis, one panel per class in the order `shares` gives them."""
    from plotly.subplots import make_subplots

    classes = list(dict.fromkeys(shares["class_name"]))
    fig = make_subplots(rows=1, cols=len(classes), shared_yaxes=True,
                        subplot_titles=classes, horizontal_spacing=0.06)
    for col, name in enumerate(classes, start=1):
        own = level_share_bars(shares[shares["class_name"] == name], "subject", lang, label_col)
        for trace in own.data:
            trace.showlegend = col == 1
            trace.legendgroup = trace.name
            fig.add_trace(trace, row=1, col=col)
        fig.update_xaxes(range=[0, 100], ticksuffix="%", dtick=25, row=1, col=col)
    rows = shares[label_col].nunique()
    fig.update_layout(barmode="stack", height=160 + 30 * max(rows, 1),
                      margin=dict(l=10, r=10, t=90, b=30), separators=_separators(lang),
                      legend=dict(orientation="h", yref="container", y=0.99, yanchor="top"))
    fig.update_yaxes(autorange="reversed")
    return fig


# --- staff, facilities and figures (issue 7) --------------------------------------------------
def count_bars(df: pd.DataFrame, label_col: str, value_col: str, lang: str = "vi",
               axis_key: str = "chart.staff", color: str = BRAND) -> go.Figure:
    """Horizontal bars, one per row of `df` in its order, the count written on each bar."""
    from .i18n import fmt_number

    labels = [str(v) for v in df[label_col]]
    values = [int(v) for v in df[value_col]]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=color,
                           text=[fmt_number(v, lang) for v in values], textposition="auto",
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_layout(xaxis=dict(title=t(axis_key, lang), rangemode="tozero"),
                      yaxis=dict(autorange="reversed", type="category"),
                      height=90 + 34 * max(len(df), 1), margin=dict(l=10, r=10, t=10, b=40),
                      separators=_separators(lang))
    return fig


# Construction types, best first: solid green, semi-solid amber, temporary red, unknown grey.
CONSTRUCTION_COLORS = {"solid": "#238b45", "semi_solid": "#f0a202", "temporary": "#d7301f",
                       "unknown": "#bdbdbd"}


def stacked_counts(df: pd.DataFrame, label_col: str, series: dict[str, str],
                   colors: dict[str, str] | None = None, lang: str = "vi",
                   axis_key: str = "chart.rooms") -> go.Figure:
    """Stacked horizontal bars: one bar per row, one segment per column of `series`
    (column → legend label, already translated), e.g. rooms by type and construction."""
    fig = go.Figure()
    for column, name in series.items():
        fig.add_trace(go.Bar(
            x=[int(v) for v in df[column]], y=[str(v) for v in df[label_col]], orientation="h",
            name=name, marker_color=(colors or {}).get(column),
            hovertemplate="%{y}: %{x:,}<extra>" + name + "</extra>"))
    fig.update_layout(barmode="stack", xaxis=dict(title=t(axis_key, lang), rangemode="tozero"),
                      yaxis=dict(autorange="reversed", type="category"),
                      height=110 + 30 * max(len(df), 1), margin=dict(l=10, r=10, t=10, b=40),
                      separators=_separators(lang),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom"))
    return fig


def have_and_needed(df: pd.DataFrame, label_col: str, lang: str = "vi") -> go.Figure:
    """What there is beside what the norm asks for, one pair of bars per row (`have`,
    `needed`); a row short of its norm is drawn red."""
    short = [pd.notna(n) and h < n for h, n in zip(df["have"], df["needed"])]
    labels = [str(v) for v in df[label_col]]
    fig = go.Figure([
        go.Bar(x=labels, y=[int(v) for v in df["have"]], name=t("chart.have", lang),
               marker_color=["#d7301f" if s else "#238b45" for s in short],
               hovertemplate="%{x}: %{y:,}<extra></extra>"),
        go.Bar(x=labels, y=[int(v) if pd.notna(v) else None for v in df["needed"]],
               name=t("chart.needed", lang), marker_color="#9ecae1",
               hovertemplate="%{x}: %{y:,}<extra></extra>"),
    ])
    fig.update_layout(barmode="group", height=340, margin=dict(l=10, r=10, t=10, b=40),
                      separators=_separators(lang), yaxis=dict(rangemode="tozero"),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom"))
    return fig


def district_completion(df: pd.DataFrame, lang: str = "vi") -> go.Figure:
    """One bar per school: completion of the period, with the overdue units in the hover."""
    values = [float(v) * 100 if pd.notna(v) else 0.0 for v in df["completion"]]
    text = [fmt_percent(v, lang) if pd.notna(v) else "–" for v in df["completion"]]
    fig = go.Figure(go.Bar(
        x=values, y=list(df["name"]), orientation="h", text=text, textposition="auto",
        marker_color=BRAND, customdata=df[["entered", "expected", "overdue_units"]].to_numpy(),
        hovertemplate="%{y}: %{text} (%{customdata[0]:,} / %{customdata[1]:,})<br>"
                      + t("district.col_overdue", lang) + ": %{customdata[2]}<extra></extra>"))
    fig.update_layout(
        xaxis=dict(range=[0, 100], title=t("chart.completion_pct", lang), ticksuffix="%"),
        yaxis=dict(autorange="reversed"), height=80 + 40 * max(len(df), 1),
        margin=dict(l=10, r=10, t=10, b=40), separators=",." if lang == "vi" else ".,")
    return fig
