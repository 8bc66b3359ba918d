"""One write at a time per scope between the upstream IM server and the mirror (gateway.upstream).

An SDK user's group write goes upstream first, then into the mirror; the upstream reports the same
change back as a webhook (its echo), applied to the mirror by the Tencent backend's worker, on any
replica and at any moment, possibly before the SDK path has written the mirror. If the echo were
applied first, its events (with the app admin as operator) would go out and the SDK path's own
write would then find nothing to do, or both would publish. So both sides take the scope's turn:
the SDK path holds it from the upstream call until its mirror write is done, and the echo's write
waits for it, then finds the mirror as the echo describes and changes nothing (the appliers and
the engine's writes are idempotent by the upstream's identity).

Scopes: "group:<id>" (membership and profile writes), "create:<owner>" (a group being created,
whose ID the upstream assigns), "send:<timeline>:<random>" (a group message), "kick-tip:<timeline>"
(a kick tip moved out of the way of a message the upstream numbered: GroupMessaging._make_room).
Turns are re-entrant within a task (a write that calls another write of the same scope does not wait for itself), last
at most TURN_TTL_SECONDS (a replica that died holding one does not block the scope for long; a
kick tip's move, a few Redis round trips, KICK_TIP_TURN_TTL_SECONDS), and
cost nothing without an upstream, but for the writes that take them `always`: a read-modify-write
of a group's state (its attributes, a member's record, its owner, an application, its profile) is
one at a time per group on every backend, where two at once lost one of them. Joins and quits
take theirs only with an upstream (a live room's crowd would queue behind it): adding a member is
one atomic step of its own (GroupStore.add_members).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from gateway.errors import Code, IMError
from gateway.keys import Keys

# Longer than an upstream call can take with its retries (gateway.tencent.client: 5 s a try, 3 tries).
TURN_TTL_SECONDS = 30
TURN_WAIT_SECONDS = 20.0  # a write waits this long for the scope's turn, then fails (retry later)
POLL_SECONDS = 0.02
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_held: ContextVar[frozenset[str]] = ContextVar("imql_upstream_turns", default=frozenset())


class UpstreamTurns:
    def __init__(self, redis: Any, keys: Keys, *, enabled: bool) -> None:
        self._redis = redis
        self._keys = keys
        self._enabled = enabled  # only with an upstream: the embedded engine alone has no echoes

    @asynccontextmanager
    async def turn(self, scope: str, *, always: bool = False, ttl: int = TURN_TTL_SECONDS) -> AsyncIterator[None]:
        """The scope's turn. `always`: taken without an upstream too, for a write that reads what
        it changes (a group's attributes, a member's record, its owner, an application) and must
        not interleave with another such write on any replica. `ttl`: how long a turn its holder
        never gave back (a replica that died holding it) blocks the scope, in seconds; one shorter
        than TURN_TTL_SECONDS is renewed while held, so a write that takes longer keeps it."""
        held = _held.get()
        if not (self._enabled or always) or scope in held:
            yield
            return
        key = self._keys.upstream_turn(scope)
        token = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TURN_WAIT_SECONDS
        while not await self._redis.set(key, token, nx=True, ex=ttl):
            if loop.time() > deadline:
                raise IMError(Code.ERR_SDK_INTERNAL_ERROR, f"another write of {scope} is in progress; retry shortly")
            await asyncio.sleep(POLL_SECONDS)
        mark = _held.set(held | {scope})
        # a turn shorter than its write may take (a Redis stall, a pool wait) is renewed while held:
        # its TTL bounds only how long a holder that died blocks the scope
        renewing = asyncio.create_task(self._renew(key, token, ttl)) if ttl < TURN_TTL_SECONDS else None
        try:
            yield
        finally:
            _held.reset(mark)
            if renewing is not None:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            await self._redis.eval(_RELEASE, 1, key, token)

    async def _renew(self, key: str, token: str, ttl: int) -> None:
        """The turn's TTL set again every third of it while its holder still has it."""
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                if not await self._redis.eval(_RENEW, 1, key, token, ttl * 1000):
                    return  # lost (it lapsed during a stall longer than the TTL): nothing to keep
            except Exception:  # noqa: S112 (a failed renewal is tried again; the release says the rest)
                continue
