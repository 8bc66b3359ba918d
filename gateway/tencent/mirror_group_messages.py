"""Group messages from Tencent's webhooks into the mirror: sends, recalls, modifications.

A native user's group message is stored at the seq and time Tencent gave it (its identity: the
group, the topic and MsgSeq, MAPPING.md section 6), through the mirror's `send_group_msg` with an
`UpstreamReport` of both, so imql users hear the same onRecvNewMessage and read the same history
as the SDK's; the gateway's own sends come back as echoes, dropped by their echo key, or, if one
arrives first, found stored at that seq with the same Random and left alone. Recalls and
modifications go through `group_msg_recall` / `modify_group_msg` as the sender's, once: a recalled
message is not recalled again, a body the mirror has already is not written again. Webhooks come in
no set order: a recall of a seq the mirror holds no message at is noted (gateway.tencent.identity,
"Early recalls") and applied when that seq's send comes, as for C2C messages. A topic's message
(`TopicId`) goes to the topic's timeline; a topic the mirror has never seen is fetched from Tencent
first (gateway.tencent.mirror_topics.topic_known), so a native topic whose creation webhook was lost
still gets its messages. A topic Tencent cannot be asked about now (an outage: the probe of a
community the mirror holds as without topics, or get_topic) fails the webhook's entry, which is
retried; only a topic Tencent answers it does not have is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gateway.tencent.groups import TencentGroups
from gateway.tencent.inbound import GroupMessageModified, GroupMessageSent, GroupMessagesRecalled
from gateway.tencent.mirror_c2c import signaling_step
from gateway.tencent.mirror_groups import AVCHATROOM, SVC, mirrored
from gateway.tencent.mirror_topics import mirrored_topics, topic_known
from gateway.tencent.mirror_writes import Applier, MirrorWrites
from gateway.upstream import UpstreamReport, from_upstream

log = logging.getLogger("imql.tencent")

ONLINE_ONLY = 1
# group_msg_recall's RetCode for a seq the mirror holds no message at, or a recalled one (FIXTURES B7)
NOTHING_TO_RECALL = 10030


def _ids(group_id: str, topic_id: str) -> dict[str, str]:
    return {"GroupId": group_id, "TopicId": topic_id} if topic_id else {"GroupId": group_id}


async def _timeline_known(mirror: MirrorWrites, group_id: str, topic_id: str, *, fetch: bool = True) -> bool:
    """Whether the mirror has the group, and the topic when there is one (`fetch`: a topic only
    Tencent has is fetched first; a message's webhook can be the first the mirror hears of it)."""
    if not topic_id:
        return await mirrored(mirror, group_id) is not None
    if fetch:
        return await topic_known(mirror, group_id, topic_id)
    return await mirrored(mirror, group_id) is not None and bool(await mirrored_topics(mirror, group_id, [topic_id]))


def _the_admins(mirror: MirrorWrites, account: str) -> bool:
    """Whether a message's reported sender is the admin the gateway calls Tencent as: the sender
    Tencent reports for a message sent without From_Account (the app admin's own, the gateway's
    `TencentGroups.send_group_message` among them). The mirror stores it as its own REST send does,
    without From_Account: as the app admin, no member (a sender named is checked as a member, and
    the admin is none: 10007), so that it is the same message as the gateway's own send of it (same
    sender and Random at the seq: the echo found stored is left alone, or found by that send). The
    same sender: the gateway sends without From_Account only a message whose sender is this admin,
    and the mirror's REST send without it is the app admin's (the first of IMQL_ADMIN_IDENTIFIER),
    the one the gateway's own admin send had."""
    up = mirror.upstream
    return up is not None and isinstance(up.groups, TencentGroups) and account == up.groups.admin


async def message_sent(mirror: MirrorWrites, event: GroupMessageSent) -> None:
    if event.group_type == AVCHATROOM or not event.msg_body or event.msg_seq < 1:
        return  # live-stream rooms have no imql members; a message without a body or seq is none
    await mirror.know_groups(event.group_id)  # a group new here is imported (this message's seq included)
    # an outage raises out of topic_known (the entry is retried); False: Tencent has no such topic
    if event.topic_id and not await topic_known(mirror, event.group_id, event.topic_id):
        log.info("a message of topic %r, which neither the mirror nor Tencent has; dropped", event.topic_id)
        return
    body: dict[str, Any] = {**_ids(event.group_id, event.topic_id)}
    if not _the_admins(mirror, event.from_account):
        await mirror.know_accounts(event.from_account)
        body["From_Account"] = event.from_account
    body["Random"] = event.random
    body["MsgBody"] = list(event.msg_body)
    if event.online_only:
        body["OnlineOnlyFlag"] = ONLINE_ONLY
    if event.cloud_custom_data:
        body["CloudCustomData"] = event.cloud_custom_data
    if event.at:
        body["GroupAtInfo"] = [
            {"GroupAtAllFlag": 1} if a.at_all else {"GroupAtAllFlag": 0, "GroupAt_Account": a.user_id} for a in event.at
        ]
    report = UpstreamReport(operator=event.from_account, seq=event.msg_seq, timestamp=event.msg_time)
    await mirror.apply(f"{SVC}/send_group_msg", body, report)
    await _apply_early_recall(mirror, event)
    step = signaling_step(event.contents[0]) if len(event.contents) == 1 else None
    if step is not None:  # a native group call invitation (or an answer): signalingListener hears it too
        with from_upstream():
            await mirror.backend.signaling.apply_remote_step(event.from_account, step)


async def _apply_early_recall(mirror: MirrorWrites, event: GroupMessageSent) -> None:
    """A recall of this message that came before it is applied now, as the C2C path applies one:
    members heard the message and hear onRecvMessageRevoked, history keeps it recalled. The note
    goes only once the recall is made, so a send tried again after a failure still finds it."""
    timeline = event.topic_id or event.group_id
    operator = await mirror.ids.early_group_recall(timeline, event.msg_seq)
    if operator is None:
        return
    await _recall(mirror, event.group_id, event.topic_id, (event.msg_seq,), operator)
    await mirror.ids.forget_early_group_recall(timeline, event.msg_seq)


async def messages_recalled(mirror: MirrorWrites, event: GroupMessagesRecalled) -> None:
    """onRecvMessageRevoked for each seq the mirror holds unrecalled (the mirror answers the others
    RetCode 10030 and tells nobody). Those others may be messages whose send has not come yet
    (webhooks are retried, in no set order): their recall is noted for their send."""
    if event.group_type == AVCHATROOM or not event.msg_seqs:
        return
    if not await _timeline_known(mirror, event.group_id, event.topic_id):
        missing: Sequence[int] = event.msg_seqs  # a group (or topic) new here: a send to come imports it
    else:
        missing = await _recall(mirror, event.group_id, event.topic_id, event.msg_seqs, event.operator)
    if missing:
        log.info(
            "a recall of seqs %s of %s, which the mirror has not had; kept for their sends", missing, event.group_id
        )
        timeline = event.topic_id or event.group_id
        await mirror.ids.note_early_group_recalls(timeline, missing, event.operator)
        if await _timeline_known(mirror, event.group_id, event.topic_id, fetch=False):
            # a send handled on another replica between the recall and the note found no note:
            # recalled now, and the notes of what it recalled go
            still = set(await _recall(mirror, event.group_id, event.topic_id, missing, event.operator))
            for seq in missing:
                if seq not in still:
                    await mirror.ids.forget_early_group_recall(timeline, seq)


async def _recall(mirror: MirrorWrites, group_id: str, topic_id: str, seqs: Sequence[int], operator: str) -> list[int]:
    """The messages at `seqs` recalled in the mirror by `operator`; the seqs it had nothing to recall at."""
    body = {**_ids(group_id, topic_id), "MsgSeqList": [{"MsgSeq": s} for s in seqs]}
    answer = await mirror.apply(f"{SVC}/group_msg_recall", body, UpstreamReport(operator=operator))
    return [int(r["MsgSeq"]) for r in answer.get("RecallRetList", []) if r.get("RetCode") == NOTHING_TO_RECALL]


async def message_modified(mirror: MirrorWrites, event: GroupMessageModified) -> None:
    """onRecvMessageModified when the body differs from the mirror's (an echo's is the same)."""
    if (not event.msg_body and not event.cloud_custom_data) or not await _timeline_known(
        mirror, event.group_id, event.topic_id
    ):
        return
    ids = _ids(event.group_id, event.topic_id)
    found = await mirror.apply(
        f"{SVC}/group_msg_get_simple", {**ids, "ReqMsgSeq": event.msg_seq, "ReqMsgNumber": 1, "WithRecalledMsg": 1}
    )
    current = next((m for m in found.get("RspMsgList", []) if m.get("MsgSeq") == event.msg_seq), None)
    if current is None or current.get("IsPlaceMsg"):
        return  # not in the mirror (sent before it knew the group), or recalled
    body: dict[str, Any] = {**ids, "MsgSeq": event.msg_seq}
    if event.msg_body and list(event.msg_body) != current.get("MsgBody"):
        body["MsgBody"] = list(event.msg_body)
    if event.cloud_custom_data and event.cloud_custom_data != current.get("CloudCustomData"):
        body["CloudCustomData"] = event.cloud_custom_data
    if len(body) > len(ids) + 1:
        await mirror.apply(f"{SVC}/modify_group_msg", body, UpstreamReport(operator=event.operator))


APPLIERS: dict[type[Any], Applier] = {
    GroupMessageSent: message_sent,
    GroupMessagesRecalled: messages_recalled,
    GroupMessageModified: message_modified,
}
