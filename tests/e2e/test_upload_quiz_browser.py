"""Real browser: upload WFDB files through the file chooser (good, then broken); a quiz round."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

NO_ERRORS = '[data-testid="stException"]'


@pytest.fixture(scope="module")
def app(request, launch_app, tmp_path_factory):
    """The app on the shipped checkpoint (``ECGVIZ_TEST_CHECKPOINT`` names another one)."""
    override = os.environ.get("ECGVIZ_TEST_CHECKPOINT")
    ckpt = Path(override) if override else request.getfixturevalue("shipped_checkpoint")
    runs = tmp_path_factory.mktemp("runs")
    with launch_app({"ECGVIZ_CHECKPOINT": str(ckpt), "ECGVIZ_RUNS_DIR": str(runs),
                     "PTBXL_DIR": ""}) as url:
        yield url


def test_upload_through_the_file_chooser(app, page, wait_idle, artifacts, foreign_dir, tmp_path):
    page.set_viewport_size({"width": 1440, "height": 2400})   # the whole review in one shot
    page.goto(f"{app}/upload")
    wait_idle(page)
    page.get_by_role("heading", name="Upload an ECG").wait_for()
    chooser = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    files = sorted(foreign_dir.glob("s0010_re.*"))
    assert [f.suffix for f in files] == [".dat", ".hea", ".xyz"]
    chooser.set_input_files([str(f) for f in files])
    page.get_by_text("Kept the 12 standard leads; dropped vx, vy, vz.").wait_for()
    wait_idle(page)
    page.get_by_text("Reviewed at 100 Hz", exact=False).wait_for()
    page.get_by_text("Model probabilities").wait_for()
    assert page.locator(".js-plotly-plot").count() >= 2   # paper + probabilities at least
    assert page.locator(NO_ERRORS).count() == 0
    page.screenshot(path=str(artifacts / "upload-foreign.png"), full_page=True)

    # A truncated copy: specific message, the uploader still there for the next try.
    (tmp_path / "s0010_re.hea").write_bytes((foreign_dir / "s0010_re.hea").read_bytes())
    (tmp_path / "s0010_re.dat").write_bytes((foreign_dir / "s0010_re.dat").read_bytes()[:100_000])
    (tmp_path / "s0010_re.xyz").write_bytes((foreign_dir / "s0010_re.xyz").read_bytes())
    for name in ("s0010_re.dat", "s0010_re.hea", "s0010_re.xyz"):   # replace the upload
        page.get_by_role("button", name=f"Remove {name}").click()
        wait_idle(page)
    chooser.set_input_files([str(tmp_path / n) for n in ("s0010_re.hea", "s0010_re.dat",
                                                         "s0010_re.xyz")])
    page.get_by_text("data file s0010_re.dat is truncated", exact=False).wait_for()
    wait_idle(page)
    assert page.locator(".js-plotly-plot").count() == 0
    assert page.locator(NO_ERRORS).count() == 0
    assert chooser.count() == 1
    page.screenshot(path=str(artifacts / "upload-truncated.png"), full_page=True)


def test_quiz_round(app, page, wait_idle, artifacts):
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.goto(f"{app}/quiz")
    wait_idle(page)
    page.get_by_role("heading", name="Case 1").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 1      # the ECG only: labels and model hidden
    page.screenshot(path=str(artifacts / "quiz-question.png"), full_page=True)
    page.locator('[data-testid="stCheckbox"]').filter(has_text="NORM").click()
    page.get_by_role("button", name="Submit answer").click()
    page.get_by_text("Score ", exact=False).first.wait_for()
    wait_idle(page)
    page.get_by_text("Cardiologists' superclasses:", exact=False).wait_for()
    page.get_by_text("Model probabilities").wait_for()
    assert page.locator(".js-plotly-plot").count() >= 2
    assert page.locator(NO_ERRORS).count() == 0
    page.screenshot(path=str(artifacts / "quiz-answer.png"), full_page=True)
    page.get_by_role("button", name="Next case").click()
    page.get_by_role("heading", name="Case 2").wait_for()
    wait_idle(page)
    assert page.locator(NO_ERRORS).count() == 0
