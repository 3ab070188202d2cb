"""Real training runs on bundled records: the run folder, falling loss, repeatability, failure
and cancellation of the CLI, and training.evaluate on the fresh checkpoint."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from ecgviz import checkpoint, metrics, ptbxl, settings
from training import evaluate
from training.status import read_status
from training.train import TrainConfig, train

REPO = settings.REPO_ROOT
RECORDS, BS = 32, 4                  # per split; 8 iterations per epoch
FIXED = dict(epochs=3, lr="0.01")    # 24 iterations: enough to see the loss fall
HISTORY_COLUMNS = ["epoch", "train_loss", "valid_loss", "accuracy_multi", "macro_auc", "lr", "time_s"]


def _config(out: Path, **changes) -> TrainConfig:
    return TrainConfig(data=str(settings.BUNDLED_DATA_DIR), out=str(out), bs=BS,
                       max_records=RECORDS, seed=0, **changes)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A tmp folder for the runs; the signal cache goes there too (also for subprocesses)."""
    root = tmp_path_factory.mktemp("train")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ECGVIZ_CACHE_DIR", str(root / "cache"))
        yield root


@pytest.fixture(scope="module")
def fixed_runs(root) -> tuple[Path, Path]:
    """The same seeded CPU run twice at lr 0.01: first without the lr finder, then with it
    (train.py restores every random state after the search, so the fit must not change)."""
    return tuple(train(_config(root / f"fixed{k}", lr_find=bool(k), **FIXED)).parent
                 for k in range(2))


def _check_run_folder(run: Path, epochs: int, index: pd.DataFrame) -> checkpoint.ModelCard:
    """Every file of a finished run exists, parses and agrees with the others."""
    status = read_status(run)
    assert status["phase"] == "finished" and "error" not in status
    assert status["epoch"] == status["epochs"] == epochs and status["finished"]

    net, card = checkpoint.load(run / "model.safetensors")
    assert not net.training and card.classes == list(ptbxl.SUPERCLASSES)
    assert card.train_config["epochs"] == epochs and card.train_config["bs"] == BS
    assert card.data["records_per_split"] == {"train": RECORDS, "valid": RECORDS, "test": RECORDS}
    assert len(card.mean) == len(card.std) == 12 and min(card.std) > 0
    assert status["metrics"] == card.metrics and status["checkpoint"] == str(run / "model.safetensors")

    history = pd.read_csv(run / "history.csv")
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == list(range(1, epochs + 1))
    assert np.isfinite(history.drop(columns="macro_auc").to_numpy()).all()
    assert history["macro_auc"].between(0, 1).all() and (history["time_s"] > 0).all()

    sched = pd.read_csv(run / "lr_schedule.csv")
    assert list(sched.columns) == ["iteration", "epoch", "lr", "loss", "smooth_loss"]
    per_epoch = RECORDS // BS
    assert sched["iteration"].tolist() == list(range(1, epochs * per_epoch + 1))
    assert sched["epoch"].tolist() == [e for e in range(1, epochs + 1) for _ in range(per_epoch)]
    lr_max = card.train_config["lr_max"]  # one cycle: from lr_max/25 up to lr_max, then down
    assert sched["lr"].iloc[0] == pytest.approx(lr_max / 25, rel=1e-3)
    assert sched["lr"].max() == pytest.approx(lr_max, rel=1e-3)
    assert sched["lr"].iloc[-1] < lr_max / 10

    for short, split, fold in (("val", "valid", ptbxl.VALID_FOLD), ("test", "test", ptbxl.TEST_FOLD)):
        ids = np.load(run / f"ids_{short}.npy")
        assert ids.tolist() == card.data["ecg_ids"][split] and len(ids) == RECORDS
        assert (index.loc[ids, "strat_fold"] == fold).all()
        y, pred = np.load(run / f"y_{short}.npy"), np.load(run / f"y_{short}_pred.npy")
        np.testing.assert_array_equal(y, ptbxl.label_matrix(index, ids))
        assert pred.shape == (RECORDS, 5) and ((pred >= 0) & (pred <= 1)).all()

    aucs = pd.read_csv(run / "aucs.csv", index_col="class")
    y, pred = np.load(run / "y_test.npy"), np.load(run / "y_test_pred.npy")
    expected = metrics.auc_table(y, pred, card.classes, seed=0)
    pd.testing.assert_frame_equal(aucs, expected, check_exact=False, atol=1e-6, check_dtype=False)
    assert card.metrics["test_macro_auc"] == pytest.approx(aucs.loc["macro", "auc"], abs=1e-6)
    assert card.metrics["test_records"] == RECORDS

    for png in ("loss", "metrics", "lr_schedule"):
        image = matplotlib.image.imread(run / f"{png}.png")
        assert image.ndim == 3 and min(image.shape[:2]) > 100, png
    leftovers = [p.name for p in run.rglob("*") if p.is_file() and (p.suffix in (".tmp", ".pth"))]
    assert leftovers == []
    return card


