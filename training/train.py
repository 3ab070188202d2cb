"""Train an XResNet1D on PTB-XL's official folds with fastai; write a complete run folder.

    python -m training.train --data DIR --out runs/NAME [--arch xresnet1d50 --epochs 30 --bs 128
        --lr auto|VALUE --max-records N --seed 0 --device auto|cpu|cuda]

Folds 1-8 train, 9 valid (best epoch by macro AUC), 10 test. Random 250-sample crops for
training, sliding windows (stride 125, max) for evaluation. The run folder is described in README.
Signals come from the folder's int16 cache (``training.cache``, built on first use). The same
command runs data-parallel under ``torchrun``/``accelerate launch`` (``training.distributed``):
``--bs`` is then the global batch, rank 0 writes the run folder.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import os
import random
import shutil
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from fastai.callback.core import Callback
from fastai.callback.schedule import fit_one_cycle, lr_find  # noqa: F401  (patches Learner)
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.losses import BCEWithLogitsLossFlat
from fastai.metrics import AccumMetric, ActivationType, accuracy_multi
from fastai.optimizer import Adam
from fastai.torch_core import get_model, set_seed

from ecgviz import checkpoint, metrics, model as models, ptbxl
from ecgviz.inference import Predictor, SlidingWindow
from ecgviz.signals import LEADS
from training import distributed, plots
from training.cache import phase_variants
from training.data import (CropDataset, RecordDataset, choose_ids, fit_standardizer, load_split,
                           loader_workers)
from training.status import now, update_status

FS = 100
WINDOW = 250
STRIDE = 125


@dataclass
class TrainConfig:
    """Everything that defines a run (saved in the model card)."""

    data: str
    out: str
    arch: str = models.DEFAULT_ARCH
    epochs: int = 30
    bs: int = 128
    lr: str = "auto"              # "auto" (lr_find's suggestion) or a number
    lr_find: bool = True          # run (and save) the lr finder also when lr is a number
    max_records: int | None = None  # cap per split, for quick demos
    seed: int = 0
    device: str = "auto"
    wd: float = 1e-2
    se: bool = True
    sa: bool = True
    phase_augment: bool = True    # use 500 Hz files as 5 extra 100 Hz versions where present
    workers: int | None = None    # data-loader workers per process (None: data.loader_workers)


class Cancelled(BaseException):
    """Raised by SIGTERM so a cancelled run records its state before exiting."""


def _on_sigterm(signum, frame):
    raise Cancelled()


def log(msg: str) -> None:
    """One clean line per event (fastprogress bars are switched off)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class RunFiles(Callback):
    """Writes ``lr_schedule.csv`` per iteration and ``history.csv``/``status.json`` per epoch;
    keeps the weights of the best epoch by valid macro AUC in memory."""

    order = 70  # after Recorder (50) has the epoch's metrics

    def __init__(self, run_dir: Path, epochs: int):
        self.run_dir, self.epochs = run_dir, epochs
        self.best_auc, self.best_epoch, self.best_state = -np.inf, -1, None
        self.iteration, self.t_epoch = 0, time.time()

    def before_fit(self):
        self.sched = open(self.run_dir / "lr_schedule.csv", "w")
        self.sched.write("iteration,epoch,lr,loss,smooth_loss\n")
        (self.run_dir / "history.csv").write_text(
            "epoch,train_loss,valid_loss,accuracy_multi,macro_auc,lr,time_s\n")

    def after_batch(self):
        if not self.training:
            return
        self.iteration += 1
        lr = self.opt.hypers[-1]["lr"]
        self.sched.write(f"{self.iteration},{self.epoch + 1},{lr:.6g},{self.loss.item():.6f},"
                         f"{self.smooth_loss.item():.6f}\n")
        self.sched.flush()

    def before_epoch(self):
        self.t_epoch = time.time()

    def after_epoch(self):
        train_loss, valid_loss, acc, auc = (float(v) for v in self.recorder.values[-1][:4])
        seconds = time.time() - self.t_epoch
        lr = self.opt.hypers[-1]["lr"]
        with open(self.run_dir / "history.csv", "a") as fh:
            fh.write(f"{self.epoch + 1},{train_loss:.6f},{valid_loss:.6f},{acc:.6f},{auc:.6f},"
                     f"{lr:.6g},{seconds:.2f}\n")
        if np.isfinite(auc) and auc > self.best_auc:
            self.best_auc, self.best_epoch = auc, self.epoch + 1
            self.best_state = copy.deepcopy(get_model(self.learn.model).net.state_dict())
        latest = {"train_loss": train_loss, "valid_loss": valid_loss, "accuracy_multi": acc,
                  "macro_auc": auc, "best_epoch": self.best_epoch, "best_valid_auc": self.best_auc}
        update_status(self.run_dir, phase="training", epoch=self.epoch + 1, epochs=self.epochs,
                      latest=latest, epoch_time_s=seconds)
        log(f"epoch {self.epoch + 1}/{self.epochs} train_loss {train_loss:.4f} valid_loss "
            f"{valid_loss:.4f} acc {acc:.4f} macro_auc {auc:.4f} ({seconds:.1f} s)")

    def after_fit(self):
        self.sched.close()


