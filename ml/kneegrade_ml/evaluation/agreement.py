"""How far an ensemble could go: where its members agree, and what every one of them gets wrong.

Averaging members can only fix an image that some member grades right, so the share of images
no member grades right bounds any ensemble of them, whatever the weights or decoding.
"""

import numpy as np

from kneegrade_ml.grades import GRADES


def member_agreement(grades: np.ndarray, member_grades: np.ndarray) -> dict:
    """Agreement of the (members, images) decoded grades against the true ``grades``.

    ``all_agree`` is the share of images every member grades alike, with their accuracy there;
    ``all_wrong`` counts the images no member grades right, per true grade;
    ``any_right`` is the oracle's accuracy, the ceiling of any ensemble of these members.
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
        "any_right": float(right.any(axis=0).mean()),
    }


def _share(flags: np.ndarray) -> float | None:
    """The share of true flags, or None when there are none to count."""
    return float(flags.mean()) if flags.size else None
