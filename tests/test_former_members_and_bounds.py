"""A former member's view of a group, numbers past what the graph can carry, and what may be
forwarded or named: refusals an adversarial review found missing, each kept as a guard.

README "Who sees what": a group's messages belong to its current members; a member who leaves
loses them (history answers 10007), and their conversation keeps only what they had seen.
CONTRACT §7: bad input is refused with a clear code (never 7012, the code of an unexpected fault)
and touches no stored data.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.actors import Actor
from tests.support.clients import GraphQLReply, HTTPClient

MEMBER = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
CREATE_GROUP = """mutation($t: V2TIM_GroupType!, $m: [CreateGroupMemberInfoInput!], $topics: Boolean) {
  createGroup(groupType: $t, groupName: "g", memberListMap: $m, isSupportTopic: $topics) }"""
SEND_TEXT = """mutation($t: String!, $r: String, $g: String) {
  sendTextMessage(text: $t, receiver: $r, groupID: $g, needReadReceipt: true) { msgID } }"""


async def _users(client: HTTPClient, *names: str) -> list[Actor]:
    return [Actor(client, await client.login(n), n) for n in names]


async def _group(owner: Actor, *members: str, group_type: str = "WORK", topics: bool | None = None) -> str:
    variables = {
        "t": f"V2TIM_GROUP_TYPE_{group_type}",
        "m": [{"userID": m, "role": MEMBER} for m in members],
        "topics": topics,
    }
    return str((await owner.q(CREATE_GROUP, variables))["createGroup"])


async def _send(user: Actor, text: str, *, to: str | None = None, group: str | None = None) -> str:
    return str((await user.q(SEND_TEXT, {"t": text, "r": to, "g": group}))["sendTextMessage"]["msgID"])


def _codes(reply: GraphQLReply) -> list[int]:
    return [int(c) for c in reply.codes]


CREATE_FORWARD = "mutation($m: String!) { createForwardMessage(msgID: $m) { id messageInfo { textElem { text } } } }"
AFTER = "after bob left: the launch code is 1234"
KICKED_TIP = "V2TIM_GROUP_TIPS_TYPE_KICKED"


# ---- a member who left ------------------------------------------------------------------------


async def _kicked_after_history(client: HTTPClient) -> tuple[Actor, Actor, str]:
    """alice's Work group with bob; bob is kicked; then alice posts a secret."""
    alice, bob = await _users(client, "alice", "bob")
    gid = await _group(alice, "bob")
    await _send(alice, "before bob left", group=gid)
    kicked = await alice.q(f'mutation {{ kickGroupMember(groupID: "{gid}", memberList: ["bob"]) {{ result }} }}')
    assert kicked["kickGroupMember"] == [{"result": "OPERATION_RESULT_SUCC"}]
    await _send(alice, AFTER, group=gid)
    history = await bob.call(f'{{ getHistoryMessageList(count: 10, groupID: "{gid}") {{ msgID }} }}')
    assert _codes(history) == [10007]  # the front door is shut
    return alice, bob, gid


def _text(message: Any) -> Any:
    return ((message or {}).get("textElem") or {}).get("text")


async def test_a_former_members_conversation_shows_only_what_they_saw_as_a_member(client: HTTPClient) -> None:
    """The Conversation.messages edge and lastMessage (getConversation, getConversationList) once
    showed a kicked member the group's whole timeline, including what was posted after he left.
    They now stop at his leaving (the tip that told him of it: tests/test_kicked_member_view.py), as
    his unread count already did."""
    alice, bob, gid = await _kicked_after_history(client)
    one = await bob.q(
        "query($c: String!) { getConversation(conversationID: $c) { lastMessage { groupTipsElem { type } }"
        " messages(count: 20) { textElem { text } } } }",
        {"c": f"group_{gid}"},
    )
    assert one["getConversation"]["lastMessage"]["groupTipsElem"]["type"] == KICKED_TIP
    texts = [_text(m) for m in one["getConversation"]["messages"]]
    assert texts[:2] == [None, "before bob left"], texts
    assert AFTER not in texts, texts
    listed = await bob.q(
        "{ getConversationList { conversationList { conversationID lastMessage { groupTipsElem { type } } } } }"
    )
    rows = [c for c in listed["getConversationList"]["conversationList"] if c["conversationID"] == f"group_{gid}"]
    assert [c["lastMessage"]["groupTipsElem"]["type"] for c in rows] == [KICKED_TIP]
    # a member still sees everything
    theirs = await alice.q(
        "query($c: String!) { getConversation(conversationID: $c) { lastMessage { textElem { text } } } }",
        {"c": f"group_{gid}"},
    )
    assert _text(theirs["getConversation"]["lastMessage"]) == AFTER