@contextmanager
def _rng_preserved(learn: Learner, train_ds: CropDataset) -> Iterator[None]:
    """Restore every random state after the block (global, the loader's shuffling, the crops):
    a fit after ``lr_find`` then draws the same batches as one without it."""
    states = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
              torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
              learn.dls.train.rng.getstate(), train_ds.rng.bit_generator.state)
    yield
    random.setstate(states[0])
    np.random.set_state(states[1])
    torch.set_rng_state(states[2])
    if states[3] is not None:
        torch.cuda.set_rng_state_all(states[3])
    learn.dls.train.rng.setstate(states[4])
    train_ds.rng.bit_generator.state = states[5]


def _quiet(*args, **kwargs) -> None:
    """Stands in for logging and status writes on DDP ranks other than 0."""


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but no CUDA device is available.")
    return torch.device(name)


def _provenance(data_dir: Path, index: pd.DataFrame, splits: dict[str, np.ndarray]) -> dict:
    used = np.sort(np.concatenate(list(splits.values())))
    folds = index.loc[used, "strat_fold"].value_counts().sort_index()
    return {
        "folder": str(data_dir),
        "dataset": "PTB-XL (v1.0.3 record set)",
        "records_indexed": int(len(index)),
        "records_per_split": {k: int(len(v)) for k, v in splits.items()},
        "records_per_fold": {int(k): int(v) for k, v in folds.items()},
        "ecg_ids_sha256": hashlib.sha256(",".join(map(str, used)).encode()).hexdigest(),
        "ecg_ids": {k: [int(i) for i in v] for k, v in splits.items()} if len(used) <= 5000 else None,
    }


