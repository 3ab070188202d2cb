"""PTB-XL dataset index: one DataFrame row per ECG, superclass labels, official split, filters."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
REMOVED_IN_V103 = (137, 139, 140, 141, 142, 143, 145, 456, 458, 459, 461, 462)
VALID_FOLD = 9
TEST_FOLD = 10
SPLITS = ("train", "valid", "test")
SEX_NAMES = {0: "male", 1: "female"}  # PTB-XL codes sex as 0 = male, 1 = female
QUALITY_FIELDS = ("baseline_drift", "static_noise", "burst_noise", "electrodes_problems",
                  "extra_beats", "pacemaker")
REQUIRED_COLUMNS = ("patient_id", "age", "sex", "report", "scp_codes", "validated_by_human",
                    *QUALITY_FIELDS, "strat_fold", "filename_lr", "filename_hr")
_SCP_ITEM = re.compile(r"'([^']+)':\s*([-+0-9.eE]+)")


class DatasetError(Exception):
    """A folder is not a usable PTB-XL dataset; the message says what is missing."""


def parse_scp_codes(text: str) -> dict[str, float]:
    """Parse a ``scp_codes`` cell such as ``"{'NORM': 100.0, 'SR': 0.0}"`` into a dict."""
    return {code: float(value) for code, value in _SCP_ITEM.findall(text or "")}


def load_statements(data_dir: Path) -> pd.DataFrame:
    """``scp_statements.csv`` indexed by SCP code."""
    path = Path(data_dir) / "scp_statements.csv"
    if not path.is_file():
        raise DatasetError(f"{path} is missing: a PTB-XL folder holds scp_statements.csv.")
    table = _read_table(path, index_col=0)
    if not {"diagnostic", "diagnostic_class"} <= set(table.columns):
        raise DatasetError(f"{path} lacks the diagnostic and diagnostic_class columns of PTB-XL.")
    return table


def _read_table(path: Path, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except ValueError as exc:  # includes pandas' ParserError and UnicodeDecodeError
        raise DatasetError(f"{path} is not a readable PTB-XL table ({exc}).") from exc


def superclass_map(statements: pd.DataFrame) -> dict[str, str]:
    """SCP code -> diagnostic superclass, for the statements with ``diagnostic == 1``."""
    diag = statements[statements["diagnostic"] == 1]
    return diag["diagnostic_class"].dropna().to_dict()


def _existing_records(data_dir: Path, sub: str) -> set[str]:
    """Relative stems (e.g. ``records100/00000/00001_lr``) of every ``.dat`` under ``sub``."""
    found: set[str] = set()
    root = data_dir / sub
    if not root.is_dir():
        return found
    for group in os.scandir(root):
        if group.is_dir():
            found.update(f"{sub}/{group.name}/{e.name[:-4]}" for e in os.scandir(group.path)
                         if e.name.endswith(".dat"))
    return found


def load_index(data_dir: Path) -> pd.DataFrame:
    """Index a PTB-XL folder: one row per ECG whose 100 Hz files exist, indexed by ``ecg_id``.

    Adds ``scp`` (dict code -> likelihood), one 0/1 column per superclass (every diagnostic
    statement counts, whatever its likelihood, as in the PTB-XL benchmark), ``superclasses``
    (readable), ``n_superclasses``, ``split`` (train/valid/test/None), ``sex_name``, ``has_500hz``.
    The 12 rows removed as duplicates in v1.0.3 are dropped.
    """
    data_dir = Path(data_dir)
    csv = data_dir / "ptbxl_database.csv"
    if not csv.is_file():
        raise DatasetError(f"{csv} is missing: expected the PTB-XL layout "
                           "(ptbxl_database.csv, scp_statements.csv, records100/, records500/).")
    db = _read_table(csv, index_col="ecg_id")
    missing = [c for c in REQUIRED_COLUMNS if c not in db.columns]
    if missing:
        raise DatasetError(f"{csv} lacks the PTB-XL columns {', '.join(missing)}.")
    db = db.drop(index=[i for i in REMOVED_IN_V103 if i in db.index])
    lr = _existing_records(data_dir, "records100")
    # Set lookups: Series.isin on Arrow strings is 4x slower at full PTB-XL size.
    db = db[[f in lr for f in db["filename_lr"]]].copy()
    if db.empty:
        raise DatasetError(f"{data_dir} lists no record whose 100 Hz files exist under records100/.")
    hr = _existing_records(data_dir, "records500")
    db["has_500hz"] = [f in hr for f in db["filename_hr"]]

    to_super = superclass_map(load_statements(data_dir))
    db["scp"] = [parse_scp_codes(s) for s in db["scp_codes"].astype(str)]
    labels = np.zeros((len(db), len(SUPERCLASSES)), dtype=np.int8)
    col = {c: i for i, c in enumerate(SUPERCLASSES)}
    for r, codes in enumerate(db["scp"]):
        for code in codes:
            cls = to_super.get(code)
            if cls in col:
                labels[r, col[cls]] = 1
    for c, i in col.items():
        db[c] = labels[:, i]
    db["n_superclasses"] = labels.sum(axis=1)
    names = np.array(SUPERCLASSES, dtype=object)
    db["superclasses"] = [" ".join(names[row.astype(bool)]) for row in labels]
    fold = db["strat_fold"].to_numpy()
    split = np.where(fold == TEST_FOLD, "test", np.where(fold == VALID_FOLD, "valid", "train"))
    db["split"] = np.where(labels.any(axis=1), split, None)
    db["sex_name"] = db["sex"].map(SEX_NAMES)
    db["report"] = db["report"].fillna("").astype(str)
    for field in QUALITY_FIELDS:
        db[field] = db[field].fillna("").astype(str).str.strip(" ,")
    return db


def split_ids(index: pd.DataFrame, split: str) -> np.ndarray:
    """ecg_ids of one official split (records without a superclass are excluded)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    return index.index[index["split"] == split].to_numpy()


