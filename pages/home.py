"""Home: what the tool is, the dataset in use (records per class and fold), licence and attribution."""
import streamlit as st

from ecgviz import ptbxl
from pages import common

st.title("ECG review dashboard")
st.markdown(
    "Review real 12-lead ECGs from **PTB-XL** on ECG paper, next to what a trained XResNet1D "
    "predicts for the five diagnostic superclasses (**NORM** normal, **MI** myocardial "
    "infarction, **STTC** ST/T change, **CD** conduction disturbance, **HYP** hypertrophy), with "
    "integrated-gradients saliency showing which parts of the trace drove each prediction. "
    "For cardiology teachers, students and ML researchers. Not a medical device."
)
common.show_data_notice()

data = common.dataset()
index = data.index
st.subheader("Data in use")
source = "the bundled PTB-XL sample" if data.is_bundled else "a PTB-XL folder (`PTBXL_DIR`)"
st.markdown(f"Reading {source}: `{data.path}`")
cols = st.columns(4)
cols[0].metric("Records", f"{len(index):,}")
cols[1].metric("Patients", f"{index['patient_id'].nunique():,}")
cols[2].metric("With 500 Hz files", f"{int(index['has_500hz'].sum()):,}")
cols[3].metric("No superclass", f"{int((index['n_superclasses'] == 0).sum()):,}",
               help="Browseable, but left out of training and evaluation (as in the PTB-XL benchmark).")

st.markdown("**Records per superclass and fold.** Official split: folds 1-8 train, "
            "9 validation, 10 test (patient-stratified by PTB-XL). A record can hold several "
            "superclasses; every diagnostic statement counts, whatever its likelihood.")
table = ptbxl.summary(index)
table.columns = [c if isinstance(c, str) else f"fold {c}" for c in table.columns]
st.dataframe(table, width="stretch")

left, right = st.columns(2)
left.page_link("pages/browse.py", label="Browse and filter the records", icon=":material/search:")
right.page_link("pages/upload.py", label="Upload your own WFDB record", icon=":material/upload_file:")

st.subheader("Licence and attribution")
st.markdown(
    "PTB-XL is published on PhysioNet under the "
    "[Creative Commons Attribution 4.0 International licence]"
    "(https://creativecommons.org/licenses/by/4.0/). If you use it, cite:\n\n"
    "- Wagner P, Strodthoff N, Bousseljot R-D, Kreiseler D, Lunze FI, Samek W, Schaeffter T. "
    "*PTB-XL, a large publicly available electrocardiography dataset.* Scientific Data 7, 154 "
    "(2020). https://doi.org/10.1038/s41597-020-0495-6\n"
    "- Wagner P, et al. *PTB-XL (version 1.0.3).* PhysioNet (2022). "
    "https://doi.org/10.13026/kfzx-aw45\n"
    "- Goldberger AL, et al. *PhysioBank, PhysioToolkit, and PhysioNet.* Circulation "
    "101(23):e215-e220 (2000).\n\n"
    "The bundled sample is an unmodified subset (488 records at 100 Hz, 36 of them also at "
    "500 Hz); see `data/ptbxl-sample/ATTRIBUTION.md`."
)
