"""Integrated gradients with the shipped model on real bundled records: completeness, shapes,
determinism, 500 Hz input and the model-randomisation sanity check (Adebayo et al. 2018)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from scipy.stats import spearmanr
from torch import nn

from ecgviz import model as models
from ecgviz.inference import Predictor
from ecgviz.saliency import baseline_input, class_probability, integrated_gradients
from ecgviz.signals import read_ptbxl

MI_RECORD = 63      # IMI, stored at 100 and 500 Hz
NORM_RECORD = 1     # NORM, stored at 100 and 500 Hz


@pytest.fixture(scope="module")
def predictor(shipped_checkpoint):
    return Predictor.from_checkpoint(shipped_checkpoint)


@pytest.fixture(scope="module")
def mi100(bundled_dir, bundled_index):
    return read_ptbxl(bundled_dir, bundled_index.loc[MI_RECORD], fs=100)


@pytest.fixture(scope="module")
def mi_zeros(predictor, mi100):
    return integrated_gradients(predictor, mi100, "MI", "zeros", n_steps=50)


def _completeness(sal) -> None:
    total = float(sal.attributions.astype(np.float64).sum())
    # Captum's delta is exactly what the sum misses of f(x) - f(baseline) ...
    assert total - sal.gap == pytest.approx(sal.delta, abs=1e-4)
    # ... and it is small: the integral is converged at 50 steps.
    assert abs(sal.delta) < 0.02 + 0.03 * abs(sal.gap)


def test_shapes_and_fields(predictor, mi100, mi_zeros):
    assert mi_zeros.attributions.shape == (12, 1000) and mi_zeros.attributions.dtype == np.float32
    assert (mi_zeros.target, mi_zeros.target_index) == ("MI", predictor.classes.index("MI"))
    assert (mi_zeros.baseline, mi_zeros.n_steps, mi_zeros.fs) == ("zeros", 50, 100.0)
    # The probability explained is the one the page shows.
    assert mi_zeros.prob == pytest.approx(float(predictor.predict(mi100)[mi_zeros.target_index]), abs=1e-5)
    assert np.isfinite(mi_zeros.attributions).all() and np.abs(mi_zeros.attributions).max() > 0


def test_completeness_zero_baseline(mi_zeros):
    _completeness(mi_zeros)
    assert mi_zeros.gap > 0.05          # the record looks more like MI than an all-zero input


def test_completeness_smooth_baseline_on_a_norm_record(predictor, bundled_dir, bundled_index):
    rec = read_ptbxl(bundled_dir, bundled_index.loc[NORM_RECORD], fs=100)
    sal = integrated_gradients(predictor, rec, "NORM", "smooth", n_steps=50)
    _completeness(sal)
    assert sal.baseline == "smooth" and sal.target == "NORM"


def test_same_attributions_as_through_predictor_forward(predictor, mi100, mi_zeros):
    """The best-window shortcut is the windowed forward pass the prediction uses."""
    x = predictor.prepare(mi100)
    idx = mi_zeros.target_index
    probs = class_probability(predictor, mi100.fs, idx)(torch.cat([x, 0.5 * x]))
    reference = predictor.forward(torch.cat([x, 0.5 * x]), mi100.fs)[:, idx]
    torch.testing.assert_close(probs, reference, atol=1e-6, rtol=0)
    slow = IntegratedGradients(lambda inp: predictor.forward(inp, mi100.fs)).attribute(
        x, baselines=torch.zeros_like(x), target=idx, n_steps=50)
    np.testing.assert_allclose(mi_zeros.attributions, slow[0].numpy(), atol=1e-6)


def test_deterministic_and_batching_invariant(predictor, mi100, mi_zeros):
    again = integrated_gradients(predictor, mi100, "MI", "zeros", n_steps=50, internal_batch_size=7)
    np.testing.assert_allclose(again.attributions, mi_zeros.attributions, atol=1e-6)
    assert again.delta == pytest.approx(mi_zeros.delta, abs=1e-6)


def test_500_hz_record_gets_attributions_at_its_own_rate(predictor, bundled_dir, bundled_index):
    rec = read_ptbxl(bundled_dir, bundled_index.loc[MI_RECORD], fs=500)
    predictor.predict(rec)              # the page predicts first (cached resample matrix)
    sal = integrated_gradients(predictor, rec, "MI", "zeros", n_steps=24, internal_batch_size=12)
    assert sal.attributions.shape == (12, 5000) and sal.fs == 500.0
    total = float(sal.attributions.astype(np.float64).sum())
    assert total - sal.gap == pytest.approx(sal.delta, abs=1e-4)
    assert abs(sal.delta) < 0.05


def test_model_randomisation_changes_the_map(predictor, mi100, mi_zeros):
    """Adebayo et al. (2018): a map that survives re-initialising the weights explains nothing."""
    torch.manual_seed(0)
    card = predictor.card
    random_net = models.build(card.arch, len(card.classes), n_leads=len(card.leads), **card.arch_kwargs)
    random_model = Predictor(random_net, card)
    randomised = integrated_gradients(random_model, mi100, "MI", "zeros", n_steps=50)
    coarser = integrated_gradients(predictor, mi100, "MI", "zeros", n_steps=32)
    same_model = spearmanr(np.abs(mi_zeros.attributions).ravel(), np.abs(coarser.attributions).ravel())[0]
    other_model = spearmanr(np.abs(mi_zeros.attributions).ravel(),
                            np.abs(randomised.attributions).ravel())[0]
    assert same_model > 0.9             # the map is stable for the trained model ...
    assert other_model < 0.5            # ... and not for randomised weights
    lead_rank = spearmanr(np.abs(mi_zeros.attributions).sum(1), np.abs(randomised.attributions).sum(1))[0]
    assert lead_rank < 0.9


def _roughness(t: torch.Tensor) -> float:
    """Mean absolute sample-to-sample change: high-frequency content."""
    return float(torch.diff(t, dim=-1).abs().mean())


def test_smooth_baseline_is_a_low_passed_copy(predictor, mi100):
    x = predictor.prepare(mi100)
    smooth = baseline_input(x, "smooth", mi100.fs)
    assert smooth.shape == x.shape
    assert _roughness(smooth) < 0.2 * _roughness(x)
    # It keeps the slow part of the signal: closer to x than zeros are.
    assert float((x - smooth).pow(2).mean()) < float(x.pow(2).mean())
    assert torch.count_nonzero(baseline_input(x, "zeros", mi100.fs)) == 0


def test_inplace_relus_do_not_break_integrated_gradients(predictor, mi_zeros):
    """fastai's blocks use ReLU(inplace=True); IG via autograd is unaffected (completeness above)."""
    assert any(isinstance(m, nn.ReLU) and m.inplace for m in predictor.net.modules())
    assert np.abs(mi_zeros.attributions).sum() > 0


def test_bad_arguments(predictor, mi100):
    with pytest.raises(ValueError, match="classes"):
        integrated_gradients(predictor, mi100, "AFIB")
    with pytest.raises(ValueError, match="baseline"):
        integrated_gradients(predictor, mi100, "MI", baseline="noise")
    with pytest.raises(ValueError, match="n_steps"):
        integrated_gradients(predictor, mi100, "MI", n_steps=1)
