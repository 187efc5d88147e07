"""Heavy work in flight is capped per account and in all: beyond a cap, a short wait, then 429."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import register, upload
from fastapi.testclient import TestClient

from kneegrade_api.inference import ServedModel
from kneegrade_api.main import create_app


@pytest.fixture
def slow_grading(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Grading that holds until the event is set (or 5 s pass), to keep uploads in flight."""
    release = threading.Event()
    grade = ServedModel.grade

    def held(self, *args, **kwargs):
        release.wait(5)
        return grade(self, *args, **kwargs)

    monkeypatch.setattr(ServedModel, "grade", held)
    return release


def test_uploads_over_the_accounts_cap_get_429_then_others_still_grade(
    settings_for, sample_png: bytes, slow_grading: threading.Event
) -> None:
    settings = settings_for(max_heavy_per_user=1, heavy_wait_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        alice, bob = register(client), register(client)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(upload, client, alice, sample_png, "rf")
            time.sleep(0.5)  # the first is being graded, holding alice's one slot
            second = upload(client, alice, sample_png, "rf")
            other = pool.submit(upload, client, bob, sample_png, "rf")
            time.sleep(0.3)
            slow_grading.set()
            assert first.result().status_code == 201
            assert other.result().status_code == 201
        assert second.status_code == 429
        assert second.headers["Retry-After"] == "1"
        assert "at most 1 uploads" in second.json()["detail"]
        assert upload(client, alice, sample_png, "rf").status_code == 201


def test_a_request_waits_for_a_slot_that_frees_in_time(
    settings_for, sample_png: bytes, slow_grading: threading.Event
) -> None:
    settings = settings_for(max_heavy_per_user=1, heavy_wait_seconds=5)
    with TestClient(create_app(settings)) as client:
        alice = register(client)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(upload, client, alice, sample_png, "rf")
            time.sleep(0.3)
            second = pool.submit(upload, client, alice, sample_png, "rf")
            time.sleep(0.3)
            slow_grading.set()
            assert [first.result().status_code, second.result().status_code] == [
                201,
                201,
            ]
