"""Dashboard figures: the route after a few uploads, and the arithmetic behind it."""

import math
from datetime import UTC, date, datetime, timedelta

from api_helpers import Account, upload
from fastapi.testclient import TestClient

from kneegrade_api.stats import compute_stats


def test_stats_of_a_new_user_are_zero(api: TestClient, user: Account) -> None:
    stats = api.get("/api/stats", headers=user.headers).json()
    assert stats["total"] == 0
    assert stats["mean_confidence"] is None and stats["last_scan_at"] is None
    assert [g["name"] for g in stats["grades"]] == [
        "Normal",
        "Doubtful",
        "Mild",
        "Moderate",
        "Severe",
    ]
    assert sum(g["count"] for g in stats["grades"]) == 0
    assert len(stats["per_day"]) == 30 and len(stats["confidence_histogram"]) == 10


def test_stats_after_uploads(api: TestClient, user: Account, sample_png: bytes) -> None:
    made = [upload(api, user, sample_png, m).json() for m in ("rf", "rf", "cnn")]
    stats = api.get("/api/stats", headers=user.headers).json()
    assert stats["total"] == 3
    assert math.isclose(
        stats["mean_confidence"], sum(p["confidence"] for p in made) / 3, rel_tol=1e-9
    )
    assert stats["last_scan_at"] == made[-1]["created_at"]
    grades = {g["grade"]: g["count"] for g in stats["grades"]}
    for grade in range(5):
        assert grades[grade] == sum(p["grade"] == grade for p in made)
    assert {m["model"]: m["count"] for m in stats["models"]} == {
        "mobilenetv2": 0,
        "cnn": 1,
        "rf": 2,
    }
    assert stats["per_day"][-1] == {
        "date": datetime.now(UTC).date().isoformat(),
        "count": 3,
    }
    assert sum(b["count"] for b in stats["confidence_histogram"]) == 3


def test_compute_stats_bins_days_and_edges() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    rows = [
        (4, "rf", 1.0, now),
        (4, "rf", 0.95, now - timedelta(days=29)),
        (0, "cnn", 0.0, now - timedelta(days=30)),
        (2, "custom", 0.55, now - timedelta(days=1)),
    ]
    served = {"mobilenetv2": "MobileNetV2", "cnn": "Custom CNN", "rf": "Random Forest"}
    stats = compute_stats(rows, served, now=now)
    assert stats.total == 4
    assert [b.count for b in stats.confidence_histogram] == [
        1,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        2,
    ]
    assert stats.per_day[0].date == date(2026, 3, 2)
    assert stats.per_day[0].count == 1
    assert stats.per_day[-1].count == 1 and stats.per_day[-2].count == 1
    assert sum(d.count for d in stats.per_day) == 3
    assert [m.model for m in stats.models] == ["mobilenetv2", "cnn", "rf", "custom"]
    assert [m.name for m in stats.models] == [*served.values(), "custom"]
    assert stats.last_scan_at == now
