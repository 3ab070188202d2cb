"""ecgviz.quiz: case pools from the real bundled index, seeded draws without repeats, scoring."""
from __future__ import annotations

import pytest

from ecgviz import ptbxl, quiz

CLASSES = list(ptbxl.SUPERCLASSES)


def test_pool_of_test_fold_is_the_labelled_test_split(bundled_index):
    pool = quiz.case_pool(bundled_index, CLASSES, [ptbxl.TEST_FOLD])
    assert set(pool.index) == set(ptbxl.split_ids(bundled_index, "test"))
    assert list(pool.columns) == CLASSES
    assert (pool.sum(axis=1) >= 1).all()


def test_pool_of_a_class_mix(bundled_index):
    pool = quiz.case_pool(bundled_index, ["HYP", "CD"], [9, 10])
    assert len(pool) > 0 and list(pool.columns) == ["HYP", "CD"]
    rows = bundled_index.loc[pool.index]
    assert rows["strat_fold"].isin([9, 10]).all()
    assert ((rows["HYP"] == 1) | (rows["CD"] == 1)).all()
    assert quiz.case_pool(bundled_index, [], [10]).empty


@pytest.mark.parametrize("draw", quiz.DRAWS)
def test_draws_cover_the_pool_without_repeats(bundled_index, draw):
    pool = quiz.case_pool(bundled_index, ["MI", "HYP"], [10])
    seen: list[int] = []
    while (case := quiz.draw_case(pool, seen, seed=3, draw=draw)) is not None:
        assert case not in seen
        seen.append(case)
    assert sorted(seen) == sorted(pool.index)


def test_draws_are_seeded(bundled_index):
    pool = quiz.case_pool(bundled_index, CLASSES, [10])

    def sequence(seed, n=8):
        seen: list[int] = []
        for _ in range(n):
            seen.append(quiz.draw_case(pool, seen, seed))
        return seen

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)
    with pytest.raises(ValueError, match="unknown draw"):
        quiz.draw_case(pool, [], 0, draw="weighted")


def test_balanced_draw_brings_up_rare_classes(bundled_index):
    pool = quiz.case_pool(bundled_index, CLASSES, [10])
    rare = pool.sum().idxmin()

    def share_with_rare(draw):
        firsts = [quiz.draw_case(pool, [], seed, draw) for seed in range(300)]
        return pool.loc[firsts, rare].mean()

    # Balanced: the rare class is picked first with probability 1/5 (and may come with others).
    assert share_with_rare("balanced") >= 0.15
    assert share_with_rare("prevalence") < share_with_rare("balanced")
    assert pool[rare].mean() < 0.15


def test_score_hand_case():
    labels = {"NORM": 0, "MI": 1, "STTC": 1, "CD": 0, "HYP": 0}
    s = quiz.score_answer(5, labels, ["NORM", "MI"], CLASSES)
    assert s.jaccard == pytest.approx(1 / 3)
    assert (s.found, s.missed, s.extra) == (["MI"], ["STTC"], ["NORM"])
    assert s.decisions_right == 3 and not s.exact
    right = quiz.score_answer(6, {"CD": 1}, ["CD"], CLASSES)
    assert right.jaccard == 1.0 and right.exact and right.decisions_right == 5
    wrong = quiz.score_answer(7, {"CD": 1}, [], CLASSES)
    assert wrong.jaccard == 0.0 and wrong.missed == ["CD"]
    assert quiz.score_answer(8, {}, [], CLASSES).jaccard == 1.0
    with pytest.raises(ValueError, match="unknown classes"):
        quiz.score_answer(9, {"CD": 1}, ["AFIB"], CLASSES)


def test_session_summaries():
    scores = [quiz.score_answer(1, {"MI": 1, "STTC": 1}, ["MI"], CLASSES),
              quiz.score_answer(2, {"NORM": 1}, ["NORM"], CLASSES),
              quiz.score_answer(3, {"MI": 1}, ["HYP"], CLASSES)]
    table = quiz.session_table(scores)
    assert table["jaccard"].tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert table["you"].tolist() == ["MI", "NORM", "HYP"]
    assert table["cardiologists"].tolist() == ["MI STTC", "NORM", "MI"]
    assert table["exact"].tolist() == [False, True, False]
    recall = quiz.class_recall(scores, CLASSES)
    assert recall.loc["MI"].tolist() == [2, 1, 0]
    assert recall.loc["HYP"].tolist() == [0, 0, 1]
    assert recall.loc["STTC"].tolist() == [1, 0, 0]


def test_statements_of_a_real_record(bundled_dir, bundled_index):
    table = ptbxl.load_statements(bundled_dir)
    case = next(i for i in bundled_index.index if len(bundled_index.loc[i, "scp"]) >= 3)
    rows = quiz.statements(bundled_index.loc[case, "scp"], table)
    assert set(rows["code"]) == set(bundled_index.loc[case, "scp"])
    assert rows["likelihood %"].is_monotonic_decreasing
    for _, r in rows.iterrows():
        assert r["description"] == table.loc[r["code"], "description"]
        diagnostic = table.loc[r["code"], "diagnostic"] == 1
        assert r["superclass"] == (table.loc[r["code"], "diagnostic_class"] if diagnostic else "")
    # The superclasses named by the statements are the record's labels.
    labelled = {c for c in ptbxl.SUPERCLASSES if bundled_index.loc[case, c]}
    assert set(rows["superclass"]) - {""} == labelled
    assert quiz.statements({"NOPE": 50.0}, table)["description"].tolist() == ["unknown statement"]
