"""Time to validate and review an uploaded 15-lead 1000 Hz WFDB record (PTB Diagnostic s0010_re).

    python -m bench.upload [--repeats 5] [--checkpoint PATH]

Steps as the Upload page runs them: read_upload (write to a temp folder, validate, read, drop
the Frank leads, remove the folder) -> resample to the model's rate -> pick 10 s -> predict ->
ECG paper figure; then integrated gradients (50 steps) for one class, as the review view adds.
Prints the median and min of each step over the repeats (after one warm-up).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from ecgviz import figures, settings, signals
from ecgviz.inference import Predictor
from ecgviz.saliency import integrated_gradients

RECORD = settings.REPO_ROOT / "tests" / "data" / "foreign" / "s0010_re"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--checkpoint", default=str(settings.checkpoint_path()))
    args = p.parse_args()

    files = {f.name: f.read_bytes() for f in sorted(RECORD.parent.glob(RECORD.name + ".*"))}
    model = Predictor.from_checkpoint(args.checkpoint)
    times: dict[str, list[float]] = {}

    def timed(step: str, fn):
        t0 = time.perf_counter()
        out = fn()
        times.setdefault(step, []).append(time.perf_counter() - t0)
        return out

    for i in range(args.repeats + 1):
        rec = timed("read_upload (validate)", lambda: signals.read_upload(files)[RECORD.name])
        at_rate = timed(f"resample {rec.fs:g} -> {model.card.fs:g} Hz",
                        lambda: rec.resampled(model.card.fs))
        review = at_rate.segment(10.0, 10.0)
        timed("predict", lambda: model.predict(review))
        timed("ECG paper figure", lambda: figures.ecg_paper(review))
        timed("integrated gradients, 50 steps", lambda: integrated_gradients(model, review, "MI"))
        if i == 0:
            times.clear()   # warm-up

    size = sum(map(len, files.values())) / 2**20
    print(f"record {RECORD.name}: {len(files)} files, {size:.2f} MB, "
          f"{rec.signal.shape[0]} samples at {rec.fs:g} Hz ({rec.duration:.1f} s), 15 signals, "
          f"{rec.signal.shape[1]} kept")
    print(f"checkpoint {args.checkpoint} ({model.card.arch}); "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'step':36s} {'median ms':>10s} {'min ms':>10s}")
    for step, ts in times.items():
        print(f"{step:36s} {statistics.median(ts) * 1e3:10.1f} {min(ts) * 1e3:10.1f}")
    review_steps = [s for s in times if not s.startswith("integrated")]
    total = [sum(times[s][k] for s in review_steps) for k in range(args.repeats)]
    with_ig = [t + times["integrated gradients, 50 steps"][k] for k, t in enumerate(total)]
    print(f"{'validate + review (no saliency)':36s} {statistics.median(total) * 1e3:10.1f} "
          f"{min(total) * 1e3:10.1f}")
    print(f"{'validate + review + saliency':36s} {statistics.median(with_ig) * 1e3:10.1f} "
          f"{min(with_ig) * 1e3:10.1f}")


if __name__ == "__main__":
    main()
