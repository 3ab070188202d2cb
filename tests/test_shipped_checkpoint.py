"""The shipped model: ``training.evaluate`` on the bundled data reproduces what its card states.

Uses conftest's ``shipped_checkpoint``: skipped (with the reason) only while
checkpoints/default/model.safetensors does not exist; under CI a missing file fails.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from ecgviz import checkpoint, model as models, ptbxl
from training import evaluate


@pytest.fixture(scope="module")
def result(shipped_checkpoint, bundled_dir):
    return evaluate.evaluate(shipped_checkpoint, bundled_dir)


def test_evaluate_reproduces_the_card(result):
    card = result.card
    assert card.metrics["test_fold"] == ptbxl.TEST_FOLD
    assert card.metrics["test_records"] == len(result.ids)
    assert abs(result.macro_auc - card.metrics["test_macro_auc"]) <= 1e-3
    for name in card.classes:
        assert abs(result.table.loc[name, "auc"] - card.metrics["test_auc"][name]) <= 1e-3, name
    np.testing.assert_allclose(result.table.loc["macro", ["ci_low", "ci_high"]].astype(float),
                               card.metrics["test_macro_auc_ci95"], atol=1e-3)


def test_evaluated_on_fold_10_of_the_bundled_sample(result, bundled_index):
    assert set(result.ids) <= set(ptbxl.split_ids(bundled_index, "test"))
    assert (bundled_index.loc[result.ids, "strat_fold"] == ptbxl.TEST_FOLD).all()
    assert result.pred.shape == result.y.shape == (len(result.ids), len(result.card.classes))


def test_card_describes_the_shipped_model(shipped_checkpoint):
    card = checkpoint.read_card(shipped_checkpoint)
    assert card.arch in models.ARCHS and card.classes == list(ptbxl.SUPERCLASSES)
    assert (card.fs, card.window, card.stride, card.aggregation) == (100, 250, 125, "max")
    assert card.data["records_per_split"]["test"] == card.metrics["test_records"]
    assert {"torch", "fastai"} <= set(card.versions)
    assert card.weights_sha256 and card.created


def test_cli_prints_the_table(shipped_checkpoint, bundled_dir, result, capsys):
    assert evaluate.main(["--checkpoint", str(shipped_checkpoint), "--data", str(bundled_dir),
                          "--n-boot", "200"]) == 0
    out = capsys.readouterr().out
    for name in [*result.card.classes, "macro"]:
        assert re.search(rf"^{name}\s+0\.\d{{4}}\s+\[0\.\d{{4}}, [01]\.\d{{4}}\]", out, re.M), name
    assert f"macro  {result.macro_auc:>7.4f}" in out
    assert "reproduced (difference" in out and "NOT reproduced" not in out
