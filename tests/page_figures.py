"""The Plotly figures an AppTest run put in the main area, in page order, as plotly JSON: those of
``st.plotly_chart`` and those drawn by ``pages/slim_plotly.py``."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from pages import slim_plotly


def _walk(node, out: list[dict]) -> None:
    children = getattr(node, "children", {})
    for i in sorted(children):
        child = children[i]
        if child.type == "plotly_chart":
            out.append(json.loads(child.proto.spec))
        elif child.type == "bidi_component" and child.proto.component_name == slim_plotly.NAME \
                and child.proto.json:
            out.append(json.loads(json.loads(child.proto.json))["figure"])
        _walk(child, out)


def page_figures(at: AppTest) -> list[dict]:
    """Every figure in ``at.main``, top to bottom."""
    out: list[dict] = []
    _walk(at.main, out)
    return out
