"""A kicked member's conversation ends with the kick's tip, the one he was shown live.

Tencent tells a kicked member of the kick with a group tip (KICKED) and keeps it as the last
message of his conversation with the group. The tip's seq is his left mark (README "Who sees
what": a former member sees the group up to his leaving): his lastMessage, his conversation's
messages and his unread count end with it, and nothing sent after it is his. The mark was once
the group's last seq before the tip was written: after a reload the tip he had been shown was
gone from his conversation, whose last message then disagreed with what his client had seen.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.engine.codec import STORED_ENC
from gateway.engine.groups.store import GroupStore
from gateway.engine.message_ids import group_msg_id
from gateway.im.enums import ElemType, GroupTipsType
from gateway.im.groups import GroupInfo, GroupTipsElem
from gateway.im.messages import Content, StoredMessage, TextElem
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient
from tests.support.engine import embedded
from tests.support.groups import Member, member
from tests.support.servers import InProcessGateway

KICKED = "V2TIM_GROUP_TIPS_TYPE_KICKED"
MEMBER = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
BEFORE, AFTER = "before the kick", "after the kick: not for bob"
CONVERSATION = """query($c: String!) { getConversation(conversationID: $c) {
  unreadCount
  lastMessage { msgID seq textElem { text } groupTipsElem { type memberList { userID } } }
  messages(count: 20) { msgID seq textElem { text } groupTipsElem { type } } } }"""
LIVE_TIP_SECONDS = 10.0


async def _group_of(alice: Member, *members: str) -> str:
    return await alice.create("Work", m=[{"userID": m, "role": MEMBER} for m in members])


async def _kick(alice: Member, gid: str, user_id: str) -> None:
    kicked = await alice.q(
        "mutation($g: String!, $u: String!) { kickGroupMember(groupID: $g, memberList: [$u]) { result } }",
        {"g": gid, "u": user_id},
    )
    assert kicked["kickGroupMember"] == [{"result": "OPERATION_RESULT_SUCC"}]


async def _live_kick_tip(user: Member) -> dict[str, Any]:
    """The KICKED tip as the user's advancedMsgListener delivered it (other messages passed over)."""
    deadline = asyncio.get_running_loop().time() + LIVE_TIP_SECONDS
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, "no KICKED tip arrived"
        event = await user.ws.next_event(user.msgs_op, timeout=left)
        message = event.get("message") or {}
        if (message.get("groupTipsElem") or {}).get("type") == KICKED:
            return dict(message)


async def _conversation(user: Member, gid: str) -> dict[str, Any]:
    return dict((await user.q(CONVERSATION, {"c": f"group_{gid}"}))["getConversation"])


def _text(message: dict[str, Any] | None) -> str | None:
    return ((message or {}).get("textElem") or {}).get("text")


def _assert_ends_with_the_tip(view: dict[str, Any], live_tip: dict[str, Any]) -> None:
    """The conversation's last message and newest message are the tip shown live, same msgID and
    seq; what was sent before it is still there, nothing sent after it is."""
    last = view["lastMessage"]
    assert last is not None, view
    assert (last["msgID"], last["seq"]) == (live_tip["msgID"], live_tip["seq"]), view
    assert last["groupTipsElem"]["type"] == KICKED
    newest, *older = view["messages"]
    assert (newest["msgID"], newest["seq"]) == (live_tip["msgID"], live_tip["seq"]), view["messages"]
    assert BEFORE in [_text(m) for m in older], view["messages"]
    assert all(m["seq"] <= live_tip["seq"] for m in view["messages"]), view["messages"]


