"""ECG paper, probability and lead-attribution figures, inspected through fig.data / fig.layout."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from ecgviz import figures
from ecgviz.signals import LEADS, read_ptbxl, read_wfdb

MI_RECORD = 63          # bundled, labelled MI (IMI), stored at 100 and 500 Hz


@pytest.fixture(scope="module")
def rec100(bundled_dir, bundled_index):
    return read_ptbxl(bundled_dir, bundled_index.loc[MI_RECORD], fs=100)


@pytest.fixture(scope="module")
def rec500(bundled_dir, bundled_index):
    return read_ptbxl(bundled_dir, bundled_index.loc[MI_RECORD], fs=500)


def _role(fig: go.Figure, role: str) -> list:
    return [t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == role]


def _attributions(rec, seed: int = 0) -> np.ndarray:
    """A real-shaped attribution map: the record's own derivative with random signs per lead."""
    sign = np.random.default_rng(seed).choice([-1.0, 1.0], size=(12, 1))
    return (np.gradient(rec.signal, axis=0).T * sign).astype(np.float32)


@pytest.mark.parametrize("layout, n_leads", [("3x4", 13), ("stacked", 12)])
def test_lead_traces_per_layout(rec100, layout, n_leads):
    fig = figures.ecg_paper(rec100, layout)
    leads = _role(fig, "lead")
    assert len(leads) == n_leads
    expected = [lead for col in figures.COLUMNS_3X4 for lead in col] + ["II"] if layout == "3x4" \
        else list(LEADS)
    assert [t.meta["lead"] for t in leads] == expected
    assert not _role(fig, "saliency")


def test_paper_grid_is_25_mm_per_s_and_10_mm_per_mv(rec100):
    fig = figures.ecg_paper(rec100)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    assert (x.minor.dtick, x.dtick) == (0.04, 0.2)
    assert (y.minor.dtick, y.dtick) == (0.1, 0.5)
    assert x.minor.showgrid and y.minor.showgrid and x.showgrid and y.showgrid
    assert not fig.layout.shapes          # the grid is axis grid, not shapes
    # Square boxes: 1 small box is 1 mm both ways, and the y scale is anchored to x at 10/25.
    assert x.minor.dtick * figures.PAPER_SPEED == pytest.approx(1.0)
    assert y.minor.dtick * figures.STANDARD_GAIN == pytest.approx(1.0)
    assert y.scaleanchor == "x" and y.scaleratio == pytest.approx(10 / 25)


@pytest.mark.parametrize("gain", [5.0, 10.0, 20.0])
def test_calibration_pulse_is_1_mv_at_every_gain(rec100, gain):
    fig = figures.ecg_paper(rec100, gain=gain)
    (cal,) = _role(fig, "calibration")
    xs = np.array([np.nan if v is None else v for v in cal.x], float)
    ys = np.array([np.nan if v is None else v for v in cal.y], float)
    pulses = np.split(ys, np.flatnonzero(np.isnan(ys)) + 1)
    heights = [np.nanmax(p) - np.nanmin(p) for p in pulses if np.isfinite(p).any()]
    assert len(heights) == 4                                  # 3 rows + rhythm strip
    # 1 mV drawn at ``gain`` mm/mV; the y unit is 10 mm.
    assert heights == pytest.approx([gain / figures.STANDARD_GAIN] * 4)
    top = xs[np.isclose(ys, np.nanmax(ys))]
    assert top.max() - top.min() == pytest.approx(0.2)       # 0.2 s wide (5 mm)


