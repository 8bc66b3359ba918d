"""Presence: a user is online while one of their sessions has a live subscription on any replica.

Each live subscription holds a lease in the user's presence hash (instance → expiry). Its process
renews the leases of all its subscriptions every `HEARTBEAT_SECONDS` in one pipeline; a closed
subscription drops its lease at once; a crashed process's leases lapse and any replica's reaper
removes them. Online/offline transitions are decided atomically (a script: the hash's size before
and after), so each is reported once, by whichever replica made it.

Subscriptions that open (or close) together share their round trips (gateway.batching): a batch's
leases are written in one pipeline, and the users it took online or offline are reported to the
listeners together (a restart's thousands of reconnections cost a few round trips per batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from gateway.batching import Batches
from gateway.clock import Clock
from gateway.keys import Keys
from gateway.metrics import Metrics

log = logging.getLogger("imql.presence")

LEASE_SECONDS = 90  # a crashed replica's users turn offline within this (+ one reap)
HEARTBEAT_SECONDS = 30  # three renewals per lease: one lost renewal does not flap the status
REAP_SECONDS = 15
REAP_BATCH = 200
LEASES_PER_BATCH = 500  # leases taken or dropped in one pipeline

StatusChanged = Callable[[str], Awaitable[None]]
StatusesChanged = Callable[[list[str]], Awaitable[None]]  # the same, told of many users at once

# KEYS[1]: the user's presence hash; ARGV: instance, expiry, the hash's TTL. 1 when it took the user online.
_ENTER = """
local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if added == 1 and redis.call('HLEN', KEYS[1]) == 1 then return 1 end
return 0
"""
# KEYS[1]: the user's presence hash; ARGV[1]: instance. 1 when it took the user offline.
_LEAVE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HLEN', KEYS[1]) == 0 then return 1 end
return 0
"""
_ENTER_SHA = hashlib.sha1(_ENTER.encode(), usedforsecurity=False).hexdigest()
_LEAVE_SHA = hashlib.sha1(_LEAVE.encode(), usedforsecurity=False).hexdigest()


class Presence:
    def __init__(self, redis: Any, keys: Keys, clock: Clock, metrics: Metrics) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._metrics = metrics
        self._local: dict[str, str] = {}  # instance → user, for renewals
        self._listeners: list[StatusesChanged] = []
        self._tasks: list[asyncio.Task[None]] = []
        # enters and leaves share one queue: a lease's leave never overtakes its enter
        self._leases: Batches[tuple[bool, str, str], bool] = Batches(self._write_leases, LEASES_PER_BATCH)

    def on_change(self, listener: StatusChanged) -> None:
        """`listener(user)` for each user who came online or went offline."""

        async def each(user_ids: list[str]) -> None:
            for user_id in user_ids:
                await listener(user_id)

        self._listeners.append(each)

    def on_changes(self, listener: StatusesChanged) -> None:
        """`listener(users)` for the users a batch of leases took online or offline (in one call)."""
        self._listeners.append(listener)

    async def _changed(self, user_ids: list[str]) -> None:
        for listener in self._listeners:
            await listener(user_ids)

    async def enter(self, user_id: str, instance: str) -> None:
        self._local[instance] = user_id
        await self._leases.submit((True, user_id, instance))

    async def leave(self, user_id: str, instance: str) -> None:
        self._local.pop(instance, None)
        await self._leases.submit((False, user_id, instance))

    async def _write_leases(self, leases: list[tuple[bool, str, str]]) -> list[bool]:
        """Take (True) or drop (False) each lease, in order; report the users this took online or
        offline. Returns whether each one changed its user's status."""
        expiry = int(self._clock.now()) + LEASE_SECONDS
        index = self._keys.presence_index()
        for attempt in (1, 2):
            pipe = self._redis.pipeline(transaction=False)
            for entering, user_id, instance in leases:
                key = self._keys.presence(user_id)
                if entering:
                    pipe.evalsha(_ENTER_SHA, 1, key, instance, expiry, LEASE_SECONDS * 2)
                    pipe.zadd(index, {user_id: expiry}, gt=True)
                else:
                    pipe.evalsha(_LEAVE_SHA, 1, key, instance)
            replies = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                # a restarted or flushed Redis: load the scripts, write again (the scripts did not run;
                # the ZADDs are idempotent)
                await self._redis.script_load(_ENTER)
                await self._redis.script_load(_LEAVE)
                continue
            break
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        changed: list[bool] = []
        replies_of = iter(replies)
        for entering, _, _ in leases:
            changed.append(bool(next(replies_of)))
            if entering:
                next(replies_of)  # the index's ZADD
        gone = [user_id for (entering, user_id, _), went in zip(leases, changed, strict=True) if went and not entering]
        if gone:
            pipe = self._redis.pipeline(transaction=False)
            for user_id in gone:
                pipe.zrem(index, user_id)
            await pipe.execute()
        moved = [user_id for (_, user_id, _), went in zip(leases, changed, strict=True) if went]
        if moved:
            await self._changed(list(dict.fromkeys(moved)))
        return changed

    def local_users(self) -> list[str]:
        """The users with a live subscription on this process."""
        return sorted(set(self._local.values()))

    async def online(self, user_ids: list[str]) -> list[bool]:
        pipe = self._redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hlen(self._keys.presence(user_id))
        return [n > 0 for n in await pipe.execute()]

    # ---- background --------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(HEARTBEAT_SECONDS, self.renew), name="imql-presence-renew"),
            asyncio.create_task(self._every(REAP_SECONDS, self.reap), name="imql-presence-reap"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # a clean shutdown takes its users offline now instead of after the lease
        leaving = [self.leave(user_id, instance) for instance, user_id in list(self._local.items())]
        for outcome in await asyncio.gather(*leaving, return_exceptions=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, RedisError | OSError):
                raise outcome
        await self._leases.close()

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + seconds)
            try:
                await job()
            except (RedisError, OSError) as exc:
                self._metrics.redis_failures.inc()
                log.warning("presence %s failed: %s", getattr(job, "__name__", "job"), exc)

    async def renew(self) -> None:
        if not self._local:
            return
        expiry = int(self._clock.now()) + LEASE_SECONDS
        pipe = self._redis.pipeline(transaction=False)
        for instance, user_id in self._local.items():
            pipe.hset(self._keys.presence(user_id), instance, expiry)
            pipe.expire(self._keys.presence(user_id), LEASE_SECONDS * 2)
            pipe.zadd(self._keys.presence_index(), {user_id: expiry}, gt=True)
        await pipe.execute()

    async def reap(self) -> None:
        """Drop lapsed leases (crashed replicas) and report users who thereby went offline."""
        now = int(self._clock.now())
        due = await self._redis.zrangebyscore(self._keys.presence_index(), "-inf", now, start=0, num=REAP_BATCH)
        for user_id in due:
            key = self._keys.presence(user_id)
            leases = await self._redis.hgetall(key)
            lapsed = [inst for inst, exp in leases.items() if int(exp) <= now]
            if not lapsed:
                if not leases:
                    await self._redis.zrem(self._keys.presence_index(), user_id)
                continue
            pipe = self._redis.pipeline(transaction=True)
            pipe.hdel(key, *lapsed)
            pipe.hlen(key)
            removed, size = await pipe.execute()
            if size == 0:
                await self._redis.zrem(self._keys.presence_index(), user_id)
                if removed:
                    await self._changed([user_id])
