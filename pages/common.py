"""The one place with Streamlit caches: dataset index, records, the active model, predictions.

Cache keys include a file stamp (path + modification time), so a changed dataset or a newly
activated checkpoint is picked up without a restart.
"""
from __future__ import annotations

import ctypes
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st
import torch

from ecgviz import settings
from ecgviz.checkpoint import CheckpointError
from ecgviz.inference import Predictor
from ecgviz.ptbxl import DatasetError, load_index, load_statements
from ecgviz.saliency import Saliency, integrated_gradients
from ecgviz.signals import ECGRecord, InvalidRecordError, read_ptbxl

if TYPE_CHECKING:
    from ecgviz import report


def stamp(path: Path) -> float:
    """Modification time of ``path`` (0 when missing): part of every cache key."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@dataclass(frozen=True)
class Dataset:
    """The PTB-XL folder in use, its index, and why the requested folder is not in use (if so)."""

    path: Path
    index: pd.DataFrame
    is_bundled: bool
    notice: str | None


@st.cache_resource(show_spinner="Indexing the PTB-XL folder…", max_entries=4)
def _index(path: str, mtime: float) -> pd.DataFrame:
    """Shared by every session without a copy per access (about 0.1 s at full size): read-only."""
    return load_index(Path(path))


def dataset() -> Dataset:
    """The dataset in use: ``PTBXL_DIR`` if usable, else the bundled sample with a notice."""
    src = settings.data_source()
    try:
        return Dataset(src.path, _index(str(src.path), stamp(src.path / "ptbxl_database.csv")),
                       src.is_bundled, src.notice)
    except DatasetError as exc:
        path = settings.BUNDLED_DATA_DIR
        return Dataset(path, _index(str(path), stamp(path / "ptbxl_database.csv")), True,
                       f"{exc} Showing the bundled PTB-XL sample instead.")


def index_at(path: Path) -> pd.DataFrame:
    """Cached index of any PTB-XL folder (``DatasetError`` when it is not one)."""
    path = Path(path).expanduser()
    return _index(str(path), stamp(path / "ptbxl_database.csv"))


@st.cache_data(show_spinner=False, max_entries=64)
def _record(path: str, mtime: float, ecg_id: int, fs: int) -> ECGRecord:
    return read_ptbxl(Path(path), _index(path, mtime).loc[ecg_id], fs=fs)


def record(ecg_id: int, fs: int = 100) -> ECGRecord:
    """A cached record of the dataset in use (``KeyError`` if absent, ``InvalidRecordError`` if bad)."""
    data = dataset()
    if ecg_id not in data.index.index:
        raise KeyError(f"ecg_id {ecg_id} is not in the dataset in use ({data.path}).")
    return _record(str(data.path), stamp(data.path / "ptbxl_database.csv"), int(ecg_id), fs)


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def _predictor(path: str, mtime: float) -> Predictor:
    torch.set_num_threads(settings.torch_threads())   # the server's model threads (process-wide)
    return Predictor.from_checkpoint(path)


def predictor() -> tuple[Predictor | None, str | None]:
    """The active model, or ``None`` and a message saying why it cannot be used."""
    path = settings.checkpoint_path()
    try:
        return _predictor(str(path), stamp(path)), None
    except CheckpointError as exc:
        return None, f"No model available: {exc}"


def record_key(rec: ECGRecord) -> str:
    """Cache key of a record: its ecg_id and rate, or a hash of an uploaded signal."""
    if rec.ecg_id is not None:
        return f"ptbxl:{rec.ecg_id}@{rec.fs:g}"
    return f"upload:{hashlib.sha1(rec.signal.tobytes()).hexdigest()}@{rec.fs:g}"


@st.cache_data(show_spinner=False, max_entries=512)
def _predict(model_path: str, mtime: float, key: str, _rec: ECGRecord) -> np.ndarray:
    return _predictor(model_path, mtime).predict(_rec)


def predict(rec: ECGRecord) -> np.ndarray | None:
    """Cached class probabilities of ``rec`` under the active model (``None`` without a model)."""
    model, _ = predictor()
    if model is None:
        return None
    path = settings.checkpoint_path()
    return _predict(str(path), stamp(path), record_key(rec), rec)


@st.cache_data(show_spinner="Scoring the test fold…", max_entries=4)
def _fold_report(run_dir: str, mtime: float, classes: tuple[str, ...]
                 ) -> tuple[report.RunPredictions, report.FoldReport]:
    from ecgviz import report   # scikit-learn and scipy.stats load with the Model page only

    preds = report.load_predictions(run_dir, classes)
    return preds, report.fold_report(preds)


def fold_report(run_dir: Path, classes: list[str]
                ) -> tuple[report.RunPredictions, report.FoldReport]:
    """Cached test-fold predictions of a run and their report (``report.RunFilesError`` if absent)."""
    return _fold_report(str(run_dir), stamp(Path(run_dir) / "y_test_pred.npy"), tuple(classes))


@st.cache_data(show_spinner=False, max_entries=4)
def _statements(path: str, mtime: float) -> pd.DataFrame:
    return load_statements(Path(path))


def statements() -> pd.DataFrame:
    """``scp_statements.csv`` of the dataset in use, indexed by SCP code."""
    path = dataset().path
    return _statements(str(path), stamp(path / "scp_statements.csv"))


@st.cache_data(show_spinner=False, max_entries=256)
def _saliency(model_path: str, mtime: float, key: str, target: str, baseline: str, n_steps: int,
              _rec: ECGRecord) -> Saliency:
    sal = integrated_gradients(_predictor(model_path, mtime), _rec, target, baseline, n_steps)
    _return_freed_memory()
    return sal


def _return_freed_memory() -> None:
    """Hand freed heap back to the OS: glibc keeps IG's freed activations in per-thread arenas,
    and Streamlit runs every rerun in a new thread, so the server's RSS would keep growing."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to do
        pass


def saliency(rec: ECGRecord, target: str, baseline: str = "zeros", n_steps: int = 50) -> Saliency | None:
    """Cached integrated gradients per (model, record, class, baseline, steps); ``None`` without a model."""
    model, _ = predictor()
    if model is None:
        return None
    path = settings.checkpoint_path()
    return _saliency(str(path), stamp(path), record_key(rec), target, baseline, int(n_steps), rec)


def prefetch(ecg_id: int, fs: int = 100) -> None:
    """Read and score a record ahead of time (the one "Next" opens), so it opens from the cache.
    A record that cannot be read or scored is skipped here: it shows its error when opened."""
    try:
        predict(record(ecg_id, fs))
    except (KeyError, InvalidRecordError, ValueError, RuntimeError):
        pass


def show_data_notice() -> None:
    """Warn when the requested dataset folder is not the one in use."""
    notice = dataset().notice
    if notice:
        st.warning(notice, icon="⚠️")
