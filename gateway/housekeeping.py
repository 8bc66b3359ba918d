"""Background housekeeping of one gateway process: recycling idle groups, timing out invitations.

Every replica runs both: recycling a group is idempotent (the second replica finds it gone), and
each invitation's timeout is claimed by exactly one replica (gateway.engine.signaling).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from gateway.backend import GroupManager, SignalingManager
from gateway.clock import Clock
from gateway.errors import IMError

log = logging.getLogger("imql.housekeeping")

RECYCLE_INTERVAL_SECONDS = 3600  # idle is measured in days: an hourly pass is plenty
INVITATION_TIMER_SECONDS = 1.0  # how late an invitation's timeout may fire, at most


class GroupRecycler:
    def __init__(self, groups: GroupManager, clock: Clock, idle_days: int) -> None:
        self._groups = groups
        self._clock = clock
        self._idle_seconds = idle_days * 86400
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._idle_seconds > 0:
            self._task = asyncio.create_task(self._run(), name="imql-group-recycler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + RECYCLE_INTERVAL_SECONDS)
            try:
                recycled = await self._groups.recycle_idle_groups(self._idle_seconds)
                if recycled:
                    log.info("recycled %d idle groups", len(recycled))
            except (RedisError, OSError, IMError) as exc:
                log.warning("group recycling failed: %s", exc)


class InvitationTimer:
    """Fires onInvitationTimeout for invitations whose deadline passed, about once a second."""

    def __init__(self, signaling: SignalingManager, clock: Clock) -> None:
        self._signaling = signaling
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="imql-invitation-timer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + INVITATION_TIMER_SECONDS)
            try:
                while await self._signaling.expire_due():
                    pass  # a full batch may mean more are due
            except (RedisError, OSError, IMError) as exc:
                log.warning("invitation timeouts failed: %s", exc)
