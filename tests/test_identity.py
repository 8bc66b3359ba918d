"""Object identity for client caches (docs/identity.md): every Node type's `id` is non-empty, stable,
unique across the graph and the same however the object is reached; `node(id:)` fetches it again for
whoever may see it and answers null to anyone else.

Apollo's InMemoryCache (no type policies) keys objects as `__typename:id`, so the checks are on
that pair: a history of 4 messages must be 4 cache entries, and one message read through history,
a live event and a conversation's lastMessage must be one.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from gateway.errors import Code
from schema.identity import global_id, parse_global_id
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway

MSG = "__typename id msgID createdID textElem { text }"
EVENTS = f"subscription {{ advancedMsgListener {{ __typename ... on RecvNewMessageEvent {{ message {{ {MSG} }} }} }} }}"
CONVERSATION = f"conversationList {{ __typename id conversationID lastMessage {{ {MSG} }} }}"
CONV_EVENTS = (
    "subscription { conversationListener { __typename"
    f" ... on NewConversationEvent {{ {CONVERSATION} }} ... on ConversationChangedEvent {{ {CONVERSATION} }} }} }}"
)
CREATE = "mutation($t: String!) { createTextMessage(text: $t) { id messageInfo { " + MSG + " } } }"
SEND = (
    "mutation($id: String!, $receiver: String, $groupID: String) { sendMessage(id: $id, receiver: $receiver, groupID: $groupID) { "
    + MSG
    + " } }"
)
HISTORY = "query($u: String!) { getC2CHistoryMessageList(userID: $u, count: 20) { " + MSG + " } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"

# What each user reads: (alias, root field call, the path to its objects)
READS = {
    "history": ('getC2CHistoryMessageList(userID: "bob", count: 20) { __typename id }', ()),
    "groupHistory": ('getGroupHistoryMessageList(groupID: "g-work", count: 20) { __typename id }', ()),
    "conversations": (
        "getConversationList(count: 100) { conversationList { __typename id lastMessage { __typename id } } }",
        ("conversationList",),
    ),
    "users": ('getUsersInfo(userIDList: ["alice", "bob"]) { __typename id }', ()),
    "status": ('getUserStatus(userIDList: ["alice", "bob"]) { __typename id }', ()),
    "friends": ("getFriendList { __typename id userProfile { __typename id } }", ()),
    "friendApplications": (
        "getFriendApplicationList { friendApplicationList { __typename id } }",
        ("friendApplicationList",),
    ),
    "friendGroups": ("getFriendGroups { __typename id }", ()),
    "groups": ("getJoinedGroupList { __typename id }", ()),
    "members": ('getGroupMemberList(groupID: "g-work") { memberInfoList { __typename id } }', ("memberInfoList",)),
    "groupApplications": (
        "getGroupApplicationList { groupApplicationList { __typename id } }",
        ("groupApplicationList",),
    ),
    "topics": ('getTopicInfoList(groupID: "g-community") { topicInfo { __typename id } }', ("topicInfo",)),
}


class User:
    def __init__(self, client: HTTPClient, name: str, token: str) -> None:
        self.client, self.name, self.token = client, name, token

    async def call(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.client.gql(document, variables, token=self.token)

    async def q(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        return (await self.call(document, variables)).ok()

    async def send(self, text: str, **to: str) -> dict[str, Any]:
        created = (await self.q(CREATE, {"t": text}))["createTextMessage"]
        return dict((await self.q(SEND, {"id": created["id"], **to}))["sendMessage"])


async def _users(client: HTTPClient, *names: str) -> list[User]:
    return [User(client, n, await client.login(n)) for n in names]


def _objects(value: Any) -> list[tuple[str, str]]:
    """Every (__typename, id) in an answer, at any depth."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        if "__typename" in value and "id" in value:
            found.append((value["__typename"], value["id"]))
        for inner in value.values():
            found.extend(_objects(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_objects(inner))
    return found


async def test_a_history_of_four_messages_is_four_cache_entries(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await _users(client, "alice", "bob")
    ws = await WSClient.connect(server.ws_url, bob.token)
    try:
        ws_op = await ws.subscribe(EVENTS)
        conversations = await ws.subscribe(CONV_EVENTS)
        await asyncio.sleep(0.1)  # let the subscriptions follow their streams
        sent = [await alice.send(f"hello {n}", receiver="bob") for n in range(4)]
        live = [(await ws.next_event(ws_op))["message"] for _ in sent]
        changed: list[dict[str, Any]] = []
        while not changed or (changed[-1]["lastMessage"] or {}).get("msgID") != sent[-1]["msgID"]:
            changed.extend((await ws.next_event(conversations)).get("conversationList", []))
        history = (await bob.q(HISTORY, {"u": "alice"}))["getC2CHistoryMessageList"]
        alice_history = (await alice.q(HISTORY, {"u": "bob"}))["getC2CHistoryMessageList"]
        listed = await bob.q("{ getConversationList(count: 10) { conversationList { lastMessage { " + MSG + " } } } }")
        found = (await bob.q("query($m: [String!]!) { findMessages(messageIDList: $m) { " + MSG + " } }",
                             {"m": [m["msgID"] for m in sent]}))["findMessages"]  # fmt: skip
    finally:
        await ws.close()

    keys = [f"{m['__typename']}:{m['id']}" for m in history]
    assert len(history) == 4
    assert len(set(keys)) == 4, keys  # Apollo: four entries, not one `Message:""`
    assert all(m["id"] and m["id"] != m["msgID"] for m in history)
    by_msg = {m["msgID"]: m["id"] for m in history}
    # the same message has the same id wherever it is read, by either party
    assert [by_msg[m["msgID"]] for m in sent] == [m["id"] for m in sent]
    assert {m["msgID"]: m["id"] for m in live} == by_msg
    assert {m["msgID"]: m["id"] for m in alice_history} == by_msg
    assert {m["msgID"]: m["id"] for m in found} == by_msg
    last = listed["getConversationList"]["conversationList"][0]["lastMessage"]
    assert last["id"] == by_msg[sent[-1]["msgID"]]
    assert changed[-1]["lastMessage"]["id"] == by_msg[sent[-1]["msgID"]]
    # the created-message id has a name of its own: in the send's answer, not when read back
    assert all(m["createdID"].startswith("created-") for m in sent)
    assert all(m["createdID"] == "" for m in history + live)
    # a conversation event and the conversation list name bob's conversation alike
    conv_ids = {c["id"] for c in changed}
    assert len(conv_ids) == 1
    listed_ids = await bob.q("{ getConversationList(count: 10) { conversationList { id } } }")
    assert listed_ids["getConversationList"]["conversationList"][0]["id"] in conv_ids


async def test_a_created_message_has_an_id_and_its_sent_message_another(client: HTTPClient) -> None:
    alice, _ = await _users(client, "alice", "bob")
    created = (await alice.q(CREATE, {"t": "draft"}))["createTextMessage"]
    info = created["messageInfo"]
    assert info["id"]
    assert info["msgID"] == ""
    assert info["createdID"] == created["id"]
    again = (await alice.q(CREATE, {"t": "draft"}))["createTextMessage"]["messageInfo"]
    assert again["id"] != info["id"]
    sent = (await alice.q(SEND, {"id": created["id"], "receiver": "bob"}))["sendMessage"]
    assert sent["id"] != info["id"]
    assert sent["createdID"] == created["id"]


async def _world(client: HTTPClient) -> dict[str, User]:
    """alice and bob: friends in a friend group, a C2C chat, a Work group (carol too), a Community
    with a topic, a public group dave asked to join, a friend request from carol, a call invitation."""
    alice, bob, carol, dave, mallory = await _users(client, "alice", "bob", "carol", "dave", "mallory")
    member = "V2TIM_GROUP_MEMBER_ROLE_MEMBER"
    await alice.q('mutation { addFriend(userID: "bob") { resultCode } }')
    await bob.q('mutation { acceptFriendApplication(userID: "alice") { resultCode } }')
    await alice.q('mutation { createFriendGroup(groupName: "close", userIDList: ["bob"]) { resultCode } }')
    await carol.q('mutation { addFriend(userID: "alice") { resultCode } }')
    for n in range(2):
        await alice.send(f"c2c {n}", receiver="bob")
        await bob.send(f"back {n}", receiver="alice")
    await alice.q(
        'mutation($m: [CreateGroupMemberInfoInput!]) { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "w",'
        ' groupID: "g-work", memberListMap: $m) }',
        {"m": [{"userID": "bob", "role": member}, {"userID": "carol", "role": member}]},
    )
    await alice.send("work", groupID="g-work")
    await alice.q(
        'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_COMMUNITY, groupName: "c", groupID: "g-community",'
        ' isSupportTopic: true, memberListMap: [{userID: "bob"}]) }'
    )
    await alice.q('mutation { createTopicInCommunity(groupID: "g-community", topicInfo: {topicName: "t"}) }')
    await alice.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_PUBLIC, groupName: "p", groupID: "g-public") }')
    await dave.q('mutation { joinGroup(groupID: "g-public", message: "let me in") }')
    await alice.q('mutation { invite(invitee: "bob", data: "call", timeout: 600) }')
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "mallory": mallory}


