"""Native users' State.StateChange: their status as imql users see it (gateway.tencent.status)."""

from __future__ import annotations

from typing import Any

from gateway.tencent.inbound import StateChanged
from gateway.tencent.mirror_writes import Applier, MirrorWrites


async def state_changed(mirror: MirrorWrites, event: StateChanged) -> None:
    if mirror.native_status is not None:
        await mirror.native_status(event.user_id, event.action)


APPLIERS: dict[type[Any], Applier] = {StateChanged: state_changed}
