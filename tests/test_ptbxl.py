"""ptbxl: index of the bundled sample against known values and an independent read of the CSVs."""
from __future__ import annotations

import ast
import csv
import shutil

import numpy as np
import pytest

from ecgviz import ptbxl
from ecgviz.ptbxl import SUPERCLASSES, DatasetError, Filters, apply_filters

# strat_fold -> records of the bundle (also stated in data/ptbxl-sample/ATTRIBUTION.md)
BUNDLE_FOLDS = {1: 56, 2: 50, 3: 32, 4: 42, 5: 46, 6: 33, 7: 43, 8: 42, 9: 78, 10: 66}


def _raw_rows(data_dir) -> dict[int, dict]:
    with open(data_dir / "ptbxl_database.csv", newline="") as fh:
        return {int(float(r["ecg_id"])): r for r in csv.DictReader(fh)}


def test_bundle_size_and_folds(bundled_index):
    assert len(bundled_index) == 488 and bundled_index.index.is_unique
    assert bundled_index["strat_fold"].value_counts().to_dict() == BUNDLE_FOLDS
    assert not set(ptbxl.REMOVED_IN_V103) & set(bundled_index.index)
    assert bundled_index["has_500hz"].sum() == 36 and bundled_index.loc[1, "has_500hz"]
    assert bundled_index.loc[bundled_index["has_500hz"], "strat_fold"].drop(1).eq(10).all()


@pytest.mark.parametrize("ecg_id, expected", [
    (1, {"NORM"}),                # NORM 100
    (8, {"MI"}),                  # IMI 35
    (39, {"MI", "STTC"}),         # IMI 15 counts too: every likelihood counts (benchmark)
    (45, {"CD", "HYP"}),          # IRBBB, RAO/RAE, RVH
    (17, set()),                  # AFLT, AFIB, ABQRS: rhythm/form only, no superclass
])
def test_known_labels(bundled_index, ecg_id, expected):
    row = bundled_index.loc[ecg_id]
    assert {c for c in SUPERCLASSES if row[c] == 1} == expected
    assert row["n_superclasses"] == len(expected)
    assert row["superclasses"] == " ".join(c for c in SUPERCLASSES if c in expected)


def test_known_metadata(bundled_index):
    row = bundled_index.loc[1]
    assert (row["age"], row["sex_name"], row["strat_fold"], row["split"]) == (56.0, "female", 3, "train")
    assert row["scp"] == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}
    assert row["filename_lr"] == "records100/00000/00001_lr"
    assert bundled_index.loc[2, "sex_name"] == "male"
    assert bundled_index.loc[8, "scp"]["IMI"] == 35.0


def test_superclasses_match_scp_statements(bundled_dir, bundled_index):
    """Rebuild every label from the raw CSVs with the csv module and compare."""
    with open(bundled_dir / "scp_statements.csv", newline="") as fh:
        diagnostic = {r[""]: r["diagnostic_class"] for r in csv.DictReader(fh)
                      if r["diagnostic"] and float(r["diagnostic"]) == 1}
    assert set(diagnostic.values()) == set(SUPERCLASSES)
    assert ptbxl.superclass_map(ptbxl.load_statements(bundled_dir)) == diagnostic
    raw = _raw_rows(bundled_dir)
    for ecg_id, row in bundled_index.iterrows():
        codes = ast.literal_eval(raw[ecg_id]["scp_codes"])
        assert row["scp"] == codes
        expected = [int(any(diagnostic.get(c) == cls for c in codes)) for cls in SUPERCLASSES]
        assert row[list(SUPERCLASSES)].tolist() == expected, ecg_id


def test_official_split(bundled_index):
    train, valid, test = (ptbxl.split_ids(bundled_index, s) for s in ptbxl.SPLITS)
    folds = bundled_index["strat_fold"]
    assert set(folds[train]) == set(range(1, 9)) and set(folds[valid]) == {9} and set(folds[test]) == {10}
    unlabeled = bundled_index.index[bundled_index["n_superclasses"] == 0]
    assert len(unlabeled) == 11 and 17 in unlabeled
    assert len(train) + len(valid) + len(test) == 488 - 11
    assert not set(unlabeled) & set(np.concatenate([train, valid, test]))
    with pytest.raises(ValueError, match="unknown split"):
        ptbxl.split_ids(bundled_index, "dev")


def test_label_matrix(bundled_index):
    y = ptbxl.label_matrix(bundled_index, [1, 39, 45])
    assert y.dtype == np.float32 and y.shape == (3, 5)
    np.testing.assert_array_equal(y, [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]])


def test_summary(bundled_index):
    table = ptbxl.summary(bundled_index)
    assert table.loc["records"].drop("all folds").to_dict() == BUNDLE_FOLDS
    assert table.loc["records", "all folds"] == 488
    assert table.loc["NORM", "all folds"] == bundled_index["NORM"].sum() == 293
    assert table.loc["MI", 9] == ((bundled_index["MI"] == 1) & (bundled_index["strat_fold"] == 9)).sum()


