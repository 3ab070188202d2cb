"""training.train under torchrun: 2 CPU processes (gloo DDP) on bundled records, one complete run
folder from rank 0, and a valid AUC computed on the whole valid set, not on one rank's shard."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgviz import checkpoint, metrics
from ecgviz.settings import REPO_ROOT
from training.data import choose_ids

RECORDS = 17  # odd: DDP pads the valid shards, and the padding must not reach the metrics
RUN_FILES = {"model.safetensors", "model.json", "history.csv", "lr_schedule.csv", "lr_find.csv",
             "aucs.csv", "status.json", "y_val.npy", "y_val_pred.npy", "ids_val.npy", "y_test.npy",
             "y_test_pred.npy", "ids_test.npy", "loss.png", "lr_find.png", "metrics.png",
             "lr_schedule.png"}


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, bundled_dir) -> tuple[Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("ddp")
    out = tmp / "run"
    env = {**os.environ, "ECGVIZ_CACHE_DIR": str(tmp / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training.train", "--data", str(bundled_dir), "--out", str(out),
           "--epochs", "1", "--max-records", str(RECORDS), "--bs", "8"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc


def test_rank_0_writes_one_complete_run_folder(ddp_run):
    out, proc = ddp_run
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    status = json.loads((out / "status.json").read_text())
    assert status["phase"] == "finished" and status["processes"] == 2
    assert proc.stdout.count("finished: test macro AUC") == 1      # only rank 0 logs
    assert "2 processes x batch 4" in proc.stdout                    # --bs is the global batch
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1]
    assert len(pd.read_csv(out / "lr_find.csv")) > 5
    schedule = pd.read_csv(out / "lr_schedule.csv")
    # 17 training records, 9 per rank after padding, batches of 4 with drop_last: 2 steps.
    assert schedule["iteration"].tolist() == [1, 2]
    _, card = checkpoint.load(out / "model.safetensors")
    assert card.train_config["best_epoch"] == 1
    assert card.data["records_per_split"] == {"train": RECORDS, "valid": RECORDS, "test": RECORDS}


def test_valid_metrics_cover_the_full_valid_set(ddp_run, bundled_index):
    out, _ = ddp_run
    ids = np.load(out / "ids_val.npy")
    y, pred = np.load(out / "y_val.npy"), np.load(out / "y_val_pred.npy")
    assert ids.tolist() == choose_ids(bundled_index, "valid", RECORDS, 0).tolist()
    assert y.shape == pred.shape == (RECORDS, 5)
    epoch = pd.read_csv(out / "history.csv").iloc[0]
    # The epoch's metrics were gathered from both ranks during training; the saved predictions
    # come from rank 0's model alone after training, on every valid record.
    assert epoch["macro_auc"] == pytest.approx(metrics.macro_auc(y, pred), abs=2e-6)
    assert epoch["accuracy_multi"] == pytest.approx(((pred > 0.5) == y).mean(), abs=2e-6)
    shard = metrics.macro_auc(y[:9], pred[:9])                       # rank 0's shard alone
    assert shard != pytest.approx(epoch["macro_auc"], abs=1e-4)