async def test_a_former_member_of_a_community_sees_nothing_new_in_its_topics(client: HTTPClient) -> None:
    """A topic's conversation measures its own seqs, which the community's left mark does not: a
    member who quit the community sees none of a topic's messages in their conversation list."""
    alice, bob = await _users(client, "alice", "bob")
    community = await _group(alice, "bob", group_type="COMMUNITY", topics=True)
    topic = (
        await alice.q(
            'mutation($g: String!) { createTopicInCommunity(groupID: $g, topicInfo: {topicName: "t"}) }',
            {"g": community},
        )
    )["createTopicInCommunity"]
    await _send(bob, "bob in the topic", group=topic)
    assert (await bob.q("mutation($g: String!) { quitGroup(groupID: $g) }", {"g": community}))["quitGroup"]
    await _send(alice, AFTER, group=topic)
    listed = await bob.q(
        "{ getConversationList { conversationList { conversationID lastMessage { textElem { text } } } } }"
    )
    shown = {c["conversationID"]: _text(c["lastMessage"]) for c in listed["getConversationList"]["conversationList"]}
    assert AFTER not in shown.values(), shown


async def test_searching_every_conversation_leaves_out_groups_one_left(client: HTTPClient) -> None:
    """searchLocalMessages / searchCloudMessages with no conversationID search the caller's
    conversations; with conversationID set they refuse a non-member with 10007. Without it they
    once read the timelines of groups the caller had left, content posted after included."""
    alice, bob, gid = await _kicked_after_history(client)
    for field in ("searchLocalMessages", "searchCloudMessages"):
        document = (
            f'{{ {field}(searchParam: {{keywordList: ["launch"]}}) {{ totalCount messageSearchResultItems {{'
            " conversationID messageCount } } }"
        )
        assert (await bob.q(document))[field]["messageSearchResultItems"] == [], field
        found = (await alice.q(document))[field]["messageSearchResultItems"]
        assert [item["conversationID"] for item in found] == [f"group_{gid}"], field


# ---- integers past what the graph can carry ------------------------------------------------------


async def test_a_counter_change_that_would_leave_32_bits_is_refused_and_changes_nothing(client: HTTPClient) -> None:
    """A counter is a GraphQL Int. A counter at 2^31-1 increased by 1 was once stored as 2^31
    (HINCRBY) while the call answered a serialization error, and from then on getGroupCounters
    failed for every member. Now the change is refused (10004) before anything is written, in
    both directions."""
    alice, _ = await _users(client, "alice", "bob")
    gid = await _group(alice, "bob")
    await alice.q(
        "mutation($g: String!, $lo: Int!, $hi: Int!) { setGroupCounters(groupID: $g, counters:"
        ' [{key: "hi", value: $hi}, {key: "lo", value: $lo}]) { value } }',
        {"g": gid, "hi": INT_MAX, "lo": -INT_MAX - 1},
    )
    for change, key in (("increaseGroupCounter", "hi"), ("decreaseGroupCounter", "lo")):
        over = await alice.call(
            f'mutation($g: String!) {{ {change}(groupID: $g, key: "{key}", value: 1) {{ key value }} }}', {"g": gid}
        )
        assert _codes(over) == [10004], over.body
    read = await alice.q("query($g: String!) { getGroupCounters(groupID: $g) { key value } }", {"g": gid})
    assert read["getGroupCounters"] == [{"key": "hi", "value": INT_MAX}, {"key": "lo", "value": -INT_MAX - 1}]
    fine = await alice.q(
        'mutation($g: String!) { decreaseGroupCounter(groupID: $g, key: "hi", value: 5) { value } }', {"g": gid}
    )
    assert fine["decreaseGroupCounter"] == [{"value": INT_MAX - 5}]


