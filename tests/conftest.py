"""Shared fixtures: the bundled PTB-XL sample, the shipped checkpoint, temp copies of real records.

- ``bundled_dir``          Path of ``data/ptbxl-sample`` (real PTB-XL files, never modified).
- ``bundled_index``        ``ptbxl.load_index(bundled_dir)`` (session-scoped; do not mutate).
- ``shipped_checkpoint``   Path of ``checkpoints/default/model.safetensors``; skips when absent,
                           fails when ``CI=true`` (the shipped model is part of the repo).
- ``foreign_dir``          ``tests/data/foreign`` (15-lead, 1000 Hz PTB Diagnostic record).
- ``record_copy``          factory ``record_copy(rel_stem, src=bundled_dir) -> stem`` copying a
                           real record's ``.hea`` and data file(s) into ``tmp_path``.
- ``ptbxl_copy``           a tmp copy of the bundled folder's CSVs and a few records, for tests
                           that edit or break a PTB-XL folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import wfdb

from ecgviz import ptbxl, settings

TESTS_DIR = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def bundled_dir() -> Path:
    return settings.BUNDLED_DATA_DIR


@pytest.fixture(scope="session")
def bundled_index(bundled_dir: Path) -> pd.DataFrame:
    return ptbxl.load_index(bundled_dir)


@pytest.fixture(scope="session")
def shipped_checkpoint() -> Path:
    path = settings.SHIPPED_CHECKPOINT
    if not path.is_file():
        message = f"shipped checkpoint {path} is missing"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def foreign_dir() -> Path:
    return TESTS_DIR / "data" / "foreign"


@pytest.fixture
def record_copy(tmp_path: Path, bundled_dir: Path):
    """Copy a real WFDB record (header + every data file it names) into a fresh tmp folder."""

    def copy(rel_stem: str, src: Path = bundled_dir) -> Path:
        stem = Path(src) / rel_stem
        out = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
        out.mkdir()
        header = wfdb.rdheader(str(stem))
        for name in {stem.name + ".hea", *header.file_name}:
            shutil.copyfile(stem.parent / name, out / name)
        return out / stem.name

    return copy


@pytest.fixture
def ptbxl_copy(tmp_path: Path, bundled_dir: Path, bundled_index: pd.DataFrame) -> Path:
    """A small PTB-XL folder in tmp: the real CSVs and the 100 Hz files of the first 20 records."""
    out = tmp_path / "ptbxl"
    out.mkdir()
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copyfile(bundled_dir / name, out / name)
    for rel in bundled_index["filename_lr"].iloc[:20]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            shutil.copyfile(bundled_dir / (rel + ext), out / (rel + ext))
    return out