async def _read_all(user: User) -> list[tuple[str, str]]:
    document = "{ " + " ".join(f"{alias}: {call}" for alias, (call, _) in READS.items()) + " }"
    answer = await user.q(document)
    objects = _objects(answer)
    # the call invitation: the signaling info its message carries
    messages = (await user.q('{ getC2CHistoryMessageList(userID: "bob", count: 20) { msgID elemType } }'))[
        "getC2CHistoryMessageList"
    ]
    for m in messages:
        if m["elemType"] == "V2TIM_ELEM_TYPE_CUSTOM":
            info = (await user.q("query($m: String!) { getSignalingInfo(msgID: $m) { __typename id } }",
                                 {"m": m["msgID"]}))  # fmt: skip
            objects.extend(_objects(info))
    return objects


async def test_ids_are_non_empty_unique_and_stable_across_types(client: HTTPClient) -> None:
    users = await _world(client)
    alice, bob = users["alice"], users["bob"]
    first = await _read_all(alice)
    second = await _read_all(alice)
    assert first == second  # stable: the same objects read again have the same ids
    kinds = {t for t, _ in first}
    assert kinds >= {
        "Message",
        "Conversation",
        "UserFullInfo",
        "UserStatus",
        "FriendInfo",
        "FriendApplication",
        "FriendGroup",
        "GroupInfo",
        "GroupMemberFullInfo",
        "GroupApplication",
        "TopicInfo",
        "SignalingInfo",
    }, kinds
    assert all(i for _, i in first)
    # unique across the graph: one id names one object, whatever its type
    by_id: dict[str, str] = {}
    for type_name, object_id in first:
        assert by_id.setdefault(object_id, type_name) == type_name, object_id
    # each id says its type (so no two types can share one)
    assert all(parse_global_id(i)[0] == t for t, i in first)
    # Conversation is per owner: the same group conversation is two objects, alice's and bob's
    alice_convs = await alice.q("{ getConversationList(count: 100) { conversationList { id conversationID } } }")
    bob_convs = await bob.q("{ getConversationList(count: 100) { conversationList { id conversationID } } }")
    alice_by = {c["conversationID"]: c["id"] for c in alice_convs["getConversationList"]["conversationList"]}
    bob_by = {c["conversationID"]: c["id"] for c in bob_convs["getConversationList"]["conversationList"]}
    assert "group_g-work" in alice_by
    assert "group_g-work" in bob_by
    assert alice_by["group_g-work"] != bob_by["group_g-work"]
    # a message is one object for everyone; its sender's profile too
    history = '{ getGroupHistoryMessageList(groupID: "g-work", count: 5) { id senderProfile { id } } }'
    assert (await alice.q(history)) == (await bob.q(history))
    # the friend request from carol: the same object for its sender and its recipient
    carol_sent = await users["carol"].q("{ getFriendApplicationList { friendApplicationList { id } } }")
    alice_got = await alice.q("{ getFriendApplicationList { friendApplicationList { id } } }")
    assert carol_sent["getFriendApplicationList"] == alice_got["getFriendApplicationList"]