async def test_the_kicked_member_keeps_the_kick_tip_he_was_shown(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await member(client, server, "alice"), await member(client, server, "bob")
    gid = await _group_of(alice, "bob")
    (await alice.send(gid, BEFORE)).ok()
    await _kick(alice, gid, "bob")
    live_tip = await _live_kick_tip(bob)
    assert [m["userID"] for m in live_tip["groupTipsElem"]["memberList"]] == ["bob"]
    (await alice.send(gid, AFTER)).ok()

    view = await _conversation(bob, gid)
    _assert_ends_with_the_tip(view, live_tip)
    assert AFTER not in [_text(m) for m in view["messages"]]
    assert view["unreadCount"] == 1  # BEFORE; the tip never counts, AFTER is not his
    listed = await bob.q("{ getConversationList { conversationList { conversationID lastMessage { msgID } } } }")
    rows = [c for c in listed["getConversationList"]["conversationList"] if c["conversationID"] == f"group_{gid}"]
    assert [c["lastMessage"]["msgID"] for c in rows] == [live_tip["msgID"]]
    # a member sees everything, the tip and what followed it
    theirs = await _conversation(alice, gid)
    assert _text(theirs["lastMessage"]) == AFTER
    assert live_tip["msgID"] in [m["msgID"] for m in theirs["messages"]]


async def test_a_message_sent_while_the_kick_is_under_way_stays_unseen(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sends do not take the group's turn: a message landing after bob was removed but before the
    tip was written must not enter his conversation (a mark set to the tip's seq after the fact
    would let it in)."""
    alice, bob = await member(client, server, "alice"), await member(client, server, "bob")
    gid = await _group_of(alice, "bob")
    (await alice.send(gid, BEFORE)).ok()
    store: GroupStore = embedded(server.gateway.backend).groups.store
    write_tip = store.tips

    async def tips_after_a_send(group: GroupInfo, elem: GroupTipsElem, **options: Any) -> None:
        if elem.type == GroupTipsType.V2TIM_GROUP_TIPS_TYPE_KICKED:
            (await alice.send(gid, AFTER)).ok()
        await write_tip(group, elem, **options)

    monkeypatch.setattr(store, "tips", tips_after_a_send)
    await _kick(alice, gid, "bob")
    live_tip = await _live_kick_tip(bob)

    view = await _conversation(bob, gid)
    _assert_ends_with_the_tip(view, live_tip)
    assert AFTER not in [_text(m) for m in view["messages"]]
    assert view["unreadCount"] == 1
    assert AFTER in [_text(m) for m in (await _conversation(alice, gid))["messages"]]  # it was sent


async def test_a_tip_never_overwrites_a_message_stored_at_its_reserved_seq(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a mirror the upstream stores its messages at the seqs it gives them, which may be the
    one reserved for the tip while the kick is under way (docs/tencent-design.md): the tip then
    takes the next seq, and the upstream's message stays."""
    alice, bob = await member(client, server, "alice"), await member(client, server, "bob")
    gid = await _group_of(alice, "bob")
    store: GroupStore = embedded(server.gateway.backend).groups.store
    write_tip = store.tips
    taken: list[int] = []

    async def tips_after_an_upstream_message(group: GroupInfo, elem: GroupTipsElem, **options: Any) -> None:
        seq = int(options.get("seq", 0))
        if elem.type == GroupTipsType.V2TIM_GROUP_TIPS_TYPE_KICKED and seq:
            text = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="the upstream's"))
            there = StoredMessage(msgID=group_msg_id(gid, seq, 7), sender="alice", groupID=gid, seq=seq, random=7,
                                  timestamp=store.now(), content=text)  # fmt: skip
            timeline = store.keys.group_timeline(gid)
            await store.redis.hset(store.keys.timeline_messages(timeline), str(seq), STORED_ENC.encode(there))
            taken.append(seq)
        await write_tip(group, elem, **options)

    monkeypatch.setattr(store, "tips", tips_after_an_upstream_message)
    await _kick(alice, gid, "bob")
    live_tip = await _live_kick_tip(bob)

    (reserved,) = taken
    assert live_tip["seq"] > reserved
    stored = {m["seq"]: m for m in (await _conversation(alice, gid))["messages"]}
    assert _text(stored[reserved]) == "the upstream's"
    assert stored[live_tip["seq"]]["msgID"] == live_tip["msgID"]


@pytest.mark.parametrize("silence", [0, 1])
async def test_a_rest_removal_ends_where_the_removed_member_was_told(
    client: HTTPClient, server: InProcessGateway, silence: int
) -> None:
    """REST delete_group_member tells the removed member as a kick does; with Silence 1 nobody is
    told, no tip is written, and his conversation ends with the last message he had."""
    alice, bob = await member(client, server, "alice"), await member(client, server, "bob")
    gid = await _group_of(alice, "bob")
    (await alice.send(gid, BEFORE)).ok()
    body = {"GroupId": gid, "MemberToDel_Account": ["bob"], "Silence": silence}
    await RestClient(client).ok("group_open_http_svc/delete_group_member", body)
    (await alice.send(gid, AFTER)).ok()

    view = await _conversation(bob, gid)
    if silence:
        assert _text(view["lastMessage"]) == BEFORE
        assert _text(view["messages"][0]) == BEFORE
    else:
        _assert_ends_with_the_tip(view, await _live_kick_tip(bob))
    assert AFTER not in [_text(m) for m in view["messages"]]
    assert view["unreadCount"] == 1
