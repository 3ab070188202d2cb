"""Metrics: scikit-learn based AUC and max-F1 thresholds against a case worked out by hand,
bootstrap intervals, classes that cannot be scored."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ecgviz import metrics, ptbxl

# Hand case, class A: negatives score 0.1 and 0.4, positives 0.35 and 0.8.
# AUC = share of (positive, negative) pairs ranked right: 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3/4.
# Thresholds (predict positive when p >= t):
#   t=0.8:  TP 1 FP 0 FN 1 TN 2 -> P 1,   R 1/2, F1 2/3
#   t=0.4:  TP 1 FP 1 FN 1 TN 1 -> P 1/2, R 1/2, F1 1/2
#   t=0.35: TP 2 FP 1 FN 0 TN 1 -> P 2/3, R 1,   F1 4/5   <- max
#   t=0.1:  TP 2 FP 2 FN 0 TN 0 -> P 1/2, R 1,   F1 2/3
# Class B: perfectly separated (AUC 1, max F1 1 at t=0.7). Class C: its one positive (0.6) is
# above one negative (0.3), tied with one (0.6, half credit) and below one (0.9) -> 1.5/3 = 0.5.
# Class D: no positive -> AUC undefined (NaN), left out of the macro mean.
Y = np.array([[0, 0, 0, 0],
              [0, 0, 1, 0],
              [1, 1, 0, 0],
              [1, 1, 0, 0]], dtype=np.float32)
P = np.array([[0.10, 0.2, 0.3, 0.5],
              [0.40, 0.1, 0.6, 0.5],
              [0.35, 0.7, 0.6, 0.5],
              [0.80, 0.9, 0.9, 0.5]], dtype=np.float32)
CLASSES = ["A", "B", "C", "D"]


def test_auc_per_class_by_hand():
    np.testing.assert_allclose(metrics.auc_per_class(Y, P), [0.75, 1.0, 0.5, np.nan])


def test_macro_auc_skips_the_class_with_one_label_value():
    assert metrics.macro_auc(Y, P) == pytest.approx((0.75 + 1.0 + 0.5) / 3)
    assert np.isnan(metrics.macro_auc(Y[:, 3:], P[:, 3:]))


def test_max_f1_threshold_and_confusion_counts_by_hand():
    table = metrics.max_f1_thresholds(Y, P, CLASSES)
    a = table.loc["A"]
    assert a["threshold"] == pytest.approx(0.35)
    assert a["f1"] == pytest.approx(0.8)
    assert (a["tp"], a["fp"], a["fn"], a["tn"]) == (2, 1, 0, 1)
    assert a["prevalence"] == 0.5
    b = table.loc["B"]
    assert (b["threshold"], b["f1"]) == (pytest.approx(0.7), 1.0)
    assert (b["tp"], b["fp"], b["fn"], b["tn"]) == (2, 0, 0, 2)
    d = table.loc["D"]  # no positive: no threshold, everything is a true negative
    assert np.isnan(d["threshold"]) and np.isnan(d["f1"])
    assert (d["tp"], d["fp"], d["fn"], d["tn"]) == (0, 0, 0, 4)


@pytest.fixture(scope="module")
def realistic(bundled_index):
    """Labels of the bundled fold-10 records and noisy scores that follow them (seeded)."""
    y = ptbxl.label_matrix(bundled_index, ptbxl.split_ids(bundled_index, "test"))
    rng = np.random.default_rng(0)
    p = 1 / (1 + np.exp(-(2.0 * (y - 0.5) + rng.normal(0, 1.2, y.shape))))
    return y, np.round(p, 2)  # rounding makes ties, which the rank AUC must score like sklearn


def test_rank_auc_equals_sklearn(realistic):
    y, p = realistic
    expected = [roc_auc_score(y[:, c], p[:, c]) for c in range(y.shape[1])]
    np.testing.assert_allclose(metrics.rank_auc(y, p), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(metrics.auc_per_class(y, p), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(metrics.rank_auc(Y, P), [0.75, 1.0, 0.5, np.nan])


def test_bootstrap_interval_brackets_the_point_estimate(realistic):
    y, p = realistic
    table = metrics.auc_table(y, p, list(ptbxl.SUPERCLASSES), n_boot=300, seed=1)
    assert list(table.index) == [*ptbxl.SUPERCLASSES, "macro"]
    np.testing.assert_allclose(table["auc"].iloc[:-1], metrics.auc_per_class(y, p))
    assert table.loc["macro", "auc"] == pytest.approx(metrics.macro_auc(y, p))
    assert (table["ci_low"] <= table["auc"]).all() and (table["auc"] <= table["ci_high"]).all()
    assert (table["ci_high"] - table["ci_low"] > 0.01).all()  # 64 records: a real interval
    assert table["positives"].tolist() == [*y.sum(axis=0).astype(int), int(y.any(axis=1).sum())]
    again = metrics.auc_table(y, p, list(ptbxl.SUPERCLASSES), n_boot=300, seed=1)
    assert again.equals(table)


def test_auc_table_with_an_unscorable_class():
    table = metrics.auc_table(Y, P, CLASSES, n_boot=50)
    assert table.loc["D"].isna()[["auc", "ci_low", "ci_high"]].all()
    assert table.loc["macro", "auc"] == pytest.approx((0.75 + 1.0 + 0.5) / 3)
    assert np.isfinite(table.loc["macro", ["ci_low", "ci_high"]].astype(float)).all()


def test_roc_pr_curves_skip_unscorable_classes():
    curves = metrics.roc_pr_curves(Y, P, CLASSES)
    assert list(curves) == ["A", "B", "C"]
    np.testing.assert_allclose(np.trapezoid(curves["A"]["tpr"], curves["A"]["fpr"]), 0.75)
    assert curves["A"]["recall"][0] == 1.0 and curves["A"]["precision"][-1] == 1.0
