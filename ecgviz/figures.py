"""Plotly figures for one record: 12-lead ECG paper (with saliency), probabilities, lead attribution.

ECG paper follows the clinical convention: 25 mm/s and 10 mm/mV, so 1 mm = 0.04 s horizontally
and 0.1 mV vertically, bold lines every 5 mm (0.2 s, 0.5 mV). The x axis is in seconds of the
record; the y axis is in "mV at 10 mm/mV" (1 unit = 10 mm), so the paper grid does not move when
the gain changes: only the traces are scaled. Builders return ``go.Figure`` and never show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ecgviz.signals import LEADS, ECGRecord
from ecgviz.vcg import PLANES, projections

PAPER_SPEED = 25.0             # mm/s
STANDARD_GAIN = 10.0           # mm/mV; the y axis unit is 1 mV at this gain (10 mm)
MINOR_S, MAJOR_S = 0.04, 0.2   # 1 mm and 5 mm along time
MINOR_MV, MAJOR_MV = 0.1, 0.5  # 1 mm and 5 mm along amplitude
COLUMN_S = 2.5                 # seconds per column of the 3x4 print
WINDOW_S = 10.0                # seconds shown per page
COLUMNS_3X4 = (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6"))
RHYTHM_LEAD = "II"
LAYOUTS = ("3x4", "stacked")
ROW_MV = {"3x4": 4.0, "stacked": 2.5}   # distance between row baselines (40 mm / 25 mm)
CAL_LEFT_S = 0.5               # paper left of t=0 that holds the calibration pulse
SALIENCY_BIN_S = MINOR_S       # one heat cell per small box
SALIENCY_CLIP_PCT = 99.0       # colour scale saturates above this percentile of |cell|

PAPER_COLOR = "#fffdfc"
MINOR_GRID = "#f8d3d3"
MAJOR_GRID = "#e58a8a"
TRACE_COLOR = "#111111"
POSITIVE = (214, 96, 0)        # attribution that raises the class probability (orange)
NEGATIVE = (43, 108, 196)      # attribution that lowers it (blue)


def _rgba(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:g})"


@dataclass(frozen=True)
class _Piece:
    """One drawn stretch of one lead: samples [a, b) placed on the row with baseline ``y0``."""

    lead: str
    a: int
    b: int
    y0: float
    first: bool = True   # starts its row (no lead-change bar before it)


def _window(record: ECGRecord, start: float, seconds: float) -> tuple[int, int]:
    n = record.signal.shape[0]
    a = min(max(0, int(round(start * record.fs))), max(0, n - 1))
    return a, min(n, a + int(round(seconds * record.fs)))


def _pieces(layout: str, a: int, b: int, fs: float) -> tuple[list[_Piece], list[float]]:
    """What is drawn where, and the baselines of the rows (top to bottom)."""
    step = ROW_MV[layout]
    if layout == "stacked":
        rows = [-i * step for i in range(len(LEADS))]
        return [_Piece(lead, a, b, y) for lead, y in zip(LEADS, rows)], rows
    rows = [-i * step for i in range(4)]
    col = (b - a) // 4 if (b - a) < 4 * COLUMN_S * fs else int(round(COLUMN_S * fs))
    pieces = [_Piece(lead, a + k * col, a + (k + 1) * col, rows[r], first=k == 0)
              for k, leads in enumerate(COLUMNS_3X4) for r, lead in enumerate(leads)]
    pieces.append(_Piece(RHYTHM_LEAD, a, b, rows[3]))
    return pieces, rows


def _trace(record: ECGRecord, piece: _Piece, gain: float, band: float | None = None) -> go.Scatter:
    """SVG lines at any rate: without a GPU, WebGL draws a 500 Hz page 10x slower."""
    mv = record.signal[piece.a:piece.b, LEADS.index(piece.lead)]
    y = (piece.y0 + (mv - np.median(mv)) * (gain / STANDARD_GAIN)).astype(np.float32)
    clipped = 0
    if band is not None:   # flat at the edge of the row band, as printers do
        clipped = int(np.count_nonzero(np.abs(y - piece.y0) > band))
        y = np.clip(y, piece.y0 - band, piece.y0 + band)
    fmt = ".2f" if record.fs <= 100 else ".3f"
    return go.Scatter(
        x0=piece.a / record.fs, dx=1.0 / record.fs, y=y, customdata=mv.astype(np.float32),
        mode="lines", line=dict(color=TRACE_COLOR, width=1.1), name=piece.lead,
        showlegend=False, meta={"role": "lead", "lead": piece.lead, "clipped": clipped},
        hovertemplate=f"<b>{piece.lead}</b> · %{{x:{fmt}}} s · %{{customdata:.3f}} mV<extra></extra>",
    )


def _calibration(rows: Sequence[float], t0: float, gain: float) -> go.Scatter:
    """A 1 mV (``gain`` mm high), 0.2 s wide pulse at the start of every row."""
    h = gain / STANDARD_GAIN
    xs: list[float | None] = []
    ys: list[float | None] = []
    for y in rows:
        left = t0 - CAL_LEFT_S
        xs += [left + 0.05, left + 0.15, left + 0.15, left + 0.35, left + 0.35, left + 0.45, None]
        ys += [y, y, y + h, y + h, y, y, None]
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=TRACE_COLOR, width=1.3),
                      hoverinfo="skip", showlegend=False, name="1 mV calibration",
                      meta={"role": "calibration", "mv": 1.0, "height": h})


def _separators(pieces: Sequence[_Piece], fs: float) -> go.Scatter:
    """Short vertical bars where the 3x4 print switches lead within a row."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for p in pieces:
        if not p.first:
            xs += [p.a / fs, p.a / fs, None]
            ys += [p.y0 - 0.3, p.y0 + 0.3, None]
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=TRACE_COLOR, width=1.3),
                      hoverinfo="skip", showlegend=False, meta={"role": "separator"})


