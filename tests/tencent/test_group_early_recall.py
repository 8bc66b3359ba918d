"""A group recall that overtakes its send (gateway/tencent/mirror_group_messages.py).

MAPPING.md section 5: after-callbacks may be retried (duplicates) and their order is not documented,
"order by MsgTime/MsgSeq, not by arrival". A native user's group message recalled at once can reach
the gateway as Group.CallbackAfterRecallMsg (FIXTURES.md C14) before its Group.CallbackAfterSendMsg
(C7), e.g. when the send's first delivery failed and Tencent's retry comes later. The recalled
message must not stay in the members' history, nor reach them, as a live, unrecalled message. Before
the fix, the recall is dropped (the mirror answers RetCode 10030 for a seq it holds nothing at) and
the send that follows is stored and delivered as a normal message, which on Tencent is recalled.

As for C2C messages (tests/tencent/test_hostile_webhooks.py, section 4), the late send is stored
and recalled at once: members hear onRecvNewMessage, then onRecvMessageRevoked for it.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.tencent.identity import EARLY_RECALL_SECONDS
from gateway.tencent.mirror import Mirror
from gateway.tencent.mirror_writes import MirrorWrites
from tests.support.groups import Member, member
from tests.support.tencent_pair import Pair
from tests.tencent import fixtures as fx
from tests.tencent.test_groups_e2e import GROUP_HISTORY, REVOKED, both, forget_in_mirror, settled, tencent_history
from tests.tencent.test_hostile_webhooks import inject
from tests.tencent.test_webhooks import OK

RECALLED_IN_HISTORY = 2  # group_msg_get_simple's IsPlaceMsg for a recalled message (FIXTURES.md B5)
LIVE = "V2TIM_MSG_STATUS_SEND_SUCC"
# advancedMsgListener with each new message's status (tests.support.groups.MSG_EVENTS has none)
MESSAGE_EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvNewMessageEvent { type message { msgID groupID seq status textElem { text } } }
  ... on RecvMessageRevokedEvent { type msgID } } }"""


def mirror_of(pair: Pair) -> MirrorWrites:
    """The gateway's mirror as Tencent's webhooks write to it (and its REST v4 server, to read it)."""
    inbound = pair.gateway.gateway.tencent_inbound
    assert inbound is not None
    assert isinstance(inbound.handler, Mirror)
    return inbound.handler.writes


async def next_seq(pair: Pair, gid: str, topic: str = "") -> int:
    """A seq no message of the group (or topic) has yet, on Tencent or in the mirror."""
    where = {"GroupId": gid, "TopicId": topic} if topic else {"GroupId": gid}
    mirror = await mirror_of(pair).apply(
        "group_open_http_svc/group_msg_get_simple", {**where, "ReqMsgNumber": 1, "WithRecalledMsg": 1}
    )
    mirrored = [int(m["MsgSeq"]) for m in mirror["RspMsgList"]]
    on_tencent = [] if topic else list(await tencent_history(pair, gid))  # the pair's Tencent has no topics
    return max([*on_tencent, *mirrored, 0]) + 1


def recall(gid: str, seq: int, operator: str, group_type: str = "Private", topic: str = "") -> dict[str, Any]:
    """Group.CallbackAfterRecallMsg (C14) of the message at `seq`, without TopicId outside topics."""
    body = {**fx.C14, "GroupId": gid, "Type": group_type, "Operator_Account": operator, "MsgSeqList": [{"MsgSeq": seq}]}
    return {**body, "TopicId": topic} if topic else {k: v for k, v in body.items() if k != "TopicId"}


def send(gid: str, seq: int, sender: str, text: str, group_type: str = "Private", topic: str = "") -> dict[str, Any]:
    """Group.CallbackAfterSendMsg (C7) of a stored (not online-only) text message at `seq`."""
    body = {
        **fx.C7,
        "GroupId": gid,
        "Type": group_type,
        "From_Account": sender,
        "Operator_Account": sender,
        "Random": 7000 + seq,
        "MsgSeq": seq,
        "MsgTime": int(time.time()),
        "OnlineOnlyFlag": 0,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    }
    return {**body, "TopicId": topic} if topic else body


async def heard(m: Member, op: str, seq: int) -> tuple[list[dict[str, Any]], set[str]]:
    """What the member's listener `op` delivered: the new messages at `seq`, the msgIDs revoked."""
    events = await m.drain(op, first_within=2)
    new = [e["message"] for e in events if e["type"] == "onRecvNewMessage" and e["message"]["seq"] == seq]
    return new, {e["msgID"] for e in events if e["type"] == "onRecvMessageRevoked"}


def assert_never_left_live(new: list[dict[str, Any]], revoked: set[str]) -> None:
    """Each live delivery of the message is followed by its revocation (as on the C2C path)."""
    assert all(m["status"] != LIVE or m["msgID"] in revoked for m in new), (new, revoked)


