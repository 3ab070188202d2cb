"""Model report computations (ecgviz.report) and figures (ecgviz.report_figures)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ecgviz import report, report_figures
from ecgviz.checkpoint import read_card

CLASSES = ["NORM", "MI"]
# Hand-computed case. NORM: positives score .9 and .4, negatives .2 and .6 -> 3 of 4 pairs
# ordered correctly, AUC 0.75. MI: positives .8, .7 above negatives .3, .1 -> AUC 1.0.
Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
P = np.array([[0.9, 0.3], [0.2, 0.8], [0.4, 0.7], [0.6, 0.1]])
IDS = np.array([11, 12, 13, 14])


@pytest.fixture()
def hand_run(tmp_path):
    np.save(tmp_path / "y_test.npy", Y)
    np.save(tmp_path / "y_test_pred.npy", P)
    np.save(tmp_path / "ids_test.npy", IDS)
    return tmp_path


@pytest.fixture(scope="module")
def shipped_run(request):
    """The shipped checkpoint's folder and card (``ECGVIZ_TEST_CHECKPOINT`` names another one)."""
    override = os.environ.get("ECGVIZ_TEST_CHECKPOINT")
    ckpt = Path(override) if override else request.getfixturevalue("shipped_checkpoint")
    return ckpt.parent, read_card(ckpt)


def test_hand_case_aucs_and_thresholds(hand_run):
    ts = report.load_predictions(hand_run, CLASSES)
    rep = report.fold_report(ts, n_boot=200)
    assert rep.aucs.loc["NORM", "auc"] == pytest.approx(0.75)
    assert rep.aucs.loc["MI", "auc"] == pytest.approx(1.0)
    assert rep.aucs.loc["macro", "auc"] == pytest.approx(0.875)
    assert rep.n_records == 4
    # MI is separable: max F1 = 1 at threshold .7, confusion tp 2, fp 0, fn 0, tn 2.
    mi = rep.thresholds.loc["MI"]
    assert (mi["threshold"], mi["f1"]) == (0.7, 1.0)
    assert (mi["tp"], mi["fp"], mi["fn"], mi["tn"]) == (2, 0, 0, 2)
    assert rep.thresholds.loc["NORM", "prevalence"] == 0.5


def test_largest_errors_hand_case(hand_run):
    errs = report.largest_errors(report.load_predictions(hand_run, CLASSES), per_class=2)
    norm = errs[errs["class"] == "NORM"]
    # NORM errors |y - p|: .1, .2, .6, .6 -> ecg 13 (missed, p .4) and 14 (false alarm, p .6).
    assert list(norm["ecg_id"]) == [13, 14]
    assert list(norm["kind"]) == ["missed", "false alarm"]
    assert norm["error"].tolist() == pytest.approx([0.6, 0.6])
    assert len(errs) == 4


def test_missing_and_mismatched_files(hand_run, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(report.RunFilesError, match="y_test.npy, y_test_pred.npy, ids_test.npy"):
        report.load_predictions(empty, CLASSES)
    with pytest.raises(report.RunFilesError, match="do not fit together"):
        report.load_predictions(hand_run, CLASSES + ["STTC"])
    (hand_run / "ids_test.npy").write_bytes(b"not numpy")
    with pytest.raises(report.RunFilesError, match="cannot be read"):
        report.load_predictions(hand_run, CLASSES)


def test_comparison_table_puts_ours_above_published(hand_run):
    rep = report.fold_report(report.load_predictions(hand_run, CLASSES), n_boot=100)
    table = report.comparison_table(rep.aucs, "xresnet1d50", rep.n_records)
    assert table.iloc[0]["model"] == "xresnet1d50 (this model)"
    assert table.iloc[0]["macro AUC"] == pytest.approx(0.875)
    ref = table.set_index("model").loc[report.REFERENCE_MODEL, "macro AUC"]
    assert ref == 0.928
    assert len(table) == 1 + len(report.PUBLISHED_MACRO_AUC)


def test_figures_hand_case(hand_run):
    rep = report.fold_report(report.load_predictions(hand_run, CLASSES), n_boot=100)
    roc = report_figures.roc_figure(rep.curves, rep.aucs)
    names = [t.name for t in roc.data]
    assert names == ["chance", "NORM (AUC 0.750)", "MI (AUC 1.000)"]
    assert roc.data[2].y[-1] == 1.0 and roc.data[2].x[0] == 0.0
    pr = report_figures.pr_figure(rep.curves, rep.thresholds["prevalence"])
    assert [t.name for t in pr.data] == CLASSES
    assert sorted(s.y0 for s in pr.layout.shapes) == [0.5, 0.5]
    ci = report_figures.auc_ci_figure(rep.aucs, reference=0.928, reference_name="xresnet1d101")
    dots = ci.data[0]
    assert list(dots.y) == ["NORM", "MI", "macro"]
    np.testing.assert_allclose(dots.x, rep.aucs["auc"])
    x = np.asarray(dots.x)
    np.testing.assert_allclose(x + np.asarray(dots.error_x.array), rep.aucs["ci_high"])
    np.testing.assert_allclose(x - np.asarray(dots.error_x.arrayminus), rep.aucs["ci_low"])
    assert ci.layout.shapes[0].x0 == 0.928
    assert "xresnet1d101 0.928" in ci.layout.annotations[0].text


def test_shipped_run_report(shipped_run):
    run_dir, card = shipped_run
    ts = report.load_predictions(run_dir, card.classes)
    rep = report.fold_report(ts, n_boot=200)
    # The stored card metrics were computed by training from the same files.
    assert rep.aucs.loc["macro", "auc"] == pytest.approx(card.metrics["test_macro_auc"], abs=1e-9)
    for c in card.classes:
        lo, auc, hi = rep.aucs.loc[c, ["ci_low", "auc", "ci_high"]]
        assert lo <= auc <= hi
    assert (rep.thresholds[["tp", "fp", "fn", "tn"]].sum(axis=1) == len(ts.ids)).all()
    errs = report.largest_errors(ts)
    assert set(errs["ecg_id"]) <= set(ts.ids.tolist())
    assert len(report_figures.roc_figure(rep.curves).data) == 1 + len(rep.curves)
    assert set(report.read_logs(run_dir)) >= {"history.csv", "lr_schedule.csv"}


def test_read_logs_skips_missing_and_broken(tmp_path):
    assert report.read_logs(tmp_path) == {}
    (tmp_path / "history.csv").write_text("epoch,train_loss\n1,0.5\n")
    (tmp_path / "lr_find.csv").write_bytes(b"")
    logs = report.read_logs(tmp_path)
    assert list(logs) == ["history.csv"] and logs["history.csv"]["train_loss"].iloc[0] == 0.5
