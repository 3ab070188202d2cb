"""XResNet1D for 12-lead ECGs, built from fastai's 1-D layers; a small registry by name."""
from __future__ import annotations

import torch
from fastai.layers import AdaptiveConcatPool1d, ConvLayer, ResBlock, SimpleSelfAttention
from torch import nn

# Stage depths of the PTB-XL benchmark's xresnet1d variants (Strodthoff et al. 2021).
ARCHS: dict[str, tuple[int, ...]] = {
    "xresnet1d50": (3, 4, 6, 3),
    "xresnet1d101": (3, 4, 23, 3),
}
DEFAULT_ARCH = "xresnet1d50"
STEM = (32, 32, 64)
WIDTH = 64          # bottleneck width of every stage
EXPANSION = 4       # so every stage outputs 256 channels
KERNEL = 5


class SqueezeExcite1d(nn.Module):
    """Channel squeeze-and-excitation for (B, C, T) inputs (fastai's SEModule is 2-D only)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool1d(1),
            nn.Conv1d(channels, hidden, 1), nn.ReLU(),
            nn.Conv1d(hidden, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


def _block(ni: int, nf: int, stride: int, se: bool, sa: bool) -> ResBlock:
    block = ResBlock(EXPANSION, ni, nf, stride=stride, ndim=1, ks=KERNEL)
    out = nf * EXPANSION
    if se:
        block.convpath.append(SqueezeExcite1d(out))
    if sa:
        block.convpath.append(SimpleSelfAttention(out, ks=1))
    return block


def xresnet1d(layers: tuple[int, ...], n_classes: int, n_leads: int = 12,
              se: bool = True, sa: bool = True) -> nn.Sequential:
    """XResNet1D with bottleneck blocks; self-attention on the last block of each stage."""
    stem = [ConvLayer(ci, co, KERNEL, stride=2 if i == 0 else 1, ndim=1)
            for i, (ci, co) in enumerate(zip((n_leads, *STEM[:-1]), STEM))]
    stages, ni = [], STEM[-1] // EXPANSION
    for s, depth in enumerate(layers):
        for b in range(depth):
            stages.append(_block(ni, WIDTH, stride=(1 if s == 0 else 2) if b == 0 else 1,
                                 se=se, sa=sa and b == depth - 1))
            ni = WIDTH
    feats = WIDTH * EXPANSION
    head = [
        AdaptiveConcatPool1d(), nn.Flatten(),
        nn.BatchNorm1d(2 * feats), nn.Dropout(0.25), nn.Linear(2 * feats, 128), nn.ReLU(),
        nn.BatchNorm1d(128), nn.Dropout(0.5), nn.Linear(128, n_classes),
    ]
    return nn.Sequential(*stem, nn.MaxPool1d(3, stride=2, padding=1), *stages, *head)


def build(arch: str, n_classes: int, **kwargs) -> nn.Sequential:
    """Build a registered architecture by name (``ARCHS``); kwargs go to ``xresnet1d``."""
    if arch not in ARCHS:
        raise KeyError(f"unknown architecture {arch!r}; registered: {', '.join(ARCHS)}")
    return xresnet1d(ARCHS[arch], n_classes, **kwargs)


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
