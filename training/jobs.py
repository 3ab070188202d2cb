"""Background training jobs for the UI: start, find again, status, cancel, list, activate, estimate.

A job is ``python -m training.train ...`` in its own session (process group), writing its run
folder under ``settings.runs_dir()`` and its output to ``train.log`` there, so it outlives page
reloads and app restarts. One job at a time: ``runs_dir()/job.lock`` holds the job's pid (a lock
whose process is gone is stale and ignored). ``job.json`` in the run folder records how the job
was launched and the time estimate made at launch.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ecgviz import checkpoint, model as models, ptbxl, settings
from training.data import choose_ids
from training.status import (ACTIVE_PHASES, FINAL_PHASES, now, read_status, update_status,
                             write_json_atomic)

LOCK_FILE = "job.lock"
JOB_FILE = "job.json"
LOG_FILE = "train.log"
WEIGHTS_FILE = "model.safetensors"
LR_FIND_ITERATIONS = 100     # fastai's lr_find default (it may stop earlier when the loss diverges)
START_GRACE_S = 60.0         # a lock/status without a pid yet is "starting" for this long
_CHILDREN: dict[int, subprocess.Popen] = {}  # jobs this process started (polled so none is left a zombie)


class JobError(Exception):
    """A job cannot be started, cancelled or used; the message says why."""


@dataclass
class JobConfig:
    """The settings of a training job (the CLI arguments of ``training.train``)."""

    data: str
    arch: str = models.DEFAULT_ARCH
    epochs: int = 10
    bs: int = 32
    lr: str = "auto"
    lr_find: bool = False        # with a fixed lr, still run (and show) the lr finder
    max_records: int | None = 400
    seed: int = 0

    @property
    def runs_lr_find(self) -> bool:
        return self.lr == "auto" or bool(self.lr_find)

    def validate(self) -> None:
        """Raise ``JobError`` naming the first setting that is out of range."""
        if self.arch not in models.ARCHS:
            raise JobError(f"unknown architecture {self.arch!r}; choose one of {', '.join(models.ARCHS)}.")
        if not 1 <= int(self.epochs) <= 1000:
            raise JobError(f"epochs must be between 1 and 1000, not {self.epochs}.")
        if not 1 <= int(self.bs) <= 4096:
            raise JobError(f"batch size must be between 1 and 4096, not {self.bs}.")
        if self.max_records is not None and int(self.max_records) < 1:
            raise JobError(f"max records must be at least 1 (or empty for all), not {self.max_records}.")
        if self.lr != "auto":
            try:
                ok = math.isfinite(float(self.lr)) and float(self.lr) > 0
            except ValueError:
                ok = False
            if not ok:
                raise JobError(f"learning rate must be 'auto' or a positive number, not {self.lr!r}.")
        if not str(self.data).strip():
            raise JobError("no data folder given.")

    def args(self, out: Path) -> list[str]:
        """Command-line arguments of ``python -m training.train``."""
        argv = ["--data", str(self.data), "--out", str(out), "--arch", self.arch,
                "--epochs", str(int(self.epochs)), "--bs", str(int(self.bs)), "--lr", str(self.lr),
                "--seed", str(int(self.seed))]
        if self.max_records is not None:
            argv += ["--max-records", str(int(self.max_records))]
        if not self.runs_lr_find:
            argv.append("--no-lr-find")
        return argv


@dataclass
class Estimate:
    """Predicted wall time of a run, by part, and what the step times are based on."""

    seconds: float
    overhead_s: float
    lr_find_s: float
    epoch_s: float
    evaluate_s: float
    basis: str


@dataclass
class RunInfo:
    """What the UI shows about one run folder."""

    name: str
    path: Path
    state: str                   # a phase of training.status, or "interrupted"
    config: dict = field(default_factory=dict)
    epoch: int = 0
    epochs: int = 0
    pid: int | None = None
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    seconds: float | None = None       # wall time so far (or in total when final)
    eta_s: float | None = None         # seconds left, while active
    estimate_s: float | None = None    # the estimate made at launch
    best_valid_auc: float | None = None
    metrics: dict = field(default_factory=dict)
    checkpoint: Path | None = None     # set when the run finished with a checkpoint

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_PHASES

    @property
    def test_macro_auc(self) -> float | None:
        return self.metrics.get("test_macro_auc")

    @property
    def progress(self) -> float:
        """0..1 from elapsed time and ETA (1 when final)."""
        if not self.active:
            return 1.0
        if self.seconds is None or self.eta_s is None:
            return 0.0
        return float(min(max(self.seconds / max(self.seconds + self.eta_s, 1e-9), 0.0), 0.99))


@dataclass
class RunCurves:
    """The run's CSV files as frames (``None`` while a file does not exist yet)."""

    history: pd.DataFrame | None
    schedule: pd.DataFrame | None
    lr_find: pd.DataFrame | None
    suggested_lr: float | None


