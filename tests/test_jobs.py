"""Background training jobs: real tiny runs of training.train on bundled records."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from ecgviz import checkpoint, ptbxl, settings
from training import jobs
from training.status import read_status

TINY = dict(data=str(settings.BUNDLED_DATA_DIR), epochs=1, bs=8, lr="0.01", max_records=16)
RUN_FILES = ["model.safetensors", "model.json", "history.csv", "lr_schedule.csv", "aucs.csv",
             "y_val.npy", "y_val_pred.npy", "y_test.npy", "y_test_pred.npy", "ids_val.npy",
             "ids_test.npy", "status.json", "job.json", "train.log", "loss.png", "metrics.png"]


def wait_for(name: str, done, timeout: float = 240.0) -> jobs.RunInfo:
    """Poll a run's status until ``done(info)``."""
    deadline = time.time() + timeout
    while True:
        info = jobs.status(name)
        if done(info):
            return info
        assert time.time() < deadline, f"run {name} still {info.state}:\n{jobs.log_tail(name)}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECGVIZ_RUNS_DIR", str(root))
        mp.delenv("ECGVIZ_CHECKPOINT", raising=False)
        yield root


@pytest.fixture(scope="module")
def finished(runs_dir) -> jobs.RunInfo:
    """One tiny run, started through jobs and waited for (shared by the tests below)."""
    cfg = jobs.JobConfig(**TINY)
    est = jobs.estimate(cfg, jobs.split_sizes(ptbxl.load_index(settings.BUNDLED_DATA_DIR), 16))
    info = jobs.start(cfg, name="tiny", estimate=est)
    assert info.active and info.pid
    return wait_for("tiny", lambda i: not i.active)


def test_run_finishes_with_all_files(finished, runs_dir):
    assert finished.state == "finished", jobs.log_tail("tiny")
    for name in RUN_FILES:
        assert (runs_dir / "tiny" / name).is_file(), name
    history = pd.read_csv(runs_dir / "tiny" / "history.csv")
    assert list(history["epoch"]) == [1]
    assert 0.0 <= finished.test_macro_auc <= 1.0
    assert finished.checkpoint == runs_dir / "tiny" / "model.safetensors"
    assert finished.estimate_s > 0 and finished.seconds > 0
    assert "finished: test macro AUC" in jobs.log_tail("tiny")
    assert jobs.active_job() is None
    listed = {r.name: r for r in jobs.list_runs()}
    assert listed["tiny"].config["max_records"] == 16 and listed["tiny"].state == "finished"
    curves = jobs.curves("tiny")
    assert len(curves.history) == 1 and len(curves.schedule) == 2 and curves.lr_find is None


def test_second_start_refused_cancel_frees_lock(finished, runs_dir):
    cfg = jobs.JobConfig(**{**TINY, "lr": "auto", "epochs": 3})
    first = jobs.start(cfg, name="to-cancel")
    with pytest.raises(jobs.JobError, match="another training job is running .*to-cancel"):
        jobs.start(jobs.JobConfig(**TINY), name="second")
    assert not (runs_dir / "second").exists()

    # a separate process (the app after a restart) finds the running job from the lock
    found = subprocess.run([sys.executable, "-c", "from training import jobs; "
                            "print(jobs.active_job().name)"], cwd=settings.REPO_ROOT,
                           capture_output=True, text=True, timeout=120)
    assert found.stdout.strip() == "to-cancel", found.stderr

    wait_for("to-cancel", lambda i: i.state in ("lr_find", "training") or not i.active)
    info = jobs.cancel("to-cancel", grace_s=20)
    assert info.state == "cancelled" and info.finished
    assert not jobs.is_training_process(first.pid)
    run = runs_dir / "to-cancel"
    assert read_status(run)["phase"] == "cancelled"
    assert not (run / ".fastai_tmp").exists() and not list(run.glob(".*.tmp"))
    assert "cancelled" in jobs.log_tail("to-cancel")
    assert jobs.read_lock() == {} and jobs.active_job() is None
    with pytest.raises(jobs.JobError, match="not running"):
        jobs.cancel("to-cancel")


