"""C2C messages from Tencent's webhooks into the mirror: sends, recalls, modifications and read
reports of native users (and of the app's own REST calls)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from gateway.errors import IMError
from gateway.im.messages import Content
from gateway.im.signaling import SIGNALING_BUSINESS_ID, SignalingInfo
from gateway.tencent.inbound import C2CMessageModified, C2CMessageRead, C2CMessageRecalled, C2CMessageSent
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import UpstreamC2CMessage, from_upstream
from gateway.v4.msgbody import content_from_msgbody

log = logging.getLogger("imql.tencent")
# admin_msgwithdraw's ErrorCode for a message recalled before (MAPPING.md, C2C recall errors)
ALREADY_RECALLED = 20023

_signaling = msgspec.json.Decoder(SignalingInfo)


async def c2c_message(mirror: MirrorWrites, event: C2CMessageSent) -> None:
    if not event.delivered or not event.msg_body:
        return  # Tencent refused it (SendMsgResult != 0): nobody received anything
    await apply_c2c_message(
        mirror,
        sender=event.from_account,
        receiver=event.to_account,
        random=event.msg_random,
        timestamp=event.msg_time,
        key=event.msg_key,
        msg_body=list(event.msg_body),
        cloud_custom_data=event.cloud_custom_data,
        online_only=event.online_only,
        live=True,
    )


async def apply_c2c_message(
    mirror: MirrorWrites,
    *,
    sender: str,
    receiver: str,
    random: int,
    timestamp: int,
    key: str,
    msg_body: list[Any],
    cloud_custom_data: str,
    online_only: bool,
    live: bool,
) -> bool:
    """One of Tencent's C2C messages into the mirror, once (by its MsgKey), with Tencent's time;
    a signaling step it carries drives the invitation too. Whether it was new to the mirror."""
    if not online_only and (found := await mirror.ids.mirror_message(sender, receiver, key)) is not None:
        # mirrored already (a webhook and a reconciliation of the same message), perhaps by an
        # attempt that failed before applying the recall that came first
        await _apply_early_recall(mirror, sender, receiver, key, found.mirror_key)
        return False
    try:
        content = content_from_msgbody(msg_body)
    except IMError as exc:
        log.warning("a message from %s imql cannot read is not mirrored: %s", sender, exc.desc)
        return False
    await mirror.know_accounts(sender, receiver)
    mirrored = await mirror.entry.c2c_message(
        UpstreamC2CMessage(
            sender=sender,
            receiver=receiver,
            random=random,
            timestamp=timestamp,
            content=content,
            key=key,
            cloud_custom_data=cloud_custom_data,
            online_only=online_only,
            live=live,
        )
    )
    if mirrored is not None:
        await mirror.ids.link_c2c(sender, receiver, mirrored.msg_id, mirrored.key, key)
        await _apply_early_recall(mirror, sender, receiver, key, mirrored.key)
    step = signaling_step(content)
    if step is not None and live:  # a native call invitation (or its answer): signalingListener hears it too
        with from_upstream():
            await mirror.backend.signaling.apply_remote_step(sender, step)
    return True


async def _apply_early_recall(mirror: MirrorWrites, sender: str, receiver: str, key: str, mirror_key: str) -> None:
    """A recall of the message that came before its send, applied now; the note goes only once the
    recall is made (a repeat finding it recalled already counts), so no failure in between loses it."""
    if not await mirror.ids.early_recall(sender, receiver, key):
        return
    body = {"From_Account": sender, "To_Account": receiver, "MsgKey": mirror_key}
    await mirror.apply("openim/admin_msgwithdraw", body, done_already=ALREADY_RECALLED)
    await mirror.ids.forget_early_recall(sender, receiver, key)


def signaling_step(content: Content) -> SignalingInfo | None:
    """The signaling step a message carries, if it is a signaling message (businessID 1)."""
    if content.customElem is None:
        return None
    try:
        info = _signaling.decode(content.customElem.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return info if info.businessID == SIGNALING_BUSINESS_ID and info.inviteID else None


async def c2c_recalled(mirror: MirrorWrites, event: C2CMessageRecalled) -> None:
    found = await mirror.ids.mirror_message(event.from_account, event.to_account, event.msg_key)
    if found is None:  # not yet: its send may come after (webhooks are retried, in no set order)
        log.info("a recall of %s, which the mirror has not had; kept for its send", event.msg_key)
        await mirror.ids.note_early_recall(event.from_account, event.to_account, event.msg_key)
        # a send handled on another replica between the look-up and the note found no note
        found = await mirror.ids.mirror_message(event.from_account, event.to_account, event.msg_key)
        if found is not None:
            await _apply_early_recall(mirror, event.from_account, event.to_account, event.msg_key, found.mirror_key)
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
