"""Caps on heavy work in flight (grading, heatmaps, reports), per account and in all, so that one
client cannot take every core and the memory: a request over a cap waits briefly for a slot, then
gets a 429 with Retry-After."""

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from kneegrade_api.exceptions import TooManyRequests

RETRY_AFTER_SECONDS = 1


class WorkSlots:
    """``per_user`` heavy requests at once for each account, ``total`` for the process; a request
    waits up to ``wait_seconds`` for a slot."""

    def __init__(self, per_user: int, total: int, wait_seconds: float):
        self.per_user = per_user
        self.wait_seconds = wait_seconds
        self._total = threading.BoundedSemaphore(total)
        self._users: defaultdict[int, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(per_user)
        )
        self._lock = threading.Lock()

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
            yield

    def _take(self, semaphore: threading.BoundedSemaphore, why: str) -> None:
        if not semaphore.acquire(timeout=self.wait_seconds):
            raise TooManyRequests(why, RETRY_AFTER_SECONDS)
