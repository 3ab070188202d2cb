"""The review view of one record, for any ECGRecord (PTB-XL or uploaded): ECG paper with the
saliency overlay, the model's probabilities, per-lead attribution and downloads.

Not a page: ``pages/review.py`` (PTB-XL) and ``pages/upload.py`` call ``render_review``.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import streamlit as st

from ecgviz import figures
from ecgviz.saliency import BASELINES, Saliency
from ecgviz.signals import ECGRecord
from pages import common
from pages.slim_plotly import plotly_chart

THRESHOLD = 0.5
GAINS = (5.0, 10.0, 20.0)
STEPS = (16, 32, 50, 100)
BASELINE_NAMES = {"zeros": "zeros (normalised)", "smooth": "smoothed record"}
PAPER_CONFIG = {"scrollZoom": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def _stem(record: ECGRecord) -> str:
    base = f"ecg{record.ecg_id}" if record.ecg_id is not None else record.name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("_") + f"_{record.fs:g}hz"


def _time(record: ECGRecord) -> np.ndarray:
    return np.round(np.arange(record.signal.shape[0]) / record.fs, 6)


def _leads_csv(record: ECGRecord) -> str:
    table = pd.DataFrame(record.signal, columns=[f"{lead}_mV" for lead in record.leads])
    table.insert(0, "time_s", _time(record))
    return table.to_csv(index=False, float_format="%.5g")


def _attributions_csv(record: ECGRecord, sal: Saliency) -> str:
    table = pd.DataFrame(sal.attributions.T, columns=list(record.leads))
    table.insert(0, "time_s", _time(record))
    return table.to_csv(index=False, float_format="%.6g")


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _predictions_csv(probs: np.ndarray, classes: list[str], labels: dict[str, int] | None) -> str:
    table = pd.DataFrame({"class": classes, "probability": probs, "threshold": THRESHOLD,
                          "model_call": (probs >= THRESHOLD).astype(int)})
    if labels is not None:
        table["cardiologists"] = [int(labels.get(c, 0)) for c in classes]
    return table.to_csv(index=False, float_format="%.6f")


def _paper(slot, record: ECGRecord, key: str, layout: str, gain: float, start: float,
           sal: Saliency | None, opacity: float, clip: bool = False) -> None:
    fig = figures.ecg_paper(record, layout, attributions=None if sal is None else sal.attributions,
                            opacity=opacity, gain=gain, start=start, clip=clip,
                            target=None if sal is None else sal.target)
    with slot:
        plotly_chart(fig, key=f"{key}_paper" if sal is None else f"{key}_paper_saliency",
                     config={**PAPER_CONFIG, "toImageButtonOptions": {
                         "format": "png", "scale": 2, "filename": f"{_stem(record)}_paper"}})


def _default_class(key: str, classes: list[str], wanted: str | None, probs: np.ndarray) -> None:
    """Preselect ``wanted`` (e.g. ``&cls=MI``) once per new wish, else the most probable class."""
    state = f"{key}_class"
    if wanted in classes and st.session_state.get(f"{key}_class_wish") != wanted:
        st.session_state[state] = wanted
        st.session_state[f"{key}_class_wish"] = wanted
    elif st.session_state.get(state) not in classes:
        st.session_state[state] = classes[int(np.argmax(probs))]


def render_review(record: ECGRecord, *, key: str, default_class: str | None = None,
                  labels: dict[str, int] | None = None) -> str | None:
    """Render the whole review of ``record``; widget keys start with ``key``.

    ``labels`` are the cardiologists' superclasses (default ``record.labels``; ``None`` for an
    upload). Returns the saliency class shown (``None`` without a model).
    """
    labels = record.labels if labels is None else labels
    model, error = common.predictor()
    classes = model.classes if model is not None else []

    top = st.columns([19, 13, 9, 18, 12, 13], vertical_alignment="bottom")   # widths that fit
    layout = top[0].segmented_control("Layout", figures.LAYOUTS, default="3x4", required=True,
                                      key=f"{key}_layout",
                                      format_func={"3x4": "3×4 + rhythm", "stacked": "12×1"}.get)
    gain = top[1].segmented_control("Gain (mm/mV)", GAINS, default=10.0, required=True,
                                    key=f"{key}_gain", format_func=lambda g: f"{g:g}")
    clip = top[2].toggle("Clip", value=False, key=f"{key}_clip",
                         help="Clip at the row band: very tall complexes are flattened at the "
                              "edge of their row, as printed ECGs do, so they never run into "
                              "the neighbouring leads. Hover still shows the true mV.")
    start = 0.0
    if record.duration > figures.WINDOW_S + 0.05:
        start = st.slider("Start of the 10 s on paper (s)", 0.0,
                          float(np.floor((record.duration - figures.WINDOW_S) * 10) / 10), 0.0, 0.1,
                          key=f"{key}_start", help="The record is longer than one page of ECG "
                          "paper; the model and the saliency use all of it.")
    probs = None
    if model is None:
        st.warning(f"{error} The ECG is shown without the model's probabilities or saliency.",
                   icon="⚠️")
    else:
        try:
            probs = common.predict(record)
        except (ValueError, RuntimeError) as exc:
            st.error(f"The model cannot read this record: {exc}", icon="🚫")
    slot = st.empty()
    left, mid, right = st.columns([4, 4, 2])
    sal: Saliency | None = None
    if probs is None:
        _paper(slot, record, key, layout, gain, start, None, 0.5, clip)
    else:
        _default_class(key, classes, default_class, probs)
        target = top[3].selectbox("Saliency for class", classes, key=f"{key}_class",
                                  format_func=lambda c: f"{c} · P = {probs[classes.index(c)]:.2f}")
        overlay = top[4].toggle("Overlay", value=True, key=f"{key}_overlay",
                                help="Integrated-gradients saliency as a heat band under each trace.")
        opacity = top[5].slider("Overlay opacity", 0.1, 1.0, 0.5, 0.05, key=f"{key}_opacity",
                                disabled=not overlay)
        with mid:
            st.markdown(f"**Attribution per lead · {target}**")
            ig = st.columns(2)
            baseline = ig[0].selectbox("IG baseline", BASELINES, key=f"{key}_baseline",
                                       format_func=BASELINE_NAMES.get,
                                       help="Integrated gradients integrate from this input to the "
                                            "record: all zeros in normalised space (the usual "
                                            "default) or a low-passed copy of the record (keeps "
                                            "its baseline wander, removes the waves).")
            steps = ig[1].select_slider("IG steps", STEPS, value=50, key=f"{key}_steps")
        done = st.session_state.setdefault(f"{key}_computed", set())
        wanted = (common.record_key(record), target, baseline, steps)
        if not (overlay and wanted in done):
            _paper(slot, record, key, layout, gain, start, None, 0.5, clip)   # draw now; saliency follows
        with left:   # probabilities before the saliency, which may take a moment
            st.markdown("**Model probabilities**")
            plotly_chart(figures.probability_bars(probs, classes, labels, THRESHOLD),
                         key=f"{key}_probs", config={"displayModeBar": False})
            st.caption(f"Decision threshold {THRESHOLD:g}. " + (
                "Bars: green = model and cardiologists agree the class is present, grey = both "
                "say absent, hatched orange = missed by the model, purple = model only; ◆ = "
                "cardiologists' label." if labels is not None else
                "No cardiologists' labels for this record."))
        try:
            with mid, st.spinner(f"Integrated gradients for {target} ({steps} steps)…"):
                sal = common.saliency(record, target, baseline, steps)
            done.add(wanted)
        except (ValueError, RuntimeError) as exc:
            mid.error(f"Saliency could not be computed: {exc}", icon="🚫")
        if overlay and sal is not None:
            _paper(slot, record, key, layout, gain, start, sal, opacity, clip)

    if sal is not None:
        with mid:
            plotly_chart(figures.lead_attribution(sal.attributions, record.leads, target=sal.target),
                         key=f"{key}_attribution", config={"displayModeBar": False})
            share = abs(sal.delta) / max(abs(sal.gap), 1e-9)
            st.caption(
                f"Attributions add up to P({sal.target} | ECG) − P({sal.target} | baseline) = "
                f"{sal.prob:.3f} − {sal.prob_baseline:.3f} = {sal.gap:+.3f}. Convergence delta "
                f"{sal.delta:+.4f} ({share:.1%} of that gap).")
            if share > 0.05 and abs(sal.delta) > 0.005:
                st.warning("The integral has not converged well: raise the IG steps.", icon="⚠️")
    with right:
        st.markdown("**Downloads**")
        stem = _stem(record)
        st.download_button("12 leads (CSV, mV)", lambda: _leads_csv(record), f"{stem}_leads.csv",
                           "text/csv", key=f"{key}_dl_leads", on_click="ignore", width="stretch")
        if probs is not None:
            st.download_button("Predictions (CSV)", _predictions_csv(probs, classes, labels),
                               f"{stem}_predictions.csv", "text/csv", key=f"{key}_dl_probs",
                               on_click="ignore", width="stretch")
        if sal is not None:
            name = f"{stem}_ig_{sal.target}_{sal.baseline}_{sal.n_steps}"
            st.download_button("Attributions (.npy, 12×T)", lambda: _npy(sal.attributions),
                               f"{name}.npy", "application/octet-stream", key=f"{key}_dl_npy",
                               on_click="ignore", width="stretch")
            st.download_button("Attributions (CSV)", lambda: _attributions_csv(record, sal),
                               f"{name}.csv", "text/csv", key=f"{key}_dl_attr",
                               on_click="ignore", width="stretch")
    return target if probs is not None else None