def _robust_scale(heat: np.ndarray) -> float:
    """Symmetric colour limit: the ``SALIENCY_CLIP_PCT`` percentile of |cell|, so that one spike
    does not wash out every other cell (cells beyond it saturate)."""
    mag = np.abs(heat[np.isfinite(heat)])
    if not mag.size or mag.max() == 0:
        return 1.0
    return float(max(np.percentile(mag, SALIENCY_CLIP_PCT), mag.max() / 50))


def _saliency_heat(attributions: np.ndarray, pieces: Sequence[_Piece], rows: Sequence[float],
                   layout: str, a: int, b: int, fs: float, opacity: float, target: str | None
                   ) -> list[go.Heatmap | go.Scatter]:
    """One heat band per row (one cell per small box), diverging colours on a symmetric scale."""
    per_bin = max(1, int(round(SALIENCY_BIN_S * fs)))
    n_bins = -(-(b - a) // per_bin)
    edges_t = (a + np.minimum(np.arange(n_bins + 1) * per_bin, b - a)) / fs
    heat = np.full((len(rows), n_bins), np.nan)
    for p in pieces:
        r = rows.index(p.y0)
        i, j = (p.a - a) // per_bin, -(-(p.b - a) // per_bin)
        chunk = attributions[LEADS.index(p.lead), a + i * per_bin:min(b, a + j * per_bin)]
        pad = (j - i) * per_bin - chunk.size
        heat[r, i:j] = np.pad(chunk, (0, pad)).reshape(j - i, per_bin).sum(axis=1)
    scale = _robust_scale(heat)
    half = ROW_MV[layout] * 0.46
    # Heatmap rows must go upwards: band, gap, band, ... from the lowest row to the top one.
    y_edges, z = [], []
    for k, y in enumerate(sorted(rows)):
        y_edges += [y - half, y + half]
        z.append(heat[rows.index(y)])
        if k < len(rows) - 1:
            z.append(np.full(n_bins, np.nan))
    colorscale = [[0.0, _rgba(NEGATIVE, 0.95)], [0.25, _rgba(NEGATIVE, 0.5)],
                  [0.5, _rgba(NEGATIVE, 0.0)], [0.5, _rgba(POSITIVE, 0.0)],
                  [0.75, _rgba(POSITIVE, 0.5)], [1.0, _rgba(POSITIVE, 0.95)]]
    what = f"P({target})" if target else "the class probability"
    heatmap = go.Heatmap(
        x=edges_t.astype(np.float32), y=y_edges, z=np.asarray(z, np.float32),
        zmin=-scale, zmax=scale, colorscale=colorscale, opacity=opacity, hoverinfo="skip",
        showscale=True, name="saliency", meta={"role": "saliency", "scale": scale},
        colorbar=dict(title=dict(text=f"IG per 40 ms (saturates at ±{scale:.2g})", side="right",
                                 font=dict(size=11)),
                      orientation="h", x=1.0, xanchor="right", y=-0.012, yanchor="top",
                      len=0.25, thickness=9, tickvals=[-scale, 0, scale],
                      ticktext=[f"−{scale:.2g}", "0", f"+{scale:.2g}"], tickfont=dict(size=10),
                      outlinewidth=0),
    )
    keys = [go.Scatter(x=[None], y=[None], mode="markers", name=f"{word} {what}",
                       marker=dict(symbol="square", size=13, color=_rgba(rgb, 0.8)),
                       hoverinfo="skip", meta={"role": "saliency"})
            for word, rgb in (("raises", POSITIVE), ("lowers", NEGATIVE))]
    return [heatmap, *keys]


def ecg_paper(record: ECGRecord, layout: str = "3x4", attributions: np.ndarray | None = None,
              opacity: float = 0.5, gain: float = STANDARD_GAIN, *, start: float = 0.0,
              seconds: float = WINDOW_S, target: str | None = None, title: str | None = None,
              height: int | None = None, width_hint: int = 900, clip: bool = False) -> go.Figure:
    """12-lead ECG on paper (25 mm/s, 10 mm/mV grid, square boxes) with optional saliency heat.

    ``layout`` is ``"3x4"`` (four 2.5 s columns, each its own quarter of the window, plus a lead II
    rhythm strip over the whole window) or ``"stacked"`` (12 leads over the whole window). The
    window is ``seconds`` long from ``start`` (shorter records show what they have). ``gain`` is
    in mm/mV (5, 10, 20 are the clinical choices). ``attributions`` (12, T) at the record's rate
    are drawn as a heat band under each trace for class ``target``. ``clip`` flattens a trace at
    the edge of its row band (half the row spacing above and below its baseline) so that tall
    complexes never run into the neighbouring rows; hover still shows the true mV and each lead
    trace's ``meta["clipped"]`` counts the flattened samples.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; use one of {LAYOUTS}")
    if gain <= 0:
        raise ValueError(f"gain must be positive (mm/mV), got {gain}")
    if attributions is not None and np.shape(attributions) != (len(LEADS), record.signal.shape[0]):
        raise ValueError(f"attributions must be (12, {record.signal.shape[0]}) like the record, "
                         f"got {np.shape(attributions)}")
    fs = record.fs
    a, b = _window(record, start, seconds)
    t0, t1 = a / fs, b / fs
    pieces, rows = _pieces(layout, a, b, fs)

    traces: list = []
    if attributions is not None:
        traces += _saliency_heat(np.asarray(attributions, np.float64), pieces, rows, layout,
                                 a, b, fs, opacity, target)
    band = ROW_MV[layout] / 2 if clip else None
    traces += [_trace(record, p, gain, band) for p in pieces]
    traces.append(_calibration(rows, t0, gain))
    if layout == "3x4":
        traces.append(_separators(pieces, fs))
    step = ROW_MV[layout]
    y_lo, y_hi = rows[-1] - step * 0.6, rows[0] + step * 0.6
    x_lo, x_hi = t0 - CAL_LEFT_S, max(t1, t0 + 2.5) + 0.1
    labels = [dict(x=p.a / fs + 0.05, y=p.y0 + step * 0.32, text=f"<b>{p.lead}</b>", showarrow=False,
                   xanchor="left", yanchor="bottom", font=dict(size=12, color="#222"),
                   bgcolor="rgba(255,253,252,0.7)") for p in pieces]
    speed = f"{PAPER_SPEED:g} mm/s · {gain:g} mm/mV · {fs:g} Hz · {t0:.1f}–{t1:.1f} s"
    labels.append(dict(x=0, y=0, xref="paper", yref="paper", yanchor="top", xanchor="left",
                       yshift=-4, text=speed, showarrow=False, font=dict(size=11, color="#555")))
    margin = dict(l=8, r=8, t=34 if title else 8, b=46 if attributions is not None else 26)
    if height is None:
        mm_per_px = (x_hi - x_lo) * PAPER_SPEED / (width_hint - margin["l"] - margin["r"])
        height = int(round((y_hi - y_lo) * STANDARD_GAIN / mm_per_px)) + margin["t"] + margin["b"]
    grid = dict(showgrid=True, zeroline=False, showticklabels=False, ticks="", showline=False,
                tick0=0, gridwidth=1, gridcolor=MAJOR_GRID, constrain="range")
    return go.Figure(traces, dict(
        height=height, margin=margin, plot_bgcolor=PAPER_COLOR, paper_bgcolor="white",
        title=dict(text=title, x=0.01, y=0.995, yanchor="top", font=dict(size=14)) if title else None,
        hovermode="closest", dragmode="pan", showlegend=attributions is not None,
        legend=dict(orientation="h", x=0.5, y=-0.008, xanchor="center", yanchor="top",
                    font=dict(size=11), bgcolor="rgba(0,0,0,0)", itemclick=False,
                    itemdoubleclick=False),
        annotations=labels,
        meta={"layout": layout, "gain": gain, "fs": fs, "start": t0, "end": t1, "clip": clip},
        uirevision=f"{record.name}-{layout}",
        xaxis=dict(range=[x_lo, x_hi], dtick=MAJOR_S, **grid,
                   minor=dict(dtick=MINOR_S, tick0=0, showgrid=True, gridcolor=MINOR_GRID,
                              gridwidth=0.6)),
        yaxis=dict(range=[y_lo, y_hi], dtick=MAJOR_MV, **grid,
                   minor=dict(dtick=MINOR_MV, tick0=0, showgrid=True, gridcolor=MINOR_GRID,
                              gridwidth=0.6),
                   scaleanchor="x", scaleratio=STANDARD_GAIN / PAPER_SPEED),
    ))


_OUTCOMES = {  # name, colour, bar pattern
    "agree_pos": ("agree: present", "#1a9850", ""),
    "agree_neg": ("agree: absent", "#c9c9c9", ""),
    "missed": ("missed by the model", "#f4a582", "/"),
    "extra": ("extra: model only", "#8e44ad", "x"),
    "above": ("above threshold", "#2166ac", ""),
    "below": ("below threshold", "#c9c9c9", ""),
}


def probability_bars(probs: Sequence[float], classes: Sequence[str],
                     labels: Mapping[str, int] | None = None, threshold: float = 0.5) -> go.Figure:
    """Class probabilities as horizontal bars with the decision threshold.

    With the cardiologists' ``labels``, bar colour and pattern say agree / missed / extra, and a
    black diamond marks every class the cardiologists gave.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.shape != (len(classes),):
        raise ValueError(f"{len(classes)} classes but probabilities of shape {probs.shape}")
    fig = go.Figure()
    outcome = []
    for c, p in zip(classes, probs):
        called = p >= threshold
        if labels is None:
            outcome.append("above" if called else "below")
        else:
            given = bool(labels.get(c, 0))
            outcome.append(("agree_pos" if called else "missed") if given
                           else ("extra" if called else "agree_neg"))
    for key, (name, color, pattern) in _OUTCOMES.items():
        idx = [i for i, o in enumerate(outcome) if o == key]
        if not idx:
            continue
        fig.add_trace(go.Bar(
            x=probs[idx], y=[classes[i] for i in idx], orientation="h", name=name,
            marker=dict(color=color, line=dict(color="#333", width=0.8),
                        pattern=dict(shape=pattern, fgcolor="#333", size=6, solidity=0.25,
                                     fillmode="overlay")),
            text=[f"{probs[i]:.0%}" for i in idx], textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{x:.3f} (" + name + ")<extra></extra>", meta={"role": key},
        ))
    if labels is not None:
        given = [c for c in classes if labels.get(c, 0)]
        fig.add_trace(go.Scatter(
            x=[1.13] * len(given), y=given, mode="markers", name="cardiologists' label",
            marker=dict(symbol="diamond", size=11, color="#111"), cliponaxis=False,
            hovertemplate="%{y}: labelled by the cardiologists<extra></extra>",
            meta={"role": "labels"}))
        fig.add_annotation(x=1.13, y=1.0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                           text="cardiologists", font=dict(size=10, color="#111"))
    fig.add_vline(x=threshold, line=dict(color="#b2182b", dash="dash", width=1.5),
                  annotation=dict(text=f"threshold {threshold:g}", font=dict(size=10, color="#b2182b"),
                                  yanchor="bottom"), annotation_position="top")
    fig.update_layout(
        height=110 + 34 * len(classes), margin=dict(l=8, r=24, t=28, b=56), barmode="overlay",
        bargap=0.25, plot_bgcolor="white", hovermode="closest",
        legend=dict(orientation="h", x=0, y=-0.18, yanchor="top", font=dict(size=11)),
        xaxis=dict(range=[0, 1.18], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1.0],
                   gridcolor="#eee", title=None, fixedrange=True),
        yaxis=dict(categoryorder="array", categoryarray=list(classes), autorange="reversed",
                   fixedrange=True, automargin=True),
    )
    return fig


