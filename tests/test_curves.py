"""Training-curve figures built from the shipped model's real run files."""
import pandas as pd
import pytest

from ecgviz import curves
from ecgviz.settings import SHIPPED_CHECKPOINT

RUN = SHIPPED_CHECKPOINT.parent


@pytest.fixture(scope="module")
def run_files():
    return {name: pd.read_csv(RUN / f"{name}.csv") for name in ("history", "lr_schedule", "lr_find")}


def test_lr_find_marks_the_suggestion_on_a_log_axis(run_files):
    fig = curves.lr_find_figure(run_files["lr_find"], suggested=3e-3)
    assert fig.layout.xaxis.type == "log"
    assert len(fig.data[0].x) == len(run_files["lr_find"])
    assert any(shape.x0 == 3e-3 for shape in fig.layout.shapes)


def test_one_cycle_schedule_rises_then_falls(run_files):
    lr = curves.lr_schedule_figure(run_files["lr_schedule"]).data[0].y
    peak = int(lr.argmax())
    assert 0 < peak < len(lr) - 1
    assert lr[0] < lr[peak] / 10 and lr[-1] < lr[peak] / 100


def test_loss_and_metrics_per_epoch(run_files):
    hist = run_files["history"]
    loss = curves.loss_figure(hist, run_files["lr_schedule"])
    assert [t.name for t in loss.data] == ["train (per iteration)", "train", "valid"]
    assert list(loss.data[2].y) == list(hist["valid_loss"])
    metrics = curves.metrics_figure(hist)
    assert {t.name for t in metrics.data} == {"accuracy_multi", "macro AUC"}
    assert metrics.layout.xaxis.dtick == 10   # 100 epochs -> a tick every 10


def test_compare_runs_names_the_metric(run_files):
    fig = curves.compare_runs_figure({"shipped": run_files["history"]})
    assert fig.layout.title.text == "valid macro AUC per epoch, by run"
    assert len(fig.data) == 1
