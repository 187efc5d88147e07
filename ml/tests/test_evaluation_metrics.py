"""Metrics agree with hand arithmetic, handle absent grades, and reject malformed input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kneegrade_ml.evaluation.metrics import (
    compute_metrics,
    expected_calibration_error,
    expected_grades,
    median_grades,
    summarize_cv,
)
from kneegrade_ml.grades import GRADE_NAMES

Y_TRUE = [0, 0, 1, 1, 2, 3, 4, 4]
Y_PRED = [0, 1, 1, 0, 2, 2, 4, 3]


def probs_for(pred: list[int], top: float = 0.6) -> np.ndarray:
    """One-hot-ish rows: ``top`` on the predicted grade, the rest spread evenly."""
    rows = np.full((len(pred), 5), (1 - top) / 4)
    rows[np.arange(len(pred)), pred] = top
    return rows


def probs_with_confidence(pred: list[int], conf: list[float]) -> np.ndarray:
    """Rows whose max (``conf``) sits on ``pred``; the remainder is split over the other four."""
    rows = np.array([[(1 - c) / 4] * 5 for c in conf])
    rows[np.arange(len(pred)), pred] = conf
    return rows


def test_metrics_match_hand_computed_values() -> None:
    m = compute_metrics(Y_TRUE, probs_for(Y_PRED))
    expected_cm = [
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 1, 1],
    ]
    assert m["confusion_matrix"] == expected_cm
    assert m["n"] == 8
    assert m["accuracy"] == pytest.approx(4 / 8)
    # column sums 2,2,2,1,1 with diagonal 1,1,1,0,1; row sums 2,2,1,1,2
    precision = [1 / 2, 1 / 2, 1 / 2, 0, 1 / 1]
    recall = [1 / 2, 1 / 2, 1 / 1, 0 / 1, 1 / 2]
    f1 = [2 * p * r / (p + r) if p + r else 0.0 for p, r in zip(precision, recall)]
    assert m["precision_macro"] == pytest.approx(sum(precision) / 5)
    assert m["recall_macro"] == pytest.approx(sum(recall) / 5)
    assert m["f1_macro"] == pytest.approx((1 / 2 + 1 / 2 + 2 / 3 + 0 + 2 / 3) / 5)
    assert m["f1_macro"] == pytest.approx(sum(f1) / 5)
    assert m["mae"] == pytest.approx((0 + 1 + 0 + 1 + 0 + 1 + 0 + 1) / 8)
    assert m["per_class_accuracy"] == pytest.approx(recall)
    for g in range(5):
        row = m["per_class"][str(g)]
        assert row["name"] == GRADE_NAMES[g]
        assert row["precision"] == pytest.approx(precision[g])
        assert row["recall"] == pytest.approx(recall[g])
        assert row["f1"] == pytest.approx(f1[g])
        assert row["support"] == sum(expected_cm[g])

    # QWK = 1 - sum(w * O) / sum(w * E), w_ij = (i - j)^2 / 16, E = outer(rows, cols) / n
    rows = [sum(r) for r in expected_cm]
    cols = [sum(c) for c in zip(*expected_cm)]
    w = [[(i - j) ** 2 / 16 for j in range(5)] for i in range(5)]
    observed = sum(w[i][j] * expected_cm[i][j] for i in range(5) for j in range(5))
    chance = sum(w[i][j] * rows[i] * cols[j] / 8 for i in range(5) for j in range(5))
    assert m["qwk"] == pytest.approx(1 - observed / chance)
    assert m["qwk"] == pytest.approx(
        1 - 4 / 33.25
    )  # same sums with unnormalised weights


def test_perfect_predictions() -> None:
    m = compute_metrics(Y_TRUE, probs_for(Y_TRUE))
    assert m["accuracy"] == 1.0
    assert m["qwk"] == pytest.approx(1.0)
    assert m["mae"] == 0.0
    assert m["per_class_accuracy"] == [1.0] * 5


def test_absent_grade_gives_none_per_class_accuracy() -> None:
    y = [0, 1, 1, 2, 4]
    m = compute_metrics(y, probs_for([0, 1, 2, 2, 3]))
    assert m["per_class_accuracy"] == pytest.approx([1.0, 0.5, 1.0, None, 0.0])
    assert m["per_class"]["3"]["support"] == 0
    assert m["per_class"]["3"]["precision"] == 0.0
    assert m["confusion_matrix"][3] == [0, 0, 0, 0, 0]


def test_single_grade_everywhere_has_undefined_qwk() -> None:
    m = compute_metrics([2, 2, 2], probs_for([2, 2, 2]))
    assert m["accuracy"] == 1.0
    assert m["qwk"] is None
    json.dumps(m, allow_nan=False)


def test_result_is_json_serialisable_with_fractions_in_range() -> None:
    m = compute_metrics(Y_TRUE, probs_for(Y_PRED))
    assert json.loads(json.dumps(m, allow_nan=False)) == m
    fractions = [m[k] for k in ("accuracy", "precision_macro", "recall_macro")]
    fractions += [m["f1_macro"], m["ece"]]
    fractions += [
        row[k] for row in m["per_class"].values() for k in ("precision", "recall", "f1")
    ]
    assert all(isinstance(f, float) and 0.0 <= f <= 1.0 for f in fractions)
    assert set(m) == {
        "n", "accuracy", "precision_macro", "recall_macro", "f1_macro", "qwk", "mae",
        "per_class", "per_class_accuracy", "confusion_matrix", "ece",
    }  # fmt: skip
    assert list(m["per_class"]) == ["0", "1", "2", "3", "4"]


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    y = [0] * 10
    pred = [0] * 8 + [1] * 2  # 80% right at 80% confidence
    assert expected_calibration_error(y, probs_with_confidence(pred, [0.8] * 10)) == (
        pytest.approx(0.0, abs=1e-12)
    )


def test_ece_of_an_over_confident_model() -> None:
    y = [0, 0, 0, 0]
    pred = [1, 1, 0, 1]
    conf = [0.95, 0.95, 0.65, 0.65]
    # bin (0.9, 1.0]: acc 0,   conf 0.95 -> |0 - 0.95| * 2/4
    # bin (0.6, 0.7]: acc 0.5, conf 0.65 -> |0.5 - 0.65| * 2/4
    expected = 0.95 * 2 / 4 + 0.15 * 2 / 4
    assert expected_calibration_error(y, probs_with_confidence(pred, conf)) == (
        pytest.approx(expected)
    )
    m = compute_metrics(y, probs_with_confidence(pred, conf))
    assert m["ece"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("y", "probs", "message"),
    [
        ([0, 1, 2], np.full((2, 5), 0.2), "3 labels but probabilities has 2 rows"),
        ([0, 1], np.full((2, 4), 0.25), r"shape \(n, 5\)"),
        ([0, 1], np.full(10, 0.2), r"shape \(n, 5\)"),
        ([], np.zeros((0, 5)), "zero samples"),
        ([0, 5], np.full((2, 5), 0.2), r"outside .*\[5\]"),
        ([-1, 0], np.full((2, 5), 0.2), r"outside .*\[-1\]"),
        ([0.5, 1.0], np.full((2, 5), 0.2), "integer KL grades"),
    ],
)
def test_invalid_input_is_rejected(y: list, probs: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(y, probs)


def test_summarize_cv_matches_numpy() -> None:
    accs = [0.8, 0.7, 0.9, 0.75, 0.85]
    s = summarize_cv(accs)
    assert s["folds"] == 5
    assert s["accuracies"] == accs
    assert s["accuracy_mean"] == pytest.approx(np.mean(accs))
    assert s["accuracy_std"] == pytest.approx(np.std(accs, ddof=0))
    assert s["accuracy_std"] == pytest.approx(
        np.sqrt(0.005)
    )  # population, not sample, std
    json.dumps(s)


def test_expected_grade_decoding_rounds_the_mean_grade() -> None:
    probabilities = np.array(
        [
            [0.40, 0.00, 0.00, 0.00, 0.60],  # argmax 4, mean 2.4 -> 2
            [0.10, 0.45, 0.45, 0.00, 0.00],  # mean 1.35 -> 1
            [0.00, 0.00, 0.00, 0.00, 1.00],
        ]
    )
    assert expected_grades(probabilities).tolist() == [2, 1, 4]


def test_median_grade_decoding_takes_the_first_grade_past_half_the_mass() -> None:
    probabilities = np.array(
        [
            [0.40, 0.00, 0.00, 0.00, 0.60],  # argmax 4, mean 2.4, median 4
            [0.30, 0.15, 0.10, 0.00, 0.45],  # argmax 4, mean 2.15, median 2
            [0.45, 0.10, 0.05, 0.40, 0.00],  # argmax 0, mean 1.4, median 1
        ]
    )
    assert median_grades(probabilities).tolist() == [4, 2, 1]
    assert expected_grades(probabilities).tolist() == [2, 2, 1]


def test_metrics_score_the_predictions_given() -> None:
    probabilities = np.array([[0.4, 0.0, 0.0, 0.0, 0.6], [0.0, 0.0, 1.0, 0.0, 0.0]])
    y = np.array([2, 2])
    assert compute_metrics(y, probabilities)["accuracy"] == 0.5
    decoded = compute_metrics(y, probabilities, expected_grades(probabilities))
    assert decoded["accuracy"] == 1.0
    assert decoded["ece"] == compute_metrics(y, probabilities)["ece"]
