"""Cut points on the expected grade fitted to maximise QWK, the decoding graded-severity
contests use. They are fitted on labels, so they are only ever scored cross-fitted: each image
is decoded by cut points fitted on the other folds, never on itself."""

import numpy as np
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import StratifiedKFold

from kneegrade_ml.evaluation.metrics import mean_grades
from kneegrade_ml.grades import GRADES

ROUNDING = np.arange(len(GRADES) - 1) + 0.5
"""Plain rounding's cut points (0.5 .. 3.5), where the fit starts (``expected_grades``)."""
GRID = np.round(np.arange(0.05, len(GRADES) - 1, 0.05), 2)
"""Where a fitted cut may sit: every 0.05 of a grade."""
SWEEPS = 3
"""Passes over the four cuts; each pass can only keep or raise the score."""


def threshold_grades(expected: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """The grade of each expected grade: how many of the (ascending) cut points lie below it."""
    return np.searchsorted(cuts, expected)


def fit_cuts(expected: np.ndarray, grades: np.ndarray) -> np.ndarray:
    """The cut points that maximise QWK on these images. The score is a step function, so no
    gradient to follow: each cut in turn moves to the best grid point between its neighbours,
    over a few sweeps, starting from plain rounding."""
    cuts = ROUNDING.copy()
    for _ in range(SWEEPS):
        for k in range(len(cuts)):
            low = cuts[k - 1] if k else 0.0
            high = cuts[k + 1] if k + 1 < len(cuts) else len(GRADES) - 1.0
            candidates = GRID[(GRID > low) & (GRID < high)]
            scores = [
                cohen_kappa_score(
                    grades,
                    threshold_grades(expected, np.r_[cuts[:k], cut, cuts[k + 1 :]]),
                    weights="quadratic",
                )
                for cut in candidates
            ]
            cuts[k] = candidates[int(np.argmax(scores))]
    return cuts


def cross_fitted_threshold_grades(
    probabilities: np.ndarray, grades: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Each image's grade by cut points fitted on the other folds (stratified by grade)."""
    expected = mean_grades(probabilities)
    grades = np.asarray(grades)
    decoded = np.empty(len(grades), dtype=int)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for fitted, scored in splitter.split(expected, grades):
        cuts = fit_cuts(expected[fitted], grades[fitted])
        decoded[scored] = threshold_grades(expected[scored], cuts)
    return decoded
