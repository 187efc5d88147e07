"""How far an ensemble could go: where its members agree, and what every one of them gets wrong.

An ensemble that picks among its members' grades (a vote, whatever the weights) can only be
right where some member is, so the share of images some member grades right bounds it. Averaged
probabilities can land on a grade no member chose, where members straddle the true one, so for
them the count of such images is reported beside the bound rather than assumed to be zero.
"""

import numpy as np

from kneegrade_ml.grades import GRADES


def member_agreement(
    grades: np.ndarray, member_grades: np.ndarray, ensemble_grades: np.ndarray
) -> dict:
    """Agreement of the (members, images) decoded grades against the true ``grades``.

    ``all_agree`` is the share of images every member grades alike, with their accuracy there;
    ``all_wrong`` counts the images no member grades right, per true grade, and
    ``ensemble_right_where_all_wrong`` how many of them ``ensemble_grades`` still gets right;
    ``any_right`` is the oracle's accuracy, the ceiling of any vote among these members.
    """
    right = member_grades == grades
    agree = (member_grades == member_grades[0]).all(axis=0)
    all_wrong = ~right.any(axis=0)
    return {
        "members": len(member_grades),
        "all_agree": float(agree.mean()),
        "accuracy_where_all_agree": _share(right[0][agree]),
        "all_wrong": int(all_wrong.sum()),
        "all_wrong_by_grade": np.bincount(
            grades[all_wrong], minlength=len(GRADES)
        ).tolist(),
        "ensemble_right_where_all_wrong": int(
            (ensemble_grades[all_wrong] == grades[all_wrong]).sum()
        ),
        "any_right": 1.0 - float(all_wrong.mean()),
    }


def _share(flags: np.ndarray) -> float | None:
    """The share of true flags, or None when there are none to count."""
    return float(flags.mean()) if flags.size else None
