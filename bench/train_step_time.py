"""Seconds per training sample and per evaluated record, per architecture, on this machine.

    .venv/bin/python bench/train_step_time.py [--bs 32] [--steps 6]

Measures a fastai-equivalent training step (forward, BCE loss, backward, Adam step on 250-sample
crops) and the sliding-window evaluation of 10 s records. The numbers feed the defaults of
``training.jobs.DEFAULT_COSTS``; run folders refine them on the machine in use.
"""
from __future__ import annotations

import argparse
import time

import torch

from ecgviz import model as models
from ecgviz.inference import SlidingWindow
from training.train import STRIDE, WINDOW


def seconds_per_item(step, n_items: int, repeats: int) -> float:
    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - t0) / (repeats * n_items)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bs", type=int, default=32)
    p.add_argument("--steps", type=int, default=6)
    a = p.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, bs {a.bs}")
    for arch in models.ARCHS:
        net = SlidingWindow(models.build(arch, 5), WINDOW, STRIDE)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        crops, y = torch.randn(a.bs, 12, WINDOW), torch.randint(0, 2, (a.bs, 5)).float()
        records = torch.randn(a.bs, 12, 1000)

        def train_step():
            net.train()
            opt.zero_grad()
            loss_fn(net(crops), y).backward()
            opt.step()

        def eval_step():
            net.eval()
            with torch.no_grad():
                net(records)

        train_s = seconds_per_item(train_step, a.bs, a.steps)
        eval_s = seconds_per_item(eval_step, a.bs, a.steps)
        print(f"{arch}: train {train_s * 1e3:.2f} ms/sample, eval {eval_s * 1e3:.2f} ms/record "
              f"(ratio {eval_s / train_s:.2f})")


if __name__ == "__main__":
    main()
