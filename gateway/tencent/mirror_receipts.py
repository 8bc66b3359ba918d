"""Read receipts from Tencent's webhooks into the mirror: Group.CallbackAfterReadReceipt.

Each reader a receipt names is recorded once for the message at its MsgSeq
(`MirrorEntry.group_receipts`), so a retried or repeated report adds nothing, and the message's
sender, if an imql user, hears onRecvMessageReadReceipts with the mirror's counts. C2C receipts
have no webhook (MAPPING.md section 4.2): a native reader's receipt of an imql user's message does
not reach the mirror (docs/tencent.md).
"""

from __future__ import annotations

from typing import Any

from gateway.tencent.inbound import GroupReadReceipts
from gateway.tencent.mirror_groups import AVCHATROOM, mirrored
from gateway.tencent.mirror_writes import Applier, MirrorWrites


async def group_receipts(mirror: MirrorWrites, event: GroupReadReceipts) -> None:
    if event.group_type == AVCHATROOM or await mirrored(mirror, event.group_id) is None:
        return  # a group never known here holds none of these messages
    reads = [(r.msg_seq, reader) for r in event.receipts for reader in r.readers if reader]
    if reads:
        await mirror.know_accounts(*{reader for _, reader in reads})
        await mirror.entry.group_receipts(event.group_id, reads)


APPLIERS: dict[type[Any], Applier] = {GroupReadReceipts: group_receipts}
