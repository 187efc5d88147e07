"""Patient-level folds: both knees together, every image in one fold, the same folds every run."""

from pathlib import Path

import numpy as np
import pytest

from kneegrade_ml.data.folders import Sample
from kneegrade_ml.data.folds import (
    Fold,
    fold_numbers,
    in_fold,
    patient_id,
    without_fold,
)


def knees(patients: int = 60) -> list[Sample]:
    """Both knees of ``patients`` people, graded within one grade of each other."""
    rng = np.random.default_rng(1)
    samples = []
    for number in range(patients):
        grade = int(rng.integers(0, 5))
        other = int(np.clip(grade + rng.integers(-1, 2), 0, 4))
        samples.append(Sample(Path(f"{grade}/{9000000 + number}L.png"), grade))
        samples.append(Sample(Path(f"{other}/{9000000 + number}R.png"), other))
    return sorted(samples, key=lambda s: (s.grade, s.path.name))


def test_both_knees_of_a_patient_share_a_fold():
    samples = knees()
    numbers = fold_numbers(samples, 3)
    fold_of: dict[str, set[int]] = {}
    for sample, number in zip(samples, numbers, strict=True):
        fold_of.setdefault(patient_id(sample), set()).add(int(number))
    assert len(fold_of) == 60
    assert all(len(folds) == 1 for folds in fold_of.values())
    assert set(numbers) == {0, 1, 2}


def test_folds_partition_the_split_and_repeat_exactly():
    samples = knees()
    masks = [in_fold(samples, Fold(k, 2)) for k in range(2)]
    assert (masks[0] ^ masks[1]).all()
    assert np.array_equal(fold_numbers(samples, 2), fold_numbers(samples, 2))
    kept = without_fold(samples, Fold(0, 2))
    assert kept == [s for s, held in zip(samples, masks[0], strict=True) if not held]
    grades = np.array([s.grade for s in samples])
    for mask in masks:  # stratified: every grade in both halves
        assert set(grades[mask]) == set(grades)


@pytest.mark.parametrize("text", ["2/2", "0/1", "-1/3", "a/2", "1"])
def test_a_fold_must_be_k_of_n(text):
    with pytest.raises(ValueError, match="fold"):
        Fold.parse(text)
    assert str(Fold.parse("1/3")) == "1/3"
