"""Training: start a background fit_one_cycle run, watch lr finder, schedule, losses and metrics
live, then use the new model on every page. Hidden when ``ECGVIZ_ALLOW_TRAINING=0``."""
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from ecgviz import curves, model as models, settings
from ecgviz.ptbxl import DatasetError
from pages import common
from training import jobs

REFRESH_S = 2.0
PHASES = {"starting": "starting Python", "loading": "reading the records",
          "lr_find": "finding a learning rate", "training": "training",
          "evaluating": "evaluating on the test fold"}
STATES = {"finished": ":material/check_circle: finished", "failed": ":material/error: failed",
          "cancelled": ":material/cancel: cancelled", "interrupted": ":material/warning: interrupted"}
METRICS = {"macro_auc": "validation macro AUC", "accuracy_multi": "validation accuracy_multi",
           "valid_loss": "validation loss", "train_loss": "training loss"}


def duration(seconds: float | None) -> str:
    """``"1 min 05 s"`` / ``"45 s"`` / ``"<1 s"`` (``"?"`` when unknown)."""
    if seconds is None or pd.isna(seconds):
        return "?"
    if seconds < 1:
        return "<1 s"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def show_curves(info: jobs.RunInfo, key: str) -> None:
    """The run's lr finder, lr schedule, losses and metrics (whatever exists so far)."""
    c = jobs.curves(info.path)
    top, bottom = st.columns(2), st.columns(2)
    if c.lr_find is not None and len(c.lr_find):
        top[0].plotly_chart(curves.lr_find_figure(c.lr_find, c.suggested_lr), key=f"{key}-lrf")
    else:
        runs_it = info.config.get("lr", "auto") == "auto" or info.config.get("lr_find", False)
        top[0].info("lr finder: its curve appears when it is done." if runs_it
                    else "lr finder: not run (a fixed learning rate was given).",
                    icon=":material/info:")
    if c.schedule is not None and len(c.schedule):
        top[1].plotly_chart(curves.lr_schedule_figure(c.schedule), key=f"{key}-sched")
    else:
        top[1].info("One-cycle learning rate per iteration: appears when training starts.",
                    icon=":material/info:")
    if c.history is not None and len(c.history):
        bottom[0].plotly_chart(curves.loss_figure(c.history, c.schedule), key=f"{key}-loss")
        bottom[1].plotly_chart(curves.metrics_figure(c.history), key=f"{key}-metrics")
    else:
        bottom[0].info("Losses, accuracy and macro AUC: appear after the first epoch.",
                       icon=":material/info:")


@st.fragment(run_every=REFRESH_S)
def live(run: str) -> None:
    """Progress, curves and log of the running job, refreshed every few seconds."""
    info = jobs.status(run)
    if not info.active:
        st.rerun()  # the run ended: redraw the whole page with its results
    epoch = f"epoch {info.epoch}/{info.epochs} · " if info.epochs else ""
    eta = f" · about {duration(info.eta_s)} left" if info.eta_s is not None else ""
    st.progress(info.progress, text=f"{epoch}{PHASES.get(info.state, info.state)}{eta}")
    left, right = st.columns([4, 1])
    left.caption(f"Run `{info.name}` · running {duration(info.seconds)}"
                 + (f" (estimated {duration(info.estimate_s)} in all at start)" if info.estimate_s else "")
                 + ". It keeps going if you leave or reload this page.")
    if right.button("Cancel", key="train_cancel", icon=":material/stop_circle:"):
        with st.spinner("Stopping the run…"):
            try:
                jobs.cancel(run)
            except jobs.JobError as exc:
                st.warning(str(exc))
        st.rerun()
    show_curves(info, "live")
    st.caption("train.log (last lines)")
    st.code(jobs.log_tail(run, 12) or "(no output yet)", language=None)


def data_folder() -> tuple[Path | None, bool]:
    """The data folder chosen in the form and whether it is the bundled sample."""
    options = ["Bundled PTB-XL sample"]
    env_dir = os.environ.get("PTBXL_DIR", "").strip()
    if env_dir:
        options.append(f"PTBXL_DIR ({env_dir})")
    options.append("Another folder")
    choice = st.radio("Data", options, key="train_source", horizontal=True)
    if choice == options[0]:
        return settings.BUNDLED_DATA_DIR, True
    if choice == "Another folder":
        text = st.text_input("PTB-XL folder", key="train_path",
                             placeholder="/data/ptb-xl (with ptbxl_database.csv)").strip()
        return (Path(text).expanduser() if text else None), False
    return Path(env_dir).expanduser(), False