@pytest.mark.parametrize("filters, check", [
    (Filters(classes=("MI",)), lambda df: (df["MI"] == 1).all()),
    (Filters(classes=("CD", "HYP")), lambda df: ((df["CD"] + df["HYP"]) > 0).all()),
    (Filters(folds=(9, 10)), lambda df: df["strat_fold"].isin([9, 10]).all()),
    (Filters(age=(20, 30)), lambda df: df["age"].between(20, 30).all()),
    (Filters(sexes=("female",)), lambda df: (df["sex"] == 1).all()),
    (Filters(scp_codes=("IMI",)), lambda df: df["scp"].map(lambda s: "IMI" in s).all()),
    (Filters(report="NORMALES EKG"), lambda df: df["report"].str.contains("normales ekg").all()),
    (Filters(no_artifacts=True), lambda df: (df["static_noise"] == "").all()),
    (Filters(pacemaker=True), lambda df: (df["pacemaker"] != "").all()),
    (Filters(classes=("NORM",), folds=(10,), sexes=("male",)),
     lambda df: ((df["NORM"] == 1) & (df["strat_fold"] == 10) & (df["sex"] == 0)).all()),
])
def test_each_filter_narrows_and_holds(bundled_index, filters, check):
    out = apply_filters(bundled_index, filters)
    assert 0 < len(out) < len(bundled_index)
    assert check(out)


def test_filter_counts(bundled_index):
    assert len(apply_filters(bundled_index, Filters())) == 488
    assert len(apply_filters(bundled_index, Filters(classes=("MI",)))) == 71
    assert len(apply_filters(bundled_index, Filters(folds=(9, 10)))) == 78 + 66
    assert len(apply_filters(bundled_index, Filters(pacemaker=True))) == 5
    assert len(apply_filters(bundled_index, Filters(report="no such report text"))) == 0
    # every bundled record is human-validated, so this filter keeps them all
    assert len(apply_filters(bundled_index, Filters(human_validated_only=True))) == 488


def test_removed_duplicate_ids_are_dropped(ptbxl_copy):
    """Rows 137 (removed in v1.0.3) and 9999 both point at ecg_id 1's files; only 9999 stays."""
    db = ptbxl_copy / "ptbxl_database.csv"
    lines = db.read_text().splitlines(keepends=True)
    row1 = next(line for line in lines[1:] if line.split(",", 1)[0] == "1")
    rest = row1.split(",", 1)[1]
    db.write_text("".join(lines) + f"137,{rest}" + f"9999,{rest}")
    index = ptbxl.load_index(ptbxl_copy)
    assert 137 not in index.index and 9999 in index.index and len(index) == 21


def test_rows_without_files_are_left_out(ptbxl_copy):
    index = ptbxl.load_index(ptbxl_copy)
    assert len(index) == 20 and not index["has_500hz"].any()


def test_dataset_errors(ptbxl_copy, tmp_path):
    with pytest.raises(DatasetError, match="ptbxl_database.csv is missing"):
        ptbxl.load_index(tmp_path / "nowhere")
    shutil.rmtree(ptbxl_copy / "records100")
    with pytest.raises(DatasetError, match="no record whose 100 Hz files exist"):
        ptbxl.load_index(ptbxl_copy)
    (ptbxl_copy / "scp_statements.csv").unlink()
    with pytest.raises(DatasetError, match="scp_statements.csv is missing"):
        ptbxl.load_statements(ptbxl_copy)


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace("filename_lr", "file_lr", 1), "lacks the PTB-XL columns filename_lr"),
    (lambda text: text.replace("ecg_id", "id", 1), "not a readable PTB-XL table"),
    (lambda text: text[:2000].encode("utf-16"), "not a readable PTB-XL table"),
])
def test_malformed_database_csv(ptbxl_copy, edit, message):
    db = ptbxl_copy / "ptbxl_database.csv"
    edited = edit(db.read_text())
    db.write_bytes(edited) if isinstance(edited, bytes) else db.write_text(edited)
    with pytest.raises(DatasetError, match=message):
        ptbxl.load_index(ptbxl_copy)


def test_malformed_statements_csv(ptbxl_copy):
    path = ptbxl_copy / "scp_statements.csv"
    path.write_text(path.read_text().replace("diagnostic_class", "class", 1))
    with pytest.raises(DatasetError, match="lacks the diagnostic and diagnostic_class"):
        ptbxl.load_index(ptbxl_copy)


def test_parse_scp_codes():
    assert ptbxl.parse_scp_codes("{'NORM': 100.0, 'SR': 0.0}") == {"NORM": 100.0, "SR": 0.0}
    assert ptbxl.parse_scp_codes("{'RAO/RAE': 50.0}") == {"RAO/RAE": 50.0}
    assert ptbxl.parse_scp_codes("") == {}
