"""Presence: a user is online while one of their sessions has a live subscription on any replica.

Each live subscription holds a lease in the user's presence hash (instance → expiry). Its process
renews the leases of all its subscriptions every `HEARTBEAT_SECONDS` in one pipeline; a closed
subscription drops its lease at once; a crashed process's leases lapse and any replica's reaper
removes them. Online/offline transitions are decided inside MULTI blocks (the hash's size before
and after), so each is reported once, by whichever replica made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from gateway.clock import Clock
from gateway.keys import Keys
from gateway.metrics import Metrics

log = logging.getLogger("imql.presence")

LEASE_SECONDS = 90  # a crashed replica's users turn offline within this (+ one reap)
HEARTBEAT_SECONDS = 30  # three renewals per lease: one lost renewal does not flap the status
REAP_SECONDS = 15
REAP_BATCH = 200

StatusChanged = Callable[[str], Awaitable[None]]


class Presence:
    def __init__(self, redis: Any, keys: Keys, clock: Clock, metrics: Metrics) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._metrics = metrics
        self._local: dict[str, str] = {}  # instance → user, for renewals
        self._listeners: list[StatusChanged] = []
        self._tasks: list[asyncio.Task[None]] = []

    def on_change(self, listener: StatusChanged) -> None:
        self._listeners.append(listener)

    async def _changed(self, user_id: str) -> None:
        for listener in self._listeners:
            await listener(user_id)

    async def enter(self, user_id: str, instance: str) -> None:
        expiry = int(self._clock.now()) + LEASE_SECONDS
        self._local[instance] = user_id
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._keys.presence(user_id), instance, expiry)
        pipe.hlen(self._keys.presence(user_id))
        pipe.expire(self._keys.presence(user_id), LEASE_SECONDS * 2)
        added, size, _ = await pipe.execute()
        await self._redis.zadd(self._keys.presence_index(), {user_id: expiry}, gt=True)
        if added and size == 1:
            await self._changed(user_id)

    async def leave(self, user_id: str, instance: str) -> None:
        self._local.pop(instance, None)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(self._keys.presence(user_id), instance)
        pipe.hlen(self._keys.presence(user_id))
        removed, size = await pipe.execute()
        if removed and size == 0:
            await self._redis.zrem(self._keys.presence_index(), user_id)
            await self._changed(user_id)

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
        for instance, user_id in list(self._local.items()):
            with contextlib.suppress(RedisError, OSError):
                await self.leave(user_id, instance)

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
                    await self._changed(user_id)
