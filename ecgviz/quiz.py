"""Teaching quiz: draw real ECG cases (seeded, no repeats) and score a student's superclasses.

Per-case score: the Jaccard index |ticked ∩ labelled| / |ticked ∪ labelled| of the student's
superclasses against the cardiologists' (1 = exactly right, 0 = nothing in common; both empty
counts as 1). Per-class decisions (present/absent, one per class) are reported beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

import numpy as np
import pandas as pd

SCORE_NAME = "Jaccard index"
CLASS_NAMES = {"NORM": "normal ECG", "MI": "myocardial infarction", "STTC": "ST/T change",
               "CD": "conduction disturbance", "HYP": "hypertrophy"}
DRAWS = ("balanced", "prevalence")   # a class of the mix uniformly first, or records uniformly


def case_pool(index: pd.DataFrame, classes: Sequence[str], folds: Collection[int]) -> pd.DataFrame:
    """Labels (0/1, one column per class in ``classes``) of the records in ``folds`` that have
    at least one of ``classes``; indexed by ecg_id."""
    in_folds = index[index["strat_fold"].isin(list(folds))]
    labels = in_folds[list(classes)].astype(int)
    return labels[labels.to_numpy().any(axis=1)] if len(classes) else labels.iloc[:0]


def draw_case(pool: pd.DataFrame, seen: Collection[int], seed: int,
              draw: str = "balanced") -> int | None:
    """Next case: an ecg_id of ``pool`` not in ``seen``, or ``None`` when all were seen.

    The draw depends only on ``seed``, the pool and the cases seen so far, so a session replays
    with the same seed. ``"balanced"`` first picks a class uniformly among those that still have
    unseen records (rare classes come up as often as common ones); ``"prevalence"`` picks an
    unseen record uniformly (classes come up as often as in the fold).
    """
    if draw not in DRAWS:
        raise ValueError(f"unknown draw {draw!r}; use one of {DRAWS}")
    left = pool[~pool.index.isin(list(seen))]
    if left.empty:
        return None
    rng = np.random.default_rng([seed, len(seen)])
    if draw == "balanced":
        open_classes = [c for c in left.columns if left[c].any()]
        cls = open_classes[rng.integers(len(open_classes))]
        left = left[left[cls] == 1]
    return int(left.index[rng.integers(len(left))])


@dataclass(frozen=True)
class CaseScore:
    """A student's answer to one case against the cardiologists' labels."""

    ecg_id: int
    truth: frozenset[str]
    answer: frozenset[str]
    classes: tuple[str, ...]

    @property
    def jaccard(self) -> float:
        union = self.truth | self.answer
        return len(self.truth & self.answer) / len(union) if union else 1.0

    @property
    def found(self) -> list[str]:
        return [c for c in self.classes if c in self.truth and c in self.answer]

    @property
    def missed(self) -> list[str]:
        return [c for c in self.classes if c in self.truth and c not in self.answer]

    @property
    def extra(self) -> list[str]:
        return [c for c in self.classes if c in self.answer and c not in self.truth]

    @property
    def decisions_right(self) -> int:
        """How many of the per-class present/absent decisions match the labels."""
        return len(self.classes) - len(self.missed) - len(self.extra)

    @property
    def exact(self) -> bool:
        return self.truth == self.answer


def score_answer(ecg_id: int, labels: dict[str, int], answer: Collection[str],
                 classes: Sequence[str]) -> CaseScore:
    """Score the ticked ``answer`` against 0/1 ``labels`` over ``classes``."""
    unknown = set(answer) - set(classes)
    if unknown:
        raise ValueError(f"answer names unknown classes {sorted(unknown)}; classes: {list(classes)}")
    truth = frozenset(c for c in classes if labels.get(c, 0))
    return CaseScore(int(ecg_id), truth, frozenset(answer), tuple(classes))


def statements(scp: dict[str, float], table: pd.DataFrame) -> pd.DataFrame:
    """A record's SCP statements (code -> likelihood) with description and superclass, from
    ``scp_statements.csv`` (``ptbxl.load_statements``); most likely first."""
    rows = [{"code": code, "description": table["description"].get(code, "unknown statement"),
             "superclass": table["diagnostic_class"].get(code) if table["diagnostic"].get(code) == 1
             else "", "likelihood %": likelihood}
            for code, likelihood in scp.items()]
    frame = pd.DataFrame(rows, columns=["code", "description", "superclass", "likelihood %"])
    return frame.fillna({"superclass": ""}).sort_values("likelihood %", ascending=False,
                                                        kind="stable", ignore_index=True)


def session_table(scores: Sequence[CaseScore]) -> pd.DataFrame:
    """One row per answered case: ecg_id, labels, answer, Jaccard, decisions right, exact."""
    return pd.DataFrame({
        "ecg_id": [s.ecg_id for s in scores],
        "cardiologists": [" ".join(c for c in s.classes if c in s.truth) for s in scores],
        "you": [" ".join(c for c in s.classes if c in s.answer) or "(none)" for s in scores],
        "jaccard": [s.jaccard for s in scores],
        "decisions right": [f"{s.decisions_right}/{len(s.classes)}" for s in scores],
        "exact": [s.exact for s in scores],
    })


def class_recall(scores: Sequence[CaseScore], classes: Sequence[str]) -> pd.DataFrame:
    """Per class over the session: cases labelled with it, how many the student found, false ticks."""
    rows = {c: {"labelled": sum(c in s.truth for s in scores),
                "found": sum(c in s.found for s in scores),
                "ticked wrongly": sum(c in s.extra for s in scores)} for c in classes}
    return pd.DataFrame.from_dict(rows, orient="index")
