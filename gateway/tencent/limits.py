"""Tencent's per-endpoint REST frequency limits (MAPPING.md section 8), kept on imql's side by one
token bucket per endpoint in Redis, so every replica of the gateway draws from the same budget.

Algorithm: a token bucket refilled at the endpoint's documented rate and holding a fifth of a
second's worth (at least 1), so the most any one-second window can see is 1.2x the rate while the
sustained rate is exactly the documented one. A call that finds the bucket empty *reserves* a
future token (the bucket goes negative) when that token comes within `max_wait` seconds, and
sleeps until then; otherwise it reserves nothing and is refused with 7008. Reserving in the same
script that checks means one Redis round trip per call, waits included (an EVALSHA; EVAL with the
source once after a Redis restart or SCRIPT FLUSH). Time is the gateway's clock, in ms, passed to
the script: replicas' clocks differ by milliseconds, and a bucket never refills backwards.

Paid add-on packs raise Tencent's limits: pass `budgets` to override one endpoint's rate.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from gateway.clock import Clock
from gateway.errors import Code
from gateway.keys import Keys
from gateway.tencent.errors import TencentError

log = logging.getLogger("imql.tencent")

DEFAULT_RATE = 200.0  # calls per second per SDKAppID and endpoint, unless listed below
# exact endpoints ("service/command")
ENDPOINT_RATES: dict[str, float] = {
    "im_open_login_svc/multiaccount_import": 100.0,
    "im_open_login_svc/account_check": 100.0,
    "im_open_login_svc/account_delete": 100.0,
    "group_open_http_svc/get_appid_group_list": 1.0,
    "open_msg_svc/get_history": 10.0,
    # 100 a day and at least 1 s apart; the daily cap is the all-member push feature's to track
    "all_member_push/im_push": 1.0,
}
# any service with this command
COMMAND_RATES: dict[str, float] = {"send_broadcast_msg": 1.0}
# every command of these services
SERVICE_RATES: dict[str, float] = {"all_member_push": 100.0, "group_search": 2.0, "group_member_search": 2.0}
BURST_FRACTION = 0.2  # the bucket holds this fraction of a second's budget (at least one call)
DEFAULT_MAX_WAIT_SECONDS = 1.0  # a call over budget waits at most this long for its turn, then 7008


@dataclass(frozen=True)
class Budget:
    rate: float  # calls per second
    burst: int  # calls that may go at once after a quiet moment

    @classmethod
    def of(cls, rate: float) -> Budget:
        return cls(rate=rate, burst=max(1, math.floor(rate * BURST_FRACTION)))


def rate_for(endpoint: str) -> float:
    if endpoint in ENDPOINT_RATES:
        return ENDPOINT_RATES[endpoint]
    service, _, command = endpoint.partition("/")
    if command in COMMAND_RATES:
        return COMMAND_RATES[command]
    return SERVICE_RATES.get(service, DEFAULT_RATE)


# KEYS[1] the bucket; ARGV: rate (tokens/s), burst, now (ms), max wait (ms).
# Answers the wait in ms (>= 0) for a reserved token, or -(wait) when that is over max wait (nothing taken).
BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local wait = 0
if tokens < 1 then
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
if wait > max_wait then
  return -wait
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return wait
"""
BUCKET_SCRIPT_SHA = hashlib.sha1(BUCKET_SCRIPT.encode(), usedforsecurity=False).hexdigest()


class EndpointLimiter:
    """Per-endpoint budgets shared through Redis; `acquire` returns once the call may go."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        clock: Clock,
        *,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
        budgets: Mapping[str, float] | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._max_wait_ms = int(max_wait_seconds * 1000)
        self._overrides = dict(budgets or {})

    def budget(self, endpoint: str) -> Budget:
        return Budget.of(self._overrides.get(endpoint) or rate_for(endpoint))

    async def acquire(self, endpoint: str) -> None:
        """Wait for this endpoint's next call slot, or raise 7008 when it is over `max_wait` away."""
        budget = self.budget(endpoint)
        now_ms = int(self._clock.now() * 1000)
        args = (budget.rate, budget.burst, now_ms, self._max_wait_ms)
        key = self._keys.tencent_rate(endpoint)
        try:
            try:
                wait_ms = int(await self._redis.evalsha(BUCKET_SCRIPT_SHA, 1, key, *args))
            except NoScriptError:
                wait_ms = int(await self._redis.eval(BUCKET_SCRIPT, 1, key, *args))
        except RedisError as exc:
            # Tencent still enforces its own limits (60007, retried where safe): a Redis fault
            # must not stop every call to Tencent as well
            log.warning("Tencent rate limiter: Redis failed (%s); %s goes unthrottled", exc, endpoint)
            return
        if wait_ms < 0:
            raise TencentError(
                Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                f"tencent rate limit ({endpoint}): over {budget.rate:g} calls/s for this app; "
                f"the next slot is {-wait_ms} ms away; retry later",
                endpoint=endpoint,
                cause="rate_limited",
            )
        if wait_ms > 0:
            await self._clock.sleep_until(now_ms / 1000 + wait_ms / 1000)
