"""Full-PTB-XL scale: index, browse filters, signal cache, data loading vs step time, memory, and
time per epoch with the 50-epoch projection, on a 21,799-record folder of real records.

    .venv/bin/python -m bench.scale [--data DIR] [--source DIR] [--device cpu|cuda] [--steps 200]

Without ``--data`` a full-size folder is built in a temp folder (``bench.make_fullsize``) and
removed at the end. Training is measured with the pieces ``training.train`` uses (signal cache,
``CropDataset`` with the 500 Hz phase versions, fastai ``Learner``, ``SlidingWindow``, fp16 on
CUDA) for ``--steps`` steps of ``--bs`` crops after a warm-up; an epoch is extrapolated from the
mean step and the measured valid throughput. Prints a README table row at the end.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback, CancelFitException
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.losses import BCEWithLogitsLossFlat
from fastai.optimizer import Adam
from fastai.torch_core import set_seed

from bench.make_fullsize import FULL_SIZE, build
from ecgviz import model as models, ptbxl
from ecgviz.inference import SlidingWindow
from ecgviz.settings import BUNDLED_DATA_DIR, REPO_ROOT
from training.cache import phase_variants, signals_100hz
from training.data import (CropDataset, RecordDataset, fit_standardizer, load_split,
                           loader_workers)
from training.train import STRIDE, WINDOW
from bench.timing import median_s

EPOCHS = 50          # the benchmark protocol
LR_FIND_STEPS = 100  # fastai lr_find's default
FILTERS = {
    "class MI": ptbxl.Filters(classes=("MI",)),
    "fold 10, age 40-70, female": ptbxl.Filters(folds=(10,), age=(40, 70), sexes=("female",)),
    "SCP codes IMI/ASMI": ptbxl.Filters(scp_codes=("IMI", "ASMI")),
    "report contains 'sinus'": ptbxl.Filters(report="sinus"),
    "validated, no artifacts": ptbxl.Filters(human_validated_only=True, no_artifacts=True),
}


def _mapped_mb(folder: Path) -> float:
    """Resident size of this process's mappings of files under ``folder`` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:   # a mapping's header line
            inside = len(fields) >= 6 and fields[-1].startswith(str(folder))
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total / 1024


def _mem_mb() -> dict[str, float]:
    """Resident memory of this process: anonymous (private arrays) and file-backed (mappings)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def index_cold_s(data: Path, repeats: int = 3) -> float:
    """``load_index`` in fresh processes (imports excluded), median."""
    code = ("import sys, time; from ecgviz import ptbxl; t = time.perf_counter(); "
            "ptbxl.load_index(sys.argv[1]); print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code, str(data)], cwd=REPO_ROOT, check=True,
                                 capture_output=True, text=True).stdout) for _ in range(repeats)]
    return statistics.median(runs)


def browse_table(found):
    """The Browse page's table (pages/browse.py builds the same columns)."""
    return found[["age", "sex_name", "strat_fold", "superclasses", "report", "has_500hz"]].assign(
        scp=[", ".join(f"{c} {v:g}" for c, v in s.items()) for s in found["scp"]])


class StepTimer(Callback):
    """Per training step: time waiting for the batch (loader, collate, to device) and time of
    forward + backward + optimizer step; stops the fit after ``warmup + steps`` steps."""

    order = 100

    def __init__(self, steps: int, warmup: int, cuda: bool):
        self.steps, self.warmup, self.cuda = steps, warmup, cuda
        self.load, self.step, self.cpu, self.n = [], [], [], 0

    def _now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def before_train(self):
        self.mark = self._now()

    def before_batch(self):
        self.start, self.cpu_start = self._now(), time.process_time()
        if self.n >= self.warmup:
            self.load.append(self.start - self.mark)

    def after_batch(self):
        self.mark = self._now()
        if self.n >= self.warmup:
            self.step.append(self.mark - self.start)
            self.cpu.append(time.process_time() - self.cpu_start)
        self.n += 1
        if self.n >= self.warmup + self.steps:
            raise CancelFitException()


