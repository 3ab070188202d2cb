"""ECG records: reading and validating WFDB files, standard lead order, resampling, normalisation."""
from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Mapping

import numpy as np
import pandas as pd
import wfdb

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF",
                          "V1", "V2", "V3", "V4", "V5", "V6")
_LEAD_KEY = {name.upper(): name for name in LEADS}
_KNOWN_EXTRA_LEADS = {"VX", "VY", "VZ", "X", "Y", "Z", "MLII", "ML2", "V", "D1", "D2", "D3"}
_UNIT_TO_MV = {"MV": 1.0, "UV": 1e-3, "ΜV": 1e-3, "µV".upper(): 1e-3, "V": 1e3, "NV": 1e-6}
_BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "61": 2.0, "80": 1.0, "160": 2.0, "212": 1.5,
                     "310": 4 / 3, "311": 4 / 3, "24": 3.0, "32": 4.0}
MIN_SECONDS = 2.5
FS_RANGE = (50.0, 10_000.0)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class InvalidRecordError(ValueError):
    """A record cannot be used; the message says what was wrong and what is accepted."""


class NotWFDBError(InvalidRecordError):
    """The file is not a WFDB header/record."""


class MissingDataError(InvalidRecordError):
    """The header names a data file that is absent, empty, or does not match the header."""


class LeadError(InvalidRecordError):
    """The 12 standard leads are not all present (or a lead is NaN-only or flat)."""


class SignalError(InvalidRecordError):
    """Sampling rate, length or units are outside what the model can use."""


class UnsafeUploadError(InvalidRecordError):
    """An upload that is too large or a zip with absolute or ``..`` entries."""


@dataclass(frozen=True)
class ECGRecord:
    """One 12-lead ECG: ``signal`` is (T, 12) float32 in mV, leads in ``LEADS`` order."""

    signal: np.ndarray
    fs: float
    name: str
    ecg_id: int | None = None
    labels: dict[str, int] | None = None
    meta: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()      # what was changed on reading (dropped leads, resampling...)
    leads: tuple[str, ...] = LEADS

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.signal.shape[0] / self.fs

    def resampled(self, fs: float) -> "ECGRecord":
        """This record at another sampling rate (polyphase resampling; identity if equal)."""
        if fs == self.fs:
            return self
        return replace(self, signal=resample(self.signal, self.fs, fs), fs=float(fs))

    def segment(self, start_s: float, seconds: float) -> "ECGRecord":
        """The ``seconds`` long part starting at ``start_s`` (clipped to the record)."""
        a = int(round(max(0.0, start_s) * self.fs))
        b = min(self.signal.shape[0], a + int(round(seconds * self.fs)))
        return replace(self, signal=self.signal[a:b], meta={**self.meta, "segment_start_s": a / self.fs})


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample (T, C) along time with ``scipy.signal.resample_poly``; float32 out."""
    from scipy.signal import resample_poly   # ~50 MB resident: loaded by records that need it

    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    out = resample_poly(signal, ratio.numerator, ratio.denominator, axis=0)
    return out.astype(np.float32)


def fit_standardizer(signals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead mean and std over (N, T, 12) or (T, 12) signals."""
    flat = signals.reshape(-1, signals.shape[-1]).astype(np.float64)
    std = flat.std(axis=0)
    return flat.mean(axis=0).astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


