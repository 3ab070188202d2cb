"""AppTest of pages/model_report.py on the shipped checkpoint and its run files."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ecgviz import report
from ecgviz.checkpoint import load

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "model_report.py")


@pytest.fixture(scope="module")
def checkpoint(request) -> Path:
    """The shipped checkpoint (``ECGVIZ_TEST_CHECKPOINT`` names another, e.g. before it lands)."""
    override = os.environ.get("ECGVIZ_TEST_CHECKPOINT")
    return Path(override) if override else request.getfixturevalue("shipped_checkpoint")


def run_page(monkeypatch, ckpt: Path, tmp_path: Path) -> AppTest:
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(ckpt))
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(tmp_path / "runs"))
    return AppTest.from_file(PAGE, default_timeout=180).run()


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_full_report(monkeypatch, tmp_path, checkpoint):
    at = run_page(monkeypatch, checkpoint, tmp_path)
    assert not at.exception
    net, card = load(checkpoint)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Architecture"].startswith(card.arch)
    assert metrics["Parameters"] == f"{sum(p.numel() for p in net.parameters()):,}"
    per_fold = card.data["records_per_fold"]
    assert any(f"9: {per_fold['9']} · 10: {per_fold['10']}" in c.value for c in at.caption)
    # Benchmark table: our row (recomputed from the run files) first, the published rows after.
    bench = next(d.value for d in at.dataframe if "macro AUC" in d.value.columns)
    assert bench.iloc[0]["macro AUC"] == pytest.approx(card.metrics["test_macro_auc"], abs=1e-9)
    published = bench.set_index("model")["macro AUC"]
    assert published["xresnet1d101"] == 0.928 and published["resnet1d_wang"] == 0.930
    assert any("about 2,200 records" in c.value for c in at.caption)
    titles = chart_titles(at)
    for wanted in ("AUC per class", "ROC curves", "Precision-recall", "loss",
                   "learning rate per iteration", "validation metrics"):
        assert any(t.startswith(wanted) for t in titles), (wanted, titles)
    # Per-class table: confusion counts at max F1 add up to the test records.
    ids = np.load(checkpoint.parent / "ids_test.npy")
    per_class = next(d.value for d in at.dataframe if "tp" in d.value.columns)
    counts = per_class.loc[list(card.classes), ["tp", "fp", "fn", "tn"]].sum(axis=1)
    assert (counts == len(ids)).all()
    # Disagreements: one table per class, each row linking to its review page.
    tables = [d.value for d in at.dataframe if "review" in d.value.columns]
    assert len(tables) == len(card.classes)
    for cls, table in zip(card.classes, tables):
        assert len(table) == 5 and set(table["ecg_id"]) <= set(ids.tolist())
        linked = table.dropna(subset=["review"])
        assert list(linked["review"]) == [f"/?ecg_id={i}&cls={cls}" for i in linked["ecg_id"]]
        assert table["error"].is_monotonic_decreasing


def test_more_disagreements_per_class(monkeypatch, tmp_path, checkpoint):
    at = run_page(monkeypatch, checkpoint, tmp_path)
    at.slider(key="errors_per_class").set_value(8).run()
    tables = [d.value for d in at.dataframe if "review" in d.value.columns]
    assert all(len(t) == 8 for t in tables)


def test_checkpoint_without_run_files(monkeypatch, tmp_path, checkpoint):
    alone = tmp_path / "alone"
    alone.mkdir()
    for f in (checkpoint, checkpoint.with_suffix(".json")):
        shutil.copy(f, alone / f.name)
    at = run_page(monkeypatch, alone / checkpoint.name, tmp_path)
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert "No test-fold results" in infos and ", ".join(report.TEST_FILES) in infos
    assert "history.csv" in infos and "Needs the test-fold results" in infos
    assert at.metric[0].value.startswith(load(checkpoint)[1].arch)
    assert len(at.get("plotly_chart")) == 0


def test_no_model(monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path / "missing" / "model.safetensors", tmp_path)
    assert not at.exception
    assert "No model available" in at.warning[0].value
    assert "does not exist" in at.warning[0].value
