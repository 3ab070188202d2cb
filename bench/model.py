"""Model costs on this machine: parameters, single-record latency, batch throughput, training
samples/s of fastai's loop vs a bare PyTorch loop, peak memory.

    .venv/bin/python -m bench.model [--threads 2] [--bs 128] [--rounds 5] [--device cpu|cuda]

Inference uses the shipped checkpoint when it exists (else the default architecture, untrained;
the cost does not depend on the weight values). Training compares, on the same model, crops of
the bundled training records and batch size, one epoch at a time, alternating:
  fastai  the Learner exactly as ``training.train`` builds it (fit_one_cycle, its callbacks,
          metrics, fastai's DataLoader and optimizer); only the training phase of each epoch is
          timed (validation runs on 8 records and is not counted);
  bare    a plain loop: torch DataLoader over the same dataset, forward, BCE, backward, AdamW.
The first round of each is warm-up; the median of the others is reported.
"""
from __future__ import annotations

import argparse
import copy
import resource
import time

import numpy as np
import torch
from fastai.callback.core import Callback
from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (patches Learner)
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.losses import BCEWithLogitsLossFlat
from fastai.metrics import AccumMetric, ActivationType, accuracy_multi
from fastai.optimizer import Adam
from torch.utils.data import DataLoader as TorchDataLoader

from ecgviz import checkpoint, metrics, model as models, ptbxl, settings
from ecgviz.inference import Predictor, SlidingWindow
from ecgviz.signals import LEADS, read_ptbxl
from training import train as training
from training.data import CropDataset, RecordDataset, choose_ids, fit_standardizer, load_split


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clock() -> np.ndarray:
    """(wall, process CPU) seconds: CPU time is steadier when other jobs share the cores."""
    return np.array([time.perf_counter(), time.process_time()])


