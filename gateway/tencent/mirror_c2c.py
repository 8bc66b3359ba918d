"""C2C messages from Tencent's webhooks into the mirror: sends, recalls, modifications and read
reports of native users (and of the app's own REST calls)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from gateway.im.messages import Content
from gateway.im.signaling import SIGNALING_BUSINESS_ID, SignalingInfo
from gateway.tencent.inbound import C2CMessageModified, C2CMessageRead, C2CMessageRecalled, C2CMessageSent
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import from_upstream

log = logging.getLogger("imql.tencent")

SYNC_TO_SENDER = 1
ONLINE_ONLY_LIFETIME = 0
_signaling = msgspec.json.Decoder(SignalingInfo)


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
    answer = await mirror.apply("openim/sendmsg", body)
    msg_id, mirror_key = answer.get("MsgId"), answer.get("MsgKey")
    if not event.online_only and isinstance(msg_id, str) and isinstance(mirror_key, str):
        await mirror.ids.link_c2c(event.from_account, event.to_account, msg_id, mirror_key, event.msg_key)
    step = signaling_step(event.contents)
    if step is not None:  # a native call invitation (or its answer): signalingListener hears it too
        with from_upstream():
            await mirror.backend.signaling.apply_remote_step(event.from_account, step)


def signaling_step(contents: tuple[Content, ...]) -> SignalingInfo | None:
    """The signaling step a message carries, if it is a signaling message (businessID 1)."""
    if len(contents) != 1 or contents[0].customElem is None:
        return None
    try:
        info = _signaling.decode(contents[0].customElem.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return info if info.businessID == SIGNALING_BUSINESS_ID and info.inviteID else None


async def c2c_recalled(mirror: MirrorWrites, event: C2CMessageRecalled) -> None:
    found = await mirror.ids.mirror_message(event.from_account, event.to_account, event.msg_key)
    if found is None:
        log.info("a recall of %s, which the mirror never had; nothing to do", event.msg_key)
        return
    body = {"From_Account": event.from_account, "To_Account": event.to_account, "MsgKey": found.mirror_key}
    await mirror.apply("openim/admin_msgwithdraw", body)


async def c2c_modified(mirror: MirrorWrites, event: C2CMessageModified) -> None:
    found = await mirror.ids.mirror_message(event.from_account, event.to_account, event.msg_key)
    if found is None:
        log.info("a modification of %s, which the mirror never had; nothing to do", event.msg_key)
        return
    body: dict[str, Any] = {
        "From_Account": event.from_account,
        "To_Account": event.to_account,
        "MsgKey": found.mirror_key,
        "CloudCustomData": event.cloud_custom_data,
    }
    if event.msg_body:
        body["MsgBody"] = list(event.msg_body)
    await mirror.apply("openim/modify_c2c_msg", body)


async def c2c_read(mirror: MirrorWrites, event: C2CMessageRead) -> None:
    await mirror.know_accounts(event.reporter, event.peer)
    body: dict[str, Any] = {"Report_Account": event.reporter, "Peer_Account": event.peer}
    if event.last_read_time:
        body["MsgReadTime"] = str(event.last_read_time)
    await mirror.apply("openim/admin_set_msg_read", body)


APPLIERS: dict[type[Any], Applier] = {
    C2CMessageSent: c2c_message,
    C2CMessageRecalled: c2c_recalled,
    C2CMessageModified: c2c_modified,
    C2CMessageRead: c2c_read,
}
