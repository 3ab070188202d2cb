"""training.score: a PTB-XL folder and a plain folder of WFDB files scored in batches, broken
copies of real records skipped with their reason, rows streamed batch by batch."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgviz.inference import Predictor
from ecgviz.signals import read_ptbxl, read_wfdb
from training import score


@pytest.fixture(scope="module")
def predictor(shipped_checkpoint) -> Predictor:
    return Predictor.from_checkpoint(shipped_checkpoint)


def _break(ptbxl_dir: Path, rel: str, how: str) -> None:
    stem = ptbxl_dir / rel
    if how == "truncated":
        data = stem.with_suffix(".dat").read_bytes()
        stem.with_suffix(".dat").write_bytes(data[:len(data) // 2])
    elif how == "garbage header":
        stem.with_suffix(".hea").write_text("this is not a header\n")
    elif how == "no data file":
        stem.with_suffix(".dat").unlink()


def test_ptbxl_folder_scored_with_bad_records_reported(ptbxl_copy, bundled_index, shipped_checkpoint,
                                                       predictor, capsys):
    rels = bundled_index["filename_lr"].iloc[:20].tolist()
    broken = {rels[3]: "truncated", rels[7]: "garbage header", rels[11]: "no data file"}
    for rel, how in broken.items():
        _break(ptbxl_copy, rel, how)
    out = ptbxl_copy.parent / "preds.csv"
    assert score.main(["--checkpoint", str(shipped_checkpoint), "--data", str(ptbxl_copy),
                       "--out", str(out), "--bs", "4", "--every", "5"]) == 0

    preds = pd.read_csv(out)
    bad = pd.read_csv(out.with_suffix(".bad.csv"))
    assert list(preds.columns) == ["record", "ecg_id", "fs", *predictor.classes]
    assert preds["record"].tolist() == [r for r in rels if r not in broken]
    by_file = dict(zip(bundled_index["filename_lr"], bundled_index.index))
    assert preds["ecg_id"].tolist() == [by_file[r] for r in preds["record"]]
    assert (preds["fs"] == 100).all()
    assert sorted(bad["record"]) == sorted(broken)
    reasons = dict(zip(bad["record"], bad["reason"]))
    assert reasons[rels[3]].startswith("MissingDataError") and "truncated" in reasons[rels[3]]
    assert reasons[rels[7]].startswith("NotWFDBError")
    assert reasons[rels[11]].startswith("MissingDataError") and "not found" in reasons[rels[11]]

    ecg_id = by_file[rels[0]]
    expected = predictor.predict(read_ptbxl(ptbxl_copy, bundled_index.loc[ecg_id]))
    got = preds.loc[0, predictor.classes].to_numpy(float)
    np.testing.assert_allclose(got, expected, atol=2e-6)

    err = capsys.readouterr().err.splitlines()    # not a terminal: a line per 5 records
    progress = [line for line in err if " records, " in line]
    assert [line.split()[0] for line in progress] == ["5/20", "10/20", "15/20", "20/20"]
    assert progress[-1].startswith("20/20 records, 3 skipped")
    assert err[-1].startswith("scored 17 of 20 records") and "skipped 3" in err[-1]


def test_plain_folder_recursive_any_rate(tmp_path, bundled_dir, foreign_dir, shipped_checkpoint,
                                         predictor):
    folder = tmp_path / "uploads"
    (folder / "ward" / "bed2").mkdir(parents=True)
    for src, dst in [(bundled_dir / "records500/00000/00001_hr", folder / "ward" / "a500"),
                     (bundled_dir / "records100/00000/00002_lr", folder / "ward/bed2/b100"),
                     (foreign_dir / "s0010_re", folder / "s0010_re")]:
        for ext in (".hea", ".dat", ".xyz"):
            if src.with_suffix(ext).is_file():
                shutil.copyfile(src.with_suffix(ext), dst.with_suffix(ext))
        hea = dst.with_suffix(".hea")   # the header names its data file after the record
        hea.write_text(hea.read_text().replace(src.name, dst.name))
    (folder / "notes.hea").write_text("")            # an empty header among them
    out = tmp_path / "out" / "preds.csv"
    bad = tmp_path / "bad.csv"
    assert score.main(["--checkpoint", str(shipped_checkpoint), "--data", str(folder),
                       "--out", str(out), "--bad", str(bad)]) == 0
    preds = pd.read_csv(out, keep_default_na=False)
    assert preds["record"].tolist() == ["s0010_re", "ward/a500", "ward/bed2/b100"]
    assert preds["ecg_id"].tolist() == ["", "", ""]
    assert preds["fs"].tolist() == [1000, 500, 100]
    skipped = pd.read_csv(bad)
    assert skipped["record"].tolist() == ["notes"] and "empty" in skipped["reason"][0]
    for i, name in enumerate(preds["record"]):      # each record resampled to the model's rate
        expected = predictor.predict(read_wfdb(folder / name).resampled(predictor.card.fs))
        np.testing.assert_allclose(preds.loc[i, predictor.classes].to_numpy(float), expected,
                                   atol=2e-6)


def test_rows_are_written_batch_by_batch(bundled_dir, predictor):
    sources = score.find_records(bundled_dir)[:10]
    out, bad = io.StringIO(), io.StringIO()
    seen = []

    def watched():
        for n, src in enumerate(sources):
            seen.append((n, out.getvalue().count("\n")))
            yield src

    assert score.score(predictor, watched(), out, bad, bs=3) == (10, 0)
    # Before reading source n, every full batch of 3 before it is already in the CSV (+ header).
    assert all(lines == 1 + (n // 3) * 3 for n, lines in seen)
    assert out.getvalue().count("\n") == 11