def time_steps(a: argparse.Namespace, dls: DataLoaders, device: torch.device
               ) -> tuple[float, float, float, float]:
    """Mean step and data-loading seconds, valid seconds per record, CPU seconds per step."""
    net = models.build(a.arch, len(ptbxl.SUPERCLASSES))
    learn = Learner(dls, SlidingWindow(net, WINDOW, STRIDE), loss_func=BCEWithLogitsLossFlat(),
                    opt_func=Adam, wd=1e-2)
    if device.type == "cuda":
        learn = learn.to_fp16()
    timer = StepTimer(a.steps, a.warmup, device.type == "cuda")
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3, cbs=[timer])
        t0 = time.perf_counter()
        learn.validate()
        if device.type == "cuda":
            torch.cuda.synchronize()
        valid_s = (time.perf_counter() - t0) / len(dls.valid.dataset)
    return (float(np.mean(timer.step)), float(np.mean(timer.load)), valid_s,
            float(np.mean(timer.cpu)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, help="existing full-size folder (default: build one)")
    p.add_argument("--source", type=Path, default=BUNDLED_DATA_DIR, help="real records to repeat")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--arch", default=models.DEFAULT_ARCH, choices=sorted(models.ARCHS))
    p.add_argument("--bs", type=int, default=128)
    p.add_argument("--steps", type=int, default=200, help="timed training steps")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--eval-records", type=int, default=512, help="valid records timed")
    p.add_argument("--workers", type=int, nargs="*", default=[],
                   help="also time these loader worker counts (the training default always)")
    a = p.parse_args()
    device = torch.device(a.device)
    tmp = Path(tempfile.mkdtemp(prefix="ecgviz-scale-"))
    try:
        run(a, device, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a: argparse.Namespace, device: torch.device, tmp: Path) -> None:
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else
             f", {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
          + f"; load average {_load()}")
    data = a.data
    if data is None:
        t0 = time.perf_counter()
        data = build(a.source, tmp / "ptbxl-full")
        print(f"full-size folder: {FULL_SIZE} records from {a.source} built in "
              f"{time.perf_counter() - t0:.1f} s")

    # Index and browse -------------------------------------------------------------------------
    cold = index_cold_s(data)
    index = ptbxl.load_index(data)
    warm = median_s(lambda: ptbxl.load_index(data), 3)
    print(f"index: {len(index)} records; cold load {cold:.3f} s (fresh process), warm {warm:.3f} s"
          f"  [target < 1 s]")
    worst = 0.0
    for name, f in FILTERS.items():
        s = median_s(lambda f=f: browse_table(ptbxl.apply_filters(index, f)))
        worst = max(worst, s)
        print(f"browse filter + table '{name}': {len(ptbxl.apply_filters(index, f))} rows, "
              f"{s * 1e3:.0f} ms")
    s = median_s(lambda: browse_table(ptbxl.apply_filters(index, ptbxl.Filters())))
    worst = max(worst, s)
    print(f"browse unfiltered table: {len(index)} rows, {s * 1e3:.0f} ms; "
          f"worst {worst * 1e3:.0f} ms  [target < 200 ms]")

    # Signal cache -----------------------------------------------------------------------------
    cache_root = tmp / "cache"
    mem0 = _mem_mb()
    t0 = time.perf_counter()
    signals = signals_100hz(data, index, cache_root)
    build100 = time.perf_counter() - t0
    t0 = time.perf_counter()
    variants = phase_variants(data, index, signals.data.shape[1], cache_root)
    build500 = time.perf_counter() - t0
    reopen = median_s(lambda: (signals_100hz(data, index, cache_root),
                                phase_variants(data, index, signals.data.shape[1], cache_root)), 3)
    size100, size500 = signals.data.nbytes / 2**20, variants.data.nbytes / 2**20
    print(f"signal cache: 100 Hz {len(signals.ids)} records built in {build100:.1f} s "
          f"({size100:.0f} MB); 500 Hz phase versions {len(variants.ids)} records built in "
          f"{build500:.1f} s ({size500:.0f} MB); reopen {reopen * 1e3:.0f} ms")

    # Training data and steps ------------------------------------------------------------------
    set_seed(0)
    ids = {s: ptbxl.split_ids(index, s) for s in ptbxl.SPLITS}
    t0 = time.perf_counter()
    train = load_split(data, index, ids["train"], cache_root)
    valid = load_split(data, index, ids["valid"][:a.eval_records], cache_root)
    mean, std = fit_standardizer(train)
    prep = time.perf_counter() - t0
    train_ds = CropDataset(train, mean, std, WINDOW, 0, variants)
    n_train = len(train_ds)
    train_mb = n_train * train.length * 12 * 2 / 2**20
    train_var = int((variants.rows(ids["train"], missing_ok=True) >= 0).sum())
    print(f"training data: {n_train} train records ({train_mb:.0f} MB int16 at 100 Hz, "
          f"{train_var} with 500 Hz versions = {train_var * 5 * train_mb / max(n_train, 1):.0f} MB)"
          f"; splits + standardiser {prep:.1f} s")
    valid_ds = RecordDataset(valid, mean, std)
    dls = DataLoaders(DataLoader(train_ds, bs=a.bs, shuffle=True, drop_last=True),
                      DataLoader(valid_ds, bs=256), device=device)
    for _, _ in zip(range(3 * a.steps), dls.train):  # data only: what holding the set costs
        pass
    for _ in dls.valid:
        pass
    anon = _mem_mb()["RssAnon"] - mem0["RssAnon"]
    print(f"memory for the training set: {anon:+.0f} MB anonymous (arrays in RAM) after "
          f"{3 * a.steps} batches; {_mapped_mb(cache_root):.0f} MB of the cache files resident "
          "(page cache of the rows read: shared by DDP ranks, reclaimable)  [target < 1 GB]")

    default = loader_workers(device)
    timings = {}
    for workers in sorted({default, *a.workers}):
        set_seed(0)
        dls = DataLoaders(DataLoader(train_ds, bs=a.bs, shuffle=True, drop_last=True,
                                     num_workers=workers),
                          DataLoader(valid_ds, bs=256), device=device)
        timings[workers] = time_steps(a, dls, device)
        step, load, valid_s_per_record, cpu = timings[workers]
        print(f"training steps ({a.arch}, batch {a.bs}, "
              f"{'fp16' if device.type == 'cuda' else 'fp32'}, {workers} loader workers"
              f"{' = the training default' if workers == default else ''}): {a.steps} timed; "
              f"step {step * 1e3:.0f} ms, data loading {load * 1e3:.1f} ms = {load / step:.1%} of "
              "a step  [target < 10%]")
        if device.type == "cpu":
            threads = torch.get_num_threads()
            print(f"  CPU time per step {cpu * 1e3:.0f} ms (/{threads} threads = "
                  f"{cpu / threads * 1e3:.0f} ms if the cores were not shared); load average "
                  f"{_load()}")
    step, load, valid_s_per_record, _ = timings[default]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"training process peak RSS {peak:.0f} MB (model, optimizer, activations included)")

    # Epoch and protocol projection ------------------------------------------------------------
    steps_per_epoch = n_train // a.bs
    valid_s = valid_s_per_record * len(ids["valid"])
    epoch = steps_per_epoch * (step + load) + valid_s
    total = EPOCHS * epoch + LR_FIND_STEPS * (step + load) \
        + valid_s_per_record * (len(ids["valid"]) + len(ids["test"]))
    print(f"epoch at full size: {steps_per_epoch} steps x {(step + load) * 1e3:.0f} ms + valid "
          f"{len(ids['valid'])} records {valid_s:.1f} s = {epoch:.0f} s ({epoch / 60:.1f} min)")
    print(f"{EPOCHS}-epoch protocol (lr_find + fit_one_cycle + final evaluation): "
          f"{total / 3600:.2f} h")
    name = torch.cuda.get_device_name() if device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print("\nREADME row:\n| machine | step (batch) | data loading | epoch | 50 epochs |")
    print(f"| {name} | {step * 1e3:.0f} ms ({a.bs}) | {load / step:.1%} of a step | "
          f"{epoch / 60:.1f} min | {total / 3600:.1f} h |")


if __name__ == "__main__":
    main()