def label_matrix(index: pd.DataFrame, ecg_ids) -> np.ndarray:
    """Multi-hot (n, 5) float32 labels in ``SUPERCLASSES`` order."""
    return index.loc[ecg_ids, list(SUPERCLASSES)].to_numpy(dtype=np.float32)


@dataclass(frozen=True)
class Filters:
    """Browse filters; empty fields filter nothing."""

    classes: tuple[str, ...] = ()      # records having any of these superclasses
    folds: tuple[int, ...] = ()
    age: tuple[float, float] | None = None
    sexes: tuple[str, ...] = ()        # "male" / "female"
    scp_codes: tuple[str, ...] = ()    # records having any of these statements
    report: str = ""                   # case-insensitive substring of the report
    human_validated_only: bool = False
    no_artifacts: bool = False         # no drift/noise/electrode problem noted
    pacemaker: bool = False            # only records with a pacemaker noted
    heart_axes: tuple[str, ...] = ()   # records whose heart_axis is any of these (e.g. "ALAD")
    extra_beats: bool = False          # only records with extra beats noted


def apply_filters(index: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Rows of ``index`` that match every active filter."""
    mask = np.ones(len(index), dtype=bool)
    if f.classes:
        mask &= index[list(f.classes)].to_numpy().any(axis=1)
    if f.folds:
        mask &= index["strat_fold"].isin(f.folds).to_numpy()
    if f.age is not None:
        lo, hi = f.age
        mask &= index["age"].between(lo, hi).to_numpy()
    if f.sexes:
        mask &= index["sex_name"].isin(f.sexes).to_numpy()
    if f.scp_codes:
        wanted = set(f.scp_codes)
        mask &= np.fromiter((not wanted.isdisjoint(s) for s in index["scp"]), bool, len(index))
    if f.report.strip():
        mask &= index["report"].str.contains(f.report.strip(), case=False, regex=False).to_numpy()
    if f.human_validated_only:
        mask &= index["validated_by_human"].fillna(False).astype(bool).to_numpy()
    if f.no_artifacts:
        fields = ["baseline_drift", "static_noise", "burst_noise", "electrodes_problems"]
        mask &= (index[fields] == "").all(axis=1).to_numpy()
    if f.pacemaker:
        mask &= (index["pacemaker"] != "").to_numpy()
    if f.heart_axes:
        mask &= index["heart_axis"].isin(f.heart_axes).to_numpy()
    if f.extra_beats:
        mask &= (index["extra_beats"] != "").to_numpy()
    return index[mask]


def summary(index: pd.DataFrame) -> pd.DataFrame:
    """Records per superclass (rows) and fold (columns), with totals."""
    table = index.groupby("strat_fold")[list(SUPERCLASSES)].sum().T
    table["all folds"] = table.sum(axis=1)
    counts = index.groupby("strat_fold").size()
    table.loc["records"] = list(counts) + [counts.sum()]
    return table
