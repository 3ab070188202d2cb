"""AppTest of the Training page through app.py: tiny real runs on bundled records started from
the page, live curves, finish, "Use this model" (then the other pages use it), cancel, refusal."""
from __future__ import annotations

import base64
import json
import time

import numpy as np

import pytest
from streamlit.testing.v1 import AppTest

from ecgviz import settings
from pages import common
from training import jobs

APP = str(settings.REPO_ROOT / "app.py")
PAGE = "pages/train_page.py"


@pytest.fixture
def app(monkeypatch, tmp_path) -> AppTest:
    """app.py on the Training page, with runs (and the active-model file) under tmp."""
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ECGVIZ_ALLOW_TRAINING", "1")
    monkeypatch.delenv("ECGVIZ_CHECKPOINT", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    yield at
    active = jobs.active_job()
    if active is not None:  # never leave a job behind a failed test
        jobs.cancel(active.name, grace_s=5)


def fill_tiny(at: AppTest, epochs: int, lr: str) -> None:
    """Set the form to a tiny run: 16 records per split, batch 8."""
    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_bs").set_value(8)
    at.number_input(key="train_max").set_value(16)
    if lr != "auto":
        at.radio(key="train_lr_mode").set_value("fixed").run()
        at.number_input(key="train_lr").set_value(float(lr))
    at.run()
    assert any("About" in i.value and "16 training" in i.value for i in at.info)


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page by title."""
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {f["layout"]["title"]["text"]: f for f in figs}


def points(trace: dict) -> np.ndarray:
    """A trace's x values (plotly sends numeric arrays as base64 typed arrays)."""
    x = trace["x"]
    if isinstance(x, dict):
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])
    return np.asarray(x)


def poll(at: AppTest, until, timeout: float = 240.0) -> list[tuple[str, dict]]:
    """Rerun the page (as the fragment's timer would) until ``until(state)``; returns
    (state, charts) observed at each rerun."""
    seen, deadline = [], time.time() + timeout
    while True:
        time.sleep(1.0)
        at.run()
        assert not at.exception, at.exception
        job = jobs.active_job()
        state = job.state if job else "ended"
        seen.append((state, charts(at)))
        if until(state):
            return seen
        assert time.time() < deadline, f"still {state}: {seen[-1]}"


def test_start_watch_finish_and_use_model(app):
    fill_tiny(app, epochs=2, lr="0.01")
    app.button(key="train_start").click().run()
    job = jobs.active_job()
    assert job is not None and job.config["max_records"] == 16
    assert [s.value for s in app.subheader][:1] == ["Running now"]
    assert "loss" not in charts(app)  # nothing to draw before the first epoch

    seen = poll(app, lambda state: state == "ended")
    live = [figs for state, figs in seen if state in jobs.ACTIVE_PHASES and "loss" in figs]
    assert live, "the loss curve never appeared while the run was going"
    assert len(points(live[0]["loss"]["data"][-1])) in (1, 2)
    final = jobs.status(job.name)
    assert final.state == "finished", jobs.log_tail(job.name)
    figs = charts(app)
    assert len(points(figs["loss"]["data"][-1])) == 2  # valid loss of both epochs
    assert len(points(figs["learning rate per iteration"]["data"][0])) == 4  # 2 batches x 2 epochs
    assert app.selectbox(key="train_run").value == job.name
    table = app.dataframe[0].value
    assert list(table.columns) == ["this run", "active model"] and "macro" in table.index
    assert table.loc["macro", "this run"] == pytest.approx(final.test_macro_auc)

    app.button(key=f"train_use_{job.name}").click().run()
    ckpt = (final.path / "model.safetensors").resolve()
    assert settings.checkpoint_path() == ckpt
    assert any("Every page now uses" in s.value for s in app.success)
    # the sidebar of app.py names the active model (AppTest draws it on the first page only)
    fresh = AppTest.from_file(APP, default_timeout=120).run()
    assert str(ckpt) in [c.value for c in fresh.sidebar.caption]
    app.switch_page("pages/review.py").run()
    assert not app.exception
    model, error = common.predictor()  # the cache every page reads the model from
    assert error is None and model.card.train_config["out"] == str(final.path.resolve())

    app.switch_page(PAGE).run()
    app.button(key=f"train_shipped_{job.name}").click().run()
    assert settings.checkpoint_path() == settings.SHIPPED_CHECKPOINT


def test_cancel_from_the_page(app):
    fill_tiny(app, epochs=3, lr="auto")
    app.button(key="train_start").click().run()
    name = jobs.active_job().name
    poll(app, lambda state: state in ("lr_find", "training", "ended"))
    app.button(key="train_cancel").click().run()
    info = jobs.status(name)
    assert info.state == "cancelled" and jobs.read_lock() == {}
    assert any("cancelled" in w.value for w in app.warning)
    assert app.button(key="train_start")  # the form is back


def test_second_job_refused(app, tmp_path):
    fill_tiny(app, epochs=1, lr="0.01")
    other = jobs.start(jobs.JobConfig(data=str(settings.BUNDLED_DATA_DIR), epochs=1, bs=8,
                                      lr="0.01", max_records=16), name="other-session")
    app.button(key="train_start").click().run()
    assert any("Not started: another training job is running (other-session" in e.value
               for e in app.error)
    assert [r.name for r in jobs.list_runs()] == ["other-session"]
    app.run()
    assert [s.value for s in app.subheader][:1] == ["Running now"]
    jobs.cancel(other.name, grace_s=5)


def test_hidden_when_training_is_not_allowed(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ECGVIZ_ALLOW_TRAINING", "0")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
