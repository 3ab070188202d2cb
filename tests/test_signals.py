"""signals: real records against wfdb, and every bad-input case built from edited copies of real files."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgviz import signals
from ecgviz.signals import (LEADS, LeadError, MissingDataError, NotWFDBError, SignalError,
                            UnsafeUploadError, read_ptbxl, read_upload, read_wfdb)

REC1_LR = "records100/00000/00001_lr"
REC1_HR = "records500/00000/00001_hr"
REC2_LR = "records100/00000/00002_lr"
# Initial values of ecg_id 1 at 100 Hz, from its header (adu, 1000 adu/mV).
REC1_FIRST_ROW_MV = np.array([-119, -55, 64, 86, -91, 4, -69, -31, 0, -26, -39, -79]) / 1000


def _header_lines(stem: Path) -> list[str]:
    return stem.with_suffix(".hea").read_text().splitlines()


def _write_header(stem: Path, lines: list[str]) -> None:
    stem.with_suffix(".hea").write_text("\n".join(lines) + "\n")


def _samples(stem: Path) -> np.ndarray:
    """Stored (T, n) int16 samples of a one-file format-16 record."""
    n_sig = int(_header_lines(stem)[0].split()[1])
    return np.fromfile(stem.with_suffix(".dat"), "<i2").reshape(-1, n_sig)


def _rewrite(stem: Path, data: np.ndarray, keep: list[int] | None = None) -> None:
    """Store edited samples and a consistent header (count, length, initial values, checksums).

    The edit then tests exactly one defect, not a checksum mismatch as a side effect.
    """
    lines = _header_lines(stem)
    first = lines[0].split()
    sig_lines = [lines[1 + j] for j in (keep if keep is not None else range(int(first[1])))]
    first[1], first[3] = str(data.shape[1]), str(data.shape[0])
    out = [" ".join(first)]
    for j, line in enumerate(sig_lines):
        f = line.split()
        total = int(data[:, j].astype(np.int64).sum())
        f[5], f[6] = str(int(data[0, j])), str((total + 32768) % 65536 - 32768)
        out.append(" ".join(f))
    stem.with_suffix(".dat").write_bytes(np.ascontiguousarray(data, "<i2").tobytes())
    _write_header(stem, out + lines[1 + int(lines[0].split()[1]):])


def _files(stem: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in stem.parent.iterdir() if p.stem == stem.name}


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- real records -----------------------------------------------------------------------------

def test_ecg1_100hz_matches_wfdb(bundled_dir, bundled_index):
    rec = read_ptbxl(bundled_dir, bundled_index.loc[1], fs=100)
    ref, fields = wfdb.rdsamp(str(bundled_dir / REC1_LR))
    assert rec.signal.shape == (1000, 12) and rec.signal.dtype == np.float32
    assert rec.fs == 100 == fields["fs"] and rec.duration == pytest.approx(10.0)
    assert rec.leads == LEADS and [s.upper() for s in fields["sig_name"]] == [s.upper() for s in LEADS]
    np.testing.assert_allclose(rec.signal[0], REC1_FIRST_ROW_MV, atol=1e-6)
    np.testing.assert_allclose(rec.signal[:50], ref[:50], atol=1e-6)
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)
    assert rec.ecg_id == 1 and rec.labels == {"NORM": 1, "MI": 0, "STTC": 0, "CD": 0, "HYP": 0}
    assert rec.meta["strat_fold"] == 3 and rec.notes == ()


def test_ecg1_500hz_matches_wfdb(bundled_dir, bundled_index):
    rec = read_ptbxl(bundled_dir, bundled_index.loc[1], fs=500)
    ref, fields = wfdb.rdsamp(str(bundled_dir / REC1_HR))
    assert rec.signal.shape == (5000, 12) and rec.fs == 500 == fields["fs"]
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)


def test_read_ptbxl_rejects_other_rates(bundled_dir, bundled_index):
    with pytest.raises(SignalError, match="100 and 500 Hz"):
        read_ptbxl(bundled_dir, bundled_index.loc[1], fs=250)


def test_resampled_500hz_close_to_the_100hz_file(bundled_dir, bundled_index):
    hr = read_ptbxl(bundled_dir, bundled_index.loc[1], fs=500)
    lr = read_ptbxl(bundled_dir, bundled_index.loc[1], fs=100)
    down = hr.resampled(100)
    assert down.signal.shape == lr.signal.shape and down.fs == 100.0
    for lead in range(12):
        assert np.corrcoef(down.signal[:, lead], lr.signal[:, lead])[0, 1] > 0.95
    assert hr.resampled(500) is hr
    assert signals.resample(lr.signal, 100, 250).shape == (2500, 12)


def test_segment_and_standardize(bundled_dir, bundled_index):
    rec = read_ptbxl(bundled_dir, bundled_index.loc[1], fs=100)
    seg = rec.segment(2.0, 2.5)
    assert seg.signal.shape == (250, 12) and seg.meta["segment_start_s"] == 2.0
    np.testing.assert_array_equal(seg.signal, rec.signal[200:450])
    mean, std = signals.fit_standardizer(rec.signal)
    z = signals.standardize(rec.signal, mean, std)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)


def test_foreign_15_lead_1000hz_reads_to_12_leads(foreign_dir):
    rec = read_wfdb(foreign_dir / "s0010_re")
    ref, fields = wfdb.rdsamp(str(foreign_dir / "s0010_re"))
    assert fields["n_sig"] == 15 and fields["fs"] == 1000
    assert rec.signal.shape == (38400, 12) and rec.fs == 1000.0
    np.testing.assert_allclose(rec.signal, ref[:, :12], atol=1e-6)  # i..v6 come first, in order
    assert any("vx, vy, vz" in note for note in rec.notes)


def test_foreign_record_uploaded_as_files_and_as_zip(foreign_dir):
    files = {p.name: p.read_bytes() for p in foreign_dir.glob("s0010_re.*")}
    rec = read_upload(files)["s0010_re"]
    assert rec.signal.shape == (38400, 12)
    zipped = read_upload({"patient001.zip": _zip({f"patient001/{n}": b for n, b in files.items()})})
    np.testing.assert_array_equal(zipped["patient001/s0010_re"].signal, rec.signal)


def test_foreign_upload_without_its_second_data_file(foreign_dir):
    files = {p.name: p.read_bytes() for p in foreign_dir.glob("s0010_re.*") if p.suffix != ".xyz"}
    result = read_upload(files)["s0010_re"]
    assert isinstance(result, MissingDataError) and "s0010_re.xyz" in str(result)


def test_upload_of_a_real_record_equals_reading_it(record_copy):
    stem = record_copy(REC1_LR)
    out = read_upload(_files(stem))
    np.testing.assert_array_equal(out["00001_lr"].signal, read_wfdb(stem).signal)


def test_microvolt_header_is_converted_to_mv(record_copy):
    stem = record_copy(REC1_LR)
    lines = _header_lines(stem)
    _write_header(stem, [lines[0]] + [l.replace("1000.0(0)/mV", "1.0(0)/uV") for l in lines[1:]])
    rec = read_wfdb(stem)
    np.testing.assert_allclose(rec.signal[0], REC1_FIRST_ROW_MV, atol=1e-6)  # -119 uV = -0.119 mV
    assert "Converted units to mV." in rec.notes


def test_isolated_nans_are_filled(record_copy):
    stem = record_copy(REC1_LR)
    data = _samples(stem).copy()
    data[100:103, 4] = -32768  # WFDB's "no value" for format 16
    _rewrite(stem, data)
    rec = read_wfdb(stem)
    assert not np.isnan(rec.signal).any() and any("Filled 3" in n for n in rec.notes)


# --- bad input --------------------------------------------------------------------------------

def test_truncated_dat(record_copy):
    stem = record_copy(REC1_LR)
    dat = stem.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:10_000])
    with pytest.raises(MissingDataError, match="truncated: 10000 bytes"):
        read_wfdb(stem)


def test_missing_dat(record_copy):
    stem = record_copy(REC1_LR)
    stem.with_suffix(".dat").unlink()
    with pytest.raises(MissingDataError, match="not found"):
        read_wfdb(stem)
    result = read_upload({"00001_lr.hea": stem.with_suffix(".hea").read_bytes()})["00001_lr"]
    assert isinstance(result, MissingDataError) and ".dat" in str(result)


def test_empty_dat(record_copy):
    stem = record_copy(REC1_LR)
    stem.with_suffix(".dat").write_bytes(b"")
    with pytest.raises(MissingDataError, match="empty"):
        read_wfdb(stem)


def test_header_shorter_than_data(record_copy):
    stem = record_copy(REC1_LR)
    lines = _header_lines(stem)
    _write_header(stem, [lines[0].replace(" 1000", " 600")] + lines[1:])
    with pytest.raises(MissingDataError, match="do not belong together"):
        read_wfdb(stem)


def test_data_of_another_record(record_copy, bundled_dir):
    stem = record_copy(REC1_LR)
    stem.with_suffix(".dat").write_bytes((bundled_dir / (REC2_LR + ".dat")).read_bytes())
    with pytest.raises(MissingDataError, match="checksum"):
        read_wfdb(stem)


def test_data_file_outside_the_record_folder(record_copy):
    stem = record_copy(REC1_LR)
    lines = _header_lines(stem)
    _write_header(stem, [lines[0]] + [l.replace("00001_lr.dat", "../00001_lr.dat") for l in lines[1:]])
    with pytest.raises(NotWFDBError, match="not a readable WFDB header"):  # wfdb refuses paths
        read_wfdb(stem)


def test_fewer_than_12_leads(record_copy):
    stem = record_copy(REC1_LR)
    _rewrite(stem, _samples(stem)[:, :11], keep=list(range(11)))
    assert wfdb.rdheader(str(stem)).n_sig == 11
    with pytest.raises(LeadError, match="missing V6"):
        read_wfdb(stem)


def test_unknown_lead_names(record_copy):
    stem = record_copy(REC1_LR)
    lines = _header_lines(stem)
    lines[9] = lines[9].replace(" V3", " CH9")
    _write_header(stem, lines)
    with pytest.raises(LeadError, match="missing V3. Unrecognised lead names: CH9") as err:
        read_wfdb(stem)
    assert "Accepted names: I, II" in str(err.value)


def test_lead_names_in_any_case_are_accepted(record_copy):
    stem = record_copy(REC1_LR)
    lines = _header_lines(stem)
    _write_header(stem, [lines[0]] + [l[: l.rindex(" ")] + " " + l.split()[-1].lower() for l in lines[1:]])
    np.testing.assert_allclose(read_wfdb(stem).signal[0], REC1_FIRST_ROW_MV, atol=1e-6)


def test_nan_only_lead(record_copy):
    stem = record_copy(REC1_LR)
    data = _samples(stem).copy()
    data[:, 7] = -32768
    _rewrite(stem, data)
    with pytest.raises(LeadError, match="V2 hold no values"):
        read_wfdb(stem)


def test_too_many_nans(record_copy):
    stem = record_copy(REC1_LR)
    data = _samples(stem).copy()
    data[::2, 0] = -32768
    _rewrite(stem, data)
    with pytest.raises(SignalError, match="50% of the samples of lead I are missing"):
        read_wfdb(stem)


def test_flat_lead(record_copy):
    stem = record_copy(REC1_LR)
    data = _samples(stem).copy()
    data[:, 2] = 17
    _rewrite(stem, data)
    with pytest.raises(LeadError, match="III are flat"):
        read_wfdb(stem)


def test_too_short(record_copy):
    stem = record_copy(REC1_LR)
    _rewrite(stem, _samples(stem)[:200])
    with pytest.raises(SignalError, match="2.00 s long; at least 2.5 s"):
        read_wfdb(stem)


@pytest.mark.parametrize("fs", ["5", "100000"])
def test_absurd_sampling_rate(record_copy, fs):
    stem = record_copy(REC1_HR)
    lines = _header_lines(stem)
    _write_header(stem, [lines[0].replace(" 500 ", f" {fs} ")] + lines[1:])
    with pytest.raises(SignalError, match=f"sampling rate {fs} Hz is outside"):
        read_wfdb(stem)


def test_non_voltage_unit(record_copy):
    stem = record_copy(REC1_LR)
    lines = _header_lines(stem)
    _write_header(stem, [lines[0]] + [l.replace("/mV", "/mmHg") for l in lines[1:]])
    with pytest.raises(SignalError, match="not a voltage"):
        read_wfdb(stem)


def test_not_wfdb(tmp_path, bundled_dir):
    csv = (bundled_dir / "ptbxl_database.csv").read_bytes()
    (tmp_path / "table.hea").write_bytes(csv)
    with pytest.raises(NotWFDBError, match="not a readable WFDB header"):
        read_wfdb(tmp_path / "table")
    with pytest.raises(NotWFDBError, match="no WFDB header"):
        read_upload({"ptbxl_database.csv": csv})
    with pytest.raises(NotWFDBError, match="not a valid zip"):
        read_upload({"record.zip": csv})
    assert isinstance(read_upload({"table.hea": csv})["table"], NotWFDBError)
    with pytest.raises(NotWFDBError, match="no header file"):
        read_wfdb(tmp_path / "absent")


def test_empty_files(tmp_path):
    (tmp_path / "blank.hea").write_bytes(b"")
    with pytest.raises(NotWFDBError, match="empty"):
        read_wfdb(tmp_path / "blank")
    for upload in ({}, {"blank.hea": b""}, {"blank.hea": b"", "blank.dat": b""}):
        with pytest.raises(NotWFDBError, match="empty"):
            read_upload(upload)


def test_oversize_upload(record_copy):
    files = _files(record_copy(REC1_LR))
    size = sum(len(b) for b in files.values())
    with pytest.raises(UnsafeUploadError, match="limit"):
        read_upload(files, max_bytes=size - 1)
    with pytest.raises(UnsafeUploadError, match="limit is 50 MB"):
        read_upload({**files, "padding.dat": bytes(signals.MAX_UPLOAD_BYTES)})
    archive = _zip(files)
    assert len(archive) < size  # the archive itself fits; its content does not
    with pytest.raises(UnsafeUploadError, match="unpacks to more than"):
        read_upload({"r.zip": archive}, max_bytes=len(archive) + 1)


@pytest.mark.parametrize("prefix", ["/tmp/ecgviz-escape/", "../ecgviz-escape/", "a/../../ecgviz-escape/",
                                    "C:/ecgviz-escape/"])
def test_zip_with_unsafe_entries(record_copy, tmp_path, prefix):
    files = _files(record_copy(REC1_LR))
    archive = _zip({"ok/readme.txt": b"x", **{prefix + n: b for n, b in files.items()}})
    with pytest.raises(UnsafeUploadError, match="points outside the archive"):
        read_upload({"r.zip": archive})
    assert not Path("/tmp/ecgviz-escape").exists()
    assert not list(Path(tmp_path).parent.glob("ecgviz-escape"))