def standardize(signal: np.ndarray, mean, std) -> np.ndarray:
    """(x - mean) / std per lead (last axis)."""
    return ((signal - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).astype(np.float32)


def _lead_name(raw: str) -> str | None:
    key = raw.strip().upper().replace(" ", "")
    return _LEAD_KEY.get(key)


def _check_header(header: "wfdb.Record", stem: Path) -> None:
    fs = float(header.fs or 0)
    if not FS_RANGE[0] <= fs <= FS_RANGE[1]:
        raise SignalError(f"{stem.name}: sampling rate {fs:g} Hz is outside the accepted "
                          f"{FS_RANGE[0]:g}-{FS_RANGE[1]:g} Hz.")
    n = header.sig_len or 0
    if n / fs < MIN_SECONDS:
        raise SignalError(f"{stem.name}: {n / fs:.2f} s long; at least {MIN_SECONDS} s is needed "
                          "(the model reads 2.5 s windows).")
    names = [_lead_name(s) for s in header.sig_name or []]
    missing = [lead for lead in LEADS if lead not in names]
    if missing:
        unknown = [s for s, n_ in zip(header.sig_name or [], names)
                   if n_ is None and s.strip().upper() not in _KNOWN_EXTRA_LEADS]
        hint = f" Unrecognised lead names: {', '.join(unknown)}." if unknown else ""
        raise LeadError(f"{stem.name}: the 12 standard leads are needed, missing "
                        f"{', '.join(missing)}.{hint} Accepted names: {', '.join(LEADS)} (any case).")
    for unit in header.units or []:
        if (unit or "mV").strip().upper() not in _UNIT_TO_MV:
            raise SignalError(f"{stem.name}: unit {unit!r} is not a voltage; accepted: mV, uV, V.")
    # Every data file must hold as many bytes as the header promises.
    files: dict[str, float] = {}
    for fname, fmt in zip(header.file_name, header.fmt):
        if fmt not in _BYTES_PER_SAMPLE:
            raise NotWFDBError(f"{stem.name}: WFDB storage format {fmt} is not supported; "
                               f"accepted formats: {', '.join(sorted(_BYTES_PER_SAMPLE))}.")
        files[fname] = files.get(fname, 0) + _BYTES_PER_SAMPLE[fmt]
    for fname, per_sample in files.items():
        path = stem.parent / fname
        if not path.is_file():
            raise MissingDataError(f"{stem.name}: the header names data file {fname}, which was "
                                   "not found; upload the .hea together with its .dat file(s).")
        size, need = path.stat().st_size, int(per_sample * n)
        if size == 0:
            raise MissingDataError(f"{stem.name}: data file {fname} is empty.")
        if size < need:
            raise MissingDataError(f"{stem.name}: data file {fname} is truncated: {size} bytes, the "
                                   f"header describes {n} samples x {per_sample:g} bytes = {need} bytes.")
        offset = max((o or 0 for f, o in zip(header.file_name, header.byte_offset or [])
                      if f == fname), default=0)
        if size - offset - need >= per_sample:
            raise MissingDataError(f"{stem.name}: data file {fname} holds {size} bytes, more than the "
                                   f"{need} bytes the header describes ({n} samples); header and data "
                                   "do not belong together.")


def _check_checksums(rec: "wfdb.Record", name: str) -> None:
    """Header checksums (16-bit sums of the stored samples) must match the data read."""
    if rec.checksum is None:
        return
    for lead, expected, got in zip(rec.sig_name, rec.checksum, rec.calc_checksum()):
        if expected is not None and (got - expected) % 65536:
            raise MissingDataError(f"{name}: the data of lead {lead} does not match the header "
                                   f"checksum ({got} vs {expected}); the .dat is corrupted or belongs "
                                   "to another record.")


def read_wfdb(stem: str | Path, *, name: str | None = None, ecg_id: int | None = None,
              labels: dict[str, int] | None = None, meta: dict | None = None) -> ECGRecord:
    """Read and validate a WFDB record (path without extension) into an ``ECGRecord``.

    Keeps the 12 standard leads in standard order (other leads are dropped, with a note),
    converts units to mV, fills isolated NaNs by interpolation and rejects NaN-only or flat leads.
    """
    stem = Path(stem)
    name = name or stem.name
    hea = stem.with_suffix(".hea") if stem.suffix != ".hea" else stem
    stem = hea.with_suffix("")
    if not hea.is_file():
        raise NotWFDBError(f"{name}: no header file {hea.name}; a WFDB record is a .hea header "
                           "plus its .dat signal file(s).")
    if hea.stat().st_size == 0:
        raise NotWFDBError(f"{name}: the header file {hea.name} is empty.")
    try:
        header = wfdb.rdheader(str(stem))
    except Exception as exc:  # wfdb raises many types on malformed text
        raise NotWFDBError(f"{name}: {hea.name} is not a readable WFDB header ({exc}).") from exc
    if not header.sig_name or not header.file_name:
        raise NotWFDBError(f"{name}: {hea.name} describes no signals; multi-segment and "
                           "annotation-only records are not supported.")
    _check_header(header, stem)
    try:
        rec = wfdb.rdrecord(str(stem), physical=False)
    except Exception as exc:
        raise MissingDataError(f"{name}: the signal data could not be read ({exc}).") from exc
    _check_checksums(rec, name)
    rec.dac(inplace=True)
    names = [_lead_name(s) for s in rec.sig_name]
    cols = [names.index(lead) for lead in LEADS]
    scale = np.array([_UNIT_TO_MV[(rec.units[c] or "mV").strip().upper()] for c in cols], np.float32)
    signal = rec.p_signal[:, cols].astype(np.float32) * scale
    notes = []
    dropped = [s for s, n_ in zip(rec.sig_name, names) if n_ is None]
    if dropped:
        notes.append(f"Kept the 12 standard leads; dropped {', '.join(dropped)}.")
    if (scale != 1).any():
        notes.append("Converted units to mV.")
    signal = _repair_nans(signal, name, notes)
    flat = [LEADS[i] for i in np.flatnonzero(np.ptp(signal, axis=0) < 1e-6)]
    if flat:
        raise LeadError(f"{name}: lead(s) {', '.join(flat)} are flat (constant); all 12 leads "
                        "must carry a signal.")
    return ECGRecord(signal=signal, fs=float(rec.fs), name=name, ecg_id=ecg_id, labels=labels,
                     meta={"comments": rec.comments, **(meta or {})}, notes=tuple(notes))


def _repair_nans(signal: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    nan = np.isnan(signal)
    if not nan.any():
        return signal
    empty = [LEADS[i] for i in np.flatnonzero(nan.all(axis=0))]
    if empty:
        raise LeadError(f"{name}: lead(s) {', '.join(empty)} hold no values (all NaN).")
    share = nan.mean(axis=0)
    if share.max() > 0.05:
        worst = int(share.argmax())
        raise SignalError(f"{name}: {share[worst]:.0%} of the samples of lead {LEADS[worst]} are "
                          "missing (NaN); at most 5% per lead can be filled in.")
    filled = pd.DataFrame(signal).interpolate(limit_direction="both").to_numpy(np.float32)
    notes.append(f"Filled {int(nan.sum())} missing (NaN) samples by linear interpolation.")
    return filled


def read_ptbxl(data_dir: str | Path, row: pd.Series, fs: int = 100) -> ECGRecord:
    """Read one PTB-XL record (a row of ``ptbxl.load_index``) at 100 or 500 Hz."""
    from ecgviz.ptbxl import SUPERCLASSES  # local import keeps signals independent of the index

    if fs not in (100, 500):
        raise SignalError(f"PTB-XL is stored at 100 and 500 Hz, not {fs} Hz.")
    stem = Path(data_dir) / (row["filename_lr"] if fs == 100 else row["filename_hr"])
    labels = {c: int(row[c]) for c in SUPERCLASSES}
    return read_wfdb(stem, name=f"ecg_id {row.name}", ecg_id=int(row.name), labels=labels,
                     meta={"strat_fold": int(row["strat_fold"])})


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise UnsafeUploadError(f"the zip entry {name!r} points outside the archive (absolute path "
                                "or '..'); such archives are refused.")
    return path


def read_upload(files: Mapping[str, bytes], max_bytes: int = MAX_UPLOAD_BYTES
                ) -> dict[str, ECGRecord | InvalidRecordError]:
    """Read uploaded WFDB files (``.hea`` + ``.dat`` and/or ``.zip`` archives of them).

    Files are written to a temporary folder that is removed before returning. Returns every
    record found, by name, mapped to its ``ECGRecord`` or to the error that makes it unusable.
    Raises ``InvalidRecordError`` when the upload as a whole is unusable.
    """
    total = sum(len(b) for b in files.values())
    if total > max_bytes:
        raise UnsafeUploadError(f"the upload is {total / 2**20:.1f} MB; the limit is "
                                f"{max_bytes / 2**20:.0f} MB.")
    if not files or total == 0:
        raise NotWFDBError("the upload is empty; upload a .hea with its .dat, or a .zip of them.")
    tmp = Path(tempfile.mkdtemp(prefix="ecgviz-upload-"))
    try:
        for fname, data in files.items():
            if fname.lower().endswith(".zip"):
                _extract_zip(data, tmp, max_bytes)
            else:
                (tmp / _safe_member(Path(fname).name)).write_bytes(data)
        headers = sorted(tmp.rglob("*.hea"))
        if not headers:
            raise NotWFDBError("no WFDB header (.hea) found in the upload; accepted: a .hea with its "
                               ".dat file(s), or a .zip holding them.")
        out: dict[str, ECGRecord | InvalidRecordError] = {}
        for hea in headers:
            name = str(hea.relative_to(tmp).with_suffix(""))
            try:
                out[name] = read_wfdb(hea.with_suffix(""), name=name)
            except InvalidRecordError as exc:
                out[name] = exc
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract_zip(data: bytes, target: Path, max_bytes: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise NotWFDBError("the .zip file is not a valid zip archive.") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for m in members:
            _safe_member(m.filename)
        if sum(m.file_size for m in members) > max_bytes:
            raise UnsafeUploadError(f"the zip unpacks to more than {max_bytes / 2**20:.0f} MB.")
        for m in members:
            dest = target / _safe_member(m.filename)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(archive.read(m))