# ---------------------------------------------------------------- processes and the lock

def _proc_cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def is_training_process(pid: int | None) -> bool:
    """True when ``pid`` is a live ``training.train`` process (guards against reused pids)."""
    if not pid:
        return False
    child = _CHILDREN.get(int(pid))
    if child is not None:  # started here: the process handle knows (and reaps it)
        if child.poll() is None:
            return True
        _CHILDREN.pop(int(pid), None)
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    cmd = _proc_cmdline(int(pid))
    return not _is_zombie(int(pid)) and (cmd is None or "training.train" in cmd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _lock_path() -> Path:
    return settings.runs_dir() / LOCK_FILE


def read_lock() -> dict:
    """The lock's content (``{}`` when there is none or it is unreadable)."""
    try:
        data = json.loads(_lock_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _lock_held(lock: dict) -> bool:
    if not lock:
        return False
    if lock.get("pid"):  # a run that has recorded its end is about to exit: not holding
        phase = read_status(settings.runs_dir() / str(lock.get("run"))).get("phase")
        return phase not in FINAL_PHASES and is_training_process(lock["pid"])
    launcher = lock.get("launcher")  # between taking the lock and starting the process
    try:
        age = time.time() - datetime.fromisoformat(lock.get("created", "")).timestamp()
    except (TypeError, ValueError):
        return False
    return bool(launcher) and _pid_alive(int(launcher)) and age < START_GRACE_S


@contextmanager
def _guard():
    """Serialise check-and-take of the lock across processes (an flock on a side file)."""
    root = settings.runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".job.guard", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _release(name: str) -> None:
    """Remove the lock if it belongs to run ``name`` or is stale."""
    with _guard():
        lock = read_lock()
        if lock and (lock.get("run") == name or not _lock_held(lock)):
            _lock_path().unlink(missing_ok=True)


# ---------------------------------------------------------------- run folders

def _run_dir(run: str | Path) -> Path:
    path = Path(run)
    return path if path.is_absolute() or path.parent != Path(".") else settings.runs_dir() / path


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _timestamp(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except ValueError:
        return None


def _read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV the run is still appending to: ``None`` if missing, complete rows only."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):  # missing, empty, or a row being written
        return None
    return frame.dropna(how="any") if len(frame) else frame


def _tidy(run_dir: Path) -> None:
    """Remove what an interrupted run leaves behind: fastai's lr_find weights, half-written temps."""
    shutil.rmtree(run_dir / ".fastai_tmp", ignore_errors=True)
    for tmp in run_dir.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _median_epoch_s(history: pd.DataFrame | None) -> float | None:
    if history is None or not len(history) or "time_s" not in history:
        return None
    times = history["time_s"].to_numpy(float)
    return float(np.median(times[1:] if len(times) > 1 else times))


def status(run: str | Path) -> RunInfo:
    """State of a run from its files. A run whose status says active but whose process is gone
    is marked ``interrupted`` (once, in its status.json), tidied, and its lock freed."""
    run_dir = _run_dir(run)
    st, job = read_status(run_dir), _read_json(run_dir / JOB_FILE)
    phase = st.get("phase", "starting" if job else "unknown")
    pid = st.get("pid") or job.get("pid")
    if phase in ACTIVE_PHASES and not is_training_process(pid):
        last = _timestamp(st.get("updated") or job.get("launched")) or 0
        if pid or time.time() - last > START_GRACE_S:
            st = update_status(run_dir, phase="interrupted", finished=now(),
                               error=st.get("error") or "the training process ended without "
                               "recording a result (killed, crashed or the machine restarted); "
                               f"see {LOG_FILE}.")
            phase = "interrupted"
            _tidy(run_dir)
            _release(run_dir.name)
    started = job.get("launched") or st.get("started")
    t0 = _timestamp(started)
    t1 = _timestamp(st.get("finished")) if phase in FINAL_PHASES else time.time()
    latest = st.get("latest") or {}
    weights = run_dir / WEIGHTS_FILE
    info = RunInfo(
        name=run_dir.name, path=run_dir, state=phase, config=st.get("config") or job.get("config", {}),
        epoch=int(st.get("epoch", 0)), epochs=int(st.get("epochs", job.get("config", {}).get("epochs", 0))),
        pid=pid, started=started, finished=st.get("finished"), error=st.get("error"),
        seconds=(t1 - t0) if t0 and t1 else None, estimate_s=(job.get("estimate") or {}).get("seconds"),
        best_valid_auc=latest.get("best_valid_auc"), metrics=st.get("metrics") or {},
        checkpoint=weights if phase == "finished" and weights.is_file() else None)
    if info.active:
        info.eta_s = _eta(info, st, job, run_dir)
    return info


def _eta(info: RunInfo, st: dict, job: dict, run_dir: Path) -> float | None:
    """Seconds left: measured epoch time once epochs run, else the launch estimate."""
    est = job.get("estimate") or {}
    evaluate = est.get("evaluate_s", 10.0)
    if info.state == "evaluating":
        since = time.time() - (_timestamp(st.get("updated")) or time.time())
        return max(evaluate - since, 1.0)
    epoch_s = _median_epoch_s(_read_csv(run_dir / "history.csv")) if info.epoch else None
    if epoch_s is not None:
        return (info.epochs - info.epoch) * epoch_s + evaluate
    if est.get("seconds") is not None and info.seconds is not None:
        return max(est["seconds"] - info.seconds, evaluate)
    return None


def list_runs() -> list[RunInfo]:
    """Every run folder under ``runs_dir()``, newest first."""
    root = settings.runs_dir()
    if not root.is_dir():
        return []
    runs = [status(p) for p in root.iterdir()
            if p.is_dir() and ((p / "status.json").is_file() or (p / JOB_FILE).is_file())]
    return sorted(runs, key=lambda r: _timestamp(r.started) or 0, reverse=True)


def active_job() -> RunInfo | None:
    """The job holding the lock, if it is still running (found again after an app restart)."""
    lock = read_lock()
    if not lock:
        return None
    if not _lock_held(lock):
        if lock.get("run"):
            status(lock["run"])  # marks it interrupted if it died without a word
        _release(lock.get("run", ""))
        return None
    info = status(lock["run"])
    return info if info.active else None


def curves(run: str | Path) -> RunCurves:
    """The run's history, lr schedule and lr finder (whatever exists so far)."""
    run_dir = _run_dir(run)
    st = read_status(run_dir)
    return RunCurves(history=_read_csv(run_dir / "history.csv"),
                     schedule=_read_csv(run_dir / "lr_schedule.csv"),
                     lr_find=_read_csv(run_dir / "lr_find.csv"), suggested_lr=st.get("suggested_lr"))


def log_tail(run: str | Path, lines: int = 25) -> str:
    """The last ``lines`` lines of the run's ``train.log`` (empty if none yet)."""
    try:
        with open(_run_dir(run) / LOG_FILE, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 64 * 1024, 0))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------- start and cancel

def _new_name(cfg: JobConfig) -> str:
    base = f"{datetime.now():%Y%m%d-%H%M%S}-{cfg.arch}-{int(cfg.epochs)}ep"
    name, k = base, 1
    while (settings.runs_dir() / name).exists():
        k += 1
        name = f"{base}-{k}"
    return name


def _job_env() -> dict[str, str]:
    """The job's environment: unbuffered output, and one core fewer threads than the machine
    has, so the app stays responsive (an explicit ``OMP_NUM_THREADS`` wins). On a busy 2-core
    machine 2 spinning OpenMP threads made a training step about 10x slower than 1 thread."""
    threads = str(max(len(os.sched_getaffinity(0)) - 1, 1))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("OMP_NUM_THREADS", threads)
    env.setdefault("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
    return env


def start(cfg: JobConfig, name: str | None = None, estimate: Estimate | None = None) -> RunInfo:
    """Launch a training job in the background; ``JobError`` if the settings are invalid or
    another job is running."""
    cfg.validate()
    root = settings.runs_dir()
    with _guard():
        lock = read_lock()
        if _lock_held(lock):
            raise JobError(f"another training job is running ({lock.get('run')}, pid "
                           f"{lock.get('pid')}); wait for it to finish or cancel it first.")
        name = name or _new_name(cfg)
        run_dir = root / name
        if run_dir.exists():
            raise JobError(f"run folder {run_dir} already exists; choose another name.")
        run_dir.mkdir(parents=True)
        write_json_atomic(_lock_path(), {"run": name, "pid": None, "launcher": os.getpid(),
                                         "created": now()})
    try:
        job = {"config": asdict(cfg), "launched": now(), "launcher": os.getpid(),
               "estimate": asdict(estimate) if estimate else None}
        update_status(run_dir, phase="starting", config=asdict(cfg), epoch=0, epochs=int(cfg.epochs))
        command = [sys.executable, "-m", "training.train", *cfg.args(run_dir.resolve())]
        with open(run_dir / LOG_FILE, "ab") as log:
            proc = subprocess.Popen(command, cwd=settings.REPO_ROOT, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True,
                                    env=_job_env())
        _CHILDREN[proc.pid] = proc
        write_json_atomic(run_dir / JOB_FILE, {**job, "pid": proc.pid, "command": command})
        with _guard():
            write_json_atomic(_lock_path(), {"run": name, "pid": proc.pid, "launcher": os.getpid(),
                                             "created": now()})
    except BaseException:
        _lock_path().unlink(missing_ok=True)
        raise
    return status(run_dir)


def _signal_job(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:   # our jobs lead their own process group
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while is_training_process(pid):
        if time.time() > deadline:
            return False
        time.sleep(0.1)
    return True


def cancel(run: str | Path, grace_s: float = 10.0) -> RunInfo:
    """Stop a running job: SIGTERM to its group (train.py records ``cancelled``), SIGKILL after
    ``grace_s``; files are kept, leftovers removed, the lock freed."""
    run_dir = _run_dir(run)
    info = status(run_dir)
    if not info.active:
        raise JobError(f"run {info.name} is not running (it is {info.state}).")
    if info.pid and is_training_process(info.pid):
        _signal_job(int(info.pid), signal.SIGTERM)
        if not _wait_gone(int(info.pid), grace_s):
            _signal_job(int(info.pid), signal.SIGKILL)
            _wait_gone(int(info.pid), 5.0)
    if read_status(run_dir).get("phase") in ACTIVE_PHASES:
        update_status(run_dir, phase="cancelled", finished=now())
    _tidy(run_dir)
    _release(run_dir.name)
    return status(run_dir)


# ---------------------------------------------------------------- the active model

def activate(run_or_checkpoint: str | Path) -> Path:
    """Make a run's checkpoint the model of every page: load it fully first (``JobError`` if it
    cannot be used), then switch atomically through ``settings.active_model_file()``."""
    path = Path(run_or_checkpoint)
    if not path.suffix:
        path = _run_dir(path) / WEIGHTS_FILE
    try:
        checkpoint.load(path)
    except checkpoint.CheckpointError as exc:
        raise JobError(f"this model cannot be used: {exc}") from exc
    path = path.resolve()
    write_json_atomic(settings.active_model_file(), {"checkpoint": str(path), "activated": now()})
    return path


def use_shipped_model() -> None:
    """Go back to the shipped model (forget the activated run)."""
    settings.active_model_file().unlink(missing_ok=True)


def auc_comparison(run_metrics: dict, active_metrics: dict, classes: list[str]) -> pd.DataFrame:
    """Test AUC per class and macro: this run beside the active model (NaN where unknown)."""
    def column(m: dict) -> list[float]:
        per_class = m.get("test_auc") or {}
        return [float(per_class.get(c, np.nan)) for c in classes] + [float(m.get("test_macro_auc", np.nan))]

    return pd.DataFrame({"this run": column(run_metrics), "active model": column(active_metrics)},
                        index=[*classes, "macro"])


# ---------------------------------------------------------------- time estimate

@dataclass(frozen=True)
class StepCost:
    """Seconds per optimizer step (fixed part), per training sample (a 250-sample crop: forward,
    backward), per evaluated 10 s record (sliding windows), and per run (start, loading, the
    bootstrap, plots)."""

    step_s: float
    train_s: float
    eval_s: float
    overhead_s: float

    def scaled(self, k: float, overhead_s: float) -> "StepCost":
        return StepCost(self.step_s * k, self.train_s * k, self.eval_s * k, overhead_s)


# A quiet 2-core CPU: bench/train_step_time.py (step vs per-sample split, eval/train ratio) fitted
# to a 343/70/64-record bs-32 run (1.6 s per epoch, lr_find 10 s). Replaced by the finished runs on
# the machine in use as soon as there are some (``step_cost``).
DEFAULT_COSTS = {
    "xresnet1d50": StepCost(step_s=0.015, train_s=0.0030, eval_s=0.0040, overhead_s=15.0),
    "xresnet1d101": StepCost(step_s=0.020, train_s=0.0045, eval_s=0.0065, overhead_s=17.0),
}


def split_sizes(index: pd.DataFrame, max_records: int | None, seed: int = 0) -> dict[str, int]:
    """Records per split a run will use (the same draw as ``training.train``)."""
    return {s: int(len(choose_ids(index, s, max_records, seed))) for s in ptbxl.SPLITS}


def _scaled_parts(cost: StepCost, cfg: dict, sizes: dict) -> tuple[float, float, float]:
    """(lr_find, one epoch, evaluation) seconds under ``cost``; batches as training.train makes
    them (the last partial batch dropped when there is more than one)."""
    n_train, n_valid, n_test = (int(sizes.get(s, 0)) for s in ptbxl.SPLITS)
    bs = max(int(cfg.get("bs", 32)), 1)
    batch = min(bs, max(n_train, 1))
    batches = n_train // bs if n_train > bs else 1
    step = cost.step_s + batch * cost.train_s
    lr_find = LR_FIND_ITERATIONS * step if cfg.get("lr") == "auto" or cfg.get("lr_find") else 0.0
    return lr_find, batches * step + n_valid * cost.eval_s, (n_valid + n_test) * cost.eval_s


def step_cost(arch: str, limit: int = 5) -> tuple[StepCost, str]:
    """Step costs for ``arch``: the defaults scaled by the epoch times of the last ``limit``
    finished runs here, with the overhead that is left of their wall time."""
    base = DEFAULT_COSTS.get(arch, DEFAULT_COSTS[models.DEFAULT_ARCH])
    found = []
    for info in list_runs():
        if info.state != "finished" or info.config.get("arch") != arch or info.seconds is None:
            continue
        sizes = _read_json(info.path / "model.json").get("data", {}).get("records_per_split")
        history = _read_csv(info.path / "history.csv")
        if sizes and history is not None and len(history):
            config = {**info.config, "lr_find": (info.path / "lr_find.csv").is_file()}
            found.append((config, sizes, history, info.seconds))
        if len(found) == limit:
            break
    if not found:
        return base, "default step times (no finished run of this architecture here yet)"
    # epochs after the first (which also warms up); only first epochs when no run has more
    later = [r for r in found if len(r[2]) >= 2]
    k = float(np.median([_median_epoch_s(h) / _scaled_parts(base, c, z)[1]
                         for c, z, h, _ in (later or found)]))
    rest = []
    for config, sizes, history, seconds in found:
        lr_find_s, epoch_s, evaluate_s = _scaled_parts(base, config, sizes)
        rest.append(seconds - k * (lr_find_s + len(history) * epoch_s + evaluate_s))
    cost = base.scaled(k, max(float(np.median(rest)), 0.0))
    return cost, (f"step times measured on this machine by the last {len(found)} finished "
                  f"{arch} run(s)" + ("" if later else " (first epochs only: on the safe side)"))


def estimate(cfg: JobConfig, sizes: dict[str, int]) -> Estimate:
    """Wall time of a run with ``cfg`` on ``sizes`` records per split."""
    cost, basis = step_cost(cfg.arch)
    lr_find_s, epoch_s, evaluate_s = _scaled_parts(cost, asdict(cfg), sizes)
    total = cost.overhead_s + lr_find_s + int(cfg.epochs) * epoch_s + evaluate_s
    return Estimate(seconds=total, overhead_s=cost.overhead_s, lr_find_s=lr_find_s,
                    epoch_s=epoch_s, evaluate_s=evaluate_s, basis=basis)