def test_fixed_lr_run_folder_without_lr_find(fixed_runs, bundled_index):
    card = _check_run_folder(fixed_runs[0], FIXED["epochs"], bundled_index)
    assert card.train_config["lr_max"] == 0.01 and card.train_config["suggested_lr"] is None
    assert not (fixed_runs[0] / "lr_find.csv").exists()
    assert not (fixed_runs[0] / "lr_find.png").exists()


def test_training_loss_went_down(fixed_runs):
    loss = pd.read_csv(fixed_runs[0] / "lr_schedule.csv")["loss"].to_numpy()
    k = len(loss) // 4
    assert loss[-k:].mean() < loss[:k].mean() - 0.05, loss.round(3).tolist()
    history = pd.read_csv(fixed_runs[0] / "history.csv")
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]


def test_seeded_cpu_runs_repeat(fixed_runs):
    """Same seed, same history, schedule, predictions and weights (lr_find in between or not)."""
    a, b = fixed_runs
    pd.testing.assert_frame_equal(pd.read_csv(a / "history.csv").drop(columns="time_s"),
                                  pd.read_csv(b / "history.csv").drop(columns="time_s"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(a / "lr_schedule.csv"),
                                  pd.read_csv(b / "lr_schedule.csv"), check_exact=True)
    np.testing.assert_array_equal(np.load(a / "y_test_pred.npy"), np.load(b / "y_test_pred.npy"))
    assert checkpoint.read_card(a / "model.safetensors").weights_sha256 == \
        checkpoint.read_card(b / "model.safetensors").weights_sha256


def test_lr_find_run_folder(fixed_runs, bundled_index):
    run = fixed_runs[1]
    card = _check_run_folder(run, FIXED["epochs"], bundled_index)
    found = pd.read_csv(run / "lr_find.csv")
    assert list(found.columns) == ["lr", "loss"] and len(found) >= 6
    assert found["lr"].is_monotonic_increasing and np.isfinite(found["loss"]).all()
    suggested = card.train_config["suggested_lr"]
    assert suggested == read_status(run)["suggested_lr"] and card.train_config["lr_max"] == 0.01
    assert found["lr"].min() <= suggested <= found["lr"].max()
    assert matplotlib.image.imread(run / "lr_find.png").ndim == 3
    assert not any(run.rglob("*.pth"))  # lr_find's temporary weights are gone


def test_evaluate_reproduces_the_fresh_card(fixed_runs, bundled_dir, capsys):
    weights = fixed_runs[0] / "model.safetensors"
    result = evaluate.evaluate(weights, bundled_dir)
    assert abs(result.macro_auc - result.card_macro_auc) <= 1e-3
    np.testing.assert_array_equal(result.ids, np.load(fixed_runs[0] / "ids_test.npy"))
    np.testing.assert_allclose(result.pred, np.load(fixed_runs[0] / "y_test_pred.npy"), atol=1e-6)
    assert evaluate.main(["--checkpoint", str(weights), "--data", str(bundled_dir),
                          "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert f"fold 10, {RECORDS} records" in out and "reproduced (difference" in out


def test_evaluate_explains_a_folder_without_the_test_records(fixed_runs, ptbxl_copy, capsys):
    assert evaluate.main(["--checkpoint", str(fixed_runs[0] / "model.safetensors"),
                          "--data", str(ptbxl_copy)]) == 2
    assert "lacks" in capsys.readouterr().err


def _cli(out: Path, data: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "training.train", "--data", str(data),
                             "--out", str(out), "--bs", str(BS), "--max-records", str(RECORDS),
                             *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_bad_data_folder_fails_with_the_error_in_status(root):
    empty = root / "not-ptbxl"
    empty.mkdir()
    proc = _cli(root / "bad", empty, "--epochs", "1", "--lr", "0.01")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    status = read_status(root / "bad")
    assert status["phase"] == "failed" and status["finished"]
    assert status["error"].startswith("DatasetError: ") and "ptbxl_database.csv is missing" in \
        status["error"]
    assert not (root / "bad" / "model.safetensors").exists()
    assert "failed: DatasetError" in (root / "bad" / "train.log").read_text()   # CLI keeps a log


def test_sigterm_cancels_and_leaves_no_checkpoint(root, bundled_dir):
    run = root / "cancelled"
    proc = _cli(run, bundled_dir, "--epochs", "200", "--lr", "0.01", "--no-lr-find")
    try:
        deadline = time.time() + 300
        while read_status(run).get("epoch", 0) < 1:  # mid-training: one epoch done, many to go
            if proc.poll() is not None or time.time() > deadline:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be cancelled"
        assert read_status(run).get("epoch", 0) >= 1, "no epoch finished within 300 s"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, output
    status = read_status(run)
    assert status["phase"] == "cancelled" and status["finished"] and status["epoch"] < 200
    assert "cancelled" in output and output == (run / "train.log").read_text()
    names = {p.name for p in run.iterdir()}
    assert not names & {"model.safetensors", "model.json", "aucs.csv"}
    assert not [n for n in names if n.endswith(".tmp")]
    history = pd.read_csv(run / "history.csv")  # what was done stays readable
    assert len(history) >= 1 and len(pd.read_csv(run / "lr_schedule.csv")) >= RECORDS // BS
    json.loads((run / "status.json").read_text())