def _strangers_see(type_name: str, key: list[str]) -> bool:
    """What getUsersInfo / getUserStatus / getGroupsInfo show anyone: profiles, statuses, and the
    profile of a group that is not a Work group (those are for members only)."""
    return type_name in ("UserFullInfo", "UserStatus") or (type_name == "GroupInfo" and key != ["g-work"])


async def test_node_fetches_each_object_again_and_nothing_for_strangers(client: HTTPClient) -> None:
    users = await _world(client)
    alice, mallory = users["alice"], users["mallory"]
    objects = sorted(set(await _read_all(alice)))
    for type_name, object_id in objects:
        answer = (await alice.q(NODE, {"id": object_id}))["node"]
        assert answer == {"__typename": type_name, "id": object_id}, (type_name, answer)
        stranger = await mallory.call(NODE, {"id": object_id})
        assert not stranger.errors, stranger.errors
        if _strangers_see(*parse_global_id(object_id)):
            assert stranger.data["node"] == {"__typename": type_name, "id": object_id}
        else:
            assert stranger.data["node"] is None, (type_name, stranger.data)
    # fields through the interface
    message = next(i for t, i in objects if t == "Message")
    text = await alice.q("query($id: ID!) { node(id: $id) { id ... on Message { msgID textElem { text } } } }",
                         {"id": message})  # fmt: skip
    assert text["node"]["msgID"]
    assert text["node"]["id"] == message


