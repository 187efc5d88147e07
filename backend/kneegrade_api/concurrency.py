"""Caps on heavy work in flight (grading, heatmaps, reports), per account and in all, so that one
client cannot take every core and the memory: a request over a cap waits briefly for a slot, then
gets a 429 with Retry-After. When the last heavy request ends, the memory it freed is returned to
the system."""

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from kneegrade_api.exceptions import TooManyRequests

RETRY_AFTER_SECONDS = 1
IDLE_HOOK_INTERVAL = 1.0
"""Seconds between two runs of the idle hook: a trim costs a request that follows it 1-2 ms of
page faults, so back-to-back requests share one."""


class WorkSlots:
    """``per_user`` heavy requests at once for each account, ``total`` for the process; a request
    waits up to ``wait_seconds`` for a slot; ``on_idle`` runs when the last one in flight ends
    (at most once per ``IDLE_HOOK_INTERVAL``)."""

    def __init__(
        self,
        per_user: int,
        total: int,
        wait_seconds: float,
        on_idle: Callable[[], None] = lambda: None,
    ):
        self.per_user = per_user
        self.wait_seconds = wait_seconds
        self._total = threading.BoundedSemaphore(total)
        self._users: defaultdict[int, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(per_user)
        )
        self._lock = threading.Lock()
        self._in_flight = 0
        self._on_idle = on_idle
        self._idle_hook_at = -IDLE_HOOK_INTERVAL

    @contextmanager
    def slot(self, user_id: int) -> Iterator[None]:
        """Hold one of the account's slots and one of the process's while the block runs."""
        with self._lock:
            mine = self._users[user_id]
        with ExitStack() as held:
            self._take(mine, f"at most {self.per_user} uploads, heatmaps or reports at a time"
                       " per account")  # fmt: skip
            held.callback(mine.release)
            self._take(self._total, "the server is busy grading")
            held.callback(self._total.release)
            self._count(+1)
            held.callback(self._count, -1)
            yield

    def _count(self, change: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._in_flight += change
            due = (
                self._in_flight == 0 and now - self._idle_hook_at >= IDLE_HOOK_INTERVAL
            )
            if due:
                self._idle_hook_at = now
        if due:
            self._on_idle()

    def _take(self, semaphore: threading.BoundedSemaphore, why: str) -> None:
        if not semaphore.acquire(timeout=self.wait_seconds):
            raise TooManyRequests(why, RETRY_AFTER_SECONDS)
