"""Rate limits on the account routes (``limits``' moving windows, in this process's memory):
per client address for login and registration, and a lock on a username after repeated wrong
passwords, so guessing costs time whoever guesses."""

import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from kneegrade_api.exceptions import TooManyRequests


@dataclass
class Throttle:
    """``login`` and ``register`` limit each client address; ``failures`` locks a username."""

    login: RateLimitItem
    register: RateLimitItem
    failures: RateLimitItem
    limiter: MovingWindowRateLimiter = field(
        default_factory=lambda: MovingWindowRateLimiter(MemoryStorage())
    )

    @classmethod
    def from_settings(cls, login: str, register: str, failures: str) -> "Throttle":
        return cls(parse(login), parse(register), parse(failures))

    def _refuse(self, item: RateLimitItem, key: str, what: str) -> TooManyRequests:
        reset = self.limiter.get_window_stats(item, key).reset_time
        return TooManyRequests(what, max(1, int(reset - time.time()) + 1))

    def count(self, action: str, client: str) -> None:
        """Count one ``login`` or ``register`` from ``client``; over its limit is a 429."""
        item = getattr(self, action)
        if not self.limiter.hit(item, action, client):
            raise self._refuse(
                item, client, f"too many {action} attempts from this address"
            )

    def check_unlocked(self, username: str) -> None:
        """A username with too many recent wrong passwords stays locked for a while."""
        if not self.limiter.test(self.failures, "failures", username.lower()):
            raise self._refuse(
                self.failures,
                username.lower(),
                "too many wrong passwords for this account",
            )

    def failed(self, username: str) -> None:
        self.limiter.hit(self.failures, "failures", username.lower())
