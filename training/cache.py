"""Signal cache: a PTB-XL folder's signals as memory-mapped int16 arrays, built once and reused.

PTB-XL stores 16-bit samples at 1000 adu/mV, so int16 at ``ADU_PER_MV`` holds its signals
exactly, at half the size of float32; the arrays are memory-mapped, so a training process only
pages in what it reads and DDP ranks share one copy in the page cache.

Layout: ``<cache dir>/<folder hash>/<name>.npy`` (int16 rows), ``<name>.ids.npy`` (the ecg_id
of each row, sorted) and ``<name>.json`` (the key it was built for). The key holds the size and
mtime of ``ptbxl_database.csv``, a hash of the cached record list (ecg_id and file) and the
format version: when any of them changes the array is rebuilt. A lock file serialises builders
(DDP ranks, two training jobs); files are written under temporary names and renamed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ecgviz import settings
from ecgviz.ptbxl import DatasetError
from ecgviz.signals import LEADS, InvalidRecordError, read_ptbxl, resample

ADU_PER_MV = 1000
FORMAT_VERSION = 1
PHASES = 5  # 500 Hz -> 100 Hz: one decimation per sample phase
_GAIN = re.compile(r"^1000(?:\.0*)?(?:\(0\))?/mV$")
_LEAD_COLUMN = {lead.upper(): i for i, lead in enumerate(LEADS)}


@dataclass(frozen=True)
class CachedSignals:
    """int16 rows (memory-mapped) and the sorted ecg_id of each row."""

    ids: np.ndarray
    data: np.ndarray

    def rows(self, ecg_ids, missing_ok: bool = False) -> np.ndarray:
        """Row of each ecg_id; -1 for uncached ids if ``missing_ok``, else ``KeyError``."""
        ecg_ids = np.asarray(ecg_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, ecg_ids)
        found = pos < len(self.ids)
        found[found] = self.ids[pos[found]] == ecg_ids[found]
        if missing_ok:
            return np.where(found, pos, -1)
        if not found.all():
            raise KeyError(f"ecg_ids not in the signal cache: {ecg_ids[~found][:10].tolist()}")
        return pos


def to_adu(mv: np.ndarray) -> np.ndarray:
    """Millivolts -> int16 at ``ADU_PER_MV`` (exact for PTB-XL; clipped at +-32.767 mV)."""
    return np.clip(np.round(np.asarray(mv, np.float64) * ADU_PER_MV), -32767, 32767).astype(np.int16)


def to_mv(adu: np.ndarray) -> np.ndarray:
    """int16 samples -> float32 millivolts."""
    return np.asarray(adu).astype(np.float32) / np.float32(ADU_PER_MV)


def read_adu(stem: Path) -> np.ndarray | None:
    """(T, 12) int16 samples in ``LEADS`` order of a record stored as PTB-XL stores it.

    That is one format-16 file, the 12 standard leads, 1000 adu/mV with baseline 0, a data file
    of exactly the size the header gives, matching checksums and no flat or missing-value lead;
    it is read with numpy directly (about 100x faster than wfdb). Anything else gives ``None``:
    the caller then reads the record through ``signals.read_ptbxl`` (full validation).
    """
    try:
        text = stem.with_suffix(".hea").read_text()
        lines = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        n = int(lines[0][3]) if len(lines[0]) >= 4 and lines[0][1] == "12" else -1
        sigs = lines[1:13]
        if n <= 0 or len(sigs) != 12 or any(len(s) < 9 for s in sigs):
            return None
        if len({s[0] for s in sigs}) != 1 or any(s[1] != "16" or not _GAIN.match(s[2])
                                                   for s in sigs):
            return None
        order = [_LEAD_COLUMN.get(" ".join(s[8:]).upper()) for s in sigs]
        checksums = [int(s[6]) for s in sigs]
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        return None
    if sorted(o for o in order if o is not None) != list(range(12)):
        return None
    path = stem.parent / sigs[0][0]
    if not path.is_file() or path.stat().st_size != n * 24:
        return None
    data = np.fromfile(path, dtype="<i2").reshape(n, 12)
    sums = data.sum(axis=0, dtype=np.int64)
    if any((int(s) - c) % 65536 for s, c in zip(sums, checksums)):
        return None
    if (data == -32768).any() or (np.ptp(data, axis=0) == 0).any():
        return None
    return np.ascontiguousarray(data[:, np.argsort(order)])


def _read_record(data_dir: Path, row: pd.Series, fs: int) -> np.ndarray:
    rel = row["filename_lr" if fs == 100 else "filename_hr"]
    fast = read_adu(data_dir / rel)
    if fast is not None:
        return fast
    try:
        return to_adu(read_ptbxl(data_dir, row, fs=fs).signal)
    except InvalidRecordError as exc:
        raise DatasetError(f"ecg_id {row.name} ({rel}) cannot be cached: {exc} Repair or remove "
                           "the record (every labelled record is cached).") from exc


def _folder(data_dir: Path, root: Path | None) -> Path:
    resolved = str(Path(data_dir).resolve())
    slug = hashlib.sha256(resolved.encode()).hexdigest()[:16]
    folder = Path(root or settings.cache_dir()) / f"{Path(resolved).name}-{slug}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _key(data_dir: Path, records: list[str]) -> dict:
    csv = (Path(data_dir) / "ptbxl_database.csv").stat()
    return {"version": FORMAT_VERSION, "csv_size": csv.st_size, "csv_mtime_ns": csv.st_mtime_ns,
            "n_records": len(records),
            "records_sha256": hashlib.sha256("\n".join(records).encode()).hexdigest()}


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _cached(data_dir: Path, name: str, ids: np.ndarray, files: list[str],
            read: Callable[[int], np.ndarray | None], root: Path | None,
            log: Callable[[str], None] | None) -> CachedSignals:
    """Open ``name`` if its key matches, else build it from ``read(ecg_id)`` (``None`` skips)."""
    folder = _folder(data_dir, root)
    key = _key(data_dir, [f"{i}:{f}" for i, f in zip(ids, files)])
    array, id_file, meta_file = (folder / f"{name}{ext}" for ext in (".npy", ".ids.npy", ".json"))
    with _locked(folder / f"{name}.lock"):
        try:
            fresh = json.loads(meta_file.read_text())["key"] == key and array.is_file()
        except (OSError, ValueError, KeyError):
            fresh = False
        if not fresh:
            _build(ids, read, array, id_file, meta_file, key, data_dir, log)
        data, kept = np.load(array, mmap_mode="r"), np.load(id_file)
    return CachedSignals(ids=kept, data=data[:len(kept)])


def _build(ids, read, array: Path, id_file: Path, meta_file: Path, key: dict, data_dir: Path,
           log: Callable[[str], None] | None) -> None:
    t0, kept, out = time.time(), [], None
    tmp = array.with_name(f".{array.stem}.{os.getpid()}.npy")
    try:
        for n, i in enumerate(ids, 1):
            sample = read(int(i))
            if sample is not None:
                if out is None:
                    out = np.lib.format.open_memmap(tmp, "w+", np.int16, (len(ids), *sample.shape))
                if sample.shape != out.shape[1:]:
                    raise DatasetError(f"ecg_id {i}: signal shape {sample.shape} differs from the "
                                       f"other records' {out.shape[1:]}; all records must be "
                                       "equally long.")
                out[len(kept)] = sample
                kept.append(int(i))
            if log and n % 5000 == 0:
                log(f"signal cache {array.stem}: {n}/{len(ids)} records")
        if out is None:
            out = np.lib.format.open_memmap(tmp, "w+", np.int16, (0, 0, 12))
        out.flush()
        del out
        os.replace(tmp, array)
    finally:
        tmp.unlink(missing_ok=True)
    np.save(id_file, np.asarray(kept, dtype=np.int64))
    seconds = time.time() - t0
    meta_file.write_text(json.dumps({"key": key, "data_dir": str(Path(data_dir).resolve()),
                                     "records": len(kept), "build_seconds": round(seconds, 2)},
                                    indent=2))
    if log:
        log(f"signal cache {array.stem}: built {len(kept)} records in {seconds:.1f} s")


def signals_100hz(data_dir: Path, index: pd.DataFrame, root: Path | None = None,
                  log: Callable[[str], None] | None = None) -> CachedSignals:
    """(N, T, 12) int16 100 Hz signals of every labelled record of ``index`` (the split ones)."""
    data_dir = Path(data_dir)
    labelled = index[index["split"].notna()].sort_index()
    return _cached(data_dir, "signals100", labelled.index.to_numpy(),
                   labelled["filename_lr"].tolist(),
                   lambda i: _read_record(data_dir, labelled.loc[i], 100), root, log)


def phase_variants(data_dir: Path, index: pd.DataFrame, length: int, root: Path | None = None,
                   log: Callable[[str], None] | None = None) -> CachedSignals:
    """(M, 5, length, 12) int16: each training record's 500 Hz file decimated to 100 Hz from
    each of its 5 sample phases (genuinely different 100 Hz versions of one real ECG).

    Covers the labelled training-fold records that have 500 Hz files long enough for all
    five phases; the others are not in ``ids``.
    """
    data_dir = Path(data_dir)
    rows = index[(index["split"] == "train") & index["has_500hz"]].sort_index()

    def read(i: int) -> np.ndarray | None:
        hr = to_mv(_read_record(data_dir, rows.loc[i], 500))
        if len(hr) - (PHASES - 1) <= PHASES * (length - 1):
            return None
        return np.stack([to_adu(resample(hr[p:], 500, 100)[:length]) for p in range(PHASES)])

    return _cached(data_dir, f"phases500-{length}", rows.index.to_numpy(),
                   rows["filename_hr"].tolist(), read, root, log)
