"""Integrated-gradients saliency of one class for one record (Captum), compute only.

Attributions are taken with respect to the standardised input the model reads, for the class
*probability* of the record as ``Predictor.forward`` computes it (resample to the model's rate,
2.5 s windows, max over windows). Completeness then reads: attributions sum to
P(class | x) - P(class | baseline), and Captum's convergence delta is the part of that gap the
numerical integral misses.

Speed: the max over windows passes gradient only to the best window, so ``class_probability``
scores every window without autograd and runs forward + backward on the best one alone. It is
the same function of the input with the same gradient (about 3x less work than differentiating
all windows); tests check the attributions equal those taken through ``Predictor.forward``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients

from ecgviz.inference import Predictor, resample_matrix, window_starts
from ecgviz.signals import ECGRecord

BASELINES = ("zeros", "smooth")
SMOOTH_SIGMA_S = 0.1   # Gaussian low-pass of the "smooth" baseline: keeps wander, drops QRS/P/T detail


@dataclass(frozen=True)
class Saliency:
    """IG attributions of one class for one record, at the record's own rate."""

    attributions: np.ndarray   # (12, T) float32, same samples as record.signal.T
    target: str
    target_index: int
    baseline: str
    n_steps: int
    delta: float               # sum(attributions) - (prob - prob_baseline)
    prob: float                # P(target | record)
    prob_baseline: float       # P(target | baseline)
    fs: float

    @property
    def gap(self) -> float:
        """f(x) - f(baseline): what the attributions should add up to."""
        return self.prob - self.prob_baseline


def baseline_input(x: torch.Tensor, kind: str, fs: float) -> torch.Tensor:
    """Baseline for standardised input ``x`` (B, 12, T): all zeros, or a low-passed copy."""
    if kind == "zeros":
        return torch.zeros_like(x)
    if kind == "smooth":
        from scipy.ndimage import gaussian_filter1d   # ~20 MB resident: this baseline only

        smooth = gaussian_filter1d(x.numpy(), sigma=SMOOTH_SIGMA_S * fs, axis=-1, mode="nearest")
        return torch.from_numpy(smooth.astype(np.float32))
    raise ValueError(f"unknown baseline {kind!r}; use one of {BASELINES}")


def class_probability(predictor: Predictor, fs: float, index: int):
    """``x -> P(class index)`` (B,) for standardised (B, 12, T) input at ``fs``, equal in value and
    gradient to ``predictor.forward(x, fs)[:, index]`` (ties between windows aside)."""
    card = predictor.card

    def forward(x: torch.Tensor) -> torch.Tensor:
        if fs != card.fs:
            x = x @ resample_matrix(x.shape[-1], fs, card.fs).T
        starts = window_starts(x.shape[-1], card.window, card.stride)
        with torch.no_grad():
            windows = torch.stack([x[..., s:s + card.window] for s in starts], dim=1)
            b, n = windows.shape[:2]
            logits = predictor.net(windows.reshape(b * n, *windows.shape[2:])).reshape(b, n, -1)
            best = logits[..., index].argmax(dim=1).tolist()
        chosen = torch.stack([x[i, :, starts[k]:starts[k] + card.window] for i, k in enumerate(best)])
        return torch.sigmoid(predictor.net(chosen)[:, index])

    return forward


def integrated_gradients(predictor: Predictor, record: ECGRecord, target: str | int,
                         baseline: str = "zeros", n_steps: int = 50,
                         internal_batch_size: int | None = None) -> Saliency:
    """Integrated gradients of P(``target``) for ``record`` (Gauss-Legendre, ``n_steps`` points).

    ``internal_batch_size`` bounds memory (scaled inputs evaluated per batch; default all
    ``n_steps`` at once). 500 Hz records work: the forward pass resamples with a linear matrix,
    so the gradients flow back to every original sample.
    """
    classes = predictor.classes
    idx = classes.index(target) if target in classes else target
    if not isinstance(idx, int) or not 0 <= idx < len(classes):
        raise ValueError(f"target {target!r} is not one of the model's classes {classes}")
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2, got {n_steps}")
    x = predictor.prepare(record)
    base = baseline_input(x, baseline, record.fs)

    ig = IntegratedGradients(class_probability(predictor, record.fs, idx))
    attr, delta = ig.attribute(x, baselines=base, n_steps=n_steps,
                               internal_batch_size=internal_batch_size or n_steps,
                               return_convergence_delta=True)
    with torch.no_grad():
        probs = predictor.forward(torch.cat([x, base]), record.fs)[:, idx]
    return Saliency(
        attributions=attr[0].detach().numpy().astype(np.float32), target=classes[idx],
        target_index=idx, baseline=baseline, n_steps=n_steps, delta=float(delta[0]),
        prob=float(probs[0]), prob_baseline=float(probs[1]), fs=record.fs,
    )
