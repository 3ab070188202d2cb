"""AppTest for the router, Home and Browse on the bundled sample and on other PTBXL_DIR folders."""
from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from ecgviz import settings

APP = str(settings.REPO_ROOT / "app.py")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("PTBXL_DIR", raising=False)


def _run(page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest):
    (frame,) = at.dataframe
    return frame.value


def test_home_summary_and_licence(bundled_index):
    at = _run()
    assert at.title[0].value == "ECG review dashboard"
    summary = at.dataframe[0].value
    assert summary.loc["records", "all folds"] == len(bundled_index) == 488
    assert summary.loc["records", "fold 10"] == 66
    assert summary.loc["MI", "all folds"] == int(bundled_index["MI"].sum())
    text = " ".join(m.value for m in at.markdown)
    assert "bundled PTB-XL sample" in text and "Creative Commons Attribution 4.0" in text
    assert "10.1038/s41597-020-0495-6" in text
    assert not at.warning


def test_browse_lists_everything_by_default(bundled_index):
    at = _run("pages/browse.py")
    assert at.title[0].value == "Browse records"
    table = _table(at)
    assert len(table) == 488 and table.index.tolist() == bundled_index.index.tolist()
    assert at.session_state["browse_ids"] == bundled_index.index.tolist()
    assert table.loc[1, "superclasses"] == "NORM" and table.loc[1, "scp"] == "NORM 100, LVOLT 0, SR 0"


def test_filters_narrow_the_table(bundled_index):
    at = _run("pages/browse.py")
    at.multiselect(key="browse_classes").set_value(["MI"]).run()
    table = _table(at)
    assert len(table) == int(bundled_index["MI"].sum()) == 71
    assert table["superclasses"].str.contains("MI").all()
    at.multiselect(key="browse_folds").set_value([10]).run()
    table = _table(at)
    assert 0 < len(table) < 71 and (table["strat_fold"] == 10).all()
    assert at.session_state["browse_ids"] == table.index.tolist()
    at.multiselect(key="browse_classes").set_value([]).run()
    at.multiselect(key="browse_scp").set_value(["IMI"]).run()
    assert set(_table(at).index) <= set(bundled_index.index[bundled_index["scp"].map(lambda s: "IMI" in s)])


def test_age_sex_report_and_quality_filters(bundled_index):
    at = _run("pages/browse.py")
    at.slider(key="browse_age").set_value((20, 30)).run()
    table = _table(at)
    assert 0 < len(table) < 488 and table["age"].between(20, 30).all()
    at.multiselect(key="browse_sexes").set_value(["female"]).run()
    assert (_table(at)["sex_name"] == "female").all()
    at = _run("pages/browse.py")
    at.checkbox(key="browse_pacemaker").check().run()
    assert len(_table(at)) == 5
    at.checkbox(key="browse_pacemaker").uncheck().run()
    at.checkbox(key="browse_clean").check().run()
    assert 0 < len(_table(at)) < 488
    at.text_input(key="browse_report").input("no such report anywhere").run()
    assert not at.dataframe and at.session_state["browse_ids"] == []
    assert "No record matches" in at.info[0].value


def test_deep_link_opens_review():
    at = _run(query={"ecg_id": "1"})
    assert at.query_params["ecg_id"] == "1"
    assert not [t for t in at.title if t.value in ("ECG review dashboard", "Browse records")]


@pytest.mark.parametrize("page", [None, "pages/browse.py"])
def test_missing_ptbxl_dir_shows_notice(monkeypatch, tmp_path, page):
    monkeypatch.setenv("PTBXL_DIR", str(tmp_path / "gone"))
    at = _run(page)
    (warning,) = at.warning
    assert "gone" in warning.value and "bundled PTB-XL sample instead" in warning.value
    if page:
        assert len(_table(at)) == 488


def test_folder_without_records_falls_back(monkeypatch, ptbxl_copy):
    shutil.rmtree(ptbxl_copy / "records100")
    monkeypatch.setenv("PTBXL_DIR", str(ptbxl_copy))
    at = _run("pages/browse.py")
    assert "no record whose 100 Hz files exist" in at.warning[0].value
    assert len(_table(at)) == 488


def test_unrelated_csv_falls_back(monkeypatch, ptbxl_copy):
    db = ptbxl_copy / "ptbxl_database.csv"
    db.write_text(db.read_text().replace("scp_codes", "codes", 1))
    monkeypatch.setenv("PTBXL_DIR", str(ptbxl_copy))
    at = _run()
    assert "lacks the PTB-XL columns scp_codes" in at.warning[0].value
    assert at.dataframe[0].value.loc["records", "all folds"] == 488


def test_other_ptbxl_folder_is_used(monkeypatch, ptbxl_copy):
    monkeypatch.setenv("PTBXL_DIR", str(ptbxl_copy))
    at = _run("pages/browse.py")
    assert len(_table(at)) == 20 and not at.warning
    at = _run()
    assert "PTBXL_DIR" in " ".join(m.value for m in at.markdown)
    assert at.dataframe[0].value.loc["records", "all folds"] == 20
