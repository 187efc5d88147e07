"""The review rule: low confidence, undecided OA onset, or a split between neighbouring grades."""

import pytest

from kneegrade_ml.review import NO_REVIEW, review_flag


@pytest.mark.parametrize(
    "probabilities",
    [
        [0.9, 0.05, 0.03, 0.01, 0.01],  # clearly Normal
        [0.02, 0.03, 0.05, 0.1, 0.8],  # clearly Severe
        [0.0, 0.02, 0.66, 0.3, 0.02],  # Mild over Moderate by 0.36
        [
            0.0,
            0.0,
            0.55,
            0.0,
            0.45,
        ],  # split, but between far grades: not a boundary case
    ],
)
def test_clear_grades_are_not_flagged(probabilities: list[float]) -> None:
    assert review_flag(probabilities) == NO_REVIEW


def test_low_confidence_is_flagged_first() -> None:
    flag = review_flag([0.1, 0.45, 0.4, 0.05, 0.0])
    assert flag.recommended and flag.reason.startswith("Low confidence")
    assert "45%" in flag.reason


def test_undecided_oa_onset_is_flagged() -> None:
    flag = review_flag([0.1, 0.55, 0.35, 0.0, 0.0])  # 65% KL 0-1, 35% KL 2-4
    assert flag.recommended and flag.reason.startswith("Split on whether OA is present")
    assert "65%" in flag.reason and "35%" in flag.reason


def test_neighbouring_split_is_flagged() -> None:
    flag = review_flag([0.0, 0.0, 0.0, 0.58, 0.42])
    assert flag.recommended
    assert flag.reason.startswith("Probability split between Moderate and Severe")
    assert "(58% / 42%)" in flag.reason


def test_a_clear_lead_over_a_neighbour_is_enough() -> None:
    assert review_flag([0.0, 0.0, 0.0, 0.75, 0.25]) == NO_REVIEW
