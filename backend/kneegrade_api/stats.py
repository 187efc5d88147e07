"""The dashboard figures, computed from a user's prediction summaries."""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from kneegrade_api.schemas import (
    ConfidenceBin,
    DayCount,
    GradeCount,
    ModelUsage,
    StatsOut,
)
from kneegrade_ml.serving import GRADE_NAMES

DAYS = 30
BINS = 10


def _confidence_bin(confidence: float) -> int:
    """Bins [0, 0.1), ..., [0.9, 1.0]: a confidence of exactly 1 belongs to the last."""
    return min(int(confidence * BINS), BINS - 1)


def compute_stats(
    rows: Iterable[tuple[int, str, float, datetime]],
    served: dict[str, str] | None = None,
    now: datetime | None = None,
) -> StatsOut:
    """Counts per grade, per day (last 30 days, UTC), per confidence bin and per model.

    ``served`` names the models on this server by id: each is listed, used or not, first.
    """
    served = served or {}
    rows = list(rows)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    first_day = today - timedelta(days=DAYS - 1)
    grades = Counter(grade for grade, _, _, _ in rows)
    models = Counter(kind for _, kind, _, _ in rows)
    days = Counter(created.astimezone(UTC).date() for _, _, _, created in rows)
    bins = Counter(_confidence_bin(confidence) for _, _, confidence, _ in rows)
    confidences = [confidence for _, _, confidence, _ in rows]
    return StatsOut(
        total=len(rows),
        mean_confidence=sum(confidences) / len(confidences) if confidences else None,
        last_scan_at=max((created for *_, created in rows), default=None),
        grades=[
            GradeCount(grade=grade, name=name, count=grades[grade])
            for grade, name in enumerate(GRADE_NAMES)
        ],
        per_day=[
            DayCount(
                date=first_day + timedelta(days=i),
                count=days[first_day + timedelta(days=i)],
            )
            for i in range(DAYS)
        ],
        confidence_histogram=[
            ConfidenceBin(low=i / BINS, high=(i + 1) / BINS, count=bins[i])
            for i in range(BINS)
        ],
        models=[
            ModelUsage(model=model, name=served.get(model, model), count=models[model])
            for model in [*served, *sorted(set(models) - set(served))]
        ],
    )
