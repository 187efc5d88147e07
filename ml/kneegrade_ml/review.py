"""When a grade deserves a clinician's second look: the one rule, used by the API, SPA and report.

A prediction is flagged, with the first reason that applies, when
1. the top probability is below ``LOW_CONFIDENCE`` (the model favours no grade clearly);
2. the probability that OA is present (KL >= 2) and absent (KL <= 1) are both at least
   ``ONSET_SPLIT``: the Doubtful/Mild boundary is where OA begins and where readers disagree most;
3. the two most likely grades are neighbours and the top one is below ``CONFIDENT`` or leads by
   less than ``CLEAR_MARGIN`` (the case sits on a KL boundary).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from kneegrade_ml.grades import GRADE_NAMES

LOW_CONFIDENCE = 0.5
ONSET_SPLIT = 0.3
CONFIDENT = 0.6
CLEAR_MARGIN = 0.2
OA_FROM_GRADE = 2
"""KL 2 (definite osteophytes) is the usual threshold for radiographic OA."""


@dataclass(frozen=True)
class ReviewFlag:
    """Whether a clinician should review the grade, and the sentence that says why."""

    recommended: bool
    reason: str | None = None


NO_REVIEW = ReviewFlag(False)


def review_flag(probabilities: Sequence[float]) -> ReviewFlag:
    """The review flag for five probabilities indexed by grade (see the module's rule)."""
    ranked = sorted(range(len(probabilities)), key=lambda g: -probabilities[g])
    first, second = ranked[0], ranked[1]
    top, runner_up = probabilities[first], probabilities[second]
    if top < LOW_CONFIDENCE:
        return ReviewFlag(
            True,
            f"Low confidence: the model favours no grade clearly (top {top:.0%})."
            " Consider specialist review.",
        )
    oa_present = sum(probabilities[OA_FROM_GRADE:])
    if min(oa_present, 1 - oa_present) >= ONSET_SPLIT:
        return ReviewFlag(
            True,
            f"Split on whether OA is present: {1 - oa_present:.0%} for KL 0-1,"
            f" {oa_present:.0%} for KL 2-4. Consider specialist review.",
        )
    if abs(first - second) == 1 and (top < CONFIDENT or top - runner_up < CLEAR_MARGIN):
        low, high = sorted((first, second))
        return ReviewFlag(
            True,
            f"Probability split between {GRADE_NAMES[low]} and {GRADE_NAMES[high]}"
            f" ({probabilities[low]:.0%} / {probabilities[high]:.0%})."
            " Consider specialist review.",
        )
    return NO_REVIEW
