"""Plotly figures drawn with the slim plotly.js cartesian bundle instead of ``st.plotly_chart``.

``st.plotly_chart`` makes the browser fetch and start Streamlit's full plotly.js (4.7 MB, about
1 s on a 2-core machine) before the first chart of a page appears. The review figures (ECG paper
with its saliency heatmap, probability and attribution bars) need only scatter, bar and heatmap
traces, which the official cartesian bundle (same plotly.js version, 1.5 MB, ~0.4 s) draws. The
bundle is served from ``static/`` (``server.enableStaticServing``) and loaded once per page.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import plotly.graph_objects as go
import streamlit as st

NAME = "ecgviz.slim_plotly"
BUNDLE = "app/static/plotly-cartesian-4.1.1.min.js"
TRACE_TYPES = frozenset({"scatter", "bar", "heatmap"})
# plotly.js 4 shows a "Share chart" button that uploads the figure to Plotly Cloud unless told not
# to: a record's signals never leave this machine, whatever the caller's config says.
LOCAL_ONLY = {"showSendToCloud": False, "showEditInChartStudio": False, "plotlyServerURL": ""}

_JS = """
function plotly() {
  window.__ecgvizPlotly ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL("%s", document.baseURI).href;
    const fail = () => {
      window.__ecgvizPlotly = undefined;
      reject(new Error(`plotly.js could not be loaded from ${script.src} `
                       + "(server.enableStaticServing must be on, as in .streamlit/config.toml)"));
    };
    script.onload = () => (window.Plotly ? resolve(window.Plotly) : fail());
    script.onerror = fail;
    document.head.appendChild(script);
  });
  return window.__ecgvizPlotly;
}

export default function ({ data, parentElement }) {
  if (data === null || data === undefined) { plotly().catch(() => {}); return; }   // preload
  let gd = parentElement.querySelector(":scope > div.ecgviz-plotly");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "ecgviz-plotly";
    parentElement.appendChild(gd);
  }
  const { figure, config } = JSON.parse(data);
  gd.style.minHeight = `${figure.layout.height || 0}px`;
  plotly().then((Plotly) => Plotly.react(gd, figure.data, figure.layout, config))
          .catch((err) => { gd.textContent = `The figure could not be drawn: ${err.message}`; });
  return () => { if (window.Plotly) window.Plotly.purge(gd); };
}
""" % BUNDLE

_component = st.components.v2.component(NAME, js=_JS, isolate_styles=False)


def figure_payload(fig: go.Figure, config: Mapping[str, Any] | None = None) -> str:
    """The JSON the component draws: the figure plus the plotly.js config (responsive, no logo,
    never a button that sends the figure off the machine)."""
    unsupported = {t.type for t in fig.data} - TRACE_TYPES
    if unsupported:
        raise ValueError(f"the cartesian bundle cannot draw {sorted(unsupported)} traces")
    return '{"figure":%s,"config":%s}' % (
        fig.to_json(), json.dumps({"responsive": True, "displaylogo": False, **(config or {}), **LOCAL_ONLY}))


def preload() -> None:
    """Start fetching the bundle now: call first thing in a script run, so that the browser
    loads it while the server still builds the page."""
    _component(key="slim_plotly_preload", width="content")


def plotly_chart(fig: go.Figure, *, key: str, config: Mapping[str, Any] | None = None) -> None:
    """Draw ``fig`` at the container's width (its layout gives the height)."""
    _component(data=figure_payload(fig, config), key=key, width="stretch")