def new_run_form() -> None:
    """Settings, the time estimate, and Start."""
    folder, bundled = data_folder()
    cols = st.columns(3)
    arch = cols[0].selectbox("Architecture", list(models.ARCHS), key="train_arch")
    epochs = cols[1].number_input("Epochs", 1, 200, 10, key="train_epochs")
    bs = cols[2].number_input("Batch size", 1, 1024, 32, key="train_bs")
    cols = st.columns(3)
    lr_auto = cols[0].radio("Learning rate", ["auto (lr finder)", "fixed"], key="train_lr_mode",
                            horizontal=True) == "auto (lr finder)"
    lr = cols[0].number_input("Max learning rate", 0.0001, 1.0, 0.01, step=0.001, format="%.4f",
                              key="train_lr", disabled=lr_auto)
    lr_find = cols[0].checkbox("Run the lr finder anyway (to show its curve)", key="train_lr_find",
                               disabled=lr_auto)
    max_records = cols[1].number_input(
        "Max records per split (0 = all)", 0, 100_000, 400, key="train_max",
        help="A cap on training, validation and test records, drawn at random with the seed: "
             "small numbers make a quick class demo.")
    seed = cols[2].number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
    if folder is None:
        st.info("Type the path of a PTB-XL folder.", icon=":material/info:")
        return
    cfg = jobs.JobConfig(data=str(folder), arch=arch, epochs=int(epochs), bs=int(bs),
                         lr="auto" if lr_auto else f"{lr:g}", lr_find=lr_find and not lr_auto,
                         max_records=int(max_records) or None,
                         seed=int(seed))
    try:
        sizes = jobs.split_sizes(common.index_at(folder), cfg.max_records, cfg.seed)
    except DatasetError as exc:
        st.error(f"That folder cannot be used for training: {exc}", icon=":material/error:")
        return
    est = jobs.estimate(cfg, sizes)
    st.info(f"**About {duration(est.seconds)}** on this machine for {sizes['train']} training, "
            f"{sizes['valid']} validation and {sizes['test']} test records"
            + ("" if bundled else f" from `{folder}`") + ": "
            + (f"lr finder {duration(est.lr_find_s)}, " if est.lr_find_s else "")
            + f"{duration(est.epoch_s)} per epoch, loading and evaluation "
            f"{duration(est.overhead_s + est.evaluate_s)}. Based on {est.basis}.",
            icon=":material/timer:")
    if st.button("Start training", type="primary", key="train_start", icon=":material/play_arrow:"):
        try:
            started = jobs.start(cfg, estimate=est)
        except jobs.JobError as exc:
            st.error(f"Not started: {exc}", icon=":material/block:")
            return
        st.session_state["train_focus"] = started.name  # shown once it has ended
        st.rerun()


def run_results(info: jobs.RunInfo) -> None:
    """A finished run's test AUCs beside the active model's, and "Use this model"."""
    model, _ = common.predictor()
    active = settings.checkpoint_path()
    classes = list(model.card.classes) if model else list(info.metrics.get("test_auc", {}))
    table = jobs.auc_comparison(info.metrics, model.card.metrics if model else {}, classes)
    n_active = model.card.metrics.get("test_records", "?") if model else 0
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(table, column_config={c: st.column_config.NumberColumn(format="%.3f")
                                           for c in table.columns})
        st.caption(f"Test AUC on fold 10: this run on {info.metrics.get('test_records', '?')} "
                   f"records, the active model on {n_active}"
                   + ("" if model else " (no active model)")
                   + ". Different test records: compare with care; small test sets give wide "
                   "intervals.")
    with right:
        is_active = info.checkpoint is not None and info.checkpoint.resolve() == active.resolve()
        if is_active:
            st.success("This run's model is the active model on every page.", icon=":material/check:")
        elif st.button("Use this model", type="primary", key=f"train_use_{info.name}",
                       icon=":material/published_with_changes:"):
            try:
                path = jobs.activate(info.checkpoint)
            except jobs.JobError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.session_state["train_flash"] = f"Every page now uses {path}."
                st.rerun()
        if os.environ.get("ECGVIZ_CHECKPOINT", "").strip():
            st.warning("ECGVIZ_CHECKPOINT is set, so it decides the model in use; the choice made "
                       "here applies once it is unset.", icon=":material/warning:")
        if settings.active_model_file().is_file() and st.button(
                "Back to the shipped model", key=f"train_shipped_{info.name}"):
            jobs.use_shipped_model()
            st.session_state["train_flash"] = "Every page now uses the shipped model."
            st.rerun()


