"""Heavy-work slots: the idle hook (which returns freed memory to the system) runs when the last
heavy request ends, not while another is in flight, and not on every back-to-back request."""

import pytest

from kneegrade_api import concurrency
from kneegrade_api.concurrency import WorkSlots
from kneegrade_api.exceptions import TooManyRequests


def test_idle_hook_runs_when_the_last_request_ends(monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr(concurrency.time, "monotonic", lambda: now[0])
    calls = []
    slots = WorkSlots(2, 4, 0, on_idle=lambda: calls.append(now[0]))
    with slots.slot(1):
        with slots.slot(2):
            pass
        assert calls == []  # user 1 still busy
    assert calls == [100.0]
    now[0] = 100.5
    with slots.slot(1):
        pass
    assert calls == [100.0]  # half a second later: shares the first trim
    now[0] = 101.2
    with slots.slot(1):
        pass
    assert calls == [100.0, 101.2]


def test_a_full_account_gets_a_429_and_the_hook_still_balances() -> None:
    calls = []
    slots = WorkSlots(1, 4, 0, on_idle=lambda: calls.append("trim"))
    with slots.slot(1), pytest.raises(TooManyRequests), slots.slot(1):
        pass
    assert calls == ["trim"]
