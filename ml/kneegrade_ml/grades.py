"""The Kellgren-Lawrence scale: the one place that names the five grades."""

GRADE_NAMES: tuple[str, ...] = ("Normal", "Doubtful", "Mild", "Moderate", "Severe")
GRADES: tuple[int, ...] = tuple(range(len(GRADE_NAMES)))


def grade_name(grade: int) -> str:
    """Return the KL name of ``grade`` (0-4), e.g. ``grade_name(2) == "Mild"``."""
    if grade not in GRADES:
        raise ValueError(f"KL grade must be one of {GRADES}, got {grade!r}")
    return GRADE_NAMES[grade]
