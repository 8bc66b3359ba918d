"""C2C messages and advancedMsgListener, end to end over real HTTP and WebSocket on real Redis."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import Code
from tests.support.clients import HTTPClient
from tests.support.engine import embedded
from tests.support.messages import HISTORY, MODIFY, Device, device
from tests.support.servers import InProcessGateway, start_in_process


@pytest.fixture
async def chat(client: HTTPClient, server: InProcessGateway) -> tuple[Device, Device, Device]:
    """alice on two devices, bob on one."""
    return (
        await device(client, server, "alice", "web"),
        await device(client, server, "alice", "ios"),
        await device(client, server, "bob"),
    )


async def test_send_reaches_the_receiver_and_the_senders_other_devices(chat: tuple[Device, Device, Device]) -> None:
    alice, alice_phone, bob = chat
    created = await alice.create_text("hello bob")
    reply = await alice.send(created, "bob", c="cloud", l="only mine")
    sent = reply.ok()["sendMessage"]
    assert sent["createdID"] == created
    assert sent["id"]  # its global id (docs/identity.md), the same when read back:
    assert sent["status"] == "V2TIM_MSG_STATUS_SEND_SUCC"
    assert sent["isSelf"] is True
    assert sent["userID"] == "bob"
    assert sent["localCustomData"] == "only mine"
    received = (await bob.event())["message"]
    assert received["msgID"] == sent["msgID"]
    assert received["isSelf"] is False
    assert received["userID"] == "alice"
    assert received["textElem"] == {"text": "hello bob"}
    assert received["cloudCustomData"] == "cloud"
    assert received["localCustomData"] == ""  # the sender's own copy only
    assert received["offlinePushInfo"] == {"title": "t", "desc": "d"}
    synced = (await alice_phone.event())["message"]
    assert synced["msgID"] == sent["msgID"]
    assert synced["isSelf"] is True
    await alice.quiet()  # the sending device is not told about its own send
    # convergence: the message received live is the one history returns
    history = (await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"]
    assert history == [received]
    assert received["id"] == sent["id"]
    mine = (await alice.q(HISTORY, {"u": "bob", "n": 10}))["getC2CHistoryMessageList"]
    assert mine[0]["msgID"] == sent["msgID"]
    assert mine[0]["localCustomData"] == "only mine"


async def test_a_repeated_send_returns_the_first_result(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    created = await alice.create_text("once")
    first = (await alice.send(created, "bob")).ok()["sendMessage"]
    again = await asyncio.gather(*(alice.send(created, "bob") for _ in range(5)))
    assert {r.ok()["sendMessage"]["msgID"] for r in again} == {first["msgID"]}
    assert len((await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"]) == 1
    await bob.event()
    await bob.quiet()


async def test_refusals(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    assert (await alice.send(await alice.create_text("x"), "ghost")).codes == [Code.ERR_RECEIVER_NOT_FOUND]
    assert (await alice.send("created-unknown", "bob")).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.send(await alice.create_text("x"), None)).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.send(await alice.create_text("x"), "bad\nid")).codes == [Code.ERR_INVALID_USERID]
    assert (await alice.send(await alice.create_text("x"), None, g="nogroup")).codes == [Code.ERR_GROUP_NOT_FOUND]
    big = await alice.create_text("x" * (12 * 1024 + 1))
    assert (await alice.send(big, "bob")).codes == [Code.ERR_MSG_BODY_TOO_LARGE]
    # bob blocks alice: her messages are refused with 20007
    await bob.q('mutation { addToBlackList(userIDList: ["alice"]) { resultCode } }')
    assert (await alice.send(await alice.create_text("x"), "bob")).codes == [Code.ERR_SENDER_BLOCKED]
    # ... and his to her still go through
    assert (await bob.send(await bob.create_text("you can't answer"), "alice")).codes == []
    assert (await alice.q(HISTORY, {"u": "bob", "n": 10}))["getC2CHistoryMessageList"][0]["sender"] == "bob"
    await bob.quiet()  # nothing was stored or delivered for the refused sends


async def test_friends_only_app_refuses_non_friends(settings: Settings, clock: ManualClock) -> None:
    running = await start_in_process(replace(settings, friends_only=True), clock)
    client = HTTPClient(running.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    try:
        alice = await device(client, running, "alice")
        bob = await device(client, running, "bob")
        assert (await alice.send(await alice.create_text("hi"), "bob")).codes == [Code.ERR_NOT_FRIENDS]
        await bob.q("mutation { setSelfInfo(allowType: V2TIM_FRIEND_ALLOW_ANY) { userID } }")
        await alice.q('mutation { addFriend(userID: "bob", addType: V2TIM_FRIEND_TYPE_BOTH) { resultCode } }')
        assert (await alice.send(await alice.create_text("hi friend"), "bob")).codes == []
        assert (await bob.event())["message"]["textElem"]["text"] == "hi friend"
    finally:
        await client.aclose()
        await running.stop()


async def test_online_only_messages_are_delivered_but_not_stored(
    chat: tuple[Device, Device, Device], server: InProcessGateway
) -> None:
    alice, _, bob = chat
    typing = (await alice.send(await alice.create_text("typing..."), "bob", o=True)).ok()["sendMessage"]
    assert typing["isExcludedFromUnreadCount"] is True
    assert (await bob.event())["message"]["textElem"]["text"] == "typing..."
    assert (await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"] == []
    assert await server.gateway.backend.messages.unread_c2c("bob", "alice") == 0  # type: ignore[attr-defined]


async def test_receive_options(chat: tuple[Device, Device, Device], server: InProcessGateway) -> None:
    alice, _, bob = chat
    set_opt = "mutation($l: [String!]!, $o: V2TIM_MessageOpt!) { setC2CReceiveMessageOpt(userIDList: $l, opt: $o) }"
    get_opt = '{ getC2CReceiveMessageOpt(userIDList: ["alice", "carol"]) { userID c2CReceiveMessageOpt } }'
    assert (await bob.q(get_opt))["getC2CReceiveMessageOpt"] == [
        {"userID": "alice", "c2CReceiveMessageOpt": 0},
        {"userID": "carol", "c2CReceiveMessageOpt": 0},
    ]
    assert await bob.q(set_opt, {"l": ["alice"], "o": "V2TIM_NOT_RECEIVE_MESSAGE"})
    assert (await bob.q(get_opt))["getC2CReceiveMessageOpt"][0]["c2CReceiveMessageOpt"] == 1
    await alice.send_text("bob", "muted")
    await bob.quiet()  # NOT_RECEIVE: no delivery ...
    engine = server.gateway.backend.messages
    assert await engine.unread_c2c("bob", "alice") == 0  # type: ignore[attr-defined]  # ... and no unread
    assert await bob.q(set_opt, {"l": ["alice"], "o": "V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE"})
    await alice.send_text("bob", "quiet but delivered")
    assert (await bob.event())["message"]["textElem"]["text"] == "quiet but delivered"
    assert await engine.unread_c2c("bob", "alice") == 1  # type: ignore[attr-defined]
    too_many = [f"u{i}" for i in range(31)]
    assert (await bob.call(set_opt, {"l": too_many, "o": "V2TIM_RECEIVE_MESSAGE"})).codes == [6017]


async def test_revoke(chat: tuple[Device, Device, Device], clock: ManualClock) -> None:
    alice, alice_phone, bob = chat
    sent = await alice.send_text("bob", "oops")
    await bob.event()
    await alice_phone.event()
    revoke = "mutation($m: String!) { revokeMessage(lastMsgID: $m) }"
    assert (await bob.call(revoke, {"m": sent["msgID"]})).codes == [Code.ERR_NO_PERMISSION]
    assert await alice.q(revoke, {"m": sent["msgID"]})
    for dev in (bob, alice_phone):
        event = await dev.event()
        assert (event["type"], event["msgID"]) == ("onRecvMessageRevoked", sent["msgID"])
    history = (await bob.q(HISTORY, {"u": "alice", "n": 1}))["getC2CHistoryMessageList"]
    assert history[0]["status"] == "V2TIM_MSG_STATUS_LOCAL_REVOKED"
    late = await alice.send_text("bob", "too late")
    await clock.advance(121)
    assert (await alice.call(revoke, {"m": late["msgID"]})).codes == [Code.ERR_REVOKE_TIME_LIMIT]


async def test_modify(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    sent = await alice.send_text("bob", "helo")
    await bob.event()
    changed = (await alice.q(MODIFY, {"m": sent["msgID"], "t": "hello", "c": "edited"}))["modifyMessage"]
    assert changed == {"msgID": sent["msgID"], "textElem": {"text": "hello"}, "cloudCustomData": "edited"}
    event = await bob.event()
    assert event["type"] == "onRecvMessageModified"
    assert event["message"]["textElem"] == {"text": "hello"}
    history = (await bob.q(HISTORY, {"u": "alice", "n": 1}))["getC2CHistoryMessageList"][0]
    assert history == event["message"]  # convergence
    assert (await bob.call(MODIFY, {"m": sent["msgID"], "t": "hijack"})).codes == [Code.ERR_NO_PERMISSION]
    # concurrent modifications: each either wins or is told 8006; the stored text is a winner's
    replies = await asyncio.gather(*(alice.call(MODIFY, {"m": sent["msgID"], "t": f"v{i}"}) for i in range(8)))
    winners = [r.data["modifyMessage"]["textElem"]["text"] for r in replies if not r.errors]
    assert winners
    assert all(r.codes in ([], [Code.ERR_MSG_MODIFY_CONFLICT]) for r in replies)
    final = (await alice.q(HISTORY, {"u": "bob", "n": 1}))["getC2CHistoryMessageList"][0]["textElem"]["text"]
    assert final in winners


async def test_read_receipts_and_read_flags(chat: tuple[Device, Device, Device], clock: ManualClock) -> None:
    alice, _, bob = chat
    sent = await alice.send_text("bob", "read me")
    received = (await bob.event())["message"]
    assert received["isRead"] is False
    assert sent["isPeerRead"] is False
    await clock.advance(1)
    assert await bob.q('mutation { markC2CMessageAsRead(userID: "alice") }')
    receipt = await alice.event()
    assert receipt["type"] == "onRecvC2CReadReceipt"
    assert receipt["receiptList"] == [{"userID": "bob", "timestamp": int(clock.now()), "isPeerRead": True}]
    assert (await bob.q(HISTORY, {"u": "alice", "n": 1}))["getC2CHistoryMessageList"][0]["isRead"] is True
    assert (await alice.q(HISTORY, {"u": "bob", "n": 1}))["getC2CHistoryMessageList"][0]["isPeerRead"] is True


async def test_a_send_at_the_millisecond_of_the_receivers_read_mark_is_read_on_both_sides(
    chat: tuple[Device, Device, Device], clock: ManualClock
) -> None:
    """A send reads the receiver's read mark once for both views (the sender's isPeerRead, the
    receiver's isRead): a mark at the message's very millisecond covers it in both, as it does
    in history; one a millisecond earlier covers it in neither."""
    alice, _, bob = chat
    await alice.send_text("bob", "first")  # the conversation exists before bob reads it
    await bob.event()
    assert await bob.q('mutation { markC2CMessageAsRead(userID: "alice") }')
    await alice.event()  # the receipt
    sent = await alice.send_text("bob", "same millisecond")  # the clock has not moved
    received = (await bob.event())["message"]
    assert (sent["isPeerRead"], received["isRead"]) == (True, True)
    assert (await bob.q(HISTORY, {"u": "alice", "n": 1}))["getC2CHistoryMessageList"][0]["isRead"] is True
    assert (await alice.q(HISTORY, {"u": "bob", "n": 1}))["getC2CHistoryMessageList"][0]["isPeerRead"] is True
    await clock.advance(0.001)
    later = await alice.send_text("bob", "a millisecond later")
    received = (await bob.event())["message"]
    assert (later["isPeerRead"], received["isRead"]) == (False, False)
    assert (await bob.q(HISTORY, {"u": "alice", "n": 1}))["getC2CHistoryMessageList"][0]["isRead"] is False


async def test_delete_clear_insert_find_and_forward(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    first = await alice.send_text("bob", "one")
    second = await alice.send_text("bob", "two")
    assert await bob.q("mutation($m: String!) { deleteMessageFromLocalStorage(msgID: $m) }", {"m": first["msgID"]})
    texts = [m["textElem"]["text"] for m in (await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"]]
    assert texts == ["two"]
    assert len((await alice.q(HISTORY, {"u": "bob", "n": 10}))["getC2CHistoryMessageList"]) == 2  # hers stay
    inserted = (
        await bob.q(
            'mutation { insertC2CMessageToLocalStorage(data: "note", userID: "alice", sender: "bob") '
            "{ msgID status customElem { data } } }"
        )
    )["insertC2CMessageToLocalStorage"]
    assert inserted["status"] == "V2TIM_MSG_STATUS_LOCAL_IMPORTED"
    assert len((await alice.q(HISTORY, {"u": "bob", "n": 10}))["getC2CHistoryMessageList"]) == 2  # not hers
    find = "query($l: [String!]!) { findMessages(messageIDList: $l) { msgID } }"
    found = await bob.q(find, {"l": [first["msgID"], second["msgID"], inserted["msgID"]]})
    assert [m["msgID"] for m in found["findMessages"]] == [second["msgID"], inserted["msgID"]]
    forward = "mutation($m: String!) { createForwardMessage(msgID: $m) { id messageInfo { textElem { text } } } }"
    copy = (await bob.q(forward, {"m": second["msgID"]}))["createForwardMessage"]
    assert copy["messageInfo"]["textElem"] == {"text": "two"}
    assert await bob.q('mutation { clearC2CHistoryMessage(userID: "alice") }')
    assert (await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"] == []
    assert len((await alice.q(HISTORY, {"u": "bob", "n": 10}))["getC2CHistoryMessageList"]) == 2
    # a stranger cannot read the conversation
    carol_token = await alice.client.login("carol")
    reply = await alice.client.gql(find, {"l": [second["msgID"]]}, token=carol_token)
    assert reply.ok()["findMessages"] == []
    reply = await alice.client.gql(forward, {"m": second["msgID"]}, token=carol_token)
    assert reply.codes == [Code.ERR_INVALID_CONVERSATION]


async def test_other_message_kinds(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    kinds = {
        'createCustomMessage(data: "{\\"k\\":1}", desc: "d", extension: "e")': "V2TIM_ELEM_TYPE_CUSTOM",
        'createImageMessage(imagePath: "https://cdn.example.com/a.png")': "V2TIM_ELEM_TYPE_IMAGE",
        'createSoundMessage(soundPath: "https://cdn.example.com/a.mp3", duration: 3)': "V2TIM_ELEM_TYPE_SOUND",
        'createVideoMessage(videoFilePath: "https://cdn.example.com/a.mp4", type: "mp4", duration: 9, '
        'snapshotPath: "https://cdn.example.com/a.jpg")': "V2TIM_ELEM_TYPE_VIDEO",
        'createFileMessage(filePath: "https://cdn.example.com/report.pdf", fileName: "")': "V2TIM_ELEM_TYPE_FILE",
        'createLocationMessage(desc: "office", longitude: 113.9, latitude: 22.5)': "V2TIM_ELEM_TYPE_LOCATION",
        'createFaceMessage(index: 4, data: "smile")': "V2TIM_ELEM_TYPE_FACE",
    }
    for call, elem_type in kinds.items():
        name = call.split("(")[0]
        created = (await alice.q(f"mutation {{ {name}: {call} {{ id messageInfo {{ elemType }} }} }}"))[name]
        assert created["messageInfo"]["elemType"] == elem_type
        assert (await alice.send(created["id"], "bob")).codes == []
        assert (await bob.event())["message"]["elemType"] == elem_type
    image = (await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"]
    assert {m["elemType"] for m in image} == set(kinds.values())
    bad = [
        'createImageMessage(imagePath: "/etc/passwd")',
        'createLocationMessage(desc: "x", longitude: 500, latitude: 0)',
        'createSoundMessage(soundPath: "ftp://x/y", duration: 1)',
    ]
    for call in bad:
        assert (await alice.call(f"mutation {{ {call} {{ id }} }}")).codes == [6017], call


async def test_a_c2c_send_takes_three_round_trips_and_leaves_the_conversation_notices_to_subscribers(
    settings: Settings,
) -> None:
    """Every read the checks and both views need, with the seq, in one round trip; then the claim;
    then the write with both events. The events' entries say whether the conversation is new or changed for
    each user (their conversationListener subscriptions derive the notice), so the send tells
    nobody's conversation list itself; only a user who gets no event is told directly."""
    from gateway.events.bus import notice_of
    from gateway.im.enums import ElemType, MessageOpt
    from gateway.im.messages import Content, SendOptions, TextElem
    from gateway.services import Gateway
    from gateway.store import open_redis

    round_trips = 0
    # the send's own round trips: the gateway's background work (the dispatcher, the all-member
    # push worker's poll, presence) shares the client and runs in tasks of its own
    test_task = asyncio.current_task()

    def count() -> None:
        nonlocal round_trips
        if asyncio.current_task() is test_task:
            round_trips += 1

    redis = open_redis(settings.redis_url, on_round_trip=count)
    gw = Gateway.build(settings, clock=ManualClock(), redis=redis)
    await gw.start()
    try:
        for user in ("ann", "ben", "cy", "dee"):
            await gw.backend.accounts.ensure_account(user)
        engine = embedded(gw.backend)
        messages = engine.messages
        # a send of others' first: its scripts are loaded on a Redis that never ran them (a fresh
        # one, after a restart or SCRIPT FLUSH) before anything is counted
        warm = await messages.create_message(
            "cy", Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="warm"))
        )
        await messages.send_c2c_message("cy", "s0", warm.id, "dee", SendOptions())
        announcer = engine.announcer
        tell = announcer.announce
        told: list[dict[str, list[str]]] = []

        async def recorded_tell(changed: dict[str, list[str]], *, topics: bool = False) -> None:
            told.append(changed)
            await tell(changed, topics=topics)

        announcer.announce = recorded_tell  # type: ignore[method-assign]

        async def send(text: str) -> int:
            text_elem = TextElem(text=text)
            created = await messages.create_message(
                "ann", Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=text_elem)
            )
            before = round_trips
            sent = await messages.send_c2c_message("ann", "s1", created.id, "ben", SendOptions())
            assert sent.textElem == text_elem
            return round_trips - before

        async def last_notice(user: str) -> str | None:
            entries: list[tuple[str, dict[str, str]]] = await redis.xrevrange(gw.keys.user_events(user), count=1)
            [(_, fields)] = entries
            kind, conversation = notice_of(fields)
            return f"{kind}:{conversation}" if kind else None

        assert await send("first") == 3  # the first send of a conversation and a later one alike
        assert (await last_notice("ann"), await last_notice("ben")) == ("new:c2c_ben", "new:c2c_ann")
        assert await send("second") == 3
        assert (await last_notice("ann"), await last_notice("ben")) == ("changed:c2c_ben", "changed:c2c_ann")
        assert told == []
        # ben takes no messages from ann: no event for ben, so ben's list is told by the send
        await messages.set_c2c_receive_message_opt("ben", ["ann"], MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)
        told.clear()
        await send("third")
        assert told == [{"ben": ["c2c_ann"]}]
        assert await last_notice("ann") == "changed:c2c_ben"
        # and the messages are where they belong
        history = await messages.get_c2c_history_message_list("ben", "ann", count=10)
        assert [m.textElem.text for m in history if m.textElem] == ["third", "second", "first"]
    finally:
        await gw.close()
        await redis.aclose()
        await redis.connection_pool.disconnect()


