"""Self-describing checkpoints: safetensors weights plus a JSON model card beside them.

``model.safetensors`` holds only tensors (no pickle); ``model.json`` holds everything needed to
rebuild and use the model: architecture, classes, sampling rate, window, lead order,
normalisation, training config, data provenance, metrics, library versions and the sha256 of
the weights file, so an edited or truncated file is detected before use.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ecgviz import model as models

CARD_SUFFIX = ".json"
FORMAT_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint cannot be loaded; the message says why."""


@dataclass
class ModelCard:
    """Everything that travels with the weights."""

    arch: str
    classes: list[str]
    fs: float
    window: int
    stride: int
    leads: list[str]
    mean: list[float]
    std: list[float]
    arch_kwargs: dict = field(default_factory=dict)
    aggregation: str = "max"
    train_config: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    created: str = ""
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION


def card_path(weights: Path) -> Path:
    """The JSON card that sits beside a ``.safetensors`` file."""
    return Path(weights).with_suffix(CARD_SUFFIX)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` then rename over ``path`` (same folder, fsynced)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a checkpoint is read by other users too
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save(model: nn.Module, card: ModelCard, weights: str | Path) -> Path:
    """Save weights and card atomically (weights first, then the card naming their hash)."""
    weights = Path(weights)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic_write(weights, lambda p: save_file(tensors, str(p), metadata={"arch": card.arch}))
    card.weights_sha256 = _sha256(weights)
    text = json.dumps(asdict(card), indent=2, sort_keys=False)
    _atomic_write(card_path(weights), lambda p: p.write_text(text))
    return weights


def read_card(weights: str | Path) -> ModelCard:
    """Read and check the JSON card of a checkpoint (does not touch the weights)."""
    path = card_path(Path(weights))
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(f"model card {path} is missing; a checkpoint is a .safetensors "
                              "file with its .json card beside it.") from exc
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"model card {path} is not valid JSON ({exc}).") from exc
    try:
        card = ModelCard(**raw)
    except TypeError as exc:
        raise CheckpointError(f"model card {path} has unexpected or missing fields ({exc}).") from exc
    if card.arch not in models.ARCHS:
        raise CheckpointError(f"model card {path} names unknown architecture {card.arch!r}; "
                              f"known: {', '.join(models.ARCHS)}.")
    if not (len(card.mean) == len(card.std) == len(card.leads)):
        raise CheckpointError(f"model card {path}: normalisation does not match the lead list.")
    return card


def load(weights: str | Path) -> tuple[nn.Module, ModelCard]:
    """Rebuild the model from the checkpoint alone; returns it in eval mode with its card."""
    weights = Path(weights)
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {weights} does not exist.")
    card = read_card(weights)
    if card.weights_sha256 and _sha256(weights) != card.weights_sha256:
        raise CheckpointError(f"checkpoint {weights.name} does not match its card (sha256 differs):"
                              " the file was truncated, edited or replaced.")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {weights.name} is not a readable safetensors file "
                              f"({exc}).") from exc
    try:
        net = models.build(card.arch, len(card.classes), n_leads=len(card.leads), **card.arch_kwargs)
    except TypeError as exc:
        raise CheckpointError(f"model card {card_path(weights).name}: {card.arch} cannot be built "
                              f"with arch_kwargs {card.arch_kwargs} ({exc}).") from exc
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or extra or wrong:
        raise CheckpointError(
            f"checkpoint {weights.name} does not fit architecture {card.arch} with "
            f"{len(card.classes)} classes: {len(missing)} missing, {len(extra)} unexpected and "
            f"{len(wrong)} mis-shaped tensors (e.g. {(missing + extra + wrong)[:3]}).")
    net.load_state_dict(state)
    return net.eval(), card


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a checkpoint."""
    import fastai
    import numpy
    import safetensors

    return {"torch": torch.__version__, "fastai": fastai.__version__,
            "numpy": numpy.__version__, "safetensors": safetensors.__version__}
