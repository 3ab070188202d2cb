"""The slim Plotly component: the JSON it draws, the traces it refuses, and the vendored bundle."""
from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.offline
import pytest

from ecgviz import figures, settings
from ecgviz.signals import read_ptbxl
from pages import slim_plotly


@pytest.fixture(scope="module")
def rec100(bundled_dir, bundled_index):
    return read_ptbxl(bundled_dir, bundled_index.iloc[0])


def test_payload_is_the_figure_and_a_responsive_config(rec100):
    fig = figures.ecg_paper(rec100, "3x4")
    payload = json.loads(slim_plotly.figure_payload(fig, {"displayModeBar": False}))
    assert payload["config"] == {"responsive": True, "displaylogo": False, "displayModeBar": False,
                                 **slim_plotly.LOCAL_ONLY}
    assert payload["figure"] == json.loads(fig.to_json())
    assert len(payload["figure"]["data"]) == len(fig.data)


def test_figures_never_get_a_button_that_uploads_them(rec100):
    fig = figures.ecg_paper(rec100, "3x4")
    config = json.loads(slim_plotly.figure_payload(fig, {"showSendToCloud": True,
                                                         "plotlyServerURL": "https://example.org"}))["config"]
    assert config["showSendToCloud"] is False and config["plotlyServerURL"] == ""


def test_every_review_figure_is_drawable(rec100):
    att = np.random.default_rng(0).normal(size=(12, rec100.signal.shape[0]))
    for fig in (figures.ecg_paper(rec100, "stacked", attributions=att),
                figures.probability_bars([0.9, 0.1, 0.2, 0.6, 0.3], ["NORM", "MI", "STTC", "CD", "HYP"],
                                         {"NORM": 1}),
                figures.lead_attribution(att)):
        assert {t.type for t in fig.data} <= slim_plotly.TRACE_TYPES
        slim_plotly.figure_payload(fig)


def test_traces_outside_the_bundle_are_refused():
    fig = go.Figure(go.Scatter3d(x=[0, 1], y=[0, 1], z=[0, 1]))
    with pytest.raises(ValueError, match="scatter3d"):
        slim_plotly.figure_payload(fig)


def test_vendored_bundle_matches_the_plotly_js_of_plotly_py():
    path = settings.REPO_ROOT / "static" / slim_plotly.BUNDLE.removeprefix("app/static/")
    with path.open(encoding="utf-8") as bundle:
        head = bundle.read(300)
    version = re.search(r"plotly\.js \(cartesian - minified\) v(\S+)", head).group(1)
    assert version == plotly.offline.get_plotlyjs_version()   # figures' JSON schema matches
    assert path.name == f"plotly-cartesian-{version}.min.js"
    assert "MIT" in head and (path.parent / "LICENSE-plotly.js.txt").is_file()