def run_details(info: jobs.RunInfo) -> None:
    """Outcome, results and curves of a run that is not running."""
    cfg = info.config
    st.markdown(f"**{STATES.get(info.state, info.state)}** · {cfg.get('arch', '?')}, "
                f"{info.epoch}/{info.epochs} epochs, batch {cfg.get('bs', '?')}, lr {cfg.get('lr', '?')}, "
                f"max records {cfg.get('max_records') or 'all'} · took {duration(info.seconds)}"
                + (f" (estimated {duration(info.estimate_s)})" if info.estimate_s else ""))
    if info.state in ("failed", "interrupted"):
        st.error(f"The run {info.state}: {info.error or 'no reason recorded'}", icon=":material/error:")
    elif info.state == "cancelled":
        st.warning("The run was cancelled; its files so far are kept.", icon=":material/cancel:")
    if info.state == "finished" and info.checkpoint is not None:
        run_results(info)
    show_curves(info, f"run-{info.name}")
    with st.expander("train.log (last lines)", expanded=info.state in ("failed", "interrupted")):
        st.code(jobs.log_tail(info.name, 30) or "(empty)", language=None)


def runs_table(runs: list[jobs.RunInfo]) -> pd.DataFrame:
    """One row per run: settings, state, best metrics, time taken and estimated."""
    return pd.DataFrame([{
        "run": r.name, "state": r.state, "architecture": r.config.get("arch"),
        "epochs": f"{r.epoch}/{r.epochs}", "batch": r.config.get("bs"), "lr": r.config.get("lr"),
        "max records": r.config.get("max_records") or "all",
        "best valid AUC": r.best_valid_auc, "test macro AUC": r.test_macro_auc,
        "took": duration(r.seconds), "estimated": duration(r.estimate_s),
        "started": (r.started or "")[:19].replace("T", " ")} for r in runs])


def compare(runs: list[jobs.RunInfo]) -> None:
    """Chosen runs' metric per epoch on one chart."""
    with_history = [r.name for r in runs if r.epoch > 0]
    if not with_history:
        return
    left, right = st.columns([3, 1])
    chosen = left.multiselect("Compare runs", with_history, default=with_history[:3],
                              key="train_compare")
    metric = right.selectbox("Metric", list(METRICS), format_func=METRICS.get, key="train_metric")
    histories = {name: jobs.curves(name).history for name in chosen}
    histories = {k: v for k, v in histories.items() if v is not None and len(v)}
    if histories:
        st.plotly_chart(curves.compare_runs_figure(histories, metric), key="train-compare")


st.title("Train a model")
st.markdown("Pick settings and press **Start**: the network trains in the background with "
            "fastai's one-cycle policy on PTB-XL folds 1-8 (fold 9 picks the best epoch, fold 10 "
            "tests it). Watch the learning-rate finder, the schedule, the losses and the metrics "
            "move epoch by epoch, then use the new model on every page.")
flash = st.session_state.pop("train_flash", None)
if flash:
    st.success(flash, icon=":material/check:")

job = jobs.active_job()
if job is None:
    st.subheader("New run")
    with st.container(border=True):
        new_run_form()
else:
    st.subheader("Running now")
    live(job.name)
    with st.expander("Next run (one job at a time: Start works once this run has ended)"):
        new_run_form()

runs = [r for r in jobs.list_runs() if job is None or r.name != job.name]  # the live one is above
if runs:
    st.subheader("Past runs")
    by_name = {r.name: r for r in runs}
    if st.session_state.get("train_focus") in by_name:
        st.session_state["train_run"] = st.session_state.pop("train_focus")
    chosen = st.selectbox("Run", list(by_name), key="train_run",
                          format_func=lambda name: f"{name} ({by_name[name].state})")
    run_details(by_name[chosen])
    st.subheader("Compare runs")
    compare(runs)
    st.dataframe(runs_table(runs), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("best valid AUC", "test macro AUC")})
