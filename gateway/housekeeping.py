"""Background housekeeping of one gateway process: recycling idle groups, timing out invitations,
trimming messages past their retention.

Every replica runs them all: recycling a group is idempotent (the second replica finds it gone),
each invitation's timeout is claimed by exactly one replica (gateway.engine.signaling), and one
replica at a time runs a retention pass (gateway.engine.retention).
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from gateway.backend import Housekeeping
from gateway.background import BackgroundLoop
from gateway.clock import Clock
from gateway.errors import IMError

log = logging.getLogger("imql.housekeeping")

RECYCLE_INTERVAL_SECONDS = 3600  # idle is measured in days: an hourly pass is plenty
INVITATION_TIMER_SECONDS = 1.0  # how late an invitation's timeout may fire, at most
RETENTION_PASS_SECONDS = 3600  # retention is measured in days: a pass an hour is plenty
# The retention's work per second (keys handled and messages read; a SCAN call counts 20, see
# gateway.engine.retention): a few pipelined round trips, so the trimming of a backlog (a first
# pass over years of history) never crowds out the app
RETENTION_WORK_PER_SECOND = 2_000


class GroupRecycler(BackgroundLoop):
    task_name = "imql-group-recycler"

    def __init__(self, housekeeping: Housekeeping, clock: Clock, idle_days: int) -> None:
        super().__init__()
        self._housekeeping = housekeeping
        self._clock = clock
        self._idle_seconds = idle_days * 86400

    def start(self) -> None:
        if self._idle_seconds > 0:  # 0: groups are kept forever
            super().start()

    async def _run(self) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + RECYCLE_INTERVAL_SECONDS)
            try:
                recycled = await self._housekeeping.recycle_idle_groups(self._idle_seconds)
                if recycled:
                    log.info("recycled %d idle groups", len(recycled))
            except IMError as exc:
                log.warning("group recycling failed: %s", exc)


class InvitationTimer(BackgroundLoop):
    """Fires onInvitationTimeout for invitations whose deadline passed, about once a second."""

    task_name = "imql-invitation-timer"

    def __init__(self, housekeeping: Housekeeping, clock: Clock) -> None:
        super().__init__()
        self._housekeeping = housekeeping
        self._clock = clock

    async def _run(self) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + INVITATION_TIMER_SECONDS)
            try:
                while await self._housekeeping.expire_due():
                    pass  # a full batch may mean more are due
            except IMError as exc:
                log.warning("invitation timeouts failed: %s", exc)


class MessageRetention(BackgroundLoop):
    """IMQL_MESSAGE_RETENTION_DAYS: a pass an hour over the app's timelines and logs, at most
    RETENTION_WORK_PER_SECOND of work each second (gateway.engine.retention)."""

    task_name = "imql-message-retention"

    def __init__(
        self, housekeeping: Housekeeping, clock: Clock, days: int, work_per_second: int = RETENTION_WORK_PER_SECOND
    ) -> None:
        super().__init__()
        self._housekeeping = housekeeping
        self._clock = clock
        self._retention_seconds = days * 86400
        self._work_per_second = work_per_second

    def start(self) -> None:
        if self._retention_seconds > 0:  # 0: messages are kept forever
            super().start()

    async def _run(self) -> None:
        while True:
            started = self._clock.now()
            try:
                more = await self._housekeeping.trim_history(self._retention_seconds, self._work_per_second)
            except (IMError, RedisError, OSError) as exc:
                log.warning("message retention failed: %s", exc)
                more = False
            except Exception:
                # a defect, not weather: said loudly, and the loop lives on to try the next pass
                log.exception("message retention failed unexpectedly")
                more = False
            await self._clock.sleep_until(started + (1.0 if more else RETENTION_PASS_SECONDS))
