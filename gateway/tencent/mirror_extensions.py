"""Message extensions from Tencent's webhooks into the mirror: C2C.CallbackAfterC2CMsgExtension and
Group.CallbackAfterGroupMsgExtension.

Each key is stored at Tencent's `Seq` for it (`MirrorEntry.c2c_extensions` / `group_extensions`),
so the echo of the gateway's own write (stored at that Seq already) and a report overtaken by a
later change leave the mirror as it is and tell nobody; what does change reaches every imql user
who sees the message as onRecvMessageExtensionsChanged / Deleted. A clear (OperateType 3) names no
keys: the mirror's own keys are deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gateway.tencent.inbound import C2CMessageExtension, Extension, GroupMessageExtension
from gateway.tencent.mirror_groups import mirrored
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import UpstreamExtension

log = logging.getLogger("imql.tencent")

SET, DELETE, CLEAR = 1, 2, 3  # OperateType


def _changes(extensions: Sequence[Extension]) -> list[UpstreamExtension]:
    """The keys a set or delete names, each at Tencent's Seq."""
    return [UpstreamExtension(key=e.key, value=e.value, version=e.seq) for e in extensions]


async def c2c_extension(mirror: MirrorWrites, event: C2CMessageExtension) -> None:
    if event.operate_type not in (SET, DELETE, CLEAR):
        return
    found = await mirror.ids.mirror_message(event.from_account, event.to_account, event.msg_key)
    if found is None:
        log.info("extensions of %s, which the mirror never had; nothing to do", event.msg_key)
        return
    changes = None if event.operate_type == CLEAR else _changes(event.extensions)
    await mirror.entry.c2c_extensions(event.from_account, found.msg_id, changes, delete=event.operate_type != SET)


async def group_extension(mirror: MirrorWrites, event: GroupMessageExtension) -> None:
    if event.operate_type not in (SET, DELETE, CLEAR) or await mirrored(mirror, event.group_id) is None:
        return  # a group never known here holds none of its messages
    timeline = event.topic_id or event.group_id
    changes = None if event.operate_type == CLEAR else _changes(event.extensions)
    await mirror.entry.group_extensions(timeline, event.msg_seq, changes, delete=event.operate_type != SET)


APPLIERS: dict[type[Any], Applier] = {
    C2CMessageExtension: c2c_extension,
    GroupMessageExtension: group_extension,
}