def timed(fn, repeats: int) -> np.ndarray:
    """(repeats, 2) wall and CPU seconds per call of ``fn`` (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return np.array(out)


def ms(times: np.ndarray) -> str:
    wall, cpu = 1e3 * np.median(times, axis=0)
    return f"median {wall:.1f} ms wall (min {1e3 * times[:, 0].min():.1f}, CPU {cpu:.1f} ms)"


def inference_predictor(data_dir) -> Predictor:
    if settings.SHIPPED_CHECKPOINT.is_file():
        return Predictor.from_checkpoint(settings.SHIPPED_CHECKPOINT)
    net = models.build(models.DEFAULT_ARCH, len(ptbxl.SUPERCLASSES))
    card = checkpoint.ModelCard(arch=models.DEFAULT_ARCH, classes=list(ptbxl.SUPERCLASSES), fs=100,
                                window=training.WINDOW, stride=training.STRIDE, leads=list(LEADS),
                                mean=[0.0] * 12, std=[0.2] * 12)
    return Predictor(net, card)


def bench_inference(data_dir, index, repeats: int) -> None:
    predictor = inference_predictor(data_dir)
    source = "shipped checkpoint" if settings.SHIPPED_CHECKPOINT.is_file() else "untrained"
    ids = ptbxl.split_ids(index, "test")[:64]
    records = [read_ptbxl(data_dir, index.loc[i]) for i in ids]
    one = records[0]
    lat = timed(lambda: predictor.predict(one), repeats)
    print(f"single record, 10 s at 100 Hz ({source}): {ms(lat)}, "
          f"p90 {1e3 * np.percentile(lat[:, 0], 90):.1f} ms wall, {repeats} calls")
    hr_id = index.index[index["has_500hz"]][0]
    hr = read_ptbxl(data_dir, index.loc[hr_id], fs=500)
    print(f"single record, 10 s at 500 Hz (resampling matrix): "
          f"{ms(timed(lambda: predictor.predict(hr), max(repeats // 3, 3)))}")
    batch = np.stack([r.signal for r in records])
    wall, cpu = np.median(timed(lambda: predictor.predict_signals(batch, 100), 3), axis=0)
    print(f"batch of {len(batch)} records: {wall:.2f} s wall ({cpu:.2f} s CPU), "
          f"{len(batch) / wall:.0f} records/s")


class TrainClock(Callback):
    """Wall and CPU time of the training phase of each epoch (batches, forward, backward, steps)."""

    order = 100

    def __init__(self):
        self.seconds: list[np.ndarray] = []

    def before_train(self):
        self.t0 = clock()

    def after_train(self):
        self.seconds.append(clock() - self.t0)


def fastai_learner(net, train_ds, valid_ds, bs: int, device: torch.device) -> Learner:
    """The Learner of ``training.train`` (same loss, optimizer, metrics, wrapper)."""
    dls = DataLoaders(DataLoader(train_ds, bs=bs, shuffle=True, drop_last=True),
                      DataLoader(valid_ds, bs=256), device=device)
    auc = AccumMetric(metrics.macro_auc, activation=ActivationType.Sigmoid, to_np=True,
                      invert_arg=True, flatten=False, name="macro_auc")
    learn = Learner(dls, SlidingWindow(net, training.WINDOW, training.STRIDE),
                    loss_func=BCEWithLogitsLossFlat(), opt_func=Adam, wd=1e-2,
                    metrics=[AccumMetric(accuracy_multi, flatten=False, name="accuracy_multi"), auc])
    return learn.to_fp16() if device.type == "cuda" else learn


def bare_epoch(net, opt, loader, device: torch.device) -> np.ndarray:
    """One epoch of a plain PyTorch loop; returns its (wall, CPU) seconds."""
    loss_fn = torch.nn.BCEWithLogitsLoss()
    net.train()
    t0 = clock()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            loss = loss_fn(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return clock() - t0


def bench_training(data_dir, index, bs: int, rounds: int, device: torch.device) -> None:
    ids = {s: choose_ids(index, s, None if s == "train" else 8, 0) for s in ("train", "valid")}
    splits = {s: load_split(data_dir, index, v) for s, v in ids.items()}
    mean, std = fit_standardizer(splits["train"])
    train_ds = CropDataset(splits["train"], mean, std, training.WINDOW, 0)
    valid_ds = RecordDataset(splits["valid"], mean, std)
    steps = len(train_ds) // bs
    if steps == 0:
        raise SystemExit(f"--bs {bs} is larger than the {len(train_ds)} training records")
    torch.manual_seed(0)
    net = models.build(models.DEFAULT_ARCH, len(ptbxl.SUPERCLASSES))
    bare_net = copy.deepcopy(net).to(device)
    # AdamW with fastai Adam's defaults (betas 0.9/0.99, eps 1e-5), decoupled wd 1e-2
    opt = torch.optim.AdamW(bare_net.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5,
                            weight_decay=1e-2)
    loader = TorchDataLoader(train_ds, batch_size=bs, shuffle=True, drop_last=True)
    learn = fastai_learner(net, train_ds, valid_ds, bs, device)
    timer = TrainClock()
    bare = []
    with learn.no_bar(), learn.no_logging():
        for _ in range(rounds + 1):
            bare.append(bare_epoch(bare_net, opt, loader, device))
            learn.fit_one_cycle(1, 1e-3, cbs=[timer])
    n = steps * bs
    fa, ba = np.median(timer.seconds[1:], axis=0), np.median(bare[1:], axis=0)
    print(f"training, {len(train_ds)} records, batch {bs} x {training.WINDOW} samples, {steps} steps "
          f"per epoch, median of {rounds} epochs after warm-up, {device}:")
    print(f"  fastai loop  {n / fa[0]:7.1f} samples/s  ({1e3 * fa[0] / steps:.0f} ms/step wall, "
          f"{1e3 * fa[1] / steps:.0f} ms/step CPU)")
    print(f"  bare loop    {n / ba[0]:7.1f} samples/s  ({1e3 * ba[0] / steps:.0f} ms/step wall, "
          f"{1e3 * ba[1] / steps:.0f} ms/step CPU)")
    ratios = ", ".join(f"{a[0] / b[0]:.2f}" for a, b in zip(timer.seconds, bare))
    print(f"  fastai overhead {100 * (fa[0] / ba[0] - 1):+.1f}% wall, "
          f"{100 * (fa[1] / ba[1] - 1):+.1f}% CPU (wall ratio per round: {ratios})")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.model", description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--bs", type=int, default=128, help="training batch (train.py's default)")
    p.add_argument("--rounds", type=int, default=5, help="timed training epochs of each loop")
    p.add_argument("--repeats", type=int, default=30, help="timed single-record predictions")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="for training")
    p.add_argument("--skip-inference", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    data_dir = settings.BUNDLED_DATA_DIR
    index = ptbxl.load_index(data_dir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for arch in models.ARCHS:
        for se_sa in (False, True):
            net = models.build(arch, len(ptbxl.SUPERCLASSES), se=se_sa, sa=se_sa)
            default = " (default)" if arch == models.DEFAULT_ARCH and se_sa else ""
            print(f"params {arch}{' + SE + SA' if se_sa else ''}: {models.n_parameters(net):,}"
                  f"{default}")
    if not a.skip_inference:
        with torch.inference_mode():
            bench_inference(data_dir, index, a.repeats)
        print(f"peak RSS after inference: {peak_rss_mb():.0f} MiB")
    bench_training(data_dir, index, a.bs, a.rounds, torch.device(a.device))
    print(f"peak RSS: {peak_rss_mb():.0f} MiB")
    if a.device == "cuda":
        print(f"peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
