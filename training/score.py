"""Score every WFDB record of a folder with a checkpoint, in batches, into a CSV.

    python -m training.score --checkpoint PATH --data DIR --out preds.csv [--bs 64]
        [--bad bad_records.csv] [--rate 100|500] [--every 1000]

``DIR`` is a PTB-XL folder (its ``records100/``, or ``records500/`` with ``--rate 500``, are
scored and rows carry their ecg_id from ``ptbxl_database.csv``) or any folder of WFDB records,
searched recursively. Records are read and validated one at a time, resampled to the model's
rate and scored ``--bs`` at a time, and each batch's rows are appended to the CSV: memory stays
constant whatever the folder's size. ``--out`` has one row per scored record: ``record`` (path
of the header without ``.hea``, relative to DIR), ``ecg_id`` (empty when unknown), ``fs`` (the
record's own rate) and one probability column per class. Unusable records are skipped and
listed with the reason in ``--bad`` (default: ``<out>.bad.csv``). A progress bar goes to stderr
(one line per ``--every`` records when stderr is not a terminal).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TextIO

import numpy as np
import pandas as pd

from ecgviz.checkpoint import CheckpointError
from ecgviz.inference import Predictor
from ecgviz.signals import ECGRecord, read_wfdb


@dataclass(frozen=True)
class Source:
    """One record to score: its header stem, its name in the output and its ecg_id if known."""

    stem: Path
    name: str
    ecg_id: int | None = None


def find_records(data_dir: Path, rate: int = 100) -> list[Source]:
    """Every WFDB header under ``data_dir`` (``records{rate}/`` of a PTB-XL folder), sorted."""
    data_dir = Path(data_dir)
    csv_path = data_dir / "ptbxl_database.csv"
    ids: dict[str, int] = {}
    root = data_dir
    if csv_path.is_file() and (data_dir / f"records{rate}").is_dir():
        root = data_dir / f"records{rate}"
        column = "filename_lr" if rate == 100 else "filename_hr"
        db = pd.read_csv(csv_path, usecols=["ecg_id", column])
        ids = dict(zip(db[column], db["ecg_id"].astype(int)))
    out = []
    for hea in sorted(root.rglob("*.hea")):
        name = hea.relative_to(data_dir).with_suffix("").as_posix()
        out.append(Source(stem=hea.with_suffix(""), name=name, ecg_id=ids.get(name)))
    return out


class Progress:
    """Records done / total on stderr: a bar redrawn in place on a terminal, else one line per
    ``every`` records."""

    def __init__(self, total: int, every: int = 1000, stream: TextIO | None = None):
        self.total, self.every, self.stream = total, max(every, 1), stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0, self.drawn, self.done, self.bad = time.time(), 0.0, 0, 0

    def _text(self) -> str:
        rate = self.done / max(time.time() - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f"{self.done}/{self.total} records, {self.bad} skipped, {rate:.0f}/s, "
                f"ETA {eta:.0f} s")

    def update(self, done: int, bad: int) -> None:
        crossed = done // self.every > self.done // self.every or done == self.total
        self.done, self.bad = done, bad
        if self.tty:
            if time.time() - self.drawn > 0.1 or done == self.total:
                self.drawn = time.time()
                filled = int(30 * done / max(self.total, 1))
                self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self._text()}")
                self.stream.flush()
        elif crossed:
            self.stream.write(self._text() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _predict(predictor: Predictor, records: list[ECGRecord]) -> np.ndarray:
    """Probabilities (n, C) for records at the model's rate, batched by equal length."""
    probs = np.zeros((len(records), len(predictor.classes)), np.float32)
    by_length: dict[int, list[int]] = {}
    for i, rec in enumerate(records):
        by_length.setdefault(rec.signal.shape[0], []).append(i)
    for members in by_length.values():
        x = np.stack([records[i].signal for i in members])
        probs[members] = predictor.predict_signals(x, predictor.card.fs)
    return probs


def score(predictor: Predictor, sources: Iterable[Source], out: TextIO, bad: TextIO,
          bs: int = 64, progress: Progress | None = None) -> tuple[int, int]:
    """Write a row per scored record to ``out`` and one per unusable record to ``bad``;
    returns (scored, skipped)."""
    rows = csv.writer(out)
    rows.writerow(["record", "ecg_id", "fs", *predictor.classes])
    skipped = csv.writer(bad)
    skipped.writerow(["record", "reason"])
    batch: list[tuple[Source, float, ECGRecord]] = []  # source, its own rate, record at the model's
    n_ok = n_bad = 0

    def flush() -> None:
        probs = _predict(predictor, [rec for _, _, rec in batch])
        for (src, fs, _), p in zip(batch, probs):
            rows.writerow([src.name, "" if src.ecg_id is None else src.ecg_id, f"{fs:g}",
                           *(f"{v:.6f}" for v in p)])
        out.flush()
        batch.clear()

    for src in sources:
        try:
            rec = read_wfdb(src.stem, name=src.name, ecg_id=src.ecg_id)
            batch.append((src, rec.fs, rec.resampled(predictor.card.fs)))
        except Exception as exc:  # a bad file is reported, never fatal
            n_bad += 1
            skipped.writerow([src.name, f"{type(exc).__name__}: {exc}"])
            bad.flush()
        if len(batch) >= bs:
            n_ok += len(batch)
            flush()
        if progress:
            progress.update(n_ok + len(batch) + n_bad, n_bad)
    if batch:
        n_ok += len(batch)
        flush()
    if progress:
        progress.close()
    return n_ok, n_bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.score", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="model.safetensors (card beside it)")
    p.add_argument("--data", required=True, type=Path, help="PTB-XL folder or folder of WFDB files")
    p.add_argument("--out", required=True, type=Path, help="CSV of probabilities to write")
    p.add_argument("--bad", type=Path, help="CSV of skipped records (default: <out>.bad.csv)")
    p.add_argument("--bs", type=int, default=64, help="records per batch")
    p.add_argument("--rate", type=int, default=100, choices=[100, 500],
                   help="which PTB-XL files to score (records100 or records500)")
    p.add_argument("--every", type=int, default=1000, help="progress line every N records "
                   "(when stderr is not a terminal)")
    a = p.parse_args(argv)
    if not a.data.is_dir():
        print(f"error: {a.data} is not a folder", file=sys.stderr)
        return 2
    try:
        predictor = Predictor.from_checkpoint(a.checkpoint)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sources = find_records(a.data, a.rate)
    if not sources:
        print(f"error: no WFDB header (.hea) found under {a.data}", file=sys.stderr)
        return 2
    bad_path = a.bad or a.out.with_suffix(".bad.csv")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", newline="") as out, open(bad_path, "w", newline="") as bad:
        n_ok, n_bad = score(predictor, sources, out, bad, a.bs, Progress(len(sources), a.every))
    print(f"scored {n_ok} of {len(sources)} records into {a.out}"
          + (f"; skipped {n_bad}, reasons in {bad_path}" if n_bad else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
