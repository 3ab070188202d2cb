"""Plotly figures drawn with the slim plotly.js cartesian bundle instead of ``st.plotly_chart``.

``st.plotly_chart`` makes the browser fetch and start Streamlit's full plotly.js (4.7 MB, about
1 s on a 2-core machine) before the first chart of a page appears. The review figures (ECG paper
with its saliency heatmap, probability and attribution bars) need only scatter, bar and heatmap
traces, which the official cartesian bundle (same plotly.js version, 1.5 MB, ~0.4 s) draws. The
bundle is served from ``static/`` (``server.enableStaticServing``) and loaded once per page;
the browser side is ``slim_plotly.js``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import plotly.graph_objects as go
import streamlit as st

NAME = "ecgviz.slim_plotly"
BUNDLE = "app/static/plotly-cartesian-4.1.1.min.js"
TRACE_TYPES = frozenset({"scatter", "bar", "heatmap"})
# plotly.js 4 shows a "Share chart" button that uploads the figure to Plotly Cloud unless told not
# to: a record's signals never leave this machine, whatever the caller's config says.
LOCAL_ONLY = {"showSendToCloud": False, "showEditInChartStudio": False, "plotlyServerURL": ""}

_JS = Path(__file__).with_suffix(".js").read_text(encoding="utf-8").replace("__BUNDLE__", BUNDLE)

_component = st.components.v2.component(NAME, js=_JS, isolate_styles=False)


def figure_payload(fig: go.Figure, config: Mapping[str, Any] | None = None) -> str:
    """The JSON the component draws: the figure plus the plotly.js config (responsive, no logo,
    never a button that sends the figure off the machine)."""
    unsupported = {t.type for t in fig.data} - TRACE_TYPES
    if unsupported:
        raise ValueError(f"the cartesian bundle cannot draw {sorted(unsupported)} traces")
    config = {"responsive": True, "displaylogo": False, **(config or {}), **LOCAL_ONLY}
    return '{"figure":%s,"config":%s}' % (fig.to_json(), json.dumps(config))


def preload() -> None:
    """Start fetching the bundle now: call first thing in a script run, so that the browser
    loads it while the server still builds the page."""
    _component(key="slim_plotly_preload", width="content")


def plotly_chart(fig: go.Figure, *, key: str, config: Mapping[str, Any] | None = None) -> None:
    """Draw ``fig`` at the container's width (its layout gives the height)."""
    _component(data=figure_payload(fig, config), key=key, width="stretch")
