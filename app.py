"""ECG review dashboard: router only (page config, sidebar, navigation)."""
import streamlit as st

from ecgviz import settings
from pages import common, slim_plotly

st.set_page_config(page_title="ECG review", page_icon="🫀", layout="wide")
with st.sidebar:
    slim_plotly.preload()   # first element of every run: the figures' plotly.js loads meanwhile

deep_link = "ecg_id" in st.query_params
pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=not deep_link),
    st.Page("pages/browse.py", title="Browse", icon=":material/search:"),
    st.Page("pages/review.py", title="Review", icon=":material/monitor_heart:", default=deep_link),
    st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:"),
    st.Page("pages/model_report.py", title="Model", icon=":material/analytics:"),
    st.Page("pages/quiz.py", title="Quiz", icon=":material/school:"),
]
if settings.training_allowed():
    pages.append(st.Page("pages/train_page.py", title="Training", icon=":material/model_training:"))
page = st.navigation(pages)

with st.sidebar:
    data = common.dataset()
    st.caption("Data source")
    st.write(("Bundled PTB-XL sample" if data.is_bundled else "PTB-XL folder")
             + f" · {len(data.index):,} records")
    st.caption(str(data.path))
    model, error = common.predictor()
    st.caption("Active model")
    if model is None:
        st.write("none")
        st.caption(error)
    else:
        auc = model.card.metrics.get("test_macro_auc")
        st.write(f"{model.card.arch}" + (f" · test macro AUC {auc:.3f}" if auc is not None else ""))
        st.caption(str(settings.checkpoint_path()))

page.run()