def lead_attribution(attributions: np.ndarray, leads: Sequence[str] = LEADS, *,
                     target: str | None = None) -> go.Figure:
    """Sum of positive and of negative attribution per lead (diverging bars, net as a diamond)."""
    a = np.asarray(attributions, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != len(leads):
        raise ValueError(f"attributions must be ({len(leads)}, T), got {a.shape}")
    pos, neg = np.clip(a, 0, None).sum(axis=1), np.clip(a, None, 0).sum(axis=1)
    what = f"P({target})" if target else "the class probability"
    fig = go.Figure([
        go.Bar(y=list(leads), x=pos, orientation="h", name=f"raises {what}",
               marker_color=_rgba(POSITIVE, 0.85), meta={"role": "positive"},
               hovertemplate="%{y}: +%{x:.4f}<extra></extra>"),
        go.Bar(y=list(leads), x=neg, orientation="h", name=f"lowers {what}",
               marker_color=_rgba(NEGATIVE, 0.85), meta={"role": "negative"},
               hovertemplate="%{y}: %{x:.4f}<extra></extra>"),
        go.Scatter(y=list(leads), x=pos + neg, mode="markers", name="net",
                   marker=dict(symbol="diamond", size=9, color="#111"), meta={"role": "net"},
                   hovertemplate="%{y}: net %{x:.4f}<extra></extra>"),
    ])
    fig.update_layout(
        barmode="relative", height=380, margin=dict(l=8, r=8, t=8, b=8), plot_bgcolor="white",
        legend=dict(orientation="h", x=0, y=-0.1, yanchor="top", font=dict(size=11)),
        xaxis=dict(zeroline=True, zerolinecolor="#333", gridcolor="#eee", tickformat=".2g",
                   title=None, fixedrange=True),
        yaxis=dict(categoryorder="array", categoryarray=list(leads), autorange="reversed",
                   fixedrange=True, automargin=True),
    )
    return fig


VCG_COLORSCALE = "Viridis"     # loop colour runs with time through the beat


def _vcg_limit(xyz: np.ndarray) -> float:
    """Half-width of the symmetric axis range shared by every view (mV)."""
    peak = float(np.abs(xyz).max()) if xyz.size else 0.0
    return max(peak, 0.1) * 1.1


def vcg_loops(xyz: np.ndarray, fs: float, *, title: str | None = None) -> go.Figure:
    """Frontal, transverse and left-sagittal VCG loops side by side, equal aspect, shared scale.

    ``xyz`` is (T, 3) X, Y, Z in mV (``ecgviz.vcg`` conventions: X left, Y inferior, Z
    posterior); each view is drawn as ``ecgviz.vcg.PLANES`` says (e.g. frontal with inferior down),
    the loop coloured by time in ms from its first sample, which is marked by a ring.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or xyz.shape[0] < 2:
        raise ValueError(f"xyz must be (T >= 2, 3), got {xyz.shape}")
    ms = np.arange(xyz.shape[0]) * 1000.0 / fs
    lim = _vcg_limit(xyz)
    loops = projections(xyz)
    fig = go.Figure()
    gap = 0.1   # room for the next view's tick labels and axis title
    width = (1 - 2 * gap) / len(PLANES)
    for n, plane in enumerate(PLANES):
        ax = "" if n == 0 else str(n + 1)
        h, v = loops[plane.name].T
        common = dict(xaxis=f"x{ax}", yaxis=f"y{ax}", showlegend=False)
        fig.add_trace(go.Scatter(x=h, y=v, mode="lines", line=dict(color="#9a9a9a", width=1),
                                 hoverinfo="skip", meta={"role": "loop-line", "plane": plane.name},
                                 **common))
        fig.add_trace(go.Scatter(
            x=h, y=v, mode="markers", customdata=ms, name=plane.name,
            marker=dict(size=4, color=ms, colorscale=VCG_COLORSCALE, showscale=n == 0,
                        colorbar=dict(title=dict(text="ms", side="right"), thickness=9, len=0.8,
                                      x=1.0, xanchor="left")),
            hovertemplate=(f"<b>{plane.name}</b> · %{{customdata:.0f}} ms<br>{plane.across} "
                           f"%{{x:.3f}} mV · {plane.up} %{{y:.3f}} mV<extra></extra>"),
            meta={"role": "loop", "plane": plane.name}, **common))
        fig.add_trace(go.Scatter(x=h[:1], y=v[:1], mode="markers", hoverinfo="skip",
                                 marker=dict(size=9, color="rgba(0,0,0,0)",
                                             line=dict(color="#111", width=1.5)),
                                 meta={"role": "start", "plane": plane.name}, **common))
        x0 = n * (width + gap)
        fig.update_layout({
            f"xaxis{ax}": dict(domain=[x0, x0 + width], range=[-lim, lim], zeroline=True,
                               zerolinecolor="#888", gridcolor="#eee", constrain="domain",
                               title=dict(text=f"{plane.across} (mV) → {plane.right_label}",
                                          font=dict(size=11))),
            f"yaxis{ax}": dict(range=[-lim, lim] if plane.up_is_positive else [lim, -lim],
                               scaleanchor=f"x{ax}", scaleratio=1, zeroline=True,
                               zerolinecolor="#888", gridcolor="#eee", anchor=f"x{ax}",
                               constrain="domain",
                               title=dict(text=f"{plane.up} (mV) · {plane.down_label} ↓",
                                          font=dict(size=11), standoff=4)),
        })
        fig.add_annotation(x=0.5, y=1.0, xref=f"x{ax} domain", yref=f"y{ax} domain", showarrow=False,
                           yanchor="bottom", text=f"<b>{plane.name.capitalize()}</b>",
                           font=dict(size=13))
    fig.update_layout(height=380, margin=dict(l=58, r=64, t=34 if title else 26, b=48),
                      plot_bgcolor="white", hovermode="closest",
                      title=dict(text=title, x=0.01, font=dict(size=14)) if title else None,
                      meta={"fs": fs, "limit_mv": lim, "planes": [p.name for p in PLANES]})
    return fig


def vcg_3d(xyz: np.ndarray, fs: float | None = None, *, title: str | None = None) -> go.Figure:
    """The VCG loop in 3-D, rotatable, in the patient's frame: left, posterior and superior
    (drawn axes X, Z and Y with Y reversed, so the head is up); equal scale on every axis."""
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or xyz.shape[0] < 2:
        raise ValueError(f"xyz must be (T >= 2, 3), got {xyz.shape}")
    t = np.arange(xyz.shape[0]) * (1000.0 / fs if fs else 1.0)
    unit = "ms" if fs else "sample"
    lim = _vcg_limit(xyz)
    x, y, z = xyz.T
    fig = go.Figure([
        go.Scatter3d(x=x, y=z, z=y, mode="lines", customdata=np.c_[t, y],
                     line=dict(color=t, colorscale=VCG_COLORSCALE, width=5, showscale=True,
                               colorbar=dict(title=dict(text=unit), thickness=9, len=0.7)),
                     hovertemplate=(f"%{{customdata[0]:.0f}} {unit}<br>X %{{x:.3f}} · "
                                    "Y %{customdata[1]:.3f} · Z %{y:.3f} mV<extra></extra>"),
                     name="VCG loop", meta={"role": "loop3d"}),
        go.Scatter3d(x=[0], y=[0], z=[0], mode="markers", hoverinfo="skip", name="origin",
                     marker=dict(size=3, color="#111"), meta={"role": "origin"}),
    ])
    axis = dict(range=[-lim, lim], zeroline=True, zerolinecolor="#888", backgroundcolor="white",
                gridcolor="#ddd", showspikes=False)
    fig.update_layout(
        height=480, margin=dict(l=0, r=0, t=30 if title else 0, b=0), showlegend=False,
        title=dict(text=title, x=0.01, font=dict(size=14)) if title else None,
        scene=dict(xaxis=dict(title=dict(text="X → left (mV)"), **axis),
                   yaxis=dict(title=dict(text="Z → posterior (mV)"), **axis),
                   zaxis=dict(title=dict(text="Y → inferior (mV)"), **{**axis, "range": [lim, -lim]}),
                   aspectmode="cube",
                   camera=dict(eye=dict(x=0.9, y=-2.1, z=0.7), up=dict(x=0, y=0, z=1))),
        meta={"fs": fs, "limit_mv": lim},
    )
    return fig
