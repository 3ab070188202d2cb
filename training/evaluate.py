"""Evaluate any checkpoint on PTB-XL's test fold (10): AUC per class and macro, bootstrap 95% CI.

    python -m training.evaluate --checkpoint PATH --data DIR [--n-boot 1000]

Predictions are made as ``training.train`` makes its test metrics (``Predictor.predict_signals``
on the 100 Hz files, batch by batch), on the test records the card lists (all of fold 10 when
the card does not list them), so a checkpoint's ``test_macro_auc`` is reproduced.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgviz import metrics, ptbxl
from ecgviz.checkpoint import CheckpointError, ModelCard
from ecgviz.inference import Predictor
from training.data import choose_ids, load_split


@dataclass
class Evaluation:
    """Test-fold results of one checkpoint."""

    card: ModelCard
    ids: np.ndarray
    y: np.ndarray        # (N, C) labels in card class order
    pred: np.ndarray     # (N, C) probabilities
    table: pd.DataFrame  # metrics.auc_table: auc, ci_low, ci_high, positives per class + macro

    @property
    def macro_auc(self) -> float:
        return float(self.table.loc["macro", "auc"])

    @property
    def card_macro_auc(self) -> float | None:
        """The test macro AUC the card states (``None`` when it states none)."""
        value = self.card.metrics.get("test_macro_auc")
        return None if value is None else float(value)


def scored_ids(card: ModelCard, index: pd.DataFrame) -> np.ndarray:
    """The test records the checkpoint was scored on, as its card lists them; else fold 10
    drawn as ``training.train`` draws it (``max_records`` and ``seed`` of its config)."""
    listed = (card.data.get("ecg_ids") or {}).get("test")
    if listed is not None:
        return np.asarray(listed, dtype=np.int64)
    cfg = card.train_config
    return choose_ids(index, "test", cfg.get("max_records"), cfg.get("seed", 0))


def evaluate(checkpoint: str | Path, data_dir: str | Path, n_boot: int = 1000) -> Evaluation:
    """Score ``checkpoint`` on the test fold of the PTB-XL folder ``data_dir``.

    Raises ``CheckpointError`` for an unusable checkpoint and ``ptbxl.DatasetError`` when the
    folder lacks test records the card lists or classes the card names.
    """
    predictor = Predictor.from_checkpoint(checkpoint)
    card = predictor.card
    unknown = [c for c in card.classes if c not in ptbxl.SUPERCLASSES]
    if unknown:
        raise ptbxl.DatasetError(f"the checkpoint predicts {', '.join(unknown)}, which are not "
                                 f"PTB-XL superclasses ({', '.join(ptbxl.SUPERCLASSES)}).")
    data_dir = Path(data_dir)
    index = ptbxl.load_index(data_dir)
    ids = scored_ids(card, index)
    missing = sorted(set(ids.tolist()) - set(ptbxl.split_ids(index, "test").tolist()))
    if missing:
        raise ptbxl.DatasetError(
            f"{data_dir} lacks {len(missing)} of the {len(ids)} test records the checkpoint was "
            f"scored on (e.g. ecg_id {', '.join(map(str, missing[:5]))}); evaluate it on the "
            f"folder it was trained on ({card.data.get('folder', 'see its card')}) or a copy.")
    if len(ids) == 0:
        raise ptbxl.DatasetError(f"{data_dir} has no labelled records in the test fold (10).")
    split = load_split(data_dir, index, ids)
    pred = np.concatenate([predictor.predict_signals(x, card.fs) for x in split.batches()])
    y = split.y[:, [ptbxl.SUPERCLASSES.index(c) for c in card.classes]]
    table = metrics.auc_table(y, pred, card.classes, n_boot=n_boot,
                              seed=card.train_config.get("seed", 0))
    return Evaluation(card=card, ids=ids, y=y, pred=pred, table=table)


def report(result: Evaluation, checkpoint: str | Path, data_dir: str | Path) -> str:
    """The printed report: per-class and macro AUC with intervals, and the card's value."""
    card = result.card
    lines = [f"checkpoint {checkpoint} ({card.arch}, created {card.created or 'unknown'})",
             f"data {data_dir}: fold {ptbxl.TEST_FOLD}, {len(result.ids)} records",
             f"{'class':<7}{'AUC':>7}   95% CI          positives"]
    for name, row in result.table.iterrows():
        lines.append(f"{name:<7}{row['auc']:>7.4f}   [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
                     f"  {int(row['positives']):>5}")
    stated = result.card_macro_auc
    if stated is None:
        lines.append("the card states no test macro AUC")
    else:
        diff = result.macro_auc - stated
        verdict = "reproduced" if abs(diff) <= 1e-3 else "NOT reproduced"
        lines.append(f"card test_macro_auc {stated:.4f}: {verdict} (difference {diff:+.2e})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.evaluate",
                                description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="model.safetensors (card beside it)")
    p.add_argument("--data", required=True, help="PTB-XL folder")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the CIs")
    a = p.parse_args(argv)
    try:
        result = evaluate(a.checkpoint, a.data, a.n_boot)
    except (CheckpointError, ptbxl.DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(result, a.checkpoint, a.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
