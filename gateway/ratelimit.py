"""Per-user request budget (7008 beyond it), a token bucket per user on each replica.

Kept in-process so the hot path makes no Redis round trip; with N replicas behind a balancer a
user's effective budget is at most N times the configured one, which still stops a runaway loop.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from gateway.errors import Code, IMError

MAX_TRACKED_USERS = 200_000  # least recently seen users beyond this start over with a full bucket


class RateLimiter:
    def __init__(self, per_second: float, burst: int) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # user → (tokens, at)

    def check(self, user_id: str) -> None:
        if self._rate <= 0:
            return
        now = time.monotonic()
        tokens, at = self._buckets.pop(user_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens < 1.0:
            self._buckets[user_id] = (tokens, now)
            raise IMError(
                Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                f"rate limit: at most {self._rate:g} requests per second per user; slow down",
            )
        self._buckets[user_id] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_TRACKED_USERS:
            self._buckets.popitem(last=False)
