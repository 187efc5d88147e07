"""Member agreement: the shares and counts it reports, on grades small enough to count by hand."""

import numpy as np

from kneegrade_ml.evaluation.agreement import member_agreement


def test_agreement_counts_what_every_member_gets_wrong() -> None:
    grades = np.array([0, 1, 1, 2, 4])
    members = np.array(
        [
            [0, 0, 1, 2, 3],
            [0, 0, 2, 2, 3],
            [0, 0, 2, 3, 3],
        ]
    )
    result = member_agreement(
        grades, members, ensemble_grades=np.array([0, 0, 2, 2, 3])
    )
    assert result["members"] == 3
    assert result["all_agree"] == 3 / 5
    assert result["accuracy_where_all_agree"] == 1 / 3
    assert result["all_wrong"] == 2
    assert result["all_wrong_by_grade"] == [0, 1, 0, 0, 1]
    assert result["ensemble_right_where_all_wrong"] == 0
    assert result["any_right"] == 3 / 5


def test_members_that_never_agree_leave_no_accuracy_to_report() -> None:
    result = member_agreement(
        np.array([0, 1]), np.array([[0, 1], [1, 0]]), ensemble_grades=np.array([0, 1])
    )
    assert result["all_agree"] == 0.0
    assert result["accuracy_where_all_agree"] is None
    assert result["any_right"] == 1.0
    assert result["all_wrong"] == 0


def test_an_average_can_be_right_where_no_member_is() -> None:
    """Members straddling the true grade (0 and 2 for a 1): a mean can land between them."""
    result = member_agreement(
        np.array([1]), np.array([[0], [2]]), ensemble_grades=np.array([1])
    )
    assert result["all_wrong"] == 1
    assert result["any_right"] == 0.0
    assert result["ensemble_right_where_all_wrong"] == 1
