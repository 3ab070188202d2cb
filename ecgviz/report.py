"""Model report: a run's test-fold files, its metrics, published benchmark rows, largest errors.

The run folder of a checkpoint (``training.train``) holds ``y_test.npy`` (N, C) labels,
``y_test_pred.npy`` (N, C) probabilities and ``ids_test.npy`` (N,) ecg_ids, in card class order,
plus ``history.csv``, ``lr_schedule.csv`` and ``lr_find.csv``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgviz import metrics

TEST_FILES = ("y_test.npy", "y_test_pred.npy", "ids_test.npy")
LOG_FILES = ("history.csv", "lr_schedule.csv", "lr_find.csv")

# Superdiagnostic macro AUC on PTB-XL fold 10 (Strodthoff et al., IEEE JBHI 2021, table of the
# benchmark; all trained on folds 1-8 of the full 21,799-record dataset).
PUBLISHED_SOURCE = "Strodthoff et al., IEEE JBHI 2021 (PTB-XL benchmark, superdiagnostic)"
PUBLISHED_MACRO_AUC: dict[str, float] = {
    "ensemble": 0.934, "resnet1d_wang": 0.930, "xresnet1d101": 0.928, "lstm": 0.927,
    "fcn_wang": 0.925, "inception1d": 0.921, "Wavelet+NN": 0.874,
}
REFERENCE_MODEL = "xresnet1d101"


class RunFilesError(Exception):
    """A run folder lacks test-fold files or they do not fit together; the message says which."""


@dataclass(frozen=True)
class RunPredictions:
    """Labels ``y`` and probabilities ``p`` (N, C) of the test fold, their ``ids``, ``classes``."""

    y: np.ndarray
    p: np.ndarray
    ids: np.ndarray
    classes: tuple[str, ...]


@dataclass(frozen=True)
class FoldReport:
    """Everything the model page shows about the test fold."""

    aucs: pd.DataFrame        # metrics.auc_table: auc, ci_low, ci_high, positives per class + macro
    curves: dict[str, dict]   # metrics.roc_pr_curves
    thresholds: pd.DataFrame  # metrics.max_f1_thresholds: threshold, f1, tp/fp/fn/tn, prevalence
    n_records: int


def load_predictions(run_dir: str | Path, classes: list[str] | tuple[str, ...]) -> RunPredictions:
    """Read the three test-fold files of a run and check their shapes against ``classes``."""
    run_dir = Path(run_dir)
    missing = [f for f in TEST_FILES if not (run_dir / f).is_file()]
    if missing:
        raise RunFilesError(f"{run_dir} has no {', '.join(missing)}: the test-fold results are "
                            "written there by `python -m training.train` next to the checkpoint.")
    try:
        y, p, ids = (np.load(run_dir / f, allow_pickle=False) for f in TEST_FILES)
    except (OSError, ValueError) as exc:
        raise RunFilesError(f"the test-fold files in {run_dir} cannot be read ({exc}).") from exc
    n, c = len(ids), len(classes)
    if y.shape != (n, c) or p.shape != (n, c) or ids.ndim != 1 or n == 0:
        raise RunFilesError(f"the test-fold files in {run_dir} do not fit together: y {y.shape}, "
                            f"predictions {p.shape}, ids {ids.shape}, {c} classes in the card.")
    return RunPredictions(y.astype(int), p.astype(float), ids.astype(int), tuple(classes))


def fold_report(ts: RunPredictions, n_boot: int = 1000, seed: int = 0) -> FoldReport:
    """AUCs with bootstrap 95% intervals, ROC/PR curves and max-F1 thresholds of a test set."""
    classes = list(ts.classes)
    return FoldReport(aucs=metrics.auc_table(ts.y, ts.p, classes, n_boot=n_boot, seed=seed),
                      curves=metrics.roc_pr_curves(ts.y, ts.p, classes),
                      thresholds=metrics.max_f1_thresholds(ts.y, ts.p, classes),
                      n_records=len(ts.ids))


def comparison_table(aucs: pd.DataFrame, arch: str, n_records: int) -> pd.DataFrame:
    """Our macro AUC (with its interval) above the published benchmark rows."""
    ours = aucs.loc["macro"]
    rows = [{"model": f"{arch} (this model)", "macro AUC": ours["auc"],
             "95% CI": f"{ours['ci_low']:.3f}-{ours['ci_high']:.3f}",
             "test records": str(n_records), "source": "this run's test fold (fold 10 subset)"}]
    rows += [{"model": name, "macro AUC": auc, "95% CI": "not reported",
              "test records": "full fold 10 (~2,200)", "source": PUBLISHED_SOURCE}
             for name, auc in PUBLISHED_MACRO_AUC.items()]
    return pd.DataFrame(rows)


def largest_errors(ts: RunPredictions, per_class: int = 5) -> pd.DataFrame:
    """Per class, the test records where the probability is furthest from the label.

    ``error`` is |label - probability|; ``kind`` is "missed" (labelled, low probability) or
    "false alarm" (not labelled, high probability). Sorted by class, then error descending.
    """
    rows = []
    for i, c in enumerate(ts.classes):
        err = np.abs(ts.y[:, i] - ts.p[:, i])
        for k in np.argsort(-err, kind="stable")[:per_class]:
            rows.append({"class": c, "ecg_id": int(ts.ids[k]), "label": int(ts.y[k, i]),
                         "probability": float(ts.p[k, i]), "error": float(err[k]),
                         "kind": "missed" if ts.y[k, i] else "false alarm"})
    return pd.DataFrame(rows, columns=["class", "ecg_id", "label", "probability", "error", "kind"])


def read_logs(run_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The run's training logs that exist and parse, by file name (``LOG_FILES``)."""
    out = {}
    for name in LOG_FILES:
        path = Path(run_dir) / name
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError):
            continue
        if len(frame):
            out[name] = frame
    return out