async def work_group_heard(pair: Pair, name: str) -> tuple[Member, str, str, int]:
    """alice listening (her subscription's id) to a Work group with bob, its ID and the seq of its
    next message."""
    alice, _ = await both(pair, "alice", "bob")
    op = await alice.ws.subscribe(MESSAGE_EVENTS)
    gid = await alice.create("Work", name, m=[{"userID": "bob"}])
    await settled(pair)
    await alice.drain(op)
    return alice, op, gid, await next_seq(pair, gid)


async def test_a_group_recall_that_arrives_before_its_send_still_recalls_the_message(pair: Pair) -> None:
    alice, op, gid, seq = await work_group_heard(pair, "recalled early")

    assert (await inject(pair, recall(gid, seq, "bob"))).json() == OK
    await settled(pair)
    redis, note = pair.gateway.gateway.redis, pair.gateway.gateway.keys.tencent_group_early_recall(gid, seq)
    assert 0 < await redis.ttl(note) <= EARLY_RECALL_SECONDS  # kept for a while, not for ever
    assert (await inject(pair, send(gid, seq, "bob", "said, then unsaid"))).json() == OK
    await settled(pair)
    assert not await redis.exists(note)  # applied once

    assert_never_left_live(*await heard(alice, op, seq))
    page = (await alice.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    kept = {x["seq"]: x["status"] for x in page}
    assert kept.get(seq) == REVOKED, page


async def test_a_group_recall_after_its_send_still_recalls_the_message(pair: Pair) -> None:
    """The usual order is unchanged: the message is heard live, then revoked, and kept revoked."""
    alice, op, gid, seq = await work_group_heard(pair, "recalled late")

    assert (await inject(pair, send(gid, seq, "bob", "said"))).json() == OK
    await settled(pair)
    assert (await inject(pair, recall(gid, seq, "bob"))).json() == OK
    await settled(pair)

    new, revoked = await heard(alice, op, seq)
    assert [(m["status"], m["textElem"]["text"]) for m in new] == [(LIVE, "said")]
    assert revoked == {new[0]["msgID"]}
    page = (await alice.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    assert {x["seq"]: x["status"] for x in page}.get(seq) == REVOKED, page


async def test_a_topic_recall_that_arrives_before_its_send_still_recalls_the_message(pair: Pair) -> None:
    """The same in a Community's topic: a message there is named by the group, TopicId and MsgSeq."""
    alice, _ = await both(pair, "alice", "bob")
    op = await alice.ws.subscribe(MESSAGE_EVENTS)
    gid = await alice.create("Community", "topics", topics=True, m=[{"userID": "bob"}])
    topic = f"{gid}@TOPIC#_early"
    await settled(pair)
    mirror = mirror_of(pair)  # the topic in the mirror alone, as its create webhook would make it: the order of
    # the recall and the send is what is tested here
    await mirror.apply("million_group_open_http_svc/create_topic", {"GroupId": gid, "TopicId": topic, "TopicName": "t"})
    await alice.drain(op)
    seq = await next_seq(pair, gid, topic)

    assert (await inject(pair, recall(gid, seq, "bob", "Community", topic))).json() == OK
    await settled(pair)
    assert (await inject(pair, send(gid, seq, "bob", "said in a topic", "Community", topic))).json() == OK
    await settled(pair)

    assert_never_left_live(*await heard(alice, op, seq))
    history = await mirror.apply(
        "group_open_http_svc/group_msg_get_simple",
        {"GroupId": gid, "TopicId": topic, "ReqMsgSeq": seq, "ReqMsgNumber": 1, "WithRecalledMsg": 1},
    )
    at_seq = [(m["MsgSeq"], m["IsPlaceMsg"]) for m in history["RspMsgList"]]
    assert at_seq == [(seq, RECALLED_IN_HISTORY)], history


async def test_a_recall_in_a_group_the_mirror_never_saw_still_recalls_the_message_its_send_brings(
    pair: Pair,
) -> None:
    """The recall comes before anything made the mirror import the group: its send imports it, with
    the message recalled."""
    await pair.admin("im_open_login_svc/account_import", {"UserID": "ivan"})
    await pair.admin("im_open_login_svc/account_import", {"UserID": "judy"})
    made = await pair.admin(
        "group_open_http_svc/create_group",
        {"Owner_Account": "ivan", "Type": "Private", "Name": "unseen", "MemberList": [{"Member_Account": "judy"}]},
    )
    gid = made["GroupId"]
    await settled(pair)
    await forget_in_mirror(pair, gid, ["ivan", "judy"])  # as a gateway deployed after the group was made
    seq = max(await tencent_history(pair, gid)) + 1

    assert (await inject(pair, recall(gid, seq, "ivan"))).json() == OK
    await settled(pair)
    assert (await inject(pair, send(gid, seq, "ivan", "unsaid before anyone saw"))).json() == OK
    await settled(pair)

    judy = await member(pair.at_gateway, pair.gateway, "judy")
    page = (await judy.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    assert {x["seq"]: x["status"] for x in page}.get(seq) == REVOKED, page
