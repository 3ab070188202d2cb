"""Paths and defaults, read from environment variables at call time (never cached globally)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DATA_DIR = REPO_ROOT / "data" / "ptbxl-sample"
SHIPPED_CHECKPOINT = REPO_ROOT / "checkpoints" / "default" / "model.safetensors"


@dataclass(frozen=True)
class DataSource:
    """The PTB-XL folder in use and, when the requested one was unusable, why."""

    path: Path
    is_bundled: bool
    notice: str | None = None


def data_source() -> DataSource:
    """Resolve the dataset folder from ``PTBXL_DIR``; fall back to the bundled sample with a notice."""
    requested = os.environ.get("PTBXL_DIR", "").strip()
    if not requested:
        return DataSource(BUNDLED_DATA_DIR, is_bundled=True)
    path = Path(requested).expanduser()
    if not path.is_dir():
        notice = f"PTBXL_DIR={requested!r} is not a folder; showing the bundled PTB-XL sample instead."
    elif not (path / "ptbxl_database.csv").is_file() or not (path / "scp_statements.csv").is_file():
        notice = (
            f"PTBXL_DIR={requested!r} has no ptbxl_database.csv and scp_statements.csv "
            "(expected the PTB-XL folder layout); showing the bundled PTB-XL sample instead."
        )
    else:
        return DataSource(path.resolve(), is_bundled=path.resolve() == BUNDLED_DATA_DIR)
    return DataSource(BUNDLED_DATA_DIR, is_bundled=True, notice=notice)


def runs_dir() -> Path:
    """Folder that holds training runs (``ECGVIZ_RUNS_DIR``, default ``runs/``)."""
    return Path(os.environ.get("ECGVIZ_RUNS_DIR", REPO_ROOT / "runs")).expanduser()


def cache_dir() -> Path:
    """Derived data such as the training signal cache (``ECGVIZ_CACHE_DIR``, default ``.cache/``)."""
    return Path(os.environ.get("ECGVIZ_CACHE_DIR", REPO_ROOT / ".cache")).expanduser()


def active_model_file() -> Path:
    """Small JSON file naming the checkpoint chosen with "Use this model"."""
    return runs_dir() / "active_model.json"


def checkpoint_path() -> Path:
    """Checkpoint in use: ``ECGVIZ_CHECKPOINT``, else the activated run, else the shipped model."""
    explicit = os.environ.get("ECGVIZ_CHECKPOINT", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    try:
        chosen = Path(json.loads(active_model_file().read_text())["checkpoint"])
    except (OSError, ValueError, KeyError, TypeError):
        return SHIPPED_CHECKPOINT
    return chosen if chosen.is_file() else SHIPPED_CHECKPOINT


def torch_threads() -> int:
    """Intra-op threads of the app's model (``ECGVIZ_TORCH_THREADS``, default 1). On a small shared
    CPU two OpenMP threads spin-wait for each other while the browser and other sessions run:
    measured on 2 loaded cores, predictions and IG were about 10x slower than with one thread."""
    try:
        return max(1, int(os.environ.get("ECGVIZ_TORCH_THREADS", "1")))
    except ValueError:
        return 1


def training_allowed() -> bool:
    """False when ``ECGVIZ_ALLOW_TRAINING=0`` (public deployments hide the training page)."""
    return os.environ.get("ECGVIZ_ALLOW_TRAINING", "1").strip().lower() not in {"0", "false", "no"}