def test_traces_carry_the_record_in_mv_and_follow_the_gain(rec100):
    fig10 = figures.ecg_paper(rec100, "stacked")
    fig20 = figures.ecg_paper(rec100, "stacked", gain=20)
    for i, (t10, t20) in enumerate(zip(_role(fig10, "lead"), _role(fig20, "lead"))):
        mv = rec100.signal[:, i]
        np.testing.assert_allclose(t10.customdata, mv, atol=1e-6)      # hover shows real mV
        assert t10.x0 == 0 and t10.dx == pytest.approx(0.01)
        y10, y20 = np.asarray(t10.y), np.asarray(t20.y)
        np.testing.assert_allclose(np.diff(y10), np.diff(mv), atol=1e-5)   # 10 mm/mV: 1 unit/mV
        np.testing.assert_allclose(np.diff(y20), 2 * np.diff(mv), atol=1e-5)
        assert "mV" in t10.hovertemplate and " s" in t10.hovertemplate and LEADS[i] in t10.hovertemplate


def test_3x4_columns_are_consecutive_quarters_of_the_same_10_s(rec100):
    fig = figures.ecg_paper(rec100, "3x4")
    leads = _role(fig, "lead")
    by_lead = {t.meta["lead"]: t for t in leads[:12]}
    for k, column in enumerate(figures.COLUMNS_3X4):
        for lead in column:
            t = by_lead[lead]
            assert t.x0 == pytest.approx(2.5 * k)
            np.testing.assert_allclose(t.customdata, rec100.signal[250 * k:250 * (k + 1), LEADS.index(lead)])
    rhythm = leads[12]
    assert rhythm.meta["lead"] == "II" and len(rhythm.y) == 1000
    # Rows: three rows of leads and the rhythm strip, each on its own baseline.
    assert len({round(float(np.median(t.y)), 1) for t in leads}) == 4


def test_saliency_heat_only_when_asked_and_adds_up(rec100):
    attr = _attributions(rec100)
    fig = figures.ecg_paper(rec100, "stacked", attributions=attr, opacity=0.7, target="MI")
    heat = [t for t in _role(fig, "saliency") if isinstance(t, go.Heatmap)]
    assert len(heat) == 1
    (h,) = heat
    z = np.asarray(h.z, float)
    assert h.zmin == -h.zmax > -np.inf and h.opacity == 0.7              # symmetric scale
    assert z.shape == (2 * 12 - 1, 250)                                   # 12 bands, 40 ms cells
    # Every cell is the sum of its 40 ms of attributions, so the cells add up to the map.
    assert np.nansum(z) == pytest.approx(float(attr.sum()), rel=1e-4, abs=1e-6)
    # Bands go bottom-up: the lowest band is V6.
    np.testing.assert_allclose(z[0], attr[LEADS.index("V6")].reshape(250, 4).sum(1), rtol=1e-4, atol=1e-6)
    assert fig.layout.showlegend
    names = {t.name for t in _role(fig, "saliency") if isinstance(t, go.Scatter)}
    assert names == {"raises P(MI)", "lowers P(MI)"}
    assert not _role(figures.ecg_paper(rec100, "stacked"), "saliency")


def test_3x4_saliency_bands_follow_the_printed_leads(rec100):
    attr = np.zeros((12, 1000), np.float32)
    attr[LEADS.index("V1"), 500:505] = 1.0       # only where V1 is printed (5.0-7.5 s)
    attr[LEADS.index("I"), 500:505] = 1.0        # lead I is not printed at 5 s: not drawn
    fig = figures.ecg_paper(rec100, "3x4", attributions=attr)
    (h,) = [t for t in _role(fig, "saliency") if isinstance(t, go.Heatmap)]
    z = np.asarray(h.z, float)
    assert np.nansum(z) == pytest.approx(1.0 * 5)
    top_band = z[-1]                                          # row I / aVR / V1 / V4
    assert top_band[125] == pytest.approx(4.0) and top_band[126] == pytest.approx(1.0)