def train(cfg: TrainConfig) -> Path | None:
    """Run the whole protocol; returns the checkpoint path (``None`` on DDP ranks other than 0)."""
    run_dir, main = Path(cfg.out), distributed.is_main()
    say = log if main else _quiet
    status = (lambda **fields: update_status(run_dir, **fields)) if main else _quiet
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed, reproducible=True)
    device = distributed.rank_device(_device(cfg.device))
    world = distributed.world_size()
    status(phase="loading", config=asdict(cfg), pid=os.getpid(), started=now(),
           device=str(device), processes=world, epoch=0, epochs=cfg.epochs)
    data_dir = Path(cfg.data)
    index = ptbxl.load_index(data_dir)
    ids = {s: choose_ids(index, s, cfg.max_records, cfg.seed) for s in ptbxl.SPLITS}
    if len(ids["train"]) == 0 or len(ids["valid"]) == 0:
        raise ptbxl.DatasetError(f"{data_dir} has no labelled records in the training folds (1-8) "
                                 "or the validation fold (9).")
    splits = {s: load_split(data_dir, index, v, log=say) for s, v in ids.items()}
    mean, std = fit_standardizer(splits["train"])
    variants = phase_variants(data_dir, index, splits["train"].length, log=say) \
        if cfg.phase_augment else None
    n_phased = int((variants.rows(ids["train"], missing_ok=True) >= 0).sum()) if variants else 0
    bs = max(cfg.bs // world, 1)
    say(f"data {data_dir}: train {len(ids['train'])} valid {len(ids['valid'])} "
        f"test {len(ids['test'])} records; 500 Hz phase versions for {n_phased} training "
        f"records; device {device}" + (f"; {world} processes x batch {bs}" if world > 1 else ""))

    train_ds = CropDataset(splits["train"], mean, std, WINDOW, cfg.seed + distributed.rank(),
                           variants)
    valid_ds = RecordDataset(splits["valid"], mean, std)
    workers = loader_workers(device, world) if cfg.workers is None else cfg.workers
    dls = DataLoaders(DataLoader(train_ds, bs=bs, shuffle=True, drop_last=len(train_ds) > cfg.bs,
                                 num_workers=workers),
                      DataLoader(valid_ds, bs=256), device=device)
    net = models.build(cfg.arch, len(ptbxl.SUPERCLASSES), se=cfg.se, sa=cfg.sa)
    # Accumulated metrics see every valid record once, also when DDP shards the valid set.
    accuracy = AccumMetric(accuracy_multi, flatten=False, name="accuracy_multi")
    auc_metric = AccumMetric(metrics.macro_auc, activation=ActivationType.Sigmoid, to_np=True,
                             invert_arg=True, flatten=False, name="macro_auc")
    learn = Learner(dls, SlidingWindow(net, WINDOW, STRIDE), loss_func=BCEWithLogitsLossFlat(),
                    opt_func=Adam, wd=cfg.wd, metrics=[accuracy, auc_metric],
                    path=run_dir, model_dir=".fastai_tmp")
    if device.type == "cuda":
        learn = learn.to_fp16()

    suggested = None
    with learn.no_bar(), learn.no_logging(), distributed.distrib_ctx(learn, device.type == "cpu"):
        if cfg.lr == "auto" or cfg.lr_find:
            status(phase="lr_find")
            with _rng_preserved(learn, train_ds):
                suggested = distributed.lr_find(learn)
            rec = learn.recorder
            if main:
                pd.DataFrame({"lr": rec.lrs, "loss": [float(x) for x in rec.losses]}).to_csv(
                    run_dir / "lr_find.csv", index=False)
            say(f"lr_find suggests {suggested:.2e}")
        lr_max = suggested if cfg.lr == "auto" else float(cfg.lr)
        status(phase="training", lr_max=lr_max, suggested_lr=suggested)
        files = RunFiles(run_dir, cfg.epochs)
        t0 = time.time()
        learn.fit_one_cycle(cfg.epochs, lr_max, cbs=[files] if main else [])
        train_seconds = time.time() - t0
    distributed.teardown()
    if not main:
        return None

    update_status(run_dir, phase="evaluating")
    if files.best_state is not None:
        net.load_state_dict(files.best_state)
    net.cpu().float().eval()
    card = checkpoint.ModelCard(
        arch=cfg.arch, classes=list(ptbxl.SUPERCLASSES), fs=FS, window=WINDOW, stride=STRIDE,
        leads=list(LEADS), mean=mean.tolist(), std=std.tolist(),
        arch_kwargs={"se": cfg.se, "sa": cfg.sa},
        train_config={**asdict(cfg), "lr_max": lr_max, "suggested_lr": suggested,
                      "best_epoch": files.best_epoch, "train_seconds": round(train_seconds, 1)},
        data=_provenance(data_dir, index, ids), versions=checkpoint.library_versions(),
        created=now())
    predictor = Predictor(net, card)
    results = {}
    for split in ("valid", "test"):
        if not len(ids[split]):
            continue
        pred = np.concatenate([predictor.predict_signals(x, FS) for x in splits[split].batches()])
        short = "val" if split == "valid" else "test"
        np.save(run_dir / f"y_{short}.npy", splits[split].y)
        np.save(run_dir / f"y_{short}_pred.npy", pred)
        np.save(run_dir / f"ids_{short}.npy", ids[split])
        results[split] = metrics.auc_table(splits[split].y, pred, card.classes, seed=cfg.seed)
    test = results.get("test")
    if test is not None:
        test.to_csv(run_dir / "aucs.csv", float_format="%.6f")
        card.metrics = {
            "test_fold": ptbxl.TEST_FOLD, "test_records": int(len(ids["test"])),
            "test_macro_auc": float(test.loc["macro", "auc"]),
            "test_macro_auc_ci95": [float(test.loc["macro", "ci_low"]),
                                    float(test.loc["macro", "ci_high"])],
            "test_auc": {c: float(test.loc[c, "auc"]) for c in card.classes},
            "valid_macro_auc": float(results["valid"].loc["macro", "auc"]),
        }
    # SIGTERM waits until both files are written: a cancel never leaves weights without a card
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        weights = checkpoint.save(net, card, run_dir / "model.safetensors")
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    plots.write_plots(run_dir, suggested)
    update_status(run_dir, phase="finished", finished=now(), metrics=card.metrics,
                  checkpoint=str(weights))
    log(f"finished: test macro AUC {card.metrics.get('test_macro_auc', float('nan')):.4f}; "
        f"checkpoint {weights}")
    return weights


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """CLI arguments -> ``TrainConfig``."""
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="PTB-XL folder")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--arch", default=models.DEFAULT_ARCH, choices=sorted(models.ARCHS))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--bs", type=int, default=128)
    p.add_argument("--lr", default="auto", help="'auto' (lr_find) or a max learning rate")
    p.add_argument("--max-records", type=int, default=None, help="cap per split (quick demos)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--no-lr-find", dest="lr_find", action="store_false",
                   help="skip the lr finder when --lr is a number (quick demos, tests)")
    p.add_argument("--no-phase-augment", dest="phase_augment", action="store_false")
    p.add_argument("--workers", type=int, default=None,
                   help="data-loader worker processes (default: 0 on CPU, up to 4 per GPU)")
    a = p.parse_args(argv)
    if a.lr != "auto":
        try:
            float(a.lr)
        except ValueError:
            p.error(f"--lr must be 'auto' or a number, not {a.lr!r}")
    return TrainConfig(data=a.data, out=a.out, arch=a.arch, epochs=a.epochs, bs=a.bs, lr=a.lr,
                       max_records=a.max_records, seed=a.seed, device=a.device,
                       phase_augment=a.phase_augment, lr_find=a.lr_find, workers=a.workers)


class _Tee:
    """Writes to the console and to the run's ``train.log`` (stdout and stderr)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _log_to_run_folder(run_dir: Path) -> None:
    """Copy the output into ``run_dir/train.log`` unless it is already redirected there
    (``training.jobs`` starts runs that way)."""
    path = run_dir / "train.log"
    try:
        if os.path.samefile(f"/proc/self/fd/{sys.stdout.fileno()}", path):
            return
    except (OSError, ValueError):
        pass
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a", buffering=1)
    sys.stdout, sys.stderr = _Tee(sys.stdout, handle), _Tee(sys.stderr, handle)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if distributed.is_main():
        _log_to_run_folder(Path(cfg.out))
    try:
        train(cfg)
    except Cancelled:
        if distributed.is_main():
            update_status(Path(cfg.out), phase="cancelled", finished=now())
        log("cancelled")
        return 130
    except Exception as exc:  # the run folder must say why it failed
        if distributed.is_main():
            update_status(Path(cfg.out), phase="failed", finished=now(),
                          error=f"{type(exc).__name__}: {exc}")
        log(f"failed: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    finally:   # lr_find's scratch weights, whatever way the run ended
        shutil.rmtree(Path(cfg.out) / ".fastai_tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
