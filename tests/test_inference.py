"""Inference: window starts, max-over-windows aggregation recomputed by hand, the resampling
matrix path for 500 Hz records, batch prediction equal to per-record prediction."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from ecgviz.inference import Predictor, resample_matrix, window_starts
from ecgviz.signals import SignalError, read_ptbxl, resample


@pytest.fixture(scope="module")
def predictor(shipped_checkpoint) -> Predictor:
    return Predictor.from_checkpoint(shipped_checkpoint)


@pytest.fixture(scope="module")
def hr_ids(bundled_index) -> list[int]:
    """Bundled records that also have their 500 Hz files."""
    return bundled_index.index[bundled_index["has_500hz"]].tolist()


def _by_hand(predictor: Predictor, x: torch.Tensor, starts: list[int]) -> np.ndarray:
    """Per-window probabilities (windows, C), one window at a time."""
    w = predictor.card.window
    with torch.no_grad():
        return np.stack([torch.sigmoid(predictor.net(x[..., s:s + w]))[0].numpy() for s in starts])


@pytest.mark.parametrize("length,expected", [
    (250, [0]),
    (251, [0, 1]),
    (375, [0, 125]),
    (1000, [0, 125, 250, 375, 500, 625, 750]),
    (903, [0, 125, 250, 375, 500, 625, 653]),  # the last window ends flush with the record
])
def test_window_starts(length, expected):
    assert window_starts(length, 250, 125) == expected


def test_window_starts_too_short():
    with pytest.raises(SignalError, match="249 samples at the model's rate; at least 250"):
        window_starts(249, 250, 125)


def test_card_describes_the_protocol(predictor):
    card = predictor.card
    assert (card.fs, card.window, card.stride, card.aggregation) == (100, 250, 125, "max")
    assert predictor.classes == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert not predictor.net.training
    assert not any(p.requires_grad for p in predictor.net.parameters())


def test_prepare_standardises_with_the_card(predictor, bundled_dir, bundled_index):
    record = read_ptbxl(bundled_dir, bundled_index.iloc[0])
    x = predictor.prepare(record)
    assert x.shape == (1, 12, 1000) and x.dtype == torch.float32
    expected = (record.signal - np.array(predictor.card.mean)) / np.array(predictor.card.std)
    np.testing.assert_allclose(x[0].numpy(), expected.T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seconds", [10.0, 9.03])
def test_max_over_windows_by_hand(predictor, bundled_dir, bundled_index, seconds):
    record = read_ptbxl(bundled_dir, bundled_index.iloc[3]).segment(0, seconds)
    starts = window_starts(record.signal.shape[0], 250, 125)
    per_window = _by_hand(predictor, predictor.prepare(record), starts)
    probs = predictor.predict(record)
    assert probs.shape == (5,) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, per_window.max(axis=0), rtol=0, atol=1e-6)
    assert ((probs >= 0) & (probs <= 1)).all()


def test_aggregation_is_max_not_mean(predictor, bundled_dir, bundled_index):
    """On real records the windows disagree, so max and mean aggregation really differ."""
    gaps = []
    for i in range(5):
        record = read_ptbxl(bundled_dir, bundled_index.iloc[i])
        per_window = _by_hand(predictor, predictor.prepare(record), window_starts(1000, 250, 125))
        np.testing.assert_allclose(predictor.predict(record), per_window.max(axis=0), atol=1e-6)
        gaps.append((per_window.max(axis=0) - per_window.mean(axis=0)).max())
    assert max(gaps) > 1e-3


def test_too_short_record_is_refused(predictor, bundled_dir, bundled_index):
    record = read_ptbxl(bundled_dir, bundled_index.iloc[0]).segment(0, 2.0)
    with pytest.raises(SignalError, match="200 samples"):
        predictor.predict(record)


def test_resample_matrix_equals_resample(bundled_dir, bundled_index, hr_ids):
    signal = read_ptbxl(bundled_dir, bundled_index.loc[hr_ids[0]], fs=500).signal
    m = resample_matrix(len(signal), 500.0, 100.0)
    assert m.shape == (1000, 5000)
    np.testing.assert_allclose((m @ torch.from_numpy(signal)).numpy(), resample(signal, 500, 100),
                               rtol=0, atol=1e-5)


def test_500hz_record_matches_its_100hz_resampled_version(predictor, bundled_dir, bundled_index,
                                                          hr_ids):
    for i in hr_ids[:4]:
        hr = read_ptbxl(bundled_dir, bundled_index.loc[i], fs=500)
        assert hr.fs == 500 and hr.signal.shape == (5000, 12)
        np.testing.assert_allclose(predictor.predict(hr), predictor.predict(hr.resampled(100)),
                                   rtol=0, atol=1e-3, err_msg=f"ecg_id {i}")


def test_predict_signals_equals_predict_per_record(predictor, bundled_dir, bundled_index, hr_ids):
    for fs, ids in ((100, bundled_index.index[:6]), (500, hr_ids[:3])):
        records = [read_ptbxl(bundled_dir, bundled_index.loc[i], fs=fs) for i in ids]
        batch = predictor.predict_signals(np.stack([r.signal for r in records]), fs)
        assert batch.shape == (len(records), 5)
        single = np.stack([predictor.predict(r) for r in records])
        np.testing.assert_allclose(batch, single, rtol=0, atol=1e-5)