async def test_a_retry_finishes_a_send_whose_claim_outlived_its_write(
    chat: tuple[Device, Device, Device], server: InProcessGateway
) -> None:
    """A request that claimed its created id and died before writing (its deadline passed while
    Redis stalled) left every retry answering 7012; the retry now writes the claimed message."""
    from gateway.engine.message_ids import c2c_msg_id

    alice, _, bob = chat
    gw = server.gateway
    created = await alice.create_text("lost in the stall")
    # what the dead request had done: taken the conversation's next seq and claimed the created id
    seq = int(await gw.redis.incr(gw.keys.timeline_seq(gw.keys.c2c_timeline("alice", "bob"))))
    claimed = c2c_msg_id("alice", "bob", seq, 12345)
    await gw.redis.hset(gw.keys.created_message("alice", created), "msgID", claimed)
    first = (await alice.send(created, "bob")).ok()["sendMessage"]
    assert first["msgID"] == claimed
    again = (await alice.send(created, "bob")).ok()["sendMessage"]
    assert again["msgID"] == claimed  # and from now on an ordinary repeat
    history = (await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"]
    assert [(m["msgID"], m["textElem"]["text"]) for m in history] == [(claimed, "lost in the stall")]
    assert (await bob.event())["message"]["msgID"] == claimed
    await bob.quiet()
