"""Chart builders: DataFrame in, plotly Figure out; no Streamlit, so they test as plain functions."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

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
