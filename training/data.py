"""Training data: the official PTB-XL split read from the int16 signal cache, crops, augmentation.

Signals stay memory-mapped int16 (see ``training.cache``); datasets convert and standardise one
record or crop at a time, so a full-size training set costs its cache pages, not float copies.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, get_worker_info

from ecgviz import ptbxl
from ecgviz.signals import standardize
from training.cache import ADU_PER_MV, PHASES, CachedSignals, signals_100hz, to_mv

CHUNK = 512  # records per chunk when a whole split is scanned


@dataclass
class SplitData:
    """One split: ecg_ids, multi-hot labels (N, 5) and the cache rows of its 100 Hz signals."""

    ids: np.ndarray
    y: np.ndarray
    signals: CachedSignals
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def length(self) -> int:
        """Samples per record."""
        return int(self.signals.data.shape[1])

    def batches(self, size: int = CHUNK) -> Iterator[np.ndarray]:
        """The split's signals as float32 mV chunks (n, T, 12), in split order."""
        for start in range(0, len(self), size):
            yield to_mv(self.signals.data[self.rows[start:start + size]])


def choose_ids(index: pd.DataFrame, split: str, max_records: int | None, seed: int) -> np.ndarray:
    """ecg_ids of a split, capped at ``max_records`` by a seeded draw (sorted for stability)."""
    ids = ptbxl.split_ids(index, split)
    if max_records and len(ids) > max_records:
        ids = np.sort(np.random.default_rng(seed).choice(ids, max_records, replace=False))
    return ids


def load_split(data_dir: Path, index: pd.DataFrame, ids: np.ndarray, cache_root: Path | None = None,
               log: Callable[[str], None] | None = None) -> SplitData:
    """The split ``ids`` backed by the folder's signal cache (built on first use)."""
    signals = signals_100hz(data_dir, index, cache_root, log)
    return SplitData(ids=np.asarray(ids), y=ptbxl.label_matrix(index, ids), signals=signals,
                     rows=signals.rows(ids))


def fit_standardizer(split: SplitData) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead mean and std (mV) over every sample of a split, from exact integer sums."""
    total = np.zeros(12, np.int64)
    squares = np.zeros(12, np.int64)
    for start in range(0, len(split), CHUNK):
        block = split.signals.data[split.rows[start:start + CHUNK]].reshape(-1, 12).astype(np.int64)
        total += block.sum(axis=0)
        squares += (block * block).sum(axis=0)
    n = max(len(split) * split.length, 1)
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean ** 2, 0.0)) / ADU_PER_MV
    return (mean / ADU_PER_MV).astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


def loader_workers(device: torch.device, world: int = 1) -> int:
    """Data-loader worker processes: none on CPU (the step dominates and needs the cores), up to
    4 per GPU process on CUDA, where a step is short enough for loading to show."""
    return 0 if device.type == "cpu" else max(0, min(4, (os.cpu_count() or 1) // world - 1))


class CropDataset(Dataset):
    """Random ``window``-sample crops, standardised; picks a random version of each record
    (its 100 Hz file or one of its 500 Hz phase decimations, where ``variants`` has them).

    Draws from ``rng`` in the main process; a loader worker draws from its own generator seeded
    with the worker's torch seed (fresh each epoch), so workers never repeat each other's crops.
    """

    def __init__(self, split: SplitData, mean: np.ndarray, std: np.ndarray, window: int, seed: int,
                 variants: CachedSignals | None = None):
        self.data, self.rows, self.y = split.signals.data, split.rows, torch.from_numpy(split.y)
        self.mean, self.std, self.window = mean, std, window
        self.variants = variants
        self.variant_rows = variants.rows(split.ids, missing_ok=True) if variants else None
        self.rng = np.random.default_rng(seed)
        self._worker_rng: tuple[int, np.random.Generator] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def _generator(self) -> np.random.Generator:
        worker = get_worker_info()
        if worker is None:
            return self.rng
        if self._worker_rng is None or self._worker_rng[0] != worker.seed:
            self._worker_rng = (worker.seed, np.random.default_rng(worker.seed))
        return self._worker_rng[1]

    def __getitem__(self, i: int):
        rng = self._generator()
        signal = self.data[self.rows[i]]
        if self.variant_rows is not None and self.variant_rows[i] >= 0:
            k = rng.integers(0, PHASES + 1)
            if k:
                signal = self.variants.data[self.variant_rows[i], k - 1]
        start = rng.integers(0, signal.shape[0] - self.window + 1)
        crop = standardize(to_mv(signal[start:start + self.window]), self.mean, self.std)
        return torch.from_numpy(np.ascontiguousarray(crop.T)), self.y[i]


class RecordDataset(Dataset):
    """Whole standardised records (evaluated with sliding windows)."""

    def __init__(self, split: SplitData, mean: np.ndarray, std: np.ndarray):
        self.data, self.rows, self.y = split.signals.data, split.rows, torch.from_numpy(split.y)
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        x = standardize(to_mv(self.data[self.rows[i]]), self.mean, self.std)
        return torch.from_numpy(np.ascontiguousarray(x.T)), self.y[i]
