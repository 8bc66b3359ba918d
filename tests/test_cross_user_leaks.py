"""Issue 19's cross-user leaks, as decided (README "Behaviour worth knowing"):

- A group's (a topic's: its community's) messages are its current members': by history and by
  message ID alike. A member who leaves loses them; one who joins later sees the history before
  joining, as getGroupHistoryMessageList shows it. Others get 6004 (not their conversation).
- A Work group's profile is its members' (Tencent's Work/Private group is invitation-only and not
  searchable): getGroupsInfo gives others resultCode 10007. Public, Meeting and Community groups
  show their profile to anyone (they are joined by request or freely, so it must be visible).
"""

from __future__ import annotations

from typing import Any

from tests.support.actors import Actor
from tests.support.clients import HTTPClient

MEMBER = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"


async def _send(user: Actor, group_id: str, text: str) -> str:
    created = (await user.q("mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text}))[
        "createTextMessage"
    ]["id"]
    sent = await user.q(
        "mutation($id: String!, $g: String) { sendMessage(id: $id, groupID: $g) { msgID } }",
        {"id": created, "g": group_id},
    )
    return str(sent["sendMessage"]["msgID"])


async def _find(user: Actor, msg_id: str) -> list[Any]:
    found = await user.q(
        "query($m: [String!]!) { findMessages(messageIDList: $m) { textElem { text } } }", {"m": [msg_id]}
    )
    return list(found["findMessages"])


async def _forward_code(user: Actor, msg_id: str) -> list[int]:
    reply = await user.call("mutation($m: String!) { createForwardMessage(msgID: $m) { id } }", {"m": msg_id})
    return reply.codes


async def test_group_messages_by_id_follow_current_membership(client: HTTPClient) -> None:
    alice, bob, carol = [Actor(client, await client.login(u)) for u in ("alice", "bob", "carol")]
    gid = (
        await alice.q(
            "mutation($m: [CreateGroupMemberInfoInput!]) { createGroup(groupType: V2TIM_GROUP_TYPE_WORK,"
            ' groupName: "w", memberListMap: $m) }',
            {"m": [{"userID": "bob", "role": MEMBER}]},
        )
    )["createGroup"]
    secret = await _send(alice, gid, "before carol")
    assert await _find(bob, secret) == [{"textElem": {"text": "before carol"}}]
    # carol, not a member: nothing by ID, whatever the API
    assert await _find(carol, secret) == []
    assert await _forward_code(carol, secret) == [6004]
    receipt = await carol.call("mutation($m: [String!]!) { sendMessageReadReceipts(msgIDList: $m) }", {"m": [secret]})
    assert receipt.codes == [6004]
    # invited later, she sees the history from before she joined, as the group's history shows it
    await alice.q(f'mutation {{ inviteUserToGroup(groupID: "{gid}", userList: ["carol"]) {{ result }} }}')
    assert await _find(carol, secret) == [{"textElem": {"text": "before carol"}}]
    history = await carol.q(f'{{ getHistoryMessageList(count: 10, groupID: "{gid}") {{ msgID }} }}')
    assert secret in [m["msgID"] for m in history["getHistoryMessageList"]]
    # bob leaves: the messages are no longer his
    await bob.q(f'mutation {{ quitGroup(groupID: "{gid}") }}')
    assert await _find(bob, secret) == []
    assert await _forward_code(bob, secret) == [6004]


async def test_a_work_groups_profile_is_its_members(client: HTTPClient) -> None:
    alice, bob, mallory = [Actor(client, await client.login(u)) for u in ("alice", "bob", "mallory")]
    create = (
        "mutation($t: V2TIM_GroupType!, $m: [CreateGroupMemberInfoInput!]) {"
        ' createGroup(groupType: $t, groupName: "g", memberListMap: $m) }'
    )
    members = [{"userID": "bob", "role": MEMBER}]
    work = (await alice.q(create, {"t": "V2TIM_GROUP_TYPE_WORK", "m": members}))["createGroup"]
    public = (await alice.q(create, {"t": "V2TIM_GROUP_TYPE_PUBLIC", "m": members}))["createGroup"]
    query = "query($g: [String!]!) { getGroupsInfo(groupIDList: $g) { resultCode groupInfo { groupID } } }"
    ids = {"g": [work, public, "no-such-group"]}
    as_member = (await bob.q(query, ids))["getGroupsInfo"]
    assert [(r["resultCode"], (r["groupInfo"] or {}).get("groupID")) for r in as_member] == [
        (0, work),
        (0, public),
        (10010, None),
    ]
    as_stranger = (await mallory.q(query, ids))["getGroupsInfo"]
    assert [(r["resultCode"], (r["groupInfo"] or {}).get("groupID")) for r in as_stranger] == [
        (10007, None),
        (0, public),
        (10010, None),
    ]


async def test_deleting_a_conversation_that_is_not_yours_is_refused(client: HTTPClient) -> None:
    mallory = Actor(client, await client.login("mallory"))
    for conv in ("c2c_nobody", "group_no-such-group"):
        reply = await mallory.call("mutation($c: String!) { deleteConversation(conversationID: $c) }", {"c": conv})
        assert reply.codes == [6004]
        listed = await mallory.call(
            "mutation($c: [String!]!) { deleteConversationList(conversationIDList: $c, clearMessage: true) }",
            {"c": [conv]},
        )
        assert listed.codes == [6004]