def test_figure_stays_light_at_100_hz_and_draws_500_hz_as_svg(rec100, rec500):
    for layout in figures.LAYOUTS:
        fig = figures.ecg_paper(rec100, layout, attributions=_attributions(rec100))
        assert len(fig.to_json()) < 400_000
        assert all(isinstance(t, go.Scatter) for t in _role(fig, "lead"))
    fig = figures.ecg_paper(rec500, "stacked", attributions=_attributions(rec500))
    leads = _role(fig, "lead")
    assert len(leads) == 12 and all(isinstance(t, go.Scatter) for t in leads)
    assert len(leads[0].y) == 5000 and leads[0].dx == pytest.approx(0.002)
    (h,) = [t for t in _role(fig, "saliency") if isinstance(t, go.Heatmap)]
    assert np.asarray(h.z).shape[1] == 250                    # still one cell per 40 ms


def test_short_record_prints_all_leads(rec100):
    short = rec100.segment(0, 4.0)
    fig = figures.ecg_paper(short, "3x4", attributions=_attributions(short))
    leads = _role(fig, "lead")
    assert len(leads) == 13
    assert all(len(t.y) == 100 for t in leads[:12]) and len(leads[12].y) == 400
    assert fig.layout.meta["end"] == pytest.approx(4.0)


def test_long_foreign_record_shows_a_10_s_window(foreign_dir):
    rec = read_wfdb(foreign_dir / "s0010_re")            # 38.4 s at 1000 Hz
    fig = figures.ecg_paper(rec, "stacked", start=12.0)
    leads = _role(fig, "lead")
    assert len(leads) == 12 and len(leads[0].y) == 10_000
    assert leads[0].x0 == pytest.approx(12.0)
    np.testing.assert_allclose(leads[0].customdata, rec.signal[12_000:22_000, 0])
    assert (fig.layout.meta["start"], fig.layout.meta["end"]) == pytest.approx((12.0, 22.0))


def test_bad_arguments_are_refused(rec100):
    with pytest.raises(ValueError, match="layout"):
        figures.ecg_paper(rec100, "6x2")
    with pytest.raises(ValueError, match="attributions"):
        figures.ecg_paper(rec100, attributions=np.zeros((12, 999)))
    with pytest.raises(ValueError, match="probabilities"):
        figures.probability_bars([0.1, 0.2], ["NORM", "MI", "STTC"])


def test_probability_bars_mark_agree_missed_extra():
    classes = ["NORM", "MI", "STTC", "CD", "HYP"]
    probs = [0.96, 0.55, 0.04, 0.20, 0.10]
    fig = figures.probability_bars(probs, classes, {"NORM": 0, "MI": 1, "STTC": 0, "CD": 1, "HYP": 0})
    by_role = {t.meta["role"]: list(t.y) for t in fig.data}
    assert by_role == {"agree_pos": ["MI"], "agree_neg": ["STTC", "HYP"], "missed": ["CD"],
                       "extra": ["NORM"], "labels": ["MI", "CD"]}
    colors = {t.meta["role"]: t.marker.color for t in fig.data if isinstance(t, go.Bar)}
    assert len(set(colors.values())) == 4                   # four outcomes, four colours
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == 0.5
    # Without labels (an upload): only above / below the threshold.
    fig = figures.probability_bars(probs, classes, None, threshold=0.3)
    assert {t.meta["role"]: list(t.y) for t in fig.data} == {
        "above": ["NORM", "MI"], "below": ["STTC", "CD", "HYP"]}
    assert fig.layout.shapes[0].x0 == 0.3


def test_lead_attribution_sums_positive_and_negative(rec100):
    attr = _attributions(rec100, seed=3)
    fig = figures.lead_attribution(attr, LEADS, target="MI")
    pos, neg, net = (_role(fig, r)[0] for r in ("positive", "negative", "net"))
    np.testing.assert_allclose(pos.x, np.clip(attr, 0, None).sum(1), rtol=1e-5)
    np.testing.assert_allclose(neg.x, np.clip(attr, None, 0).sum(1), rtol=1e-5)
    assert np.all(np.asarray(pos.x) >= 0) and np.all(np.asarray(neg.x) <= 0)
    assert float(np.sum(net.x)) == pytest.approx(float(attr.sum()), rel=1e-4, abs=1e-6)
    assert list(pos.y) == list(LEADS)