async def test_node_refuses_what_is_not_an_id(client: HTTPClient) -> None:
    (alice,) = await _users(client, "alice")
    nonsense = [
        "",
        "nonsense",
        base64.urlsafe_b64encode(b"[1, 2]").decode().rstrip("="),
        str(global_id("NoSuchType", "x")),
        str(global_id("Conversation", "only-one-part")),
        "x" * 5000,
    ]
    for value in nonsense:
        assert (await alice.call(NODE, {"id": value})).codes == [Code.ERR_INVALID_PARAMETERS], value
    # ids of things that do not exist: null
    for gone in (global_id("GroupInfo", "@no-such-group"), global_id("UserStatus", "nobody-at-all")):
        reply = await alice.call(NODE, {"id": gone})
        assert not reply.errors or reply.codes == [Code.ERR_INVALID_PARAMETERS], reply.body
    # an id is opaque but readable: base64url JSON of the type and its key
    sample = str(global_id("GroupInfo", "g"))
    assert json.loads(base64.urlsafe_b64decode(sample + "=" * (-len(sample) % 4))) == ["GroupInfo", "g"]
    # not logged in: the usual 6014
    assert (await client.gql(NODE, {"id": sample})).codes == [Code.ERR_SDK_NOT_LOGGED_IN]


@pytest.mark.parametrize(
    ("type_name", "key"),
    [("Message", ["m"]), ("Conversation", ["alice", "c2c_bob"]), ("GroupApplication", ["g", "0", "dave", ""])],
)
def test_ids_round_trip(type_name: str, key: list[str]) -> None:
    assert parse_global_id(global_id(type_name, *key)) == (type_name, key)
