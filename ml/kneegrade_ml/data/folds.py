"""Patient-level folds of a training split, for teachers that must not have seen what they grade.

Both knees of one person (``9003126L.png``, ``9003126R.png``, the naming of the OAI-derived sets)
stay in one fold, so a teacher never grades the other knee of someone it trained on. Folds are
stratified by grade and drawn from a fixed seed: every run that names fold K of N, whatever its
own seed, holds out the same images.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from kneegrade_ml.data.folders import Sample

FOLD_SEED = 0
_KNEE_SIDE = re.compile(r"[LR]$")


@dataclass(frozen=True)
class Fold:
    """Fold ``index`` (0-based) of ``of`` patient-level folds."""

    index: int
    of: int

    def __post_init__(self) -> None:
        if self.of < 2 or not 0 <= self.index < self.of:
            raise ValueError(f"fold {self.index}/{self.of}: need 0 <= K < N and N >= 2")

    @classmethod
    def parse(cls, text: str) -> "Fold":
        """``"K/N"``, as the command line writes it."""
        index, _, of = text.partition("/")
        try:
            return cls(int(index), int(of))
        except ValueError as err:
            raise ValueError(f"{text!r} is not a fold K/N (e.g. 0/2): {err}") from err

    def __str__(self) -> str:
        return f"{self.index}/{self.of}"


def patient_id(sample: Sample) -> str:
    """The file name without its extension and knee side."""
    return _KNEE_SIDE.sub("", sample.path.stem)


def fold_numbers(samples: Sequence[Sample], folds: int) -> np.ndarray:
    """Which of ``folds`` patient-level, grade-stratified folds each sample falls in."""
    grades = np.array([s.grade for s in samples])
    groups = [patient_id(s) for s in samples]
    splitter = StratifiedGroupKFold(
        n_splits=folds, shuffle=True, random_state=FOLD_SEED
    )
    numbers = np.empty(len(samples), dtype=int)
    for number, (_, held) in enumerate(splitter.split(grades, grades, groups)):
        numbers[held] = number
    return numbers


def in_fold(samples: Sequence[Sample], fold: Fold) -> np.ndarray:
    """A mask of the samples in ``fold``."""
    return fold_numbers(samples, fold.of) == fold.index


def without_fold(samples: Sequence[Sample], fold: Fold) -> list[Sample]:
    """The samples outside ``fold``: what a model holding it out trains on."""
    return _selected(samples, fold, inside=False)


def within_fold(samples: Sequence[Sample], fold: Fold) -> list[Sample]:
    """The samples in ``fold``: what a point of a learning curve trains on."""
    return _selected(samples, fold, inside=True)


def _selected(samples: Sequence[Sample], fold: Fold, inside: bool) -> list[Sample]:
    mask = in_fold(samples, fold)
    return [s for s, held in zip(samples, mask, strict=True) if held == inside]
