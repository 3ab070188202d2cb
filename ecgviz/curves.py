"""Plotly figures of training runs: lr finder, one-cycle schedule, losses, accuracy and AUC."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_LAYOUT = dict(height=300, margin=dict(l=50, r=10, t=40, b=40), template="plotly_white",
               legend=dict(orientation="h", y=-0.25))


def _epoch_axis(fig: go.Figure, history: pd.DataFrame) -> go.Figure:
    """Whole-epoch ticks (about ten at most)."""
    n = int(history["epoch"].max()) if len(history) else 1
    return fig.update_xaxes(title="epoch", tick0=1, dtick=max(1, round(n / 10)))


def lr_find_figure(lr_find: pd.DataFrame, suggested: float | None = None) -> go.Figure:
    """Loss against learning rate (log x), with the suggested lr marked."""
    fig = go.Figure(go.Scatter(x=lr_find["lr"], y=lr_find["loss"], mode="lines", name="loss"))
    if suggested:
        fig.add_vline(x=suggested, line_dash="dash", line_color="crimson",
                      annotation_text=f"suggested {suggested:.1e}")
    fig.update_xaxes(type="log", title="learning rate")
    return fig.update_layout(title="lr finder", yaxis_title="loss", **_LAYOUT)


def lr_schedule_figure(schedule: pd.DataFrame) -> go.Figure:
    """Learning rate per iteration (the one-cycle shape)."""
    fig = go.Figure(go.Scatter(x=schedule["iteration"], y=schedule["lr"], mode="lines", name="lr"))
    return fig.update_layout(title="learning rate per iteration", xaxis_title="iteration",
                             yaxis_title="lr", **_LAYOUT)


def loss_figure(history: pd.DataFrame, schedule: pd.DataFrame | None = None) -> go.Figure:
    """Train and valid loss per epoch; the smoothed per-iteration train loss when given."""
    fig = go.Figure()
    if schedule is not None and len(schedule) and "epoch" in schedule:
        per_epoch = schedule["iteration"] / schedule.groupby("epoch")["iteration"].transform("max")
        x = schedule["epoch"] - 1 + per_epoch.where(per_epoch.notna(), 1.0)
        fig.add_scatter(x=x, y=schedule["smooth_loss"], mode="lines", name="train (per iteration)",
                        line=dict(width=1, color="lightgray"))
    fig.add_scatter(x=history["epoch"], y=history["train_loss"], mode="lines+markers", name="train")
    fig.add_scatter(x=history["epoch"], y=history["valid_loss"], mode="lines+markers", name="valid")
    fig.update_layout(title="loss", yaxis_title="BCE loss", **_LAYOUT)
    return _epoch_axis(fig, history)


def metrics_figure(history: pd.DataFrame) -> go.Figure:
    """Validation ``accuracy_multi`` and macro AUC per epoch."""
    fig = go.Figure()
    fig.add_scatter(x=history["epoch"], y=history["accuracy_multi"], mode="lines+markers",
                    name="accuracy_multi")
    fig.add_scatter(x=history["epoch"], y=history["macro_auc"], mode="lines+markers",
                    name="macro AUC")
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(title="validation metrics", **_LAYOUT)
    return _epoch_axis(fig, history)


METRIC_NAMES = {"macro_auc": "valid macro AUC", "accuracy_multi": "valid accuracy_multi",
                "valid_loss": "valid loss", "train_loss": "train loss"}


def compare_runs_figure(histories: dict[str, pd.DataFrame], metric: str = "macro_auc") -> go.Figure:
    """One line per run of ``metric`` per epoch."""
    fig = go.Figure()
    for name, hist in histories.items():
        fig.add_scatter(x=hist["epoch"], y=hist[metric], mode="lines+markers", name=name)
    return fig.update_layout(title=f"{METRIC_NAMES.get(metric, metric)} per epoch, by run",
                             xaxis_title="epoch", **_LAYOUT)
