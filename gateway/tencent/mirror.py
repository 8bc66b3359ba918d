"""Tencent's webhooks applied to the local mirror: what native SDK users (and the app's own REST
calls) did reaches imql users as the listener events the embedded engine publishes.

One module per family holds the appliers of its events (`APPLIERS`, on gateway.tencent.mirror_writes):
mirror_accounts, mirror_c2c, ... An event no family applies is logged and acknowledged, so a busy
app's queue never stalls on it; docs/tencent.md lists which callbacks are applied.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.tencent import (
    mirror_accounts,
    mirror_c2c,
    mirror_extensions,
    mirror_friendship,
    mirror_group_messages,
    mirror_groups,
    mirror_receipts,
    mirror_status,
    mirror_topics,
)
from gateway.tencent.inbound import InboundEvent
from gateway.tencent.mirror_writes import Applier, MirrorWrites

log = logging.getLogger("imql.tencent")

APPLIERS: dict[type[Any], Applier] = {
    **mirror_accounts.APPLIERS,
    **mirror_c2c.APPLIERS,
    **mirror_friendship.APPLIERS,
    **mirror_status.APPLIERS,
    **mirror_groups.APPLIERS,
    **mirror_group_messages.APPLIERS,
    **mirror_extensions.APPLIERS,
    **mirror_receipts.APPLIERS,
    **mirror_topics.APPLIERS,
}


class Mirror:
    """`gateway.tencent.inbound.InboundHandler`: one event at a time, in the queue's order."""

    def __init__(self, writes: MirrorWrites) -> None:
        self.writes = writes

    async def handle(self, event: InboundEvent) -> None:
        applier = APPLIERS.get(type(event))
        if applier is None:
            log.info("%s is not mirrored by this build; acknowledged", event.command)
            return
        await applier(self.writes, event)
