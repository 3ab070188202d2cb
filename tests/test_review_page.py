"""AppTest of the Review page with the shipped checkpoint on real bundled records."""
from __future__ import annotations

import base64
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ecgviz import settings
from ecgviz.inference import Predictor
from ecgviz.signals import read_ptbxl
from page_figures import page_figures

APP = str(settings.REPO_ROOT / "app.py")
MI_RECORD = 63          # ASMI, fold 10, stored at 100 and 500 Hz


@pytest.fixture(autouse=True)
def _env(monkeypatch, shipped_checkpoint):
    monkeypatch.delenv("PTBXL_DIR", raising=False)
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(shipped_checkpoint))


@pytest.fixture(scope="module")
def predictor(shipped_checkpoint):
    return Predictor.from_checkpoint(shipped_checkpoint)


def _open(query: dict | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if "ecg_id" not in (query or {}):
        at.switch_page("pages/review.py")
    at.run()
    _ok(at)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _roles(fig: dict, role: str) -> list[dict]:
    return [t for t in fig["data"] if (t.get("meta") or {}).get("role") == role]


def _heat(fig: dict) -> dict | None:
    heat = [t for t in _roles(fig, "saliency") if t["type"] == "heatmap"]
    return heat[0] if heat else None


def _bar_probs(fig: dict) -> dict[str, float]:
    return {y: x for t in fig["data"] if t["type"] == "bar" for y, x in zip(t["y"], _values(t["x"]))}


def _values(x) -> list[float]:
    """Plotly arrays come as lists or as base64 typed arrays."""
    if isinstance(x, dict):
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"])).tolist()
    return list(x)


def test_deep_link_shows_record_probabilities_and_saliency(bundled_dir, bundled_index, predictor):
    at = _open({"ecg_id": str(MI_RECORD), "cls": "MI"})
    assert at.subheader[0].value == f"ecg_id {MI_RECORD} · MI"
    assert at.selectbox(key="review_class").value == "MI"
    assert at.number_input(key="review_pick").value == MI_RECORD
    paper, bars, leads = page_figures(at)
    assert len(_roles(paper, "lead")) == 13 and _heat(paper) is not None
    # The probabilities shown are the model's, for this record.
    expected = predictor.predict(read_ptbxl(bundled_dir, bundled_index.loc[MI_RECORD], fs=100))
    shown = _bar_probs(bars)
    assert shown == pytest.approx(dict(zip(predictor.classes, expected.tolist())), abs=1e-6)
    assert [t["y"] for t in _roles(bars, "labels")] == [["MI"]]      # cardiologists' label marked
    text = " ".join(c.value for c in at.caption)
    assert f"P(MI | ECG) − P(MI | baseline) = {expected[predictor.classes.index('MI')]:.3f}" in text
    assert "Convergence delta" in text
    assert [d.proto.label for d in at.download_button] == [
        "12 leads (CSV, mV)", "Predictions (CSV)", "Attributions (.npy, 12×T)", "Attributions (CSV)"]
    # Metadata, report and SCP statements with descriptions from scp_statements.csv.
    assert "Age 30 · Sex male" in text and "Fold 10" in text
    assert any("anteroseptaler" in m.value for m in at.markdown)
    scp = at.dataframe[0].value.set_index("code")
    assert scp.loc["ASMI", "description"] == "anteroseptal myocardial infarction"
    assert scp.loc["ASMI", "likelihood"] == 15 and scp.loc["ASMI", "superclass"] == "MI"
    assert not at.error and not at.warning


def test_class_change_recomputes_saliency(bundled_dir, bundled_index, predictor):
    at = _open({"ecg_id": str(MI_RECORD), "cls": "MI"})
    heat_mi = _heat(page_figures(at)[0])
    at.selectbox(key="review_class").set_value("NORM").run()
    _ok(at)
    paper, _, leads = page_figures(at)
    heat_norm = _heat(paper)
    assert heat_norm["z"] != heat_mi["z"]
    assert {t["name"] for t in _roles(paper, "saliency") if t["type"] == "scatter"} == {
        "raises P(NORM)", "lowers P(NORM)"}
    assert {t["name"] for t in leads["data"]} >= {"raises P(NORM)", "lowers P(NORM)"}
    p_norm = predictor.predict(read_ptbxl(bundled_dir, bundled_index.loc[MI_RECORD], fs=100))[
        predictor.classes.index("NORM")]
    assert f"P(NORM | ECG) − P(NORM | baseline) = {p_norm:.3f}" in " ".join(c.value for c in at.caption)
    assert at.query_params["cls"] == "NORM"                    # the URL follows the choice
    # Overlay off: the paper has no heat, the per-lead attribution stays.
    at.toggle(key="review_overlay").set_value(False).run()
    _ok(at)
    paper, _, _ = page_figures(at)
    assert _heat(paper) is None and len(_roles(paper, "lead")) == 13


def test_layout_gain_and_500_hz(bundled_index):
    at = _open({"ecg_id": str(MI_RECORD), "cls": "MI"})
    at.segmented_control(key="review_layout").set_value("stacked")
    at.segmented_control(key="review_gain").set_value(20.0).run()
    _ok(at)
    paper = page_figures(at)[0]
    assert len(_roles(paper, "lead")) == 12 and paper["layout"]["meta"]["gain"] == 20
    assert _roles(paper, "calibration")[0]["meta"]["height"] == 2.0
    at.segmented_control(key="review_fs").set_value(500).run()
    _ok(at)
    paper = page_figures(at)[0]
    leads = _roles(paper, "lead")
    assert {t["type"] for t in leads} == {"scatter"} and leads[0]["dx"] == pytest.approx(0.002)
    assert _heat(paper) is not None and paper["layout"]["meta"]["fs"] == 500
    # A record stored at 100 Hz only offers 100 Hz.
    only_100 = int(bundled_index.index[~bundled_index["has_500hz"]][0])
    at = _open({"ecg_id": str(only_100)})
    assert at.segmented_control(key="review_fs").options == ["100"]


def test_prev_next_walk_the_browse_filter():
    ids = [8, 39, MI_RECORD, 77]
    at = _open({"ecg_id": "39"}, {"browse_ids": ids})
    assert "Record 2 of 4 in the Browse filter" in at.caption[0].value
    at.button(key="review_next").click().run()
    _ok(at)
    assert at.query_params["ecg_id"] == str(MI_RECORD)
    assert at.subheader[0].value.startswith(f"ecg_id {MI_RECORD}")
    at.button(key="review_prev").click().run()
    at.button(key="review_prev").click().run()
    _ok(at)
    assert at.subheader[0].value.startswith("ecg_id 8")
    assert at.button(key="review_prev").disabled and not at.button(key="review_next").disabled


def test_without_browse_filter_steps_through_the_dataset(bundled_index):
    first, second = (int(i) for i in bundled_index.index[:2])
    at = _open()
    assert at.subheader[0].value.startswith(f"ecg_id {first}")
    assert at.button(key="review_prev").disabled
    at.button(key="review_next").click().run()
    _ok(at)
    assert at.subheader[0].value.startswith(f"ecg_id {second}")
    assert f"of {len(bundled_index)} in the dataset" in at.caption[0].value
    at.number_input(key="review_pick").set_value(MI_RECORD).run()
    _ok(at)
    assert at.subheader[0].value.startswith(f"ecg_id {MI_RECORD}")


@pytest.mark.parametrize("raw", ["abc", "999999"])
def test_bad_ecg_id_is_explained(raw, bundled_index):
    at = _open({"ecg_id": raw})
    assert "showing ecg_id" in at.error[0].value
    assert at.subheader[0].value.startswith(f"ecg_id {int(bundled_index.index[0])}")


def test_missing_checkpoint_shows_the_ecg_with_a_notice(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(tmp_path / "none.safetensors"))
    at = _open({"ecg_id": str(MI_RECORD), "cls": "MI"})
    notice = " ".join(w.value for w in at.warning)
    assert "No model available" in notice and "does not exist" in notice
    (paper,) = page_figures(at)
    assert len(_roles(paper, "lead")) == 13 and _heat(paper) is None
    assert [d.proto.label for d in at.download_button] == ["12 leads (CSV, mV)"]
    assert not at.error


def test_corrupt_checkpoint_shows_the_ecg_with_a_notice(monkeypatch, tmp_path, shipped_checkpoint):
    broken = tmp_path / "model.safetensors"
    shutil.copyfile(shipped_checkpoint.with_suffix(".json"), broken.with_suffix(".json"))
    broken.write_bytes(shipped_checkpoint.read_bytes()[:5000])      # truncated weights
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(broken))
    at = _open({"ecg_id": str(MI_RECORD)})
    assert "No model available" in " ".join(w.value for w in at.warning)
    (paper,) = page_figures(at)
    assert len(_roles(paper, "lead")) == 13


def _review_foreign_record() -> None:
    """A script for AppTest.from_function: the review view of a non-PTB-XL record (20 s)."""
    from ecgviz import settings as cfg
    from ecgviz.signals import read_wfdb
    from pages.record_view import render_review

    rec = read_wfdb(cfg.REPO_ROOT / "tests" / "data" / "foreign" / "s0010_re")
    render_review(rec.resampled(100.0).segment(0.0, 20.0), key="foreign")


def test_render_review_works_for_any_record():
    at = AppTest.from_function(_review_foreign_record, default_timeout=600)
    at.run()
    _ok(at)
    paper, bars, leads = page_figures(at)
    assert {t["meta"]["role"] for t in bars["data"]} <= {"above", "below"}   # no cardiologists
    assert paper["layout"]["meta"]["start"] == 0 and paper["layout"]["meta"]["end"] == 10
    assert _heat(paper) is not None
    at.slider(key="foreign_start").set_value(8.0).run()
    _ok(at)
    paper = page_figures(at)[0]
    assert (paper["layout"]["meta"]["start"], paper["layout"]["meta"]["end"]) == (8.0, 18.0)
    assert _roles(paper, "lead")[0]["x0"] == 8.0
    assert len(at.download_button) == 4 and not at.error
