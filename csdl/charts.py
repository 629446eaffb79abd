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
    cell = progress.set_index(["class_name", name_col])
    z, text, hover = [], [], []
    for cls in classes:
        zr, tr_, hr = [], [], []
        for item in items:
            if (cls, item) in cell.index:
                row = cell.loc[(cls, item)]
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
