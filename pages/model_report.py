"""Model report: the active model's card, its test-fold results next to the published benchmark,
the training curves of its run, and the test records where it disagrees most with cardiologists."""
import pandas as pd
import streamlit as st

from ecgviz import curves, report, report_figures, settings
from pages import common


def key_values(values: dict) -> pd.DataFrame:
    """A two-column table of a dict (values shown as text)."""
    return pd.DataFrame({"field": list(values), "value": [str(v) for v in values.values()]})


st.title("Model report")
model, error = common.predictor()
if model is None:
    st.warning(f"{error} Train one on the Training page, or put a checkpoint at "
               f"{settings.SHIPPED_CHECKPOINT}.", icon="⚠️")
    st.stop()

card, ckpt = model.card, settings.checkpoint_path()
n_params = sum(p.numel() for p in model.net.parameters())  # all weights (inference freezes them)
run_dir = ckpt.parent
cfg, data = card.train_config, card.data
extras = " + ".join(k.upper() for k, on in card.arch_kwargs.items() if on)
cols = st.columns(4)
cols[0].metric("Architecture", card.arch)
cols[1].metric("Parameters", f"{n_params:,}")
macro = card.metrics.get("test_macro_auc")
cols[2].metric("Test macro AUC", f"{macro:.3f}" if macro is not None else "n/a")
cols[3].metric("Trained", card.created[:10] or "unknown")
st.caption((f"With {extras} · " if extras else "")
           + f"checkpoint {ckpt} · weights sha256 {card.weights_sha256[:16]}…")

tab_card, tab_test, tab_curves, tab_errors = st.tabs(
    ["Model card", "Test fold", "Training curves", "Where the model and cardiologists disagree"])

with tab_card:
    left, right = st.columns(2)
    with left:
        st.subheader("Model")
        st.dataframe(key_values({
            "architecture": card.arch, "options": card.arch_kwargs, "parameters": f"{n_params:,}",
            "classes": ", ".join(card.classes), "sampling rate": f"{card.fs:g} Hz",
            "window / stride": f"{card.window} / {card.stride} samples",
            "aggregation": card.aggregation,
            "leads": ", ".join(card.leads), "created": card.created}), hide_index=True)
        st.subheader("Library versions")
        st.dataframe(key_values(card.versions), hide_index=True)
    with right:
        st.subheader("Training data")
        st.dataframe(key_values({
            "dataset": data.get("dataset", "unknown"), "folder": data.get("folder", "unknown"),
            "records indexed": data.get("records_indexed", "unknown"),
            "records per split": data.get("records_per_split", "unknown"),
            "ecg_ids sha256": data.get("ecg_ids_sha256", "unknown")}), hide_index=True)
        per_fold = data.get("records_per_fold")
        if per_fold:
            st.caption("Records per fold (1-8 train, 9 validation, 10 test): "
                       + " · ".join(f"{fold}: {n}" for fold, n in per_fold.items()))
        st.subheader("Training config")
        st.dataframe(key_values(cfg), hide_index=True)

