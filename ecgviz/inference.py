"""Prediction with a checkpointed model: normalise, slide 2.5 s windows, aggregate by max.

Window probabilities are aggregated with ``max`` over windows, as in the PTB-XL benchmark
(Strodthoff et al. 2021): a finding seen in any 2.5 s of the record counts for the record.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ecgviz import checkpoint
from ecgviz.checkpoint import ModelCard
from ecgviz.signals import ECGRecord, SignalError, resample, standardize


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start indices of sliding windows covering ``length`` samples (last one flush with the end)."""
    if length < window:
        raise SignalError(f"the record has {length} samples at the model's rate; at least "
                          f"{window} are needed.")
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


@lru_cache(maxsize=8)
def resample_matrix(n_in: int, fs_in: float, fs_out: float) -> torch.Tensor:
    """(n_out, n_in) matrix equal to ``signals.resample`` (resampling is linear).

    Built outside inference mode: the cached matrix is reused by autograd (saliency).
    """
    eye = np.eye(n_in, dtype=np.float32)
    with torch.inference_mode(False):
        return torch.from_numpy(resample(eye, fs_in, fs_out)).contiguous()


def resample_tensor(x: torch.Tensor, fs_in: float, fs_out: float) -> torch.Tensor:
    """Resample (..., T) along time like ``signals.resample``; differentiable when ``x`` needs
    gradients (through ``resample_matrix``), else computed directly (no (T, T) matrix)."""
    if fs_in == fs_out:
        return x
    if x.requires_grad:
        return x @ resample_matrix(x.shape[-1], fs_in, fs_out).T
    out = resample(np.moveaxis(x.detach().numpy(), -1, 0), fs_in, fs_out)
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(out, 0, -1)))


def windowed_logits(net: nn.Module, x: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """Record logits (B, C): ``net`` on every sliding window of (B, L, T), max over windows.

    ``sigmoid`` is monotone, so this equals the max of the window probabilities.
    """
    starts = window_starts(x.shape[-1], window, stride)
    windows = torch.stack([x[..., s:s + window] for s in starts], dim=1)
    b, n = windows.shape[:2]
    return net(windows.reshape(b * n, *windows.shape[2:])).reshape(b, n, -1).amax(dim=1)


class SlidingWindow(nn.Module):
    """Wraps a window model: inputs longer than ``window`` are scored by ``windowed_logits``."""

    def __init__(self, net: nn.Module, window: int, stride: int):
        super().__init__()
        self.net, self.window, self.stride = net, window, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] <= self.window:
            return self.net(x)
        return windowed_logits(self.net, x, self.window, self.stride)


class Predictor:
    """A model in eval mode with its card; turns records into per-class probabilities."""

    def __init__(self, net: nn.Module, card: ModelCard):
        self.net = net.eval()
        self.card = card
        for p in self.net.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "Predictor":
        """Load a checkpoint (see ``checkpoint.load``)."""
        return cls(*checkpoint.load(path))

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    def prepare(self, record: ECGRecord) -> torch.Tensor:
        """(1, 12, T) standardised input at the record's own sampling rate."""
        x = standardize(record.signal, self.card.mean, self.card.std)
        return torch.from_numpy(np.ascontiguousarray(x.T))[None]

    def forward(self, x: torch.Tensor, fs: float) -> torch.Tensor:
        """Differentiable record probabilities (B, C) from standardised (B, 12, T) input at ``fs``."""
        x = resample_tensor(x, fs, self.card.fs)
        return torch.sigmoid(windowed_logits(self.net, x, self.card.window, self.card.stride))

    @torch.inference_mode()
    def predict(self, record: ECGRecord) -> np.ndarray:
        """Probabilities (C,) in card class order."""
        return self.forward(self.prepare(record), record.fs)[0].numpy()

    @torch.inference_mode()
    def predict_signals(self, signals: np.ndarray, fs: float) -> np.ndarray:
        """Probabilities (N, C) for a batch of equally long (N, T, 12) signals in mV at ``fs``."""
        x = standardize(signals, self.card.mean, self.card.std).transpose(0, 2, 1)
        return self.forward(torch.from_numpy(np.ascontiguousarray(x)), fs).numpy()
