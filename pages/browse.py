"""Browse: filter the PTB-XL index, pick a record, open it on the Review page (``?ecg_id=N``)."""
import math

import streamlit as st

from ecgviz import ptbxl
from ecgviz.annotations import HEART_AXES
from pages import common

st.title("Browse records")
common.show_data_notice()
data = common.dataset()
index = data.index
statements = ptbxl.load_statements(data.path)["description"].to_dict()

ages = index["age"].dropna()
age_bounds = (int(ages.min()), int(math.ceil(ages.max()))) if len(ages) else (0, 100)
codes = sorted(set().union(*index["scp"]))

row1 = st.columns([3, 2, 2, 3])
classes = row1[0].multiselect("Superclass (any of)", ptbxl.SUPERCLASSES, key="browse_classes")
folds = row1[1].multiselect("Fold", sorted(index["strat_fold"].unique().tolist()), key="browse_folds",
                            help="Folds 1-8 train, 9 validation, 10 test.")
sexes = row1[2].multiselect("Sex", sorted(ptbxl.SEX_NAMES.values()), key="browse_sexes")
age = row1[3].slider("Age", *age_bounds, value=age_bounds, key="browse_age")
row2 = st.columns([3, 3, 2, 4])
scp_codes = row2[0].multiselect("SCP statement (any of)", codes, key="browse_scp",
                                format_func=lambda c: f"{c} · {statements.get(c, '')}")
report = row2[1].text_input("Report contains", key="browse_report",
                            placeholder="e.g. normales ekg, infarkt")
axes = sorted(index["heart_axis"].dropna().unique().tolist())
heart_axes = row2[2].multiselect("Heart axis (any of)", axes, key="browse_axis",
                                 format_func=lambda a: f"{a} · {HEART_AXES[a]}" if a in HEART_AXES
                                 else a)
with row2[3]:
    human = st.checkbox("Human-validated only", key="browse_human")
    clean = st.checkbox("No noise, drift or electrode problems", key="browse_clean")
    pacemaker = st.checkbox("Pacemaker noted", key="browse_pacemaker")
    extra = st.checkbox("Extra beats noted", key="browse_extra")

filters = ptbxl.Filters(
    classes=tuple(classes), folds=tuple(folds), sexes=tuple(sexes),
    age=None if tuple(age) == age_bounds else (float(age[0]), float(age[1])),
    scp_codes=tuple(scp_codes), report=report, human_validated_only=human,
    no_artifacts=clean, pacemaker=pacemaker, heart_axes=tuple(heart_axes), extra_beats=extra,
)
found = ptbxl.apply_filters(index, filters)
st.session_state["browse_ids"] = found.index.tolist()
st.caption(f"{len(found):,} of {len(index):,} records match. Click a row to select it; "
           "click a column header to sort.")

if found.empty:
    st.info("No record matches these filters; remove some to see more.")
    st.stop()

table = found[["age", "sex_name", "strat_fold", "superclasses", "report", "has_500hz"]].assign(
    scp=[", ".join(f"{c} {v:g}" for c, v in s.items()) for s in found["scp"]],
)
event = st.dataframe(
    table[["superclasses", "scp", "age", "sex_name", "strat_fold", "has_500hz", "report"]],
    key=f"browse_table_{hash(filters)}", on_select="rerun",  # new filters clear the selection selection_mode="single-row", height=460,
    width="stretch",
    column_config={
        "_index": st.column_config.NumberColumn("ecg_id", format="%d"),
        "superclasses": "Superclasses",
        "scp": st.column_config.TextColumn("SCP statements (likelihood %)", width="medium"),
        "age": st.column_config.NumberColumn("Age", format="%d"),
        "sex_name": "Sex",
        "strat_fold": st.column_config.NumberColumn("Fold", format="%d"),
        "has_500hz": st.column_config.CheckboxColumn("500 Hz"),
        "report": st.column_config.TextColumn("Report (original language)", width="large"),
    },
)
rows = [r for r in event.selection.rows if r < len(found)]
if rows:
    ecg_id = int(found.index[rows[0]])
    st.page_link("pages/review.py", label=f"Open ecg_id {ecg_id} on the Review page", icon=":material/monitor_heart:",
                 query_params={"ecg_id": ecg_id})
    st.caption(f"Shareable link: `?ecg_id={ecg_id}`")
else:
    st.caption("Select a row to open that record on the Review page.")
