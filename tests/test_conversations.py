"""Conversations end to end: the list and its fields, paging, settings, groups of conversations,
unread counts and totals, and the conversationListener callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import Code
from tests.support.clients import HTTPClient, WSClient
from tests.support.conversations import LIST, User, user
from tests.support.servers import InProcessGateway


@pytest.fixture
async def pair(client: HTTPClient, server: InProcessGateway) -> tuple[User, User]:
    return await user(client, server, "ann"), await user(client, server, "ben")


async def test_conversations_appear_with_their_fields_and_unread(pair: tuple[User, User]) -> None:
    ann, ben = pair
    await ben.q('mutation { setSelfInfo(nickName: "Benjamin", faceURL: "https://x/b.png") { userID } }')
    sent = await ann.send("ben", "hi ben")
    ann_events, ben_events = await ann.drain(), await ben.drain()
    assert [e["type"] for e in ben_events] == ["onNewConversation", "onTotalUnreadMessageCountChanged"]
    assert [e["type"] for e in ann_events] == ["onNewConversation"]
    conv = ben.mirror["c2c_ann"]
    assert (conv["type"], conv["userID"], conv["showName"], conv["unreadCount"]) == ("V2TIM_C2C", "ann", "ann", 1)
    assert conv["lastMessage"]["msgID"] == sent["msgID"]
    assert ann.mirror["c2c_ben"]["showName"] == "Benjamin"
    assert ann.mirror["c2c_ben"]["faceUrl"] == "https://x/b.png"
    assert ann.mirror["c2c_ben"]["unreadCount"] == 0
    assert ben.total == 1
    await ben.converged()
    await ann.converged()
    await ann.send("ben", "second")
    await ben.drain()
    assert ben.mirror["c2c_ann"]["unreadCount"] == 2
    assert ben.total == 2
    # reading clears it, on every device, and the totals follow
    assert await ben.q('mutation { markC2CMessageAsRead(userID: "ann") }')
    await ben.drain()
    assert ben.mirror["c2c_ann"]["unreadCount"] == 0
    assert ben.total == 0
    await ben.converged()
    # a friend remark becomes the showName
    await ann.q("mutation { setSelfInfo(allowType: V2TIM_FRIEND_ALLOW_ANY) { userID } }")
    await ben.q(
        'mutation { addFriend(userID: "ann", addType: V2TIM_FRIEND_TYPE_SINGLE, remark: "Annie") { resultCode } }'
    )
    got = await ben.q('{ getConversation(conversationID: "c2c_ann") { showName } }')
    assert got["getConversation"]["showName"] == "Annie"


async def test_paging_is_stable_while_messages_arrive(client: HTTPClient, server: InProcessGateway) -> None:
    ann = await user(client, server, "ann")
    gw = server.gateway
    peers = [f"p{i:02d}" for i in range(25)]
    for _i, peer in enumerate(peers):
        await gw.backend.accounts.ensure_account(peer)
        await ann.send(peer, f"to {peer}")
        await server.gateway.clock.advance(1)  # type: ignore[attr-defined]
    first = (await ann.q(LIST, {"n": "", "c": 10}))["getConversationList"]
    assert [c["userID"] for c in first["conversationList"]] == list(reversed(peers))[:10]
    await ann.send("p00", "bump")  # the oldest jumps to the top while paging
    rest: list[str] = []
    cursor = first["nextSeq"]
    while cursor:
        page = (await ann.q(LIST, {"n": cursor, "c": 10}))["getConversationList"]
        rest += [c["userID"] for c in page["conversationList"]]
        cursor = page["nextSeq"]
    assert rest == list(reversed(peers))[10:24]  # no repeats, no gaps (p00 moved above the cursor)
    assert (await ann.call(LIST, {"n": "garbage", "c": 10})).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await ann.call(LIST, {"n": "", "c": 101})).codes == [Code.ERR_INVALID_PARAMETERS]


async def test_settings_draft_pin_mark_custom_and_delete(pair: tuple[User, User], clock: Any) -> None:
    ann, ben = pair
    await ann.send("ben", "hello")
    await ann.drain()
    await ann.q('mutation { setConversationDraft(conversationID: "c2c_ben", draftText: "unsent") }')
    await ann.q('mutation { pinConversation(conversationID: "c2c_ben", isPinned: true) }')
    marks = await ann.q(
        'mutation { markConversation(conversationIDList: ["c2c_ben", "c2c_nobody"], enableMark: true, markType: 1) { conversationID resultCode } }'
    )
    assert [m["resultCode"] for m in marks["markConversation"]] == [0, Code.ERR_INVALID_CONVERSATION]
    await ann.q(
        'mutation { setConversationCustomData(conversationIDList: ["c2c_ben"], customData: "x") { resultCode } }'
    )
    events = await ann.drain()
    assert [e["type"] for e in events] == ["onConversationChanged"] * 4
    conv = ann.mirror["c2c_ben"]
    assert (conv["draftText"], conv["isPinned"], conv["markList"], conv["customData"]) == ("unsent", True, [1], "x")
    await ann.converged()
    starred = await ann.q(
        "{ getConversationListByFilter(filter: {markType: 1}) { conversationList { conversationID } } }"
    )
    assert starred["getConversationListByFilter"]["conversationList"] == [{"conversationID": "c2c_ben"}]
    too_many = ", ".join(f'"c2c_u{i}"' for i in range(101))
    assert (
        await ann.call(
            f"mutation {{ markConversation(conversationIDList: [{too_many}], enableMark: true, markType: 1) {{ resultCode }} }}"
        )
    ).codes == [Code.ERR_CONVERSATION_MARK_PER_CALL]
    assert await ann.q('mutation { deleteConversation(conversationID: "c2c_ben") }')
    assert [e["type"] for e in await ann.drain()] == ["onConversationDeleted"]
    await ann.converged()
    assert (await ann.call('{ getConversation(conversationID: "c2c_ben") { conversationID } }')).codes == [
        Code.ERR_INVALID_CONVERSATION
    ]
    await clock.advance(1)
    await ben.send("ann", "are you there?")  # a new message brings it back, as new
    assert [e["type"] for e in await ann.drain()] == ["onNewConversation", "onTotalUnreadMessageCountChanged"]
    await ann.converged()
    for bad in ("ben", "c2c_", "group_", "c2c_bad\\nid"):
        assert (await ann.call(f'{{ getConversation(conversationID: "{bad}") {{ conversationID }} }}')).codes == [
            Code.ERR_INVALID_CONVERSATION
        ]


async def test_conversation_groups(pair: tuple[User, User], client: HTTPClient, server: InProcessGateway) -> None:
    ann, _ben = pair
    await server.gateway.backend.accounts.ensure_account("cal")
    await ann.send("ben", "1")
    await ann.send("cal", "2")
    await ann.drain()
    create = await ann.q(
        'mutation { createConversationGroup(groupName: "work", conversationIDList: ["c2c_ben"]) { conversationID resultCode } }'
    )
    assert create["createConversationGroup"] == [{"conversationID": "c2c_ben", "resultCode": 0}]
    assert (
        await ann.call('mutation { createConversationGroup(groupName: "work", conversationIDList: []) { resultCode } }')
    ).codes == [Code.ERR_CONVERSATION_GROUP_EXISTS]
    long_name = "n" * 33
    assert (
        await ann.call(
            f'mutation {{ createConversationGroup(groupName: "{long_name}", conversationIDList: []) {{ resultCode }} }}'
        )
    ).codes == [Code.ERR_CONVERSATION_GROUP_NAME]
    assert await ann.q(
        'mutation { addConversationsToGroup(groupName: "work", conversationIDList: ["c2c_cal"]) { resultCode } }'
    )
    assert await ann.q('mutation { renameConversationGroup(oldName: "work", newName: "job") }')
    assert await ann.q(
        'mutation { deleteConversationsFromGroup(groupName: "job", conversationIDList: ["c2c_ben"]) { resultCode } }'
    )
    assert (await ann.q("{ getConversationGroupList }"))["getConversationGroupList"] == ["job"]
    in_group = await ann.q(
        '{ getConversationListByFilter(filter: {groupName: "job"}) { conversationList { conversationID conversationGroupList } } }'
    )
    assert in_group["getConversationListByFilter"]["conversationList"] == [
        {"conversationID": "c2c_cal", "conversationGroupList": ["job"]}
    ]
    assert await ann.q('mutation { deleteConversationGroup(groupName: "job") }')
    assert (await ann.call('mutation { deleteConversationGroup(groupName: "job") }')).codes == [
        Code.ERR_CONVERSATION_GROUP_NOT_FOUND
    ]
    kinds = [
        e["type"] for e in await ann.drain() if "Group" in e["type"] or "Added" in e["type"] or "Deleted" in e["type"]
    ]
    assert kinds == [
        "onConversationGroupCreated",
        "onConversationsAddedToGroup",
        "onConversationGroupNameChanged",
        "onConversationsDeletedFromGroup",
        "onConversationGroupDeleted",
    ]
    await ann.converged()


async def test_group_conversations_at_info_receive_options_and_totals(pair: tuple[User, User]) -> None:
    ann, ben = pair
    gid = (await ann.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "club") }'))[
        "createGroup"
    ]
    await ben.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    assert "onNewConversation" in [e["type"] for e in await ben.drain()]
    await ann.drain()
    conv = f"group_{gid}"
    assert ben.mirror[conv]["showName"] == "club"
    await ann.send(gid, "@ben hi", group=True, at="ben")
    await ann.send(gid, "plain", group=True)
    await ben.drain()
    assert ben.mirror[conv]["unreadCount"] == 2
    # the sender's own list follows too: derived from the group's entry by the sender's subscription
    assert [e["type"] for e in await ann.drain()].count("onConversationChanged") >= 1
    assert (ann.mirror[conv]["lastMessage"]["textElem"]["text"], ann.mirror[conv]["unreadCount"]) == ("plain", 0)
    assert [a["atType"] for a in ben.mirror[conv]["groupAtInfoList"]] == ["TIM_AT_ME"]
    assert ben.total == 2
    at_filter = await ben.q("{ getUnreadMessageCountByFilter(filter: {hasGroupAtInfo: true}) }")
    assert at_filter["getUnreadMessageCountByFilter"] == 2
    # do-not-disturb: still counted per conversation, left out of the total
    await ben.q(f'mutation {{ setGroupReceiveMessageOpt(groupID: "{gid}", opt: V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE) }}')
    await ben.drain()
    assert ben.mirror[conv]["unreadCount"] == 2
    assert ben.total == 0
    await ben.q(f'mutation {{ setGroupReceiveMessageOpt(groupID: "{gid}", opt: V2TIM_RECEIVE_MESSAGE) }}')
    await ben.q(
        f'mutation {{ cleanConversationUnreadMessageCount(conversationID: "{conv}", cleanTimestamp: 0, cleanSequence: 0) }}'
    )
    await ben.drain()
    assert ben.mirror[conv]["unreadCount"] == 0
    assert ben.mirror[conv]["groupAtInfoList"] == []
    await ben.converged()


async def test_mark_all_read_clears_every_conversation(pair: tuple[User, User]) -> None:
    ann, ben = pair
    gid = (await ann.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "desk") }'))["createGroup"]
    await ann.q(f'mutation {{ inviteUserToGroup(groupID: "{gid}", userList: ["ben"]) {{ result }} }}')
    await ann.send("ben", "one")
    await ann.send("ben", "two")
    await ann.send(gid, "three", group=True)
    await ben.drain()
    assert (ben.mirror["c2c_ann"]["unreadCount"], ben.mirror[f"group_{gid}"]["unreadCount"], ben.total) == (2, 1, 3)
    assert await ben.q("mutation { markAllMessageAsRead }")
    await ben.drain()
    assert (ben.mirror["c2c_ann"]["unreadCount"], ben.mirror[f"group_{gid}"]["unreadCount"], ben.total) == (0, 0, 0)
    await ben.converged()
    # the C2C read reached the sender: ann's copies now show as read by ben
    history = await ann.q('{ getC2CHistoryMessageList(userID: "ben", count: 5) { isPeerRead } }')
    assert [m["isPeerRead"] for m in history["getC2CHistoryMessageList"]] == [True, True]


async def test_filter_subscriptions_report_their_totals(pair: tuple[User, User]) -> None:
    ann, ben = pair
    flt = "{conversationType: V2TIM_C2C}"
    assert await ben.q(f"mutation {{ subscribeUnreadMessageCountByFilter(filter: {flt}) }}")
    await ann.send("ben", "one")
    await ann.send("ben", "two")
    by_filter = [e for e in await ben.drain() if e["type"] == "onUnreadMessageCountChangedByFilter"]
    assert by_filter[-1]["totalUnreadCount"] == 2
    assert by_filter[-1]["filter"]["conversationType"] == 1
    assert await ben.q(f"mutation {{ unsubscribeUnreadMessageCountByFilter(filter: {flt}) }}")
    await ann.send("ben", "three")
    assert [e for e in await ben.drain() if e["type"] == "onUnreadMessageCountChangedByFilter"] == []


async def test_first_page_of_100_costs_a_fixed_number_of_round_trips(
    server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.lean.redis import LeanPipeline

    gw = server.gateway
    engine = gw.backend.messages
    from gateway.im.enums import ElemType
    from gateway.im.messages import Content, SendOptions, TextElem

    async def fill(user: str, count: int) -> None:
        await gw.backend.accounts.ensure_account(user)
        for i in range(count):
            peer = f"{user}-peer{i}"
            await gw.backend.accounts.ensure_account(peer)
            created = await engine.create_message(
                peer, Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="hi"))
            )
            await engine.send_c2c_message(peer, "s", created.id, user, SendOptions())

    trips = 0
    # the store's pipelines (gateway.lean: a fast path of its own, else redis-py's) and commands
    original_execute = LeanPipeline.execute
    original_command = type(gw.redis).execute_command

    async def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await original_execute(self, *args, **kwargs)

    async def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await original_command(self, *args, **kwargs)

    costs = {}
    for user_id, size in (("small", 120), ("big", 1000)):
        await fill(user_id, size)
        monkeypatch.setattr(LeanPipeline, "execute", counted_execute)
        monkeypatch.setattr(type(gw.redis), "execute_command", counted_command)
        trips = 0
        page = await gw.backend.conversations.get_conversation_list(user_id, "", 100)
        costs[size] = trips
        monkeypatch.undo()
        assert len(page.conversationList) == 100
    assert 0 < costs[120] == costs[1000]
    assert costs[1000] <= 8


EDGES = """{ getConversationList(count: 100) { conversationList { conversationID
  lastMessage { sender senderProfile { nickName } }
  messages(count: 3) { textElem { text } senderProfile { userID nickName } } } } }"""


async def test_graph_edges_are_batched(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.lean.redis import LeanPipeline

    gw = server.gateway
    ann = await user(client, server, "ann")
    from gateway.im.enums import ElemType
    from gateway.im.messages import Content, SendOptions, TextElem
    from gateway.im.model import ProfileChanges

    async def talk(peers: list[str]) -> None:
        for peer in peers:
            await gw.backend.accounts.ensure_account(peer)
            await gw.backend.accounts.set_self_info(peer, ProfileChanges(nickName=peer.upper()))
            for text in ("a", "b", "c", "d"):
                created = await gw.backend.messages.create_message(
                    peer, Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=text))
                )
                await gw.backend.messages.send_c2c_message(peer, "s", created.id, "ann", SendOptions())

    trips = 0
    # the request path's pipelines (gateway.lean: a fast path of its own, else redis-py's) and
    # commands, on the gateway's own client only: background workers have clients of their own
    original_execute = LeanPipeline.execute
    original_command = type(gw.redis).execute_command

    async def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        if self.connection_pool is gw.redis.connection_pool:
            trips += 1
        return await original_execute(self, *args, **kwargs)

    async def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        if self is gw.redis:
            trips += 1
        return await original_command(self, *args, **kwargs)

    costs = []
    for batch in (["p1", "p2"], [f"q{i}" for i in range(20)]):
        await talk(batch)
        await ann.drain()  # ann's subscription has derived its notices: only the query is counted
        monkeypatch.setattr(LeanPipeline, "execute", counted_execute)
        monkeypatch.setattr(type(gw.redis), "execute_command", counted_command)
        trips = 0
        data = await ann.q(EDGES)
        costs.append(trips)
        monkeypatch.undo()
    convs = data["getConversationList"]["conversationList"]
    assert len(convs) == 22
    first = convs[0]
    assert [m["textElem"]["text"] for m in first["messages"]] == ["d", "c", "b"]
    assert first["messages"][0]["senderProfile"]["nickName"] == first["conversationID"][4:].upper()
    assert first["lastMessage"]["senderProfile"]["nickName"] == first["conversationID"][4:].upper()
    assert 0 < costs[0] == costs[1]  # 2 or 22 conversations, with their messages and profiles: same cost
    older = await ann.q('{ getConversation(conversationID: "c2c_p1") { messages(count: 2) { msgID } } }')
    last_id = older["getConversation"]["messages"][-1]["msgID"]
    page2 = await ann.q(
        '{ getConversation(conversationID: "c2c_p1") { messages(count: 5, lastMsgID: "%s") { textElem { text } } } }'
        % last_id
    )
    assert [m["textElem"]["text"] for m in page2["getConversation"]["messages"]] == ["b", "a"]


RESUMED = """subscription($since: String) { conversationListener(since: $since) { __typename
  ... on SyncServerStartEvent { cursor }
  ... on SyncServerFinishEvent { cursor }
  ... on TotalUnreadMessageCountChangedEvent { cursor }
  ... on NewConversationEvent { cursor conversationList { conversationID unreadCount lastMessage { textElem { text } } } }
  ... on ConversationChangedEvent { cursor conversationList { conversationID unreadCount lastMessage { textElem { text } } } }
} }"""


async def test_a_resume_over_many_messages_derives_each_conversation_once(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """C2C conversation notices are derived from the messages' events; read together (here a
    resume), the messages of one conversation give one notice with its state then, new if the
    conversation was new to the user in that span."""
    ann_token = await client.login("ann")
    ben = await user(client, server, "ben")
    ws = await WSClient.connect(server.ws_url, ann_token)
    op = await ws.subscribe(RESUMED)
    since = (await ws.next_event(op))["cursor"]
    await ws.close()
    for i in range(12):
        await ben.send("ann", f"m{i}")
    ws = await WSClient.connect(server.ws_url, ann_token)
    try:
        op = await ws.subscribe(RESUMED, {"since": since})
        notices = []
        while True:
            try:
                event = await ws.next_event(op, timeout=0.5)
            except TimeoutError:
                break
            if event["__typename"] in ("NewConversationEvent", "ConversationChangedEvent"):
                notices.append(event)
        assert [n["__typename"] for n in notices] == ["NewConversationEvent"]
        [conv] = notices[0]["conversationList"]
        assert (conv["conversationID"], conv["unreadCount"], conv["lastMessage"]["textElem"]["text"]) == (
            "c2c_ben",
            12,
            "m11",
        )
    finally:
        await ws.close()


async def test_a_group_sends_notice_is_its_senders_alone(pair: tuple[User, User]) -> None:
    """A group message's entry carries its sender's conversation notice (here new: the sender had
    deleted the conversation); the other members derive theirs from the message, as changed."""
    ann, ben = pair
    gid = (await ann.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "den") }'))[
        "createGroup"
    ]
    await ben.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    conv = f"group_{gid}"
    await ann.drain()
    await ben.drain()
    assert await ann.q(f'mutation {{ deleteConversationList(conversationIDList: ["{conv}"], clearMessage: false) }}')
    assert "onConversationDeleted" in [e["type"] for e in await ann.drain()]
    await ann.send(gid, "back", group=True)
    ann_types = [e["type"] for e in await ann.drain()]
    ben_types = [e["type"] for e in await ben.drain()]
    assert "onNewConversation" in ann_types
    assert ann.mirror[conv]["lastMessage"]["textElem"]["text"] == "back"
    assert "onConversationChanged" in ben_types
    assert "onNewConversation" not in ben_types
    assert ben.mirror[conv]["lastMessage"]["textElem"]["text"] == "back"
