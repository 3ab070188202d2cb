"""AppTest of pages/upload.py with real uploads: bundled PTB-XL records (100 and 500 Hz), the
15-lead 1000 Hz PTB Diagnostic record, several records in a zip, and broken copies made in tmp."""
from __future__ import annotations

import base64
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb
from streamlit.testing.v1 import AppTest

from ecgviz import signals
from ecgviz.inference import Predictor
from page_figures import page_figures

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "upload.py")
LR = "records100/00000/00001_lr"
HR = "records500/00000/00001_hr"


@pytest.fixture(scope="module")
def checkpoint(request) -> Path:
    """The shipped checkpoint (``ECGVIZ_TEST_CHECKPOINT`` names another, e.g. before it lands)."""
    override = os.environ.get("ECGVIZ_TEST_CHECKPOINT")
    return Path(override) if override else request.getfixturevalue("shipped_checkpoint")


@pytest.fixture()
def app(monkeypatch, tmp_path, checkpoint) -> AppTest:
    """The page on the checkpoint under test, with uploads unpacked under ``tmp_path/tmp``."""
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(tmp_path / "runs"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # documented tempfile setting
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception and "Upload a record" in at.info[0].value
    return at


def record_files(stem: Path) -> dict[str, bytes]:
    """A WFDB record's header and every data file it names, as uploaded files."""
    names = {stem.name + ".hea", *wfdb.rdheader(str(stem)).file_name}
    return {n: (stem.parent / n).read_bytes() for n in sorted(names)}


def written(tmp: Path, name: str, sig: np.ndarray, fs: float = 100,
            leads: tuple[str, ...] = signals.LEADS) -> dict[str, bytes]:
    """A new 16-bit WFDB record of ``sig`` (mV, NaN allowed), as uploaded files."""
    n = sig.shape[1]
    wfdb.wrsamp(name, fs=fs, units=["mV"] * n, sig_name=list(leads), p_signal=sig.astype(float),
                fmt=["16"] * n, adc_gain=[1000.0] * n, baseline=[0] * n, write_dir=str(tmp))
    return {f"{name}.hea": (tmp / f"{name}.hea").read_bytes(),
            f"{name}.dat": (tmp / f"{name}.dat").read_bytes()}


def zipped(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    at.file_uploader(key="upload_files").set_value(
        [(n, b, "application/octet-stream") for n, b in files.items()])
    return at.run()


def start_sliders(at: AppTest) -> list:
    return [s for s in at.slider if s.key.startswith("upload_start")]


def _values(v) -> np.ndarray:
    """Plotly JSON arrays: plain lists, or ``{"dtype", "bdata"}`` (base64) for numpy arrays."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def probabilities_shown(at: AppTest) -> dict[str, float]:
    """Class -> probability from the review view's probability bars."""
    for spec in page_figures(at):
        bars = [t for t in spec["data"] if t.get("type") == "bar"]
        if bars and "threshold" in json.dumps(spec["layout"].get("annotations", [])):
            return {y: float(x) for t in bars for x, y in zip(_values(t["x"]), t["y"])}
    raise AssertionError("no probability bars on the page")


def test_bundled_100hz_record(app, bundled_dir, checkpoint):
    at = upload(app, record_files(bundled_dir / LR))
    assert not at.exception and not at.error
    assert at.subheader[0].value == "00001_lr"
    assert any("100 Hz · 10.00 s · 1,000 samples" in c.value for c in at.caption)
    assert not start_sliders(at) and not any("shorter" in w.value for w in at.warning)
    model = Predictor.from_checkpoint(checkpoint)
    expected = model.predict(signals.read_wfdb(bundled_dir / LR))
    shown = probabilities_shown(at)
    assert [shown[c] for c in model.classes] == pytest.approx(expected.tolist(), abs=1e-5)


def test_bundled_500hz_record_is_reviewed_at_the_model_rate(app, bundled_dir, checkpoint):
    at = upload(app, record_files(bundled_dir / HR))
    assert not at.exception and not at.error
    assert any("500 Hz · 10.00 s · 5,000 samples" in c.value for c in at.caption)
    assert any("Reviewed at 100 Hz" in c.value and "from 500 Hz" in c.value for c in at.caption)
    model = Predictor.from_checkpoint(checkpoint)
    expected = model.predict(signals.read_wfdb(bundled_dir / HR).resampled(100))
    shown = probabilities_shown(at)
    assert [shown[c] for c in model.classes] == pytest.approx(expected.tolist(), abs=1e-5)


def test_foreign_15_lead_1000hz_record(app, foreign_dir, checkpoint):
    at = upload(app, record_files(foreign_dir / "s0010_re"))
    assert not at.exception and not at.error
    assert any("dropped vx, vy, vz" in i.value for i in at.info)
    assert any("1000 Hz · 38.40 s · 38,400 samples" in c.value for c in at.caption)
    assert any("Infarction date (acute): 29-Sep-90" in t.value for t in at.text)
    slider = at.slider(key="upload_start_s0010_re")
    assert (slider.min, slider.max, slider.value) == (0.0, 28.4, 0.0)
    first = probabilities_shown(at)
    at = slider.set_value(20.0).run()
    assert not at.exception
    model = Predictor.from_checkpoint(checkpoint)
    rec = signals.read_wfdb(foreign_dir / "s0010_re").resampled(100).segment(20.0, 10.0)
    shown = probabilities_shown(at)
    assert [shown[c] for c in model.classes] == pytest.approx(model.predict(rec).tolist(), abs=1e-5)
    assert shown != first


def test_zip_with_several_records(app, bundled_dir, tmp_path):
    lr, hr = record_files(bundled_dir / LR), record_files(bundled_dir / HR)
    broken = dict(lr)
    broken["00001_lr.dat"] = lr["00001_lr.dat"][:5000]
    entries = {**{f"a/{n}": b for n, b in lr.items()}, **{f"b/{n}": b for n, b in hr.items()},
               **{f"c/{n}": b for n, b in broken.items()}}
    at = upload(app, {"records.zip": zipped(entries)})
    assert not at.exception
    assert at.selectbox(key="upload_record").options == ["a/00001_lr", "b/00001_hr"]
    assert len(at.error) == 1 and "c/00001_lr" in at.error[0].value
    assert "truncated" in at.error[0].value
    assert any("3 records in the upload, 2 usable" in c.value for c in at.caption)
    at = at.selectbox(key="upload_record").select("b/00001_hr").run()
    assert at.subheader[0].value == "b/00001_hr"


def test_short_record_is_reviewed_and_said_so(app, bundled_dir, tmp_path):
    sig = signals.read_wfdb(bundled_dir / LR).signal[:500]
    at = upload(app, written(tmp_path, "short", sig))
    assert not at.exception and not at.error
    assert any("5.00 s long, shorter than the 10 s" in w.value for w in at.warning)
    assert not start_sliders(at)
    probabilities_shown(at)


def _bad_uploads(bundled_dir: Path, tmp: Path) -> list[tuple[str, dict[str, bytes], str]]:
    lr = record_files(bundled_dir / LR)
    sig = signals.read_wfdb(bundled_dir / LR).signal
    nan_lead, many_nan, flat = sig.copy(), sig.copy(), sig.copy()
    nan_lead[:, 3] = np.nan
    flat[:, 5] = 0.25
    many_nan[:300, 3] = np.nan
    return [
        ("not WFDB", {"notes.txt": b"an ECG, honestly"}, "no WFDB header (.hea) found"),
        ("garbage header", {"x.hea": b"\x00\x01 not a header\n"}, "not a readable WFDB header"),
        ("header without data", {"00001_lr.hea": lr["00001_lr.hea"]},
         "names data file 00001_lr.dat, which was not found"),
        ("data under another name", {"00001_lr.hea": lr["00001_lr.hea"],
                                     "other.dat": lr["00001_lr.dat"]}, "which was not found"),
        ("truncated data", {**lr, "00001_lr.dat": lr["00001_lr.dat"][:-100]}, "is truncated"),
        ("empty data file", {**lr, "00001_lr.dat": b""}, "data file 00001_lr.dat is empty"),
        ("empty upload", {"00001_lr.hea": b""}, "the upload is empty"),
        ("11 leads", written(tmp, "eleven", sig[:, :11], leads=signals.LEADS[:11]), "missing V6"),
        ("flat lead", written(tmp, "flat", flat), "lead(s) aVF are flat (constant)"),
        ("NaN lead", written(tmp, "nanlead", nan_lead), "lead(s) aVR hold no values (all NaN)"),
        ("many NaNs", written(tmp, "manynan", many_nan), "30% of the samples of lead aVR"),
        ("too short", written(tmp, "tooshort", sig[:200]), "2.00 s long; at least 2.5 s"),
        ("not a zip", {"x.zip": b"PK but not really"}, "not a valid zip archive"),
        ("zip with ..", {"x.zip": zipped({"../evil.hea": lr["00001_lr.hea"]})},
         "points outside the archive"),
        ("zip with absolute path", {"x.zip": zipped({"/tmp/evil.hea": lr["00001_lr.hea"]})},
         "points outside the archive"),
        ("over the size limit", {**lr, "big.dat": bytes(signals.MAX_UPLOAD_BYTES)},
         "the limit is 50 MB"),
    ]


def test_every_bad_upload_gets_its_message_and_the_page_stays_usable(app, bundled_dir, tmp_path):
    at = app
    for case, files, message in _bad_uploads(bundled_dir, tmp_path):
        at = upload(at, files)
        assert not at.exception, case
        shown = [e.value for e in at.error]
        assert len(shown) == 1 and message in shown[0], (case, shown)
        assert not page_figures(at), case
    at = upload(at, record_files(bundled_dir / LR))
    assert not at.exception and not at.error
    assert at.subheader[0].value == "00001_lr"
    probabilities_shown(at)
    assert list((tmp_path / "tmp").iterdir()) == []   # every upload folder was removed


def test_repaired_nans_are_noted(app, bundled_dir, tmp_path):
    sig = signals.read_wfdb(bundled_dir / LR).signal.copy()
    sig[100:120, 3] = np.nan
    at = upload(app, written(tmp_path, "fewnan", sig))
    assert not at.exception and not at.error
    assert any("Filled 20 missing (NaN) samples" in i.value for i in at.info)
