"""Plotly figures of a model's test-fold results: ROC and precision-recall curves, AUC intervals."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

_LAYOUT = dict(height=380, margin=dict(l=55, r=10, t=45, b=40), template="plotly_white",
               legend=dict(orientation="h", y=-0.2))


def class_colors(classes: list[str]) -> dict[str, str]:
    """One fixed colour per class, in class order."""
    return {c: qualitative.D3[i % len(qualitative.D3)] for i, c in enumerate(classes)}


def roc_figure(curves: dict[str, dict], aucs: pd.DataFrame | None = None) -> go.Figure:
    """ROC curve per class (``metrics.roc_pr_curves``), AUC in the legend, chance diagonal."""
    colors = class_colors(list(curves))
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", showlegend=False,
                    line=dict(color="gray", dash="dot", width=1), hoverinfo="skip")
    for c, cur in curves.items():
        label = c if aucs is None else f"{c} (AUC {aucs.loc[c, 'auc']:.3f})"
        fig.add_scatter(x=cur["fpr"], y=cur["tpr"], mode="lines", name=label,
                        line=dict(color=colors[c], shape="hv"),
                        hovertemplate=f"{c}<br>FPR %{{x:.2f}}<br>TPR %{{y:.2f}}<extra></extra>")
    fig.update_xaxes(title="false positive rate", range=[0, 1], constrain="domain")
    fig.update_yaxes(title="true positive rate", range=[0, 1.02], scaleanchor="x")
    return fig.update_layout(title="ROC curves, test fold", **_LAYOUT)


def pr_figure(curves: dict[str, dict], prevalence: pd.Series | None = None) -> go.Figure:
    """Precision-recall curve per class; a dotted line at each class's prevalence (chance level)."""
    colors = class_colors(list(curves))
    fig = go.Figure()
    for c, cur in curves.items():
        fig.add_scatter(x=cur["recall"], y=cur["precision"], mode="lines", name=c,
                        line=dict(color=colors[c], shape="hv"),
                        hovertemplate=f"{c}<br>recall %{{x:.2f}}<br>precision %{{y:.2f}}"
                                      "<extra></extra>")
        if prevalence is not None:
            fig.add_hline(y=float(prevalence[c]), line=dict(color=colors[c], dash="dot", width=1))
    fig.update_xaxes(title="recall (sensitivity)", range=[0, 1])
    fig.update_yaxes(title="precision (PPV)", range=[0, 1.02])
    title = "Precision-recall curves" + (" (dotted: prevalence)" if prevalence is not None else "")
    return fig.update_layout(title=title, **_LAYOUT)


def auc_ci_figure(aucs: pd.DataFrame, reference: float | None = None,
                  reference_name: str = "") -> go.Figure:
    """AUC per class and macro with their 95% intervals; an optional published macro AUC line.

    ``aucs`` is ``metrics.auc_table`` output (index: classes then ``macro``).
    """
    rows = aucs.dropna(subset=["auc"])
    colors = class_colors([c for c in aucs.index if c != "macro"])
    fig = go.Figure(go.Scatter(
        x=rows["auc"], y=list(rows.index), mode="markers", name="AUC (95% CI)",
        marker=dict(size=11, color=[colors.get(c, "black") for c in rows.index],
                    symbol=["diamond" if c == "macro" else "circle" for c in rows.index]),
        error_x=dict(type="data", symmetric=False, array=rows["ci_high"] - rows["auc"],
                     arrayminus=rows["auc"] - rows["ci_low"], thickness=2, width=6),
        customdata=rows[["ci_low", "ci_high", "positives"]].to_numpy(),
        hovertemplate="%{y}: AUC %{x:.3f} (95% CI %{customdata[0]:.3f}-%{customdata[1]:.3f}),"
                      " %{customdata[2]} positives<extra></extra>"))
    if reference is not None:
        fig.add_vline(x=reference, line=dict(color="crimson", dash="dash"),
                      annotation_text=f"{reference_name} {reference:.3f}".strip(),
                      annotation_position="top", annotation_yanchor="bottom",
                      annotation_xanchor="right",
                      annotation_font=dict(color="crimson", size=11))
    low = float(min(0.5, rows["ci_low"].min())) if len(rows) else 0.5
    fig.update_xaxes(title="ROC AUC", range=[low - 0.02, 1.0])
    fig.update_yaxes(autorange="reversed")
    return fig.update_layout(title="AUC per class with bootstrap 95% intervals",
                             showlegend=False,
                             **{**_LAYOUT, "height": 320, "margin": dict(l=55, r=10, t=70, b=40)})
