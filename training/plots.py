"""PNG plots of a run (matplotlib, headless): lr finder, lr schedule, losses, accuracy/AUC."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_plots(run_dir: Path, suggested_lr: float | None = None) -> None:
    """Draw the run's CSV files into ``lr_find.png``, ``lr_schedule.png``, ``loss.png``, ``metrics.png``."""
    run_dir = Path(run_dir)
    if (run_dir / "lr_find.csv").is_file():
        lf = pd.read_csv(run_dir / "lr_find.csv")
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(lf["lr"], lf["loss"])
        if suggested_lr:
            ax.axvline(suggested_lr, color="tab:red", ls="--", label=f"suggested {suggested_lr:.1e}")
            ax.legend()
        ax.set(xscale="log", xlabel="learning rate", ylabel="loss", title="lr finder")
        _save(fig, run_dir / "lr_find.png")
    sched = pd.read_csv(run_dir / "lr_schedule.csv")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(sched["iteration"], sched["lr"])
    ax.set(xlabel="iteration", ylabel="learning rate", title="one-cycle schedule")
    _save(fig, run_dir / "lr_schedule.png")
    hist = pd.read_csv(run_dir / "history.csv")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(hist["epoch"], hist["train_loss"], label="train")
    ax.plot(hist["epoch"], hist["valid_loss"], label="valid")
    ax.set(xlabel="epoch", ylabel="BCE loss", title="loss")
    ax.legend()
    _save(fig, run_dir / "loss.png")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(hist["epoch"], hist["accuracy_multi"], label="accuracy_multi")
    ax.plot(hist["epoch"], hist["macro_auc"], label="macro AUC")
    ax.set(xlabel="epoch", ylim=(0, 1), title="validation metrics")
    ax.legend()
    _save(fig, run_dir / "metrics.png")
