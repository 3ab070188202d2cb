"""Real browser: the Review page of a real MI record draws 12 leads on ECG paper with the saliency
overlay; screenshots are kept in artifacts/ for a human look."""
from __future__ import annotations

import pytest

MI_RECORD = 63      # bundled, ASMI (cardiologists' MI), fold 10
COLD_MS = 300_000   # first run of a fresh server: model load, prediction, integrated gradients

FIGURE_STATE = """
(el) => {
  const traces = el._fullData.filter(t => t.meta && t.meta.role === 'lead');
  const lines = [...el.querySelectorAll('g.trace.scatter path.js-line')]
      .filter(p => (p.getAttribute('d') || '').length > 200);
  const heat = [...el.querySelectorAll('g.hm image')]
      .filter(i => Number(i.getAttribute('width')) > 0);
  const ax = el._fullLayout;
  return {leads: traces.map(t => t.meta.lead), lines: lines.length, heat: heat.length,
          minorX: ax.xaxis.minor.dtick, minorY: ax.yaxis.minor.dtick,
          pxPerS: ax.xaxis._m, pxPerMv: -ax.yaxis._m,
          legend: [...el.querySelectorAll('g.legend text.legendtext')].map(t => t.textContent)};
}
"""


@pytest.fixture(scope="module")
def review_url(launch_app, shipped_checkpoint):
    with launch_app({"ECGVIZ_CHECKPOINT": str(shipped_checkpoint)}) as url:
        yield url


def test_mi_record_on_ecg_paper_with_saliency(review_url, page, wait_idle, artifacts):
    page.goto(f"{review_url}/?ecg_id={MI_RECORD}&cls=MI")
    wait_idle(page, COLD_MS)
    paper = page.locator(".js-plotly-plot").first
    paper.wait_for()
    page.wait_for_function(
        "() => { const el = document.querySelector('.js-plotly-plot');"
        " return el && el.querySelector('g.hm image'); }", timeout=120_000)
    state = paper.evaluate(FIGURE_STATE)
    assert state["leads"] == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3",
                              "V4", "V5", "V6", "II"]
    assert state["lines"] >= 13                  # every lead (and the rhythm strip) is drawn
    assert state["heat"] == 1                    # the saliency heat is drawn
    assert state["legend"] == ["raises P(MI)", "lowers P(MI)"]
    # Square 1 mm boxes on screen: 0.04 s and 0.1 mV take the same number of pixels.
    assert state["minorX"] == 0.04 and state["minorY"] == 0.1
    assert state["pxPerS"] * 0.04 == pytest.approx(state["pxPerMv"] * 0.1, rel=0.01)
    # The modebar saves a PNG locally and has no button that uploads the record anywhere.
    buttons = paper.evaluate("el => [...el.querySelectorAll('.modebar-btn')]"
                             ".map(b => b.getAttribute('data-title'))")
    assert "Download plot as a PNG" in buttons and not [b for b in buttons if "Share" in b], buttons
    paper.hover()
    with page.expect_download() as download:
        paper.locator('[data-title="Download plot as a PNG"]').click()
    assert download.value.suggested_filename == f"ecg{MI_RECORD}_100hz_paper.png"
    # Full screen (the modebar's last button) fills the window; leaving it restores the page size.
    size = "el => [el._fullLayout.width, el._fullLayout.height]"
    before = paper.evaluate(size)
    paper.locator('[data-title="Full screen"]').click()
    page.wait_for_function("() => document.fullscreenElement && "
                           "document.fullscreenElement._fullLayout.height === window.innerHeight")
    assert paper.evaluate(size) == [1440, 1000]
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function(f"() => !document.fullscreenElement && "
                           f"document.querySelector('.js-plotly-plot')._fullLayout.height === {before[1]}")
    assert paper.evaluate(size) == before
    page.get_by_text(f"ecg_id {MI_RECORD} · MI").wait_for()
    page.get_by_text("Model probabilities").wait_for()
    paper.screenshot(path=str(artifacts / f"review_{MI_RECORD}_paper.png"))
    page.set_viewport_size({"width": 1440, "height": 2300})
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / f"review_{MI_RECORD}_page.png"), full_page=True)


def test_stacked_layout_in_the_browser(review_url, page, wait_idle, artifacts):
    page.goto(f"{review_url}/?ecg_id={MI_RECORD}&cls=MI")
    wait_idle(page, COLD_MS)
    page.get_by_text("12×1", exact=True).click()
    wait_idle(page, COLD_MS)
    paper = page.locator(".js-plotly-plot").first
    page.wait_for_function(
        "() => { const el = document.querySelector('.js-plotly-plot');"
        " return el && el._fullData.filter(t => t.meta && t.meta.role === 'lead').length === 12"
        " && el.querySelector('g.hm image'); }", timeout=120_000)
    state = paper.evaluate(FIGURE_STATE)
    assert len(state["leads"]) == 12 and state["lines"] >= 12 and state["heat"] == 1
    page.set_viewport_size({"width": 1440, "height": 2300})     # the 12x1 paper is tall
    page.wait_for_timeout(500)
    paper.screenshot(path=str(artifacts / f"review_{MI_RECORD}_stacked.png"))


def test_figures_say_why_when_static_serving_is_off(launch_app, shipped_checkpoint, page, wait_idle):
    """The review figures need the bundle in static/: with static serving turned off the page
    says so where the figure would be, instead of staying blank."""
    env = {"ECGVIZ_CHECKPOINT": str(shipped_checkpoint),
           "STREAMLIT_SERVER_ENABLE_STATIC_SERVING": "false"}
    with launch_app(env) as url:
        page.goto(f"{url}/?ecg_id={MI_RECORD}")
        wait_idle(page, COLD_MS)
        message = page.get_by_text("The figure could not be drawn").first
        message.wait_for(timeout=60_000)
        assert "server.enableStaticServing" in message.text_content()
        assert page.locator(".js-plotly-plot").count() == 0
