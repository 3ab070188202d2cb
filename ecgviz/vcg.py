"""Vectorcardiogram (VCG) derived from the 12-lead ECG with the Kors regression matrix.

Kors JA, van Herpen G, Sittig AC, van Bemmel JH. Reconstruction of the Frank vectorcardiogram
from standard electrocardiographic leads: diagnostic comparison of different methods.
Eur Heart J 1990;11(12):1083-1092. The coefficients (8 independent leads I, II, V1-V6 -> X, Y, Z)
are the published ones, as also used by BRAVEHEART (korsmatrix.m, Stabenau & Waks).

Sign convention (the Frank axes the matrix reconstructs, readable from its coefficients:
X grows with I and V6, Y with II, Z falls with V1): X points to the patient's left, Y to the feet
(inferior), Z to the back (posterior). Plane views (``PLANES``): frontal seen from the front
(X to the right, inferior down), transverse seen from above (X to the right, anterior down),
left sagittal seen from the patient's left (posterior to the right, inferior down).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ecgviz.signals import LEADS, ECGRecord

KORS_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
COMPONENTS: tuple[str, ...] = ("X", "Y", "Z")
#: Rows: ``KORS_LEADS``; columns: X, Y, Z.  xyz = signal[:, KORS_LEADS] @ KORS
KORS = np.array([
    [0.38, -0.07, 0.11],    # I
    [-0.07, 0.93, -0.23],   # II
    [-0.13, 0.06, -0.43],   # V1
    [0.05, -0.02, -0.06],   # V2
    [-0.01, -0.05, -0.14],  # V3
    [0.14, 0.06, -0.20],    # V4
    [0.06, -0.17, -0.11],   # V5
    [0.54, 0.13, 0.31],     # V6
])


@dataclass(frozen=True)
class Plane:
    """A planar view: which components go across and up the page, and which way they point."""

    name: str
    across: str          # component on the horizontal axis (grows to the right)
    up: str              # component on the vertical axis
    up_is_positive: bool  # False: the positive direction of ``up`` points down the page
    right_label: str     # anatomical direction to the right of the page
    down_label: str      # anatomical direction at the bottom of the page


PLANES: tuple[Plane, ...] = (
    Plane("frontal", "X", "Y", False, "left", "inferior"),
    Plane("transverse", "X", "Z", True, "left", "anterior"),
    Plane("sagittal", "Z", "Y", False, "posterior", "inferior"),
)


def to_xyz(signal: np.ndarray, leads: Sequence[str] = LEADS) -> np.ndarray:
    """X, Y, Z (T, 3) in mV from a (T, n_leads) signal holding at least I, II and V1-V6."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] != len(leads):
        raise ValueError(f"signal must be (T, {len(leads)}) for leads {tuple(leads)}, "
                         f"got {signal.shape}")
    missing = [lead for lead in KORS_LEADS if lead not in leads]
    if missing:
        raise ValueError(f"the Kors matrix needs leads {KORS_LEADS}; missing {missing}")
    cols = [list(leads).index(lead) for lead in KORS_LEADS]
    return signal[:, cols] @ KORS


def projections(xyz: np.ndarray) -> dict[str, np.ndarray]:
    """The loop of each plane in ``PLANES`` as (T, 2) [across, up] in mV (signs as in XYZ)."""
    xyz = np.asarray(xyz)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"xyz must be (T, 3), got {xyz.shape}")
    k = {c: i for i, c in enumerate(COMPONENTS)}
    return {p.name: xyz[:, [k[p.across], k[p.up]]] for p in PLANES}


def beat(xyz: np.ndarray, fs: float) -> slice:
    """Samples of one representative beat (P-QRS-T): the QRS peak of spatial magnitude nearest
    the middle of the record, from 35 % of the preceding RR interval before it to 65 % of the
    following one after it (0.8 s RR assumed where a neighbour is missing)."""
    from scipy.signal import find_peaks   # ~50 MB resident: loaded when a VCG is asked for

    mag = np.linalg.norm(np.asarray(xyz, dtype=np.float64), axis=1)
    n = mag.size
    if n == 0:
        raise ValueError("empty signal")
    mag = mag - np.median(mag)
    peaks, _ = find_peaks(mag, distance=max(1, int(0.3 * fs)), height=0.5 * mag.max())
    if peaks.size == 0:
        return slice(0, n)
    i = int(np.argmin(np.abs(peaks - n / 2)))
    default = int(0.8 * fs)
    before = peaks[i] - peaks[i - 1] if i > 0 else default
    after = peaks[i + 1] - peaks[i] if i + 1 < peaks.size else default
    return slice(max(0, int(peaks[i] - 0.35 * before)), min(n, int(peaks[i] + 0.65 * after)))


def from_record(record: ECGRecord) -> np.ndarray:
    """X, Y, Z (T, 3) of a record, each lead's median removed first (a flat baseline at 0 mV)."""
    signal = np.asarray(record.signal, dtype=np.float64)
    return to_xyz(signal - np.median(signal, axis=0), record.leads)


def loop(xyz: np.ndarray, fs: float) -> np.ndarray:
    """The representative ``beat`` (T_beat, 3), recentred on its own median so that the
    isoelectric level (most of a beat) sits at the origin and the loops start near it."""
    part = np.asarray(xyz, dtype=np.float64)[beat(xyz, fs)]
    return part - np.median(part, axis=0)
