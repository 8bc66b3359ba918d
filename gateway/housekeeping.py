"""Background housekeeping of one gateway process: recycling idle groups, timing out invitations.

Every replica runs both: recycling a group is idempotent (the second replica finds it gone), and
each invitation's timeout is claimed by exactly one replica (gateway.engine.signaling).
"""

from __future__ import annotations

import logging

from gateway.backend import Housekeeping
from gateway.background import BackgroundLoop
from gateway.clock import Clock
from gateway.errors import IMError

log = logging.getLogger("imql.housekeeping")

RECYCLE_INTERVAL_SECONDS = 3600  # idle is measured in days: an hourly pass is plenty
INVITATION_TIMER_SECONDS = 1.0  # how late an invitation's timeout may fire, at most


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
