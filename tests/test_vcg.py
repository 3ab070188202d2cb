"""VCG from the Kors matrix on real bundled records; VCG figures (loops and 3-D)."""
from __future__ import annotations

import numpy as np
import pytest

from ecgviz import figures, vcg
from ecgviz.signals import LEADS, read_ptbxl


@pytest.fixture(scope="module")
def rec100(bundled_dir, bundled_index):
    return read_ptbxl(bundled_dir, bundled_index.loc[1], fs=100)


@pytest.fixture(scope="module")
def rec500(bundled_dir, bundled_index):
    return read_ptbxl(bundled_dir, bundled_index.loc[1], fs=500)


def test_shapes_on_real_records(rec100, rec500):
    for rec in (rec100, rec500):
        xyz = vcg.from_record(rec)
        assert xyz.shape == (rec.signal.shape[0], 3)
        assert np.isfinite(xyz).all()
        planes = vcg.projections(xyz)
        assert list(planes) == ["frontal", "transverse", "sagittal"]
        for arr in planes.values():
            assert arr.shape == (rec.signal.shape[0], 2)
        x, y, z = xyz.T
        np.testing.assert_array_equal(planes["frontal"], np.c_[x, y])
        np.testing.assert_array_equal(planes["transverse"], np.c_[x, z])
        np.testing.assert_array_equal(planes["sagittal"], np.c_[z, y])


@pytest.mark.parametrize("lead", vcg.KORS_LEADS)
def test_unit_lead_gives_its_matrix_row(lead):
    """1 mV in one lead only -> exactly that lead's Kors coefficients as X, Y, Z."""
    signal = np.zeros((5, len(LEADS)))
    signal[:, LEADS.index(lead)] = 1.0
    xyz = vcg.to_xyz(signal)
    np.testing.assert_array_equal(xyz, np.tile(vcg.KORS[vcg.KORS_LEADS.index(lead)], (5, 1)))


def test_published_coefficients_and_derived_leads_ignored():
    # Kors et al. 1990: X = .38 I - .07 II - .13 V1 + .05 V2 - .01 V3 + .14 V4 + .06 V5 + .54 V6
    assert vcg.KORS[:, 0].tolist() == [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54]
    assert vcg.KORS.shape == (8, 3)
    signal = np.zeros((3, len(LEADS)))
    for lead in ("III", "aVR", "aVL", "aVF"):
        signal[:, LEADS.index(lead)] = 2.0
    np.testing.assert_array_equal(vcg.to_xyz(signal), 0.0)


def test_linearity_on_a_real_signal(rec100):
    s = rec100.signal.astype(np.float64)
    rng = np.random.default_rng(0)
    other = rng.normal(size=s.shape)
    a, b = 1.7, -0.4
    np.testing.assert_allclose(vcg.to_xyz(a * s + b * other),
                               a * vcg.to_xyz(s) + b * vcg.to_xyz(other), atol=1e-12)


def test_lead_order_is_respected(rec100):
    order = np.random.default_rng(1).permutation(len(LEADS))
    shuffled = rec100.signal[:, order]
    np.testing.assert_allclose(vcg.to_xyz(shuffled, [LEADS[i] for i in order]),
                               vcg.to_xyz(rec100.signal), atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="missing"):
        vcg.to_xyz(np.zeros((4, 3)), ["I", "II", "III"])
    with pytest.raises(ValueError, match=r"\(T, 12\)"):
        vcg.to_xyz(np.zeros((4, 11)))
    with pytest.raises(ValueError, match=r"\(T, 3\)"):
        vcg.projections(np.zeros((4, 2)))


def test_beat_is_one_qrs_on_real_records(rec100, rec500):
    for rec in (rec100, rec500):
        xyz = vcg.from_record(rec)
        s = vcg.beat(xyz, rec.fs)
        seconds = (s.stop - s.start) / rec.fs
        assert 0.4 < seconds < 1.6
        mag = np.linalg.norm(xyz, axis=1)
        # the beat holds a QRS peak of the record (not a stretch of baseline)
        assert mag[s].max() > 0.8 * np.percentile(mag, 99)
    # the same beat at 100 and 500 Hz (same 10 s of the same ECG)
    s1, s5 = vcg.beat(vcg.from_record(rec100), 100), vcg.beat(vcg.from_record(rec500), 500)
    assert abs(s1.start / 100 - s5.start / 500) < 0.06