def test_stale_lock_ignored_and_bad_data_fails(finished, runs_dir, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ghost = runs_dir / "ghost"
    ghost.mkdir()
    (ghost / "status.json").write_text(json.dumps({"phase": "training", "pid": dead.pid}))
    (runs_dir / jobs.LOCK_FILE).write_text(json.dumps({"run": "ghost", "pid": dead.pid}))

    empty = tmp_path / "not-ptbxl"
    empty.mkdir()
    jobs.start(jobs.JobConfig(**{**TINY, "data": str(empty)}), name="bad-data")
    assert jobs.status("ghost").state == "interrupted"
    info = wait_for("bad-data", lambda i: not i.active)
    assert info.state == "failed"
    assert "DatasetError" in info.error and "ptbxl_database.csv" in info.error
    assert "ptbxl_database.csv is missing" in jobs.log_tail("bad-data")
    assert info.checkpoint is None
    assert jobs.active_job() is None


def test_killed_job_is_interrupted_and_unlocks(finished, runs_dir):
    info = jobs.start(jobs.JobConfig(**TINY), name="killed")
    os.killpg(info.pid, signal.SIGKILL)
    after = wait_for("killed", lambda i: not i.active, timeout=30)
    assert after.state == "interrupted" and "train.log" in after.error
    assert read_status(runs_dir / "killed")["phase"] == "interrupted"
    assert jobs.read_lock() == {}


def test_activate_run_and_back_to_shipped(finished, runs_dir):
    path = jobs.activate("tiny")
    assert path == (runs_dir / "tiny" / "model.safetensors").resolve()
    assert settings.checkpoint_path() == path
    assert json.loads(settings.active_model_file().read_text())["checkpoint"] == str(path)
    jobs.use_shipped_model()
    assert settings.checkpoint_path() == settings.SHIPPED_CHECKPOINT


def test_invalid_checkpoint_refused(finished, runs_dir, tmp_path):
    jobs.activate("tiny")
    broken = tmp_path / "model.safetensors"
    shutil.copy(runs_dir / "tiny" / "model.safetensors", broken)
    shutil.copy(runs_dir / "tiny" / "model.json", tmp_path / "model.json")
    broken.write_bytes(broken.read_bytes()[:1000])
    with pytest.raises(jobs.JobError, match="sha256"):
        jobs.activate(broken)
    with pytest.raises(jobs.JobError, match="does not exist"):
        jobs.activate(runs_dir / "bad-data")
    assert settings.checkpoint_path() == (runs_dir / "tiny" / "model.safetensors").resolve()
    jobs.use_shipped_model()


def test_estimate_from_measured_runs(finished):
    cfg = jobs.JobConfig(**TINY)
    sizes = {"train": 16, "valid": 16, "test": 16}
    est = jobs.estimate(cfg, sizes)
    assert "measured on this machine" in est.basis and "first epochs only" in est.basis
    # one tiny finished run: the same settings are estimated at its own wall time
    assert est.seconds == pytest.approx(finished.seconds, rel=0.05)
    longer = jobs.estimate(jobs.JobConfig(**{**TINY, "epochs": 10}), sizes)
    assert longer.seconds == pytest.approx(est.seconds + 9 * est.epoch_s)
    auto = jobs.estimate(jobs.JobConfig(**{**TINY, "lr": "auto"}), sizes)
    assert est.lr_find_s == 0 and auto.lr_find_s > 0
    assert auto.seconds == pytest.approx(est.seconds + auto.lr_find_s)


@pytest.mark.parametrize("change, message", [({"lr": "fast"}, "learning rate"),
                                             ({"epochs": 0}, "epochs"),
                                             ({"arch": "resnet"}, "unknown architecture")])
def test_invalid_settings_refused(runs_dir, change, message):
    with pytest.raises(jobs.JobError, match=message):
        jobs.start(jobs.JobConfig(**{**TINY, **change}), name="invalid")
    assert not (runs_dir / "invalid").exists()
