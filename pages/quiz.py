"""Teaching quiz: a real ECG on paper, labels and model hidden; tick the superclasses, then see
the cardiologists' labels, their report, the model and its saliency; running score per session."""
import pandas as pd
import streamlit as st

from ecgviz import figures, ptbxl, quiz
from ecgviz.signals import InvalidRecordError
from pages import common
from pages.record_view import render_review
from pages.slim_plotly import plotly_chart

CLASSES = list(ptbxl.SUPERCLASSES)
FOLD_NAMES = {ptbxl.VALID_FOLD: "validation", ptbxl.TEST_FOLD: "test"}

st.title("ECG quiz")
common.show_data_notice()
data = common.dataset()
state = st.session_state.setdefault("quiz", {})

with st.expander("Quiz settings", expanded=not state.get("scores")):
    mix = st.multiselect("Draw cases having any of", CLASSES, default=CLASSES, key="quiz_mix",
                         format_func=lambda c: f"{c} ({quiz.CLASS_NAMES[c]})")
    folds = sorted(int(f) for f in data.index["strat_fold"].unique())
    left, mid, right = st.columns(3)
    default_fold = folds.index(ptbxl.TEST_FOLD) if ptbxl.TEST_FOLD in folds else len(folds) - 1
    fold = left.selectbox("Fold", folds, index=default_fold, key="quiz_fold",
                          format_func=lambda f: f"{f} ({FOLD_NAMES.get(f, 'training')})")
    draw = mid.radio("Draw", quiz.DRAWS, key="quiz_draw", horizontal=True,
                     format_func={"balanced": "balanced by class",
                                  "prevalence": "as in the fold"}.get)
    seed = int(right.number_input("Seed", 0, 1_000_000, 0, step=1, key="quiz_seed"))
    st.caption("Balanced draws pick one of the chosen classes at random, then a case having it, so "
               "rare findings come up as often as common ones. The same seed gives the same cases "
               "in the same order; no case comes twice.")

config = (tuple(mix), fold, draw, seed)
if state.get("config") != config:
    state.clear()
    state.update(config=config, seen=[], scores=[], answered=False)
pool = quiz.case_pool(data.index, mix, [fold])
if pool.empty:
    st.warning("No case in this fold has any of the chosen classes: choose more classes or "
               "another fold.", icon="⚠️")
    st.stop()
if not state["seen"]:
    state["seen"].append(quiz.draw_case(pool, [], seed, draw))

scores = state["scores"]
cols = st.columns(4)
cols[0].metric("Cases answered", len(scores))
cols[1].metric(f"Mean score ({quiz.SCORE_NAME})",
               f"{sum(s.jaccard for s in scores) / len(scores):.2f}" if scores else "–")
cols[2].metric("Exactly right", f"{sum(s.exact for s in scores)}/{len(scores)}" if scores else "–")
cols[3].metric("Cases left", len(pool) - len(state["seen"]))

ecg_id = state["seen"][-1]
row = data.index.loc[ecg_id]
try:
    record = common.record(ecg_id)
except InvalidRecordError as exc:
    st.error(f"Case ecg_id {ecg_id} cannot be shown: {exc}")
    st.stop()
age = ("age unknown" if pd.isna(row["age"]) else "age 90 or over" if row["age"] >= 90
       else f"age {row['age']:.0f}")  # PTB-XL stores ages over 89 as 300
st.subheader(f"Case {len(state['seen'])}")
st.caption(f"{age}, {row['sex_name'] or 'sex unknown'} · {record.duration:.0f} s at "
           f"{record.fs:g} Hz · fold {fold}")

if not state["answered"]:
    plotly_chart(figures.ecg_paper(record), key=f"quiz_paper_{ecg_id}",
                 config={"displayModeBar": False})
    with st.form(f"quiz_form_{ecg_id}"):
        st.write("Which diagnostic superclasses do you see? Tick all that apply.")
        boxes = st.columns(len(CLASSES))
        ticked = [c for i, c in enumerate(CLASSES)
                  if boxes[i].checkbox(f"{c}", key=f"quiz_tick_{ecg_id}_{c}",
                                       help=quiz.CLASS_NAMES[c])]
        if st.form_submit_button("Submit answer", type="primary"):
            labels = {c: int(row[c]) for c in CLASSES}
            scores.append(quiz.score_answer(ecg_id, labels, ticked, CLASSES))
            state["answered"] = True
            st.rerun()
else:
    score = scores[-1]
    verdict = st.success if score.exact else (st.warning if score.jaccard > 0 else st.error)
    parts = [f"found {', '.join(score.found)}" if score.found else "",
             f"missed {', '.join(score.missed)}" if score.missed else "",
             f"ticked wrongly {', '.join(score.extra)}" if score.extra else ""]
    verdict(f"Score {score.jaccard:.2f} ({quiz.SCORE_NAME}: classes in both / classes in either) · "
            f"{score.decisions_right} of {len(CLASSES)} present/absent decisions right · "
            + "; ".join(p for p in parts if p))
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Cardiologists' superclasses:** " + (row["superclasses"] or "none"))
        st.dataframe(quiz.statements(row["scp"], common.statements()),
                     hide_index=True, key=f"quiz_statements_{ecg_id}")
        st.caption("Likelihood as given by the cardiologists (0 = not stated, as for rhythm "
                   "statements). Every diagnostic statement counts for its superclass.")
    with right:
        st.markdown("**Report**")
        st.write(row["report"] or "(no report)")
    model, error = common.predictor()
    if model is None:
        st.info(f"{error} Only the cardiologists' labels are revealed.", icon="ℹ️")
        plotly_chart(figures.ecg_paper(record), key=f"quiz_paper_{ecg_id}",
                     config={"displayModeBar": False})
    else:
        render_review(record, key=f"quiz_{ecg_id}", default_class=(score.missed + score.found
                                                                   + [None])[0])
    if len(state["seen"]) == len(pool):
        st.info(f"That was the last of the {len(pool)} cases for these settings: change the "
                "classes or fold for more.", icon="🏁")
    elif st.button("Next case", type="primary", key="quiz_next"):
        state["seen"].append(quiz.draw_case(pool, state["seen"], seed, draw))
        state["answered"] = False
        st.rerun()

if scores:
    with st.expander(f"Your answers this session ({len(scores)})"):
        st.dataframe(quiz.session_table(scores), hide_index=True,
                     column_config={"jaccard": st.column_config.NumberColumn(format="%.2f")})
        st.caption("Per class over the session")
        st.dataframe(quiz.class_recall(scores, CLASSES))