@pytest.mark.parametrize("next_seq", [LONG_MAX, str(LONG_MAX), 2**31])
async def test_a_read_member_page_past_any_roster_is_6017(client: HTTPClient, next_seq: object) -> None:
    """getGroupMessageReadMemberList's nextSeq is a position in the group's roster. A valid Long far
    past any roster once made the engine ask Redis for a range past 64 bits: 7012."""
    alice, _ = await _users(client, "alice", "bob")
    gid = await _group(alice, "bob")
    msg = await _send(alice, "read me", group=gid)
    reply = await alice.call(
        "query($m: String!, $n: Long) { getGroupMessageReadMemberList(msgID: $m, nextSeq: $n) {"
        " nextSeq isFinished memberInfoList { userID } } }",
        {"m": msg, "n": next_seq},
    )
    assert _codes(reply) == [6017], reply.body


@pytest.mark.parametrize("value", ["\u00b2", "--5", "1" * 25, 2**63, -(2**63) - 1, 1.5, True])
async def test_a_long_that_is_no_64_bit_integer_is_6017(client: HTTPClient, value: object) -> None:
    """A Long is a JSON number or a string of ASCII digits, in 64 bits; anything else is refused
    as a bad variable (6017), never taken as some other number."""
    alice, _ = await _users(client, "alice", "bob")
    gid = await _group(alice, "bob")
    msg = await _send(alice, "read me", group=gid)
    reply = await alice.call(
        "query($m: String!, $n: Long) { getGroupMessageReadMemberList(msgID: $m, nextSeq: $n) { nextSeq } }",
        {"m": msg, "n": value},
    )
    assert _codes(reply) == [6017], reply.body


# ---- what a revoked message leaves ---------------------------------------------------------------


async def test_a_revoked_message_is_neither_forwarded_nor_quoted(client: HTTPClient) -> None:
    """The SDK's createForwardMessage takes a message whose status is SEND_SUCC and no group tips,
    as createMergerMessage already required (6017). bob once forwarded a message alice had
    revoked and got its text back; a reply quoting it copied the text into its messageAbstract."""
    alice, bob = await _users(client, "alice", "bob")
    secret = await _send(alice, "oops: the wifi password is hunter2", to="bob")
    assert (await alice.q("mutation($m: String!) { revokeMessage(lastMsgID: $m) }", {"m": secret}))["revokeMessage"]
    merged = await bob.call(
        'mutation($l: [String!]!) { createMergerMessage(msgIDList: $l, title: "t", compatibleText: "c") { id } }',
        {"l": [secret]},
    )
    assert _codes(merged) == [6017]
    assert _codes(await bob.call(CREATE_FORWARD, {"m": secret})) == [6017]
    reply_id = await bob.create_text("quoting it")
    replied = await bob.call(
        'mutation($id: String!, $m: String!) { sendReplyMessage(id: $id, receiver: "alice",'
        " replyMessage: {msgID: $m}) { msgID } }",
        {"id": reply_id, "m": secret},
    )
    assert _codes(replied) == [6017], replied.body
    standing = await _send(alice, "still here", to="bob")
    forwarded = await bob.q(CREATE_FORWARD, {"m": standing})
    assert forwarded["createForwardMessage"]["messageInfo"]["textElem"]["text"] == "still here"


# ---- topic IDs ---------------------------------------------------------------------------------


async def test_a_topic_id_that_no_api_would_take_is_not_created(client: HTTPClient) -> None:
    """A custom topicID was once checked only for its "<groupID>@TOPIC#_" prefix, so a topic whose
    ID is not printable ASCII, is over the bytes a group ID may have, or has no name after the
    mark was stored and announced, while every API taking it as a groupID refused it (10015)."""
    alice, _ = await _users(client, "alice", "bob")
    community = await _group(alice, "bob", group_type="COMMUNITY", topics=True)
    create = (
        "mutation($g: String!, $t: String!) { createTopicInCommunity(groupID: $g, topicInfo: {topicID: $t,"
        ' topicName: "t"}) }'
    )
    for suffix in ("caf\u00e9", "x" * 200, "tab\there", ""):
        created = await alice.call(create, {"g": community, "t": f"{community}@TOPIC#_{suffix}"})
        assert _codes(created) in ([10015], [10004]), (suffix, created.body)
    topics = await alice.q(
        "query($g: String!) { getTopicInfoList(groupID: $g) { topicInfo { topicID } } }", {"g": community}
    )
    assert topics["getTopicInfoList"] == []
    good = (await alice.q(create, {"g": community, "t": f"{community}@TOPIC#_plans"}))["createTopicInCommunity"]
    assert await _send(alice, "in the topic", group=good)