with tab_test:
    try:
        preds, rep = common.fold_report(run_dir, card.classes)
    except report.RunFilesError as exc:
        preds = rep = None
        st.info(f"No test-fold results to show: {exc}", icon="ℹ️")
    if rep is not None:
        st.subheader("Against the published benchmark")
        st.dataframe(report.comparison_table(rep.aucs, card.arch, rep.n_records), hide_index=True,
                     column_config={"macro AUC": st.column_config.NumberColumn(format="%.3f")})
        st.caption(
            f"Data difference: our test fold is the {rep.n_records} fold-10 records of the dataset "
            f"this model was trained on ({data.get('records_indexed', '?')} records indexed, "
            f"{(data.get('records_per_split') or {}).get('train', '?')} used for training), while "
            "the published rows were trained on folds 1-8 of all 21,799 PTB-XL records and tested "
            "on the whole fold 10 (about 2,200 records). With so few test records the bootstrap "
            "95% intervals are wide: a gap to the published row that lies inside our interval "
            "says nothing either way.")
        st.plotly_chart(report_figures.auc_ci_figure(
            rep.aucs, report.PUBLISHED_MACRO_AUC[report.REFERENCE_MODEL],
            f"{report.REFERENCE_MODEL} (published)"), key="auc_ci")
        st.subheader("Per class")
        table = rep.aucs.join(rep.thresholds, how="left")
        st.dataframe(table, column_config={
            "auc": st.column_config.NumberColumn("AUC", format="%.3f"),
            "ci_low": st.column_config.NumberColumn("95% CI low", format="%.3f"),
            "ci_high": st.column_config.NumberColumn("95% CI high", format="%.3f"),
            "prevalence": st.column_config.NumberColumn(format="%.2f"),
            "threshold": st.column_config.NumberColumn("threshold at max F1", format="%.3f"),
            "f1": st.column_config.NumberColumn("max F1", format="%.3f")})
        st.caption("Bootstrap: 1000 resamples of the test records, percentile 95% interval. "
                   "Confusion counts (tp, fp, fn, tn) are at each class's max-F1 threshold, "
                   "chosen on the test fold itself, so they are optimistic.")
        left, right = st.columns(2)
        left.plotly_chart(report_figures.roc_figure(rep.curves, rep.aucs), key="roc")
        right.plotly_chart(report_figures.pr_figure(rep.curves, rep.thresholds["prevalence"]),
                           key="pr")

with tab_curves:
    logs = report.read_logs(run_dir)
    missing = [f for f in report.LOG_FILES if f not in logs]
    if missing:
        st.info(f"{run_dir} has no {', '.join(missing)}; the curves from them are not shown.",
                icon="ℹ️")
    left, right = st.columns(2)
    if "lr_find.csv" in logs:
        left.plotly_chart(curves.lr_find_figure(logs["lr_find.csv"], cfg.get("suggested_lr")),
                          key="lr_find")
    if "lr_schedule.csv" in logs:
        right.plotly_chart(curves.lr_schedule_figure(logs["lr_schedule.csv"]), key="lr_schedule")
    if "history.csv" in logs:
        left.plotly_chart(curves.loss_figure(logs["history.csv"], logs.get("lr_schedule.csv")),
                          key="loss")
        right.plotly_chart(curves.metrics_figure(logs["history.csv"]), key="metrics")

with tab_errors:
    if preds is None:
        st.info("Needs the test-fold results (see the Test fold tab).", icon="ℹ️")
    else:
        per_class = st.slider("Records per class", 3, 15, 5, key="errors_per_class")
        errors = report.largest_errors(preds, per_class)
        index = common.dataset().index
        known = errors["ecg_id"].isin(index.index)
        errors["review"] = [f"/?ecg_id={i}&cls={c}" if ok else None
                            for i, c, ok in zip(errors["ecg_id"], errors["class"], known)]
        errors["cardiologists"] = [index.loc[i, "superclasses"] if ok else "" for i, ok in
                                   zip(errors["ecg_id"], known)]
        errors["report"] = [index.loc[i, "report"] if ok else "" for i, ok in
                            zip(errors["ecg_id"], known)]
        st.caption("Error = |label − probability| for the class: 'missed' means the cardiologists "
                   "gave the class and the model did not; 'false alarm' the other way round.")
        if not known.all():
            st.caption(f"{int((~known).sum())} of these records are not in the dataset in use "
                       f"({common.dataset().path}), so they have no review link.")
        for c, group in errors.groupby("class", sort=False):
            st.markdown(f"**{c}**")
            st.dataframe(group.drop(columns="class"), hide_index=True, key=f"errors_{c}",
                         column_config={
                             "review": st.column_config.LinkColumn("review", display_text="open"),
                             "probability": st.column_config.ProgressColumn(
                                 format="%.2f", min_value=0.0, max_value=1.0),
                             "error": st.column_config.NumberColumn(format="%.2f")})
