"""Review additions for one record: PTB-XL quality/annotation badges and the vectorcardiogram.

Not a page: ``pages/review.py`` calls ``render_fields`` and ``render_vcg``.
"""
from __future__ import annotations

from typing import Mapping

import streamlit as st

from ecgviz import annotations, figures, vcg
from ecgviz.signals import ECGRecord

BADGE_COLORS = {"ok": "green", "note": "orange", "neutral": "gray"}
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
SPANS = {"beat": "one beat", "record": "whole record"}


def _badges(title: str, fields: list[annotations.Field]) -> str:
    def clean(text: str) -> str:
        return text.replace("[", "(").replace("]", ")")

    return f"**{title}** " + " ".join(
        f":{BADGE_COLORS[f.tone]}-badge[{clean(f.label)}: {clean(f.value)}]" for f in fields)


def render_fields(row: Mapping) -> None:
    """Signal quality and annotation fields as coloured badges (orange = worth a look)."""
    st.markdown(_badges("Signal quality", annotations.quality(row)) + "  \n"
                + _badges("Annotation", annotations.annotation(row)))


def render_vcg(record: ECGRecord, *, key: str) -> None:
    """The VCG (Kors matrix) in an expander that is computed only while it is open."""
    box = st.expander("Vectorcardiogram (Kors): frontal, transverse, sagittal and 3-D loops",
                      key=f"{key}_vcg", on_change="rerun", icon=":material/3d_rotation:")
    if not box.open:
        return
    with box:
        span = st.segmented_control("Loop over", list(SPANS), default="beat", required=True,
                                    key=f"{key}_vcg_span", format_func=SPANS.get)
        try:
            xyz = vcg.from_record(record)
        except ValueError as exc:
            st.error(f"No VCG for this record: {exc}", icon="🚫")
            return
        loop = vcg.loop(xyz, record.fs) if span == "beat" else xyz
        st.plotly_chart(figures.vcg_loops(loop, record.fs), theme=None, config=PLOTLY_CONFIG,
                        width="stretch", key=f"{key}_vcg_loops")
        st.plotly_chart(figures.vcg_3d(loop, record.fs), theme=None, config=PLOTLY_CONFIG,
                        width="stretch", key=f"{key}_vcg_3d")
        st.caption(
            "X, Y, Z derived from leads I, II and V1–V6 with the Kors regression matrix (Kors et "
            "al., Eur Heart J 1990). X points to the patient's left, Y to the feet, Z to the back. "
            "Frontal plane seen from the front (inferior down), transverse from above (anterior "
            "down), sagittal from the left (posterior right). "
            + ("One representative beat around the QRS nearest the middle of the record, "
               "recentred on its own isoelectric level. " if span == "beat" else
               "All 10 s, each lead's median removed. ")
            + ("At 100 Hz the QRS loop has few points: pick 500 Hz above where the record has it."
               if record.fs < 500
               else ""))
