"""Real browser: start a tiny training run on the Training page, watch the live curves, cancel it."""
from __future__ import annotations

from training import jobs


def test_start_watch_and_cancel(launch_app, page, wait_idle, artifacts, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(runs))  # this process checks the same folder
    try:
        with launch_app({"ECGVIZ_RUNS_DIR": str(runs), "ECGVIZ_ALLOW_TRAINING": "1"}) as url:
            page.goto(url)
            wait_idle(page)
            page.locator('[data-testid="stSidebarNavLink"]', has_text="Training").click()
            page.get_by_role("heading", name="Train a model").wait_for()
            wait_idle(page)
            for label, value in (("Epochs", "20"), ("Batch size", "8"),
                                 ("Max records per split (0 = all)", "16")):
                field = page.get_by_role("spinbutton", name=label, exact=True)
                field.fill(value)
                field.press("Enter")
                wait_idle(page)
            page.get_by_text("16 training, 16 validation and 16 test records").wait_for()
            page.get_by_role("button", name="Start training").click()
            page.get_by_role("heading", name="Running now").wait_for()

            # lr finder first, then the one-cycle schedule, losses and metrics after epoch 1
            page.locator(".gtitle", has_text="lr finder").first.wait_for(timeout=240_000)
            page.locator(".gtitle", has_text="validation metrics").first.wait_for(timeout=240_000)
            page.wait_for_timeout(2500)  # one fragment refresh, so the charts are fully drawn
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stProgress"]').count() == 1
            page.set_viewport_size({"width": 1440, "height": 2000})  # Streamlit scrolls inside
            page.screenshot(path=str(artifacts / "train-live.png"))

            name = jobs.list_runs()[0].name
            assert jobs.status(name).active, "the run ended before Cancel could be tried"
            page.get_by_role("button", name="Cancel").click()
            page.get_by_text("The run was cancelled; its files so far are kept.").wait_for(
                timeout=60_000)
            wait_idle(page)
            assert jobs.status(name).state == "cancelled" and jobs.read_lock() == {}
            assert page.get_by_role("button", name="Start training").count() == 1
            page.screenshot(path=str(artifacts / "train-cancelled.png"))
    finally:
        left = jobs.active_job()
        if left is not None:
            jobs.cancel(left.name, grace_s=5)
