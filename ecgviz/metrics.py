"""Multi-label evaluation: AUC per class with bootstrap intervals, curves, thresholds at max F1."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve


def _scorable(y: np.ndarray) -> np.ndarray:
    """Columns with both positives and negatives (AUC is undefined otherwise)."""
    pos = y.sum(axis=0)
    return (pos > 0) & (pos < len(y))


def rank_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC per column from ranks (Mann-Whitney U, ties count half): the value
    ``roc_auc_score`` gives, vectorised over columns for the bootstrap; NaN where unscorable."""
    y = np.asarray(y, np.float64)
    pos = y.sum(axis=0)
    neg = len(y) - pos
    u = (rankdata(p, axis=0) * y).sum(axis=0) - pos * (pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((pos > 0) & (neg > 0), u / (pos * neg), np.nan)


def auc_per_class(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC for each column; NaN where a class has only one label value."""
    y, p = np.asarray(y), np.asarray(p)
    ok = _scorable(y)
    out = np.full(y.shape[1], np.nan)
    if ok.any():
        out[ok] = roc_auc_score(y[:, ok], p[:, ok], average=None)
    return out


def macro_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean ROC AUC over the classes that can be scored (the PTB-XL benchmark metric)."""
    per = auc_per_class(y, p)
    return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


def auc_table(y: np.ndarray, p: np.ndarray, classes: list[str], n_boot: int = 1000,
              seed: int = 0) -> pd.DataFrame:
    """AUC per class and macro, with percentile bootstrap 95% intervals (records resampled)."""
    y, p = np.asarray(y), np.asarray(p)
    point = np.append(auc_per_class(y, p), macro_auc(y, p))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        per = rank_auc(y[idx], p[idx])
        boots.append(np.append(per, np.nanmean(per) if np.isfinite(per).any() else np.nan))
    boots = np.array(boots)
    with warnings.catch_warnings():  # a class never scorable has an all-NaN column: NaN interval
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(boots, [2.5, 97.5], axis=0)
    return pd.DataFrame({"auc": point, "ci_low": lo, "ci_high": hi,
                         "positives": np.append(y.sum(axis=0), y.any(axis=1).sum()).astype(int)},
                        index=pd.Index([*classes, "macro"], name="class"))


def roc_pr_curves(y: np.ndarray, p: np.ndarray, classes: list[str]) -> dict[str, dict]:
    """Per class: ``fpr``, ``tpr`` (ROC) and ``precision``, ``recall`` (PR) arrays."""
    out = {}
    for i, c in enumerate(classes):
        if not _scorable(y[:, [i]])[0]:
            continue
        fpr, tpr, _ = roc_curve(y[:, i], p[:, i])
        prec, rec, _ = precision_recall_curve(y[:, i], p[:, i])
        out[c] = {"fpr": fpr, "tpr": tpr, "precision": prec, "recall": rec}
    return out


def max_f1_thresholds(y: np.ndarray, p: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Per class: threshold at max F1, the F1 there, confusion counts there, and prevalence."""
    rows = []
    for i, c in enumerate(classes):
        yi, pi = y[:, i].astype(int), p[:, i]
        row = {"class": c, "prevalence": yi.mean(), "threshold": np.nan, "f1": np.nan,
               "tp": 0, "fp": 0, "fn": int(yi.sum()), "tn": int((1 - yi).sum())}
        if _scorable(y[:, [i]])[0]:
            prec, rec, thr = precision_recall_curve(yi, pi)
            f1 = 2 * prec[:-1] * rec[:-1] / np.clip(prec[:-1] + rec[:-1], 1e-12, None)
            k = int(np.argmax(f1))
            pred = pi >= thr[k]
            row.update(threshold=float(thr[k]), f1=float(f1[k]),
                       tp=int((pred & (yi == 1)).sum()), fp=int((pred & (yi == 0)).sum()),
                       fn=int((~pred & (yi == 1)).sum()), tn=int((~pred & (yi == 0)).sum()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("class")
