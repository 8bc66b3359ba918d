"""A kick tip the mirror moves out of a seq Tencent gives a message (GroupMessaging._make_room).

A kick through imql reserves the mirror's next seq for its tip, and that seq is the kicked member's
left mark: his conversation ends with the tip he was shown (tests/test_kicked_member_view.py).
Tencent counts its own seqs: once the mirror is ahead of it (a local import took a seq Tencent never
uses), the message a native member sends after the kick takes the tip's seq, and the tip moves on.
Before the fix the kicked member's mark stayed behind: his conversation lost the tip and ended with
that message, sent after he was removed. Now the mark follows the tip, and the seqs it skips stay
out of his conversation; the members see both.
"""

from __future__ import annotations

from typing import Any

from gateway.engine.message_ids import parse_msg_id
from tests.support.groups import Member, member
from tests.support.tencent_pair import Pair
from tests.tencent.test_groups_e2e import GROUP_HISTORY, both, next_text, sent, settled

KICKED = "V2TIM_GROUP_TIPS_TYPE_KICKED"
BEFORE, AFTER = "before the kick", "after the kick: not for carol"
INSERT_LOCAL = 'mutation { insertGroupMessageToLocalStorage(data: "note", groupID: "%s", sender: "alice") { seq } }'
KICK = 'mutation { kickGroupMember(groupID: "%s", memberList: ["carol"]) { result } }'
INVITE = 'mutation { inviteUserToGroup(groupID: "%s", userList: ["carol"]) { memberID result } }'
CONVERSATION = """query($c: String!) { getConversation(conversationID: $c) {
  unreadCount
  lastMessage { msgID seq random textElem { text } groupTipsElem { type memberList { userID } } }
  messages(count: 20) { seq random textElem { text } groupTipsElem { type } } } }"""


async def group_ahead_of_tencent(pair: Pair, imports: int) -> tuple[Member, Member, Member, Member, str]:
    """alice (gateway, owner), bob (native), carol and dave (gateway) in a Work group whose mirror
    holds bob's BEFORE and then counts `imports` seqs more than Tencent (alice's local imports)."""
    alice, bob = await both(pair, "alice", "bob")
    carol = await member(pair.at_gateway, pair.gateway, "carol")
    dave = await member(pair.at_gateway, pair.gateway, "dave")
    gid = await alice.create("Work", "kicks", m=[{"userID": u} for u in ("bob", "carol", "dave")])
    await sent(bob, gid, BEFORE)
    assert (await next_text(carol))["textElem"]["text"] == BEFORE  # in the mirror before the kick
    for _ in range(imports):
        await alice.q(INSERT_LOCAL % gid)
    return alice, bob, carol, dave, gid


async def kick_carol(alice: Member, carol: Member, gid: str) -> dict[str, Any]:
    """carol kicked through imql; the KICKED tip as her advancedMsgListener delivered it."""
    assert (await alice.q(KICK % gid))["kickGroupMember"] == [{"result": "OPERATION_RESULT_SUCC"}]
    while True:
        message: dict[str, Any] = (await carol.ws.events_until(carol.msgs_op, "onRecvNewMessage"))[-1]["message"]
        if (message.get("groupTipsElem") or {}).get("type") == KICKED:
            return message


async def conversation_of(m: Member, gid: str) -> dict[str, Any]:
    return dict((await m.q(CONVERSATION, {"c": f"group_{gid}"}))["getConversation"])


def text_of(message: dict[str, Any] | None) -> str | None:
    return ((message or {}).get("textElem") or {}).get("text")


async def test_the_kicked_member_keeps_his_tip_when_tencent_gives_its_seq_to_a_later_message(pair: Pair) -> None:
    alice, bob, carol, dave, gid = await group_ahead_of_tencent(pair, imports=1)
    live_tip = await kick_carol(alice, carol, gid)
    after = await sent(bob, gid, AFTER)
    assert after["seq"] == live_tip["seq"]  # Tencent gave the tip's seq to a message sent after the kick
    await settled(pair)

    view = await conversation_of(carol, gid)
    last = view["lastMessage"]
    assert last["groupTipsElem"] == {"type": KICKED, "memberList": [{"userID": "carol"}]}, view
    # the tip she was shown (its random), moved after Tencent's message
    assert last["random"] == parse_msg_id(live_tip["msgID"]).random, view
    assert last["seq"] > after["seq"], view
    newest, *older = view["messages"]
    assert (newest["seq"], newest["random"]) == (last["seq"], last["random"]), view["messages"]
    assert [text_of(m) for m in older if m["textElem"]] == [BEFORE], view["messages"]
    assert view["unreadCount"] == 1, view  # BEFORE; the tip never counts, AFTER is not hers

    # a member sees both: Tencent's message at Tencent's seq, and the tip after it
    history = {m["seq"]: m for m in (await dave.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]}
    assert text_of(history[after["seq"]]) == AFTER
    assert history[last["seq"]]["msgID"] == last["msgID"]
    theirs = await conversation_of(dave, gid)
    assert theirs["lastMessage"]["msgID"] == last["msgID"]
    assert [text_of(m) for m in theirs["messages"] if m["textElem"]] == [AFTER, BEFORE], theirs["messages"]


async def test_a_kicked_member_who_came_back_is_left_as_a_member(pair: Pair) -> None:
    """carol invited back before the tip moves: she has no left mark, and the move gives her none
    (nor hides anything from her)."""
    alice, bob, carol, dave, gid = await group_ahead_of_tencent(pair, imports=2)
    live_tip = await kick_carol(alice, carol, gid)
    invited = (await alice.q(INVITE % gid))["inviteUserToGroup"]
    assert invited == [{"memberID": "carol", "result": "OPERATION_RESULT_SUCC"}]
    await settled(pair)
    after = await sent(bob, gid, AFTER)  # the invitation's tips took a seq on each side: this one is the kick tip's
    assert after["seq"] == live_tip["seq"]
    await settled(pair)

    mine = {m["seq"]: m for m in (await carol.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]}
    theirs = {m["seq"]: m for m in (await dave.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]}
    assert mine == theirs
    assert text_of(mine[after["seq"]]) == AFTER
    assert max(mine) > after["seq"]
    assert mine[max(mine)]["elemType"] == "V2TIM_ELEM_TYPE_GROUP_TIPS"  # the moved tip
    view, control = await conversation_of(carol, gid), await conversation_of(dave, gid)
    assert view["messages"] == control["messages"]
    assert view["lastMessage"] == control["lastMessage"]
    assert AFTER in [text_of(m) for m in view["messages"]]
