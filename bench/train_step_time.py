"""Training step and evaluation times per architecture on this machine (feeds the defaults of
``training.jobs.DEFAULT_COSTS``; run folders refine them where the app runs).

    .venv/bin/python bench/train_step_time.py [--threads N] [--steps 8]

A training step (forward, BCE loss, backward, Adam) on 250-sample crops is timed at batch 8 and
32, giving a fixed cost per step plus a cost per sample; evaluation is the sliding-window forward
pass over 10 s records. Threads default to what a background job gets (cores - 1, at least 1).
"""
from __future__ import annotations

import argparse
import os

import torch

from ecgviz import model as models
from ecgviz.inference import SlidingWindow
from training.train import STRIDE, WINDOW
from bench.timing import median_s


def median_time(step, repeats: int) -> float:
    """Median time of ``step`` after one warm-up call."""
    step()
    return median_s(step, repeats)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=max(len(os.sched_getaffinity(0)) - 1, 1))
    p.add_argument("--steps", type=int, default=8)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"load average {os.getloadavg()[0]:.1f}")
    for arch in models.ARCHS:
        net = SlidingWindow(models.build(arch, 5), WINDOW, STRIDE)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss()

        def train_step(bs: int):
            x, y = torch.randn(bs, 12, WINDOW), torch.randint(0, 2, (bs, 5)).float()

            def step():
                net.train()
                opt.zero_grad()
                loss_fn(net(x), y).backward()
                opt.step()
            return step

        def eval_step():
            net.eval()
            with torch.no_grad():
                net(records)

        records = torch.randn(32, 12, 1000)
        t8, t32 = (median_time(train_step(bs), a.steps) for bs in (8, 32))
        per_sample = max((t32 - t8) / 24, 0.0)
        fixed = max(t8 - 8 * per_sample, 0.0)
        eval_s = median_time(eval_step, a.steps) / 32
        print(f"{arch}: step {fixed * 1e3:.1f} ms + {per_sample * 1e3:.2f} ms/sample "
              f"(bs 8: {t8 * 1e3:.0f} ms, bs 32: {t32 * 1e3:.0f} ms); "
              f"eval {eval_s * 1e3:.2f} ms/record")


if __name__ == "__main__":
    main()
