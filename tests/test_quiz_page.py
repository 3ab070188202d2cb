"""AppTest of pages/quiz.py on the bundled PTB-XL sample, with and without the shipped model."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ecgviz import ptbxl, quiz
from page_figures import page_figures

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "quiz.py")
CLASSES = list(ptbxl.SUPERCLASSES)


@pytest.fixture(scope="module")
def checkpoint(request) -> Path:
    """The shipped checkpoint (``ECGVIZ_TEST_CHECKPOINT`` names another, e.g. before it lands)."""
    override = os.environ.get("ECGVIZ_TEST_CHECKPOINT")
    return Path(override) if override else request.getfixturevalue("shipped_checkpoint")


def start(monkeypatch, tmp_path, ckpt: Path) -> AppTest:
    monkeypatch.delenv("PTBXL_DIR", raising=False)
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(ckpt))
    monkeypatch.setenv("ECGVIZ_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    return at


def current_case(at: AppTest) -> int:
    return at.session_state["quiz"]["seen"][-1]


def answer(at: AppTest, ticks: list[str]) -> AppTest:
    case = current_case(at)
    for c in ticks:
        at.checkbox(key=f"quiz_tick_{case}_{c}").check()
    return next(b for b in at.button if b.label == "Submit answer").click().run()


def has_probability_bars(at: AppTest) -> bool:
    return any('"threshold' in json.dumps(fig["layout"]) for fig in page_figures(at))


def verdict(at: AppTest) -> str:
    """The scored answer (shown as success, warning or error depending on the score)."""
    return next(e.value for e in [*at.success, *at.warning, *at.error] if e.value.startswith("Score"))


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def test_round_with_model(monkeypatch, tmp_path, checkpoint, bundled_index):
    at = start(monkeypatch, tmp_path, checkpoint)
    pool = quiz.case_pool(bundled_index, CLASSES, [ptbxl.TEST_FOLD])
    first = current_case(at)
    assert first == quiz.draw_case(pool, [], 0, "balanced")       # seed 0, balanced, test fold
    assert metric(at, "Cases left") == str(len(pool) - 1)
    # Labels and model hidden: paper only, no statements, no probabilities.
    assert len(page_figures(at)) == 1 and not has_probability_bars(at)
    assert not any("Cardiologists" in m.value for m in at.markdown)
    assert [c.label for c in at.checkbox] == CLASSES

    truth = [c for c in CLASSES if bundled_index.loc[first, c]]
    at = answer(at, truth)
    assert not at.exception
    assert at.success[0].value == verdict(at)
    assert verdict(at).startswith("Score 1.00 (Jaccard index")
    assert metric(at, "Cases answered") == "1" and metric(at, "Mean score") == "1.00"
    assert any(m.value.endswith(bundled_index.loc[first, "superclasses"]) for m in at.markdown)
    assert any(bundled_index.loc[first, "report"] == m.value for m in at.markdown)
    codes = next(d.value for d in at.dataframe if "likelihood %" in d.value.columns)
    assert set(codes["code"]) == set(bundled_index.loc[first, "scp"])
    assert has_probability_bars(at)

    at = next(b for b in at.button if b.label == "Next case").click().run()
    second = current_case(at)
    assert second != first and second == quiz.draw_case(pool, [first], 0, "balanced")
    assert not at.session_state["quiz"]["answered"]
    assert not any(c.value for c in at.checkbox)
    assert not has_probability_bars(at)


def test_wrong_answer_is_scored(monkeypatch, tmp_path, checkpoint, bundled_index):
    at = start(monkeypatch, tmp_path, checkpoint)
    case = current_case(at)
    truth = {c: int(bundled_index.loc[case, c]) for c in CLASSES}
    wrong = [c for c in CLASSES if not truth[c]][:1]
    at = answer(at, wrong)
    expected = quiz.score_answer(case, truth, wrong, CLASSES)
    shown = verdict(at)
    assert at.error[0].value == shown
    assert shown.startswith(f"Score {expected.jaccard:.2f}") and expected.jaccard == 0
    assert f"ticked wrongly {wrong[0]}" in shown
    assert metric(at, "Exactly right") == "0/1"


def test_without_model_only_labels_are_revealed(monkeypatch, tmp_path, bundled_index):
    at = start(monkeypatch, tmp_path, tmp_path / "none" / "model.safetensors")
    at = answer(at, ["NORM"])
    assert not at.exception
    assert "Only the cardiologists' labels are revealed" in at.info[0].value
    assert not has_probability_bars(at)
    assert any(m.value.startswith("**Cardiologists' superclasses:**") for m in at.markdown)


def test_class_mix_fold_and_end_of_the_cases(monkeypatch, tmp_path, bundled_index):
    at = start(monkeypatch, tmp_path, tmp_path / "none" / "model.safetensors")
    at.multiselect(key="quiz_mix").set_value(["HYP"])
    at = at.selectbox(key="quiz_fold").select(9).run()
    pool = quiz.case_pool(bundled_index, ["HYP"], [9])
    assert 0 < len(pool) <= 15
    seen = []
    for _ in range(len(pool)):
        case = current_case(at)
        assert bundled_index.loc[case, "HYP"] == 1 and bundled_index.loc[case, "strat_fold"] == 9
        seen.append(case)
        at = answer(at, ["HYP"])
        assert verdict(at).startswith("Score")
        if len(seen) < len(pool):
            at = next(b for b in at.button if b.label == "Next case").click().run()
    assert sorted(seen) == sorted(pool.index)
    assert any("That was the last of the" in i.value for i in at.info)
    assert not any(b.label == "Next case" for b in at.button)
    assert metric(at, "Cases answered") == str(len(pool))
    table = next(d.value for d in at.dataframe if "jaccard" in d.value.columns)
    assert table["ecg_id"].tolist() == seen
    # Changing the settings starts a new session.
    at = at.radio(key="quiz_draw").set_value("prevalence").run()
    assert metric(at, "Cases answered") == "0"


def test_empty_mix_is_explained(monkeypatch, tmp_path):
    at = start(monkeypatch, tmp_path, tmp_path / "none" / "model.safetensors")
    at = at.multiselect(key="quiz_mix").set_value([]).run()
    assert not at.exception
    assert "No case in this fold" in at.warning[0].value
