"""Checkpoints: round trip on a real record, atomic writes, and every corrupt-file case."""
from __future__ import annotations

import json
import re
import struct
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from ecgviz import checkpoint, model as models, ptbxl
from ecgviz.checkpoint import CheckpointError, ModelCard
from ecgviz.signals import LEADS, fit_standardizer, read_ptbxl

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def records(bundled_dir, bundled_index):
    """Four real 100 Hz records of the bundled sample, (4, 1000, 12) mV."""
    return np.stack([read_ptbxl(bundled_dir, bundled_index.iloc[i]).signal for i in range(4)])


@pytest.fixture(scope="module")
def trained_like(records):
    """An xresnet1d50 whose batch-norm statistics moved off their defaults, and its card."""
    torch.manual_seed(0)
    net = models.build("xresnet1d50", len(ptbxl.SUPERCLASSES), se=True, sa=True).train()
    mean, std = fit_standardizer(records)
    x = torch.from_numpy(((records - mean) / std).transpose(0, 2, 1)[..., :250].copy())
    with torch.no_grad():
        for _ in range(3):
            net(x)  # updates running mean/var: a round trip must carry buffers, not only weights
    card = ModelCard(arch="xresnet1d50", classes=list(ptbxl.SUPERCLASSES), fs=100, window=250,
                     stride=125, leads=list(LEADS), mean=mean.tolist(), std=std.tolist(),
                     arch_kwargs={"se": True, "sa": True}, train_config={"epochs": 1, "seed": 0},
                     data={"folder": "data/ptbxl-sample"}, metrics={"test_macro_auc": 0.5},
                     versions=checkpoint.library_versions(), created="2026-01-01T00:00:00+00:00")
    return net.eval(), card, x


@pytest.fixture
def saved(tmp_path, trained_like):
    net, card, _ = trained_like
    return checkpoint.save(net, ModelCard(**asdict(card)), tmp_path / "ck" / "model.safetensors")


def _edit_card(weights: Path, **changes) -> None:
    path = checkpoint.card_path(weights)
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_round_trip_gives_the_same_outputs_and_card(saved, trained_like):
    net, card, x = trained_like
    loaded, loaded_card = checkpoint.load(saved)
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    expected = {**asdict(card), "weights_sha256": loaded_card.weights_sha256}
    assert asdict(loaded_card) == expected
    assert re.fullmatch(r"[0-9a-f]{64}", loaded_card.weights_sha256)
    assert checkpoint.read_card(saved) == loaded_card


def test_files_are_safetensors_and_json_not_pickle(saved, trained_like):
    raw = saved.read_bytes()
    assert not raw.startswith((b"PK", b"\x80"))  # neither torch.save's zip nor a pickle stream
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"arch": "xresnet1d50"}
    state = trained_like[0].state_dict()
    assert set(header) - {"__metadata__"} == set(state)
    assert set(load_file(str(saved))) == set(state)
    json.loads(checkpoint.card_path(saved).read_text())


def test_no_pickle_or_unsafe_load_in_the_code():
    pattern = re.compile(r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle)\b|pickle\.(dump|load)|"
                         r"torch\.save\(|learn(er)?\.export\(|load_learner|"
                         r"torch\.load\((?![^)]*weights_only=True)")
    offenders = [f"{p.relative_to(REPO)}:{i}" for folder in ("ecgviz", "training", "pages")
                 for p in sorted((REPO / folder).rglob("*.py"))
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_save_leaves_no_temp_files(saved):
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model.json", "model.safetensors"]


def test_failed_save_keeps_the_previous_checkpoint(saved, trained_like):
    before = {p.name: p.read_bytes() for p in saved.parent.iterdir()}
    tied = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    tied[1].weight = tied[0].weight  # safetensors refuses tensors that share memory
    with pytest.raises(RuntimeError, match="share memory"):
        checkpoint.save(tied, ModelCard(**asdict(trained_like[1])), saved)
    assert {p.name: p.read_bytes() for p in saved.parent.iterdir()} == before
    checkpoint.load(saved)


def test_atomic_write_never_shows_a_partial_file(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"previous")
    seen = []

    def write_half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        seen.append(target.read_bytes())  # what a reader sees while the write is in progress
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        checkpoint._atomic_write(target, write_half_then_fail)
    assert seen == [b"previous"]
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_truncated_weights(saved):
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="model.safetensors does not match its card.*truncated"):
        checkpoint.load(saved)


def test_truncated_weights_without_hash_in_card(saved):
    _edit_card(saved, weights_sha256="")
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        checkpoint.load(saved)


def test_edited_byte(saved):
    raw = bytearray(saved.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit inside the tensor data: still a valid safetensors file
    saved.write_bytes(bytes(raw))
    load_file(str(saved))
    with pytest.raises(CheckpointError, match="sha256 differs.*edited"):
        checkpoint.load(saved)


def test_missing_weights(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "nowhere.safetensors")


def test_missing_card(saved):
    checkpoint.card_path(saved).unlink()
    with pytest.raises(CheckpointError, match=r"model card .*model\.json is missing"):
        checkpoint.load(saved)


def test_card_not_json(saved):
    checkpoint.card_path(saved).write_text('{"arch": "xresnet1d50", ')
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        checkpoint.load(saved)


def test_card_with_missing_field(saved):
    path = checkpoint.card_path(saved)
    card = json.loads(path.read_text())
    del card["classes"]
    path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="unexpected or missing fields.*classes"):
        checkpoint.load(saved)


def test_unknown_arch(saved):
    _edit_card(saved, arch="resnet9")
    with pytest.raises(CheckpointError, match="unknown architecture 'resnet9'; known: xresnet1d50"):
        checkpoint.load(saved)


def test_unknown_arch_kwargs(saved):
    _edit_card(saved, arch_kwargs={"se": True, "sa": True, "depth": 7})
    with pytest.raises(CheckpointError, match="cannot be built with arch_kwargs"):
        checkpoint.load(saved)


@pytest.mark.parametrize("changes,what", [
    ({"classes": ["NORM", "MI", "STTC", "CD"]}, "4 classes"),
    ({"arch": "xresnet1d101"}, "xresnet1d101 with 5 classes"),
    ({"arch_kwargs": {"se": False, "sa": True}}, "unexpected"),
])
def test_card_that_does_not_match_the_weights(saved, changes, what):
    _edit_card(saved, **changes)
    with pytest.raises(CheckpointError, match=f"does not fit architecture .*{what}"):
        checkpoint.load(saved)


def test_normalisation_that_does_not_match_the_leads(saved):
    _edit_card(saved, mean=[0.0] * 11)
    with pytest.raises(CheckpointError, match="normalisation does not match the lead list"):
        checkpoint.load(saved)
