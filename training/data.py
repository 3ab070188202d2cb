"""Training data: the official PTB-XL split as in-memory arrays, crops and augmentation."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ecgviz import ptbxl
from ecgviz.signals import read_ptbxl, resample

PHASES = 5  # 500 Hz -> 100 Hz: one decimation per sample phase


@dataclass
class SplitData:
    """Signals (N, T, 12) in mV at 100 Hz, multi-hot labels (N, 5) and their ecg_ids."""

    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray


def choose_ids(index: pd.DataFrame, split: str, max_records: int | None, seed: int) -> np.ndarray:
    """ecg_ids of a split, capped at ``max_records`` by a seeded draw (sorted for stability)."""
    ids = ptbxl.split_ids(index, split)
    if max_records and len(ids) > max_records:
        ids = np.sort(np.random.default_rng(seed).choice(ids, max_records, replace=False))
    return ids


def load_split(data_dir: Path, index: pd.DataFrame, ids: np.ndarray) -> SplitData:
    """Read the 100 Hz files of ``ids`` into one float32 array."""
    x = np.stack([read_ptbxl(data_dir, index.loc[i], fs=100).signal for i in ids]) if len(ids) \
        else np.zeros((0, 1000, 12), np.float32)
    return SplitData(ids=ids, x=x, y=ptbxl.label_matrix(index, ids))


def phase_variants(data_dir: Path, index: pd.DataFrame, ids: np.ndarray, length: int
                   ) -> list[np.ndarray]:
    """Per record, its 500 Hz file decimated to 100 Hz from each of the 5 sample phases.

    These are genuinely different 100 Hz versions of one real ECG (label-preserving); records
    without 500 Hz files get an empty (0, T, 12) array.
    """
    out = []
    for i in ids:
        row = index.loc[i]
        if not row["has_500hz"]:
            out.append(np.zeros((0, length, 12), np.float32))
            continue
        hr = read_ptbxl(data_dir, row, fs=500).signal
        out.append(np.stack([resample(hr[p:], 500, 100)[:length] for p in range(PHASES)
                             if len(hr[p:]) >= PHASES * length]))
    return out


class CropDataset(Dataset):
    """Random ``window``-sample crops of standardised records; picks a random version of each."""

    def __init__(self, x: np.ndarray, y: np.ndarray, window: int, seed: int,
                 variants: list[np.ndarray] | None = None):
        self.x, self.y, self.window = x, torch.from_numpy(y), window
        self.variants = variants
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        signal = self.x[i]
        if self.variants is not None and len(self.variants[i]):
            k = self.rng.integers(0, len(self.variants[i]) + 1)
            if k:
                signal = self.variants[i][k - 1]
        start = self.rng.integers(0, signal.shape[0] - self.window + 1)
        crop = signal[start:start + self.window].T
        return torch.from_numpy(np.ascontiguousarray(crop)), self.y[i]


class RecordDataset(Dataset):
    """Whole standardised records (evaluated with sliding windows)."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))
        self.y = torch.from_numpy(y)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]