def _frontal_qrs_angle(rec) -> float:
    """Direction (degrees, hexaxial: 0 = left, +90 = inferior) of the QRS area vector."""
    xyz = vcg.from_record(rec)
    s = vcg.beat(xyz, rec.fs)
    peak = s.start + int(np.argmax(np.linalg.norm(xyz[s], axis=1)))
    half = int(0.05 * rec.fs)
    x, y, _ = xyz[max(0, peak - half):peak + half + 1].sum(axis=0)
    return float(np.degrees(np.arctan2(y, x)))


def test_sign_convention_matches_cardiologists_heart_axis(bundled_dir, bundled_index):
    """Frontal QRS direction (X left, Y inferior) orders as PTB-XL's heart_axis says:
    abnormal left (ALAD) < left type (LAD) < normal (MID)."""
    median = {}
    for axis in ("ALAD", "LAD", "MID"):
        ids = bundled_index.index[bundled_index["heart_axis"] == axis][:14]
        assert len(ids) >= 10
        median[axis] = np.median([_frontal_qrs_angle(read_ptbxl(bundled_dir, bundled_index.loc[i]))
                                  for i in ids])
    assert median["ALAD"] < -30 < median["LAD"] < median["MID"] < 90


def test_loop_is_one_recentred_beat(rec500):
    xyz = vcg.from_record(rec500)
    s = vcg.beat(xyz, 500)
    lp = vcg.loop(xyz, 500)
    assert lp.shape == (s.stop - s.start, 3)
    np.testing.assert_allclose(np.median(lp, axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(lp - lp[0], xyz[s] - xyz[s][0], atol=1e-12)


def test_vcg_loops_figure(rec500):
    lp = vcg.loop(vcg.from_record(rec500), 500)
    fig = figures.vcg_loops(lp, 500)
    loops = [t for t in fig.data if t.meta["role"] == "loop"]
    assert [t.meta["plane"] for t in loops] == ["frontal", "transverse", "sagittal"]
    x, y, z = lp.T
    for trace, (h, v) in zip(loops, [(x, y), (x, z), (z, y)]):
        np.testing.assert_allclose(trace.x, h)
        np.testing.assert_allclose(trace.y, v)
        assert trace.customdata[1] == pytest.approx(2.0)      # ms at 500 Hz
    lay = fig.layout
    for ax in ("", "2", "3"):
        xa, ya = lay[f"xaxis{ax}"], lay[f"yaxis{ax}"]
        assert ya.scaleanchor == f"x{ax}" and ya.scaleratio == 1   # equal aspect
        assert abs(xa.range[1] - xa.range[0]) == pytest.approx(abs(ya.range[1] - ya.range[0]))
        assert max(xa.range) >= np.abs(lp).max()                  # nothing cut off
    # inferior (+Y) and anterior (-Z) point down the page; left (+X), posterior (+Z) right
    assert lay.yaxis.range[0] > lay.yaxis.range[1]            # frontal: Y reversed
    assert lay.yaxis2.range[0] < lay.yaxis2.range[1]          # transverse: Z up = posterior
    assert lay.yaxis3.range[0] > lay.yaxis3.range[1]          # sagittal: Y reversed
    assert lay.xaxis3.range[0] < lay.xaxis3.range[1]


def test_vcg_3d_figure(rec100):
    lp = vcg.loop(vcg.from_record(rec100), 100)
    fig = figures.vcg_3d(lp, 100)
    (loop,) = [t for t in fig.data if t.meta["role"] == "loop3d"]
    assert loop.type == "scatter3d"
    np.testing.assert_allclose(loop.x, lp[:, 0])
    np.testing.assert_allclose(loop.y, lp[:, 2])   # depth: Z (posterior)
    np.testing.assert_allclose(loop.z, lp[:, 1])   # height: Y, drawn reversed (head up)
    scene = fig.layout.scene
    assert scene.aspectmode == "cube"
    assert scene.zaxis.range[0] > scene.zaxis.range[1]
    assert scene.xaxis.range[1] - scene.xaxis.range[0] == pytest.approx(
        scene.yaxis.range[1] - scene.yaxis.range[0])


def test_vcg_figures_reject_bad_shapes():
    for build in (lambda a: figures.vcg_loops(a, 100), figures.vcg_3d):
        with pytest.raises(ValueError, match=r"\(T >= 2, 3\)"):
            build(np.zeros((10, 2)))
