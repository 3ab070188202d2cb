"""Review one PTB-XL record: ``?ecg_id=N`` (``&cls=MI`` preselects the saliency class), prev/next
through the Browse filter result, metadata, report, SCP statements, then the review view."""
import pandas as pd
import streamlit as st

from ecgviz.signals import InvalidRecordError
from pages import common
from pages.record_extras import render_fields, render_vcg
from pages.record_view import render_review

META_FIELDS = (("age", "Age", "{:.0f}"), ("sex_name", "Sex", "{}"), ("site", "Site", "{:.0f}"),
               ("strat_fold", "Fold", "{:.0f}"))


def _go_to(ecg_id: int) -> None:
    st.query_params["ecg_id"] = str(ecg_id)
    st.session_state["review_pick"] = ecg_id


def _picked() -> None:
    st.query_params["ecg_id"] = str(st.session_state["review_pick"])


def _fmt(row: pd.Series, field: str, fmt: str) -> str:
    value = row.get(field)
    return "–" if value is None or pd.isna(value) or value == "" else fmt.format(value)


common.show_data_notice()
index = common.dataset().index
browse = [i for i in st.session_state.get("browse_ids") or [] if i in index.index]
ids = browse or index.index.tolist()

raw = st.query_params.get("ecg_id")
try:
    ecg_id = int(raw) if raw is not None else int(ids[0])
except ValueError:
    st.error(f"`ecg_id={raw}` is not a number; showing ecg_id {ids[0]} instead.", icon="🚫")
    ecg_id = int(ids[0])
if ecg_id not in index.index:
    st.error(f"ecg_id {ecg_id} is not in the dataset in use; showing ecg_id {ids[0]} instead.",
             icon="🚫")
    ecg_id = int(ids[0])
row = index.loc[ecg_id]

pos = ids.index(ecg_id) if ecg_id in ids else None
nav = st.columns([1, 1, 2, 4, 2], vertical_alignment="bottom")
nav[0].button("◀ Prev", key="review_prev", width="stretch", disabled=not pos,
              on_click=_go_to, args=(ids[pos - 1] if pos else ecg_id,))
nav[1].button("Next ▶", key="review_next", width="stretch",
              disabled=pos is None or pos >= len(ids) - 1,
              on_click=_go_to, args=(ids[pos + 1] if pos is not None and pos < len(ids) - 1 else ecg_id,))
if st.session_state.get("review_pick") != ecg_id:
    st.session_state["review_pick"] = ecg_id
nav[2].number_input("ecg_id", min_value=1, step=1, key="review_pick", on_change=_picked)
scope = "Browse filter" if browse else "dataset"
nav[3].caption(f"Record {pos + 1:,} of {len(ids):,} in the {scope}" if pos is not None
               else f"Not in the current Browse filter ({len(ids):,} records).")
rates = [100, 500] if row["has_500hz"] else [100]
fs = nav[4].segmented_control("Sampling rate (Hz)", rates, default=100, required=True,
                              key="review_fs", help=None if row["has_500hz"] else
                              "Only the 100 Hz files of this record are available.")
fs = fs if fs in rates else 100

classes = row["superclasses"] or "no superclass"
st.subheader(f"ecg_id {ecg_id} · {classes}")
st.caption(" · ".join(f"{label} {_fmt(row, f, fmt)}" for f, label, fmt in META_FIELDS))
render_fields(row)
if row["report"]:
    st.markdown(f"> {row['report']}")

try:
    record = common.record(ecg_id, fs)
except (KeyError, InvalidRecordError) as exc:
    st.error(f"This record cannot be shown: {exc}", icon="🚫")
    st.stop()

shown = render_review(record, key="review", default_class=st.query_params.get("cls"))
if shown is not None:
    st.query_params["cls"] = shown
render_vcg(record, key="review")

st.markdown("**Cardiologists' SCP statements**")
statements = common.statements()
scp = pd.DataFrame(
    [(code, lik, *(statements.loc[code, ["description", "diagnostic_class", "Statement Category"]]
                   if code in statements.index else ("(not in scp_statements.csv)", "", "")))
     for code, lik in row["scp"].items()],
    columns=["code", "likelihood", "description", "superclass", "category"]).fillna("")
st.dataframe(scp, hide_index=True, width="stretch", column_config={
    "likelihood": st.column_config.ProgressColumn("Likelihood (%)", min_value=0, max_value=100,
                                                  format="%.0f"),
})
st.caption("Likelihood as given by the cardiologists (0 = not stated). Every diagnostic statement "
           "counts towards its superclass whatever its likelihood, as in the PTB-XL benchmark.")

if pos is not None and pos < len(ids) - 1:    # last: "Next" then opens from the cache
    following = int(ids[pos + 1])
    common.prefetch(following, fs if index.loc[following, "has_500hz"] else 100)
