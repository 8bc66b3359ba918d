"""C2C messages from Tencent's webhooks into the mirror."""

from __future__ import annotations

from typing import Any

from gateway.tencent.inbound import C2CMessageSent
from gateway.tencent.mirror_writes import Applier, MirrorWrites

SYNC_TO_SENDER = 1
ONLINE_ONLY_LIFETIME = 0


async def c2c_message(mirror: MirrorWrites, event: C2CMessageSent) -> None:
    if not event.delivered or not event.msg_body:
        return  # Tencent refused it (SendMsgResult != 0): nobody received anything
    await mirror.know_accounts(event.from_account, event.to_account)
    body: dict[str, Any] = {
        "SyncOtherMachine": SYNC_TO_SENDER,
        "From_Account": event.from_account,
        "To_Account": event.to_account,
        "MsgSeq": event.msg_seq,
        "MsgRandom": event.msg_random,
        "MsgBody": list(event.msg_body),
    }
    if event.online_only:
        body["MsgLifeTime"] = ONLINE_ONLY_LIFETIME
    if event.cloud_custom_data:
        body["CloudCustomData"] = event.cloud_custom_data
    await mirror.apply("openim/sendmsg", body)


APPLIERS: dict[type[Any], Applier] = {C2CMessageSent: c2c_message}
