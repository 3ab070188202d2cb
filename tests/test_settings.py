"""settings: dataset folder, checkpoint and training switches from environment variables."""
from __future__ import annotations

import json

import pytest

from ecgviz import settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("PTBXL_DIR", "ECGVIZ_CHECKPOINT", "ECGVIZ_RUNS_DIR", "ECGVIZ_ALLOW_TRAINING"):
        monkeypatch.delenv(var, raising=False)


def test_default_is_the_bundled_sample():
    src = settings.data_source()
    assert src.path == settings.BUNDLED_DATA_DIR and src.is_bundled and src.notice is None
    assert (src.path / "ptbxl_database.csv").is_file() and (src.path / "LICENSE.txt").is_file()


def test_missing_folder_falls_back_with_notice(monkeypatch, tmp_path):
    monkeypatch.setenv("PTBXL_DIR", str(tmp_path / "no-such-folder"))
    src = settings.data_source()
    assert src.is_bundled and src.path == settings.BUNDLED_DATA_DIR
    assert "no-such-folder" in src.notice and "is not a folder" in src.notice
    assert "bundled PTB-XL sample" in src.notice


def test_a_file_is_not_a_folder(monkeypatch, bundled_dir):
    monkeypatch.setenv("PTBXL_DIR", str(bundled_dir / "ptbxl_database.csv"))
    src = settings.data_source()
    assert src.is_bundled and "is not a folder" in src.notice


def test_folder_without_ptbxl_layout(monkeypatch, tmp_path):
    (tmp_path / "ptbxl_database.csv").write_text("ecg_id\n")
    monkeypatch.setenv("PTBXL_DIR", str(tmp_path))
    src = settings.data_source()
    assert src.is_bundled and src.path == settings.BUNDLED_DATA_DIR
    assert "scp_statements.csv" in src.notice and str(tmp_path) in src.notice


def test_valid_folder_is_used(monkeypatch, ptbxl_copy):
    monkeypatch.setenv("PTBXL_DIR", f"  {ptbxl_copy}  ")
    src = settings.data_source()
    assert src.path == ptbxl_copy.resolve() and not src.is_bundled and src.notice is None


def test_bundled_folder_given_explicitly(monkeypatch, bundled_dir):
    monkeypatch.setenv("PTBXL_DIR", str(bundled_dir / ".." / "ptbxl-sample"))
    src = settings.data_source()
    assert src.is_bundled and src.notice is None


def test_checkpoint_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(tmp_path))
    assert settings.runs_dir() == tmp_path
    assert settings.checkpoint_path() == settings.SHIPPED_CHECKPOINT
    chosen = tmp_path / "run1" / "model.safetensors"
    chosen.parent.mkdir()
    settings.active_model_file().write_text(json.dumps({"checkpoint": str(chosen)}))
    assert settings.checkpoint_path() == settings.SHIPPED_CHECKPOINT  # named file does not exist
    chosen.write_bytes(b"weights")
    assert settings.checkpoint_path() == chosen
    settings.active_model_file().write_text("{not json")
    assert settings.checkpoint_path() == settings.SHIPPED_CHECKPOINT
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(tmp_path / "explicit.safetensors"))
    assert settings.checkpoint_path() == tmp_path / "explicit.safetensors"


@pytest.mark.parametrize("value, allowed", [(None, True), ("1", True), ("0", False),
                                            ("false", False), ("No", False), ("yes", True)])
def test_training_switch(monkeypatch, value, allowed):
    if value is not None:
        monkeypatch.setenv("ECGVIZ_ALLOW_TRAINING", value)
    assert settings.training_allowed() is allowed
