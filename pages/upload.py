"""Upload: review your own WFDB ECG in the same view as a PTB-XL record.

Uploaded files are unpacked by ``signals.read_upload`` into a temporary folder that it removes
before returning; nothing else is written. The review runs at the model's sampling rate (the
rate it reads), so the saliency lines up sample by sample with the trace on the paper.
"""
import hashlib
from dataclasses import replace

import streamlit as st

from ecgviz import signals
from ecgviz.figures import WINDOW_S
from pages import common
from pages.record_view import render_review

ACCEPTED = ("Accepted: a WFDB record, i.e. its `.hea` header with the data file(s) it names "
            "(`.dat`, and e.g. `.xyz`), or a `.zip` holding one or more records; any sampling rate "
            f"from {signals.FS_RANGE[0]:g} to {signals.FS_RANGE[1]:g} Hz, at least "
            f"{signals.MIN_SECONDS:g} s, the 12 standard leads (other leads are dropped), units mV, "
            f"uV or V; at most {signals.MAX_UPLOAD_BYTES // 2**20} MB in all.")

st.title("Upload an ECG")
st.caption(ACCEPTED)
uploads = st.file_uploader("WFDB files (.hea + .dat, or .zip)", accept_multiple_files=True,
                           key="upload_files", max_upload_size=signals.MAX_UPLOAD_BYTES // 2**20)
if not uploads:
    st.info("Upload a record to review it: the ECG on paper, the model's probabilities and "
            "its saliency, with downloads.", icon="📤")
    st.stop()

files = {f.name: f.getvalue() for f in uploads}
try:
    found = signals.read_upload(files)
except signals.InvalidRecordError as exc:
    st.error(f"Upload refused: {exc}", icon="🚫")
    st.stop()
except Exception as exc:  # a malformed file must never show a traceback
    st.error(f"Upload could not be read ({type(exc).__name__}: {exc}). {ACCEPTED}", icon="🚫")
    st.stop()

good = {name: r for name, r in found.items() if isinstance(r, signals.ECGRecord)}
for name, problem in found.items():
    if not isinstance(problem, signals.ECGRecord):
        st.error(f"**{name}** cannot be used: {problem}", icon="🚫")
if not good:
    st.stop()
if len(found) > 1:
    st.caption(f"{len(found)} records in the upload, {len(good)} usable.")
name = st.selectbox("Record", list(good), key="upload_record") if len(good) > 1 else next(iter(good))
record = good[name]

st.subheader(name)
st.caption(f"{record.fs:g} Hz · {record.duration:.2f} s · {record.signal.shape[0]:,} samples · "
           f"{len(record.leads)} leads")
for note in record.notes:
    st.info(note, icon="ℹ️")
comments = [c for c in record.meta.get("comments", []) if c.strip()]
if comments:
    with st.expander(f"Header comments ({len(comments)} lines)"):
        st.text("\n".join(comments))

model, error = common.predictor()
fs = float(model.card.fs) if model is not None else record.fs
if fs != record.fs:
    st.caption(f"Reviewed at {fs:g} Hz, the model's rate (resampled from {record.fs:g} Hz), so "
               "the paper shows exactly what the model reads and the saliency lines up with it.")
at_rate = record.resampled(fs)
start = 0.0
if record.duration >= WINDOW_S + 0.1:
    start = st.slider("Start of the 10 s to review (s)", 0.0, round(record.duration - WINDOW_S, 1),
                      0.0, step=0.1, key=f"upload_start_{name}")
elif record.duration < WINDOW_S:
    st.warning(f"This record is {record.duration:.2f} s long, shorter than the 10 s PTB-XL "
               f"records: the paper shows {record.duration:.2f} s and the model reads all of it "
               "in overlapping 2.5 s windows (no padding).", icon="⏱️")
review = at_rate.segment(start, WINDOW_S)
if record.duration > WINDOW_S:   # downloads say which part of the record they hold
    review = replace(review, name=f"{name}_{start:g}-{start + review.duration:g}s")
render_review(review, key=f"upload_{hashlib.sha1(name.encode()).hexdigest()[:12]}")
