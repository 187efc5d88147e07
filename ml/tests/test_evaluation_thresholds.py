"""Fitted cut points: plain rounding where they start, the true cuts recovered, and a
cross-fitted score that cannot learn labels it is scored on."""

import numpy as np
from sklearn.metrics import cohen_kappa_score

from kneegrade_ml.evaluation.metrics import expected_grades
from kneegrade_ml.evaluation.thresholds import (
    ROUNDING,
    cross_fitted_threshold_grades,
    fit_cuts,
    threshold_grades,
)


def probabilities_with_mean(expected: np.ndarray) -> np.ndarray:
    """Rows whose expected grade is ``expected``: the mass split between the two nearest grades."""
    lower = np.minimum(np.floor(expected).astype(int), 3)
    upper_share = expected - lower
    rows = np.zeros((len(expected), 5))
    rows[np.arange(len(expected)), lower] = 1 - upper_share
    rows[np.arange(len(expected)), lower + 1] += upper_share
    return rows


def qwk(truth: np.ndarray, decoded: np.ndarray) -> float:
    return cohen_kappa_score(truth, decoded, weights="quadratic")


def test_rounding_cut_points_decode_as_the_expected_grade() -> None:
    expected = np.random.default_rng(0).uniform(0, 4, 500)
    probabilities = probabilities_with_mean(expected)
    assert np.allclose(probabilities @ np.arange(5), expected)
    decoded = threshold_grades(expected, ROUNDING)
    assert decoded.tolist() == expected_grades(probabilities).tolist()


def test_fitted_cut_points_recover_a_shifted_boundary() -> None:
    expected = np.random.default_rng(1).uniform(0, 4, 1000)
    true_cuts = np.array([0.8, 1.3, 2.6, 3.2])
    grades = threshold_grades(expected, true_cuts)
    assert qwk(grades, threshold_grades(expected, ROUNDING)) < 0.97
    assert np.allclose(fit_cuts(expected, grades), true_cuts)
    decoded = cross_fitted_threshold_grades(probabilities_with_mean(expected), grades)
    assert (decoded == grades).mean() > 0.97


def test_cross_fitting_does_not_learn_labels_unrelated_to_the_model() -> None:
    rng = np.random.default_rng(2)
    expected = rng.uniform(0, 4, 400)
    grades = rng.integers(0, 5, 400)
    in_sample = qwk(grades, threshold_grades(expected, fit_cuts(expected, grades)))
    cross_fitted = qwk(
        grades, cross_fitted_threshold_grades(probabilities_with_mean(expected), grades)
    )
    assert abs(cross_fitted) < 0.1
    assert in_sample > cross_fitted + 0.02
