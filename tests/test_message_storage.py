"""How messages and their events are stored (docs/storage.md): compactly, exactly, and readable
whatever format an upgrading Redis still holds. End to end over real HTTP and WebSocket on real
Redis, with the raw Redis contents checked where the format itself is the point."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from gateway.engine.codec import STORED_DEC, STORED_ENC
from gateway.engine.message_events import KIND_NEW, MessageEvents, base_view
from gateway.engine.message_ids import c2c_msg_id
from gateway.events.entries import encode_reference
from gateway.im.enums import ElemType
from gateway.im.events import OnRecvNewMessage
from gateway.im.messages import Content, Message, StoredMessage, TextElem
from tests.support.clients import HTTPClient, WSClient
from tests.support.engine import embedded
from tests.support.messages import EVENTS, HISTORY, MODIFY, device
from tests.support.servers import InProcessGateway

CURSOR = "query { eventCursor }"
REVOKE = "mutation($m: String!) { revokeMessage(lastMsgID: $m) }"
READ = 'mutation { markC2CMessageAsRead(userID: "alice") }'
FIND = "query($l: [String!]!) { findMessages(messageIDList: $l) { msgID textElem { text } } }"


async def _log(server: InProcessGateway, user: str) -> list[dict[str, str]]:
    gw = server.gateway
    return [fields for _, fields in await gw.redis.xrange(gw.keys.user_events(user))]


async def _replay(
    server: InProcessGateway, token: str, since: str, count: int, *, only: bool = False
) -> list[dict[str, Any]]:
    """The first `count` events a subscription resuming from `since` gets (`only`: and no more)."""
    ws = await WSClient.connect(server.ws_url, token)
    op = await ws.subscribe(EVENTS, {"since": since})
    events = [await ws.next_event(op) for _ in range(count)]
    if only:
        await ws.nothing_for(op, 0.3)
    await ws.close()
    return events


async def test_a_resumed_subscription_replays_exactly_the_events_delivered_live(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """Message events are kept by reference to the stored message: replayed after the message was
    modified and recalled and after its receiver read it, they are still what was delivered."""
    alice, alice_phone, bob = (
        await device(client, server, "alice", "web"),
        await device(client, server, "alice", "ios"),
        await device(client, server, "bob"),
    )
    since = {dev: (await dev.q(CURSOR))["eventCursor"] for dev in (alice_phone, bob)}
    sent = await alice.send_text("bob", "the original", c="cloud", l="mine only")
    live = {dev: [await dev.event()] for dev in (alice_phone, bob)}
    await alice.q(MODIFY, {"m": sent["msgID"], "t": "edited", "c": "cloud 2"})
    for dev in live:
        live[dev].append(await dev.event())
    await alice.q(REVOKE, {"m": sent["msgID"]})
    for dev in live:
        live[dev].append(await dev.event())
    assert [e["type"] for e in live[bob]] == ["onRecvNewMessage", "onRecvMessageModified", "onRecvMessageRevoked"]
    assert live[alice_phone][0]["message"]["createdID"]
    assert live[bob][0]["message"]["isRead"] is False
    await bob.q(READ)  # bob's read mark moves after the events were written

    # the logs keep the message events as references to the stored message, not as the message
    for user in ("alice", "bob"):
        kept = [f["e"] for f in await _log(server, user) if f["e"].startswith("[")]
        assert len(kept) == 2
        assert all(len(e) < 80 for e in kept), kept
    for dev in live:
        assert await _replay(server, dev.token, since[dev], 3) == live[dev]


async def test_messages_and_log_entries_in_the_old_formats_still_read(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """A Redis that upgrades keeps working: a message stored as a JSON object with its msgID, and
    log entries with whole listener names, whole session IDs, spelled-out notices and the whole
    event JSON (every default and null) read as they did."""
    gw = server.gateway
    engine = embedded(gw.backend)
    web, phone = await client.login("alice", platform="web"), await client.login("alice", platform="ios")
    bob = await client.login("bob")
    since = {t: (await client.gql(CURSOR, token=t)).ok()["eventCursor"] for t in (web, phone, bob)}
    timeline = gw.keys.c2c_timeline("alice", "bob")
    now = int(gw.clock.now())
    stored = StoredMessage(
        msgID=c2c_msg_id("alice", "bob", 1, 777),
        sender="alice",
        receiver="bob",
        seq=1,
        random=777,
        timestamp=now,
        content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="from before")),
    )
    old_body = msgspec.json.encode(stored)  # the object form, msgID and all
    assert old_body.startswith(b'{"msgID":')
    for_bob = (await engine.messages.core.views("bob", [stored]))[0]
    for_alice = (await engine.messages.core.views("alice", [stored]))[0]
    pipe = gw.redis.pipeline(transaction=False)
    pipe.hset(gw.keys.timeline_messages(timeline), "1", old_body)
    pipe.set(gw.keys.timeline_seq(timeline), 1)
    pipe.zadd(gw.keys.conversations("bob"), {"c2c_alice": now * 1000})
    pipe.xadd(gw.keys.user_events("bob"), {"l": "advancedMsgListener", "e": _old_event(for_bob), "c": "new:c2c_alice"})
    web_session, phone_session = web.rsplit(".", 1)[1], phone.rsplit(".", 1)[1]
    spared = {"l": "advancedMsgListener", "e": _old_event(for_alice), "x": web_session}
    pipe.xadd(gw.keys.user_events("alice"), spared)
    pipe.xadd(gw.keys.user_events("alice"), {"l": "advancedMsgListener", "e": _old_event(for_alice), "s": web_session})
    await pipe.execute()

    (received,) = await _replay(server, bob, since[bob], 1)
    history = (await client.gql(HISTORY, {"u": "alice", "n": 10}, token=bob)).ok()["getC2CHistoryMessageList"]
    assert received["message"] == history[0]
    assert received["message"]["textElem"] == {"text": "from before"}
    assert received["message"]["msgID"] == stored.msgID
    found = (await client.gql(FIND, {"l": [stored.msgID]}, token=bob)).ok()["findMessages"]
    assert found == [{"msgID": stored.msgID, "textElem": {"text": "from before"}}]
    # the session-addressed entries still tell the sessions apart by their whole IDs: the one
    # sparing the web session reaches the phone only, the one for the web session the web only
    (on_web,) = await _replay(server, web, since[web], 1, only=True)
    (on_phone,) = await _replay(server, phone, since[phone], 1, only=True)
    assert on_web["cursor"] != on_phone["cursor"]
    assert on_web["message"]["isSelf"]
    assert on_phone["message"]["isSelf"]
    assert phone_session != web_session
    # an old message changed now is written in the new form, and reads the same
    (await client.gql(REVOKE, {"m": stored.msgID}, token=web)).ok()
    new_body = await gw.redis.hget(gw.keys.timeline_messages(timeline), "1")
    assert new_body.startswith("[")
    assert len(new_body) < len(old_body)
    revoked = (await client.gql(HISTORY, {"u": "alice", "n": 10}, token=bob)).ok()["getC2CHistoryMessageList"]
    assert revoked[0]["status"] == "V2TIM_MSG_STATUS_LOCAL_REVOKED"
    assert revoked[0]["msgID"] == stored.msgID


def _old_event(view: Message) -> str:
    """An onRecvNewMessage as logged before the compact formats: every field, nulls included."""
    message = {name: msgspec.to_builtins(getattr(view, name)) for name in Message.__struct_fields__}
    return msgspec.json.encode({"type": "onRecvNewMessage", "message": message}).decode()


async def test_a_sent_draft_is_gone_and_a_repeat_or_an_at_copy_still_finds_it(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """A created message costs nothing once sent: its key is deleted with the send, and what
    needed it since finds the sent message through the sender's log."""
    gw = server.gateway
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    created = await alice.create_text("once")
    first = (await alice.send(created, "bob")).ok()["sendMessage"]
    assert not await gw.redis.exists(gw.keys.created_message("alice", created))
    again = (await alice.send(created, "bob")).ok()["sendMessage"]
    assert again["msgID"] == first["msgID"]
    assert again["createdID"] == created
    group = (await alice.q('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g") }'))["createGroup"]
    in_group = await alice.create_text("to the group")
    (await alice.send(in_group, None, g=group)).ok()
    copy = await alice.q(
        'mutation($m: String!) { createAtSignedGroupMessage(msgID: $m, atUserList: ["bob"]) '
        "{ messageInfo { textElem { text } groupAtUserList } } }",
        {"m": in_group},
    )
    assert copy["createAtSignedGroupMessage"]["messageInfo"] == {
        "textElem": {"text": "to the group"},
        "groupAtUserList": ["bob"],
    }
    assert (await alice.send("created-never-made", "bob")).codes == [6017]
    assert len((await bob.q(HISTORY, {"u": "alice", "n": 10}))["getC2CHistoryMessageList"]) == 1


async def test_a_timelines_messages_are_compact_arrays_that_read_back_whole(server: InProcessGateway) -> None:
    """The stored form leaves out the msgID (made again from the conversation, seq and random) and
    every default; a msgID that is not the made one, and the rarer fields, are kept by name."""
    text = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="Thirty-one characters of text!!"))
    plain = StoredMessage(
        msgID=c2c_msg_id("alice", "bob", 1234, 1234567890),
        sender="alice",
        receiver="bob",
        seq=1234,
        random=1234567890,
        timestamp=1700000000,
        ms=123,
        content=text,
    )
    raw = STORED_ENC.encode(plain)
    assert raw == b'["alice","bob","",1234,1234567890,1700000000123,[1,{"text":"Thirty-one characters of text!!"}]]'
    assert STORED_DEC.decode(raw) == plain
    unusual = msgspec.structs.replace(plain, msgID="imported-id", nickName="Al", version=2, groupAtUserList=["x"])
    assert b'"msgID":"imported-id"' in STORED_ENC.encode(unusual)
    assert STORED_DEC.decode(STORED_ENC.encode(unusual)) == unusual
    assert STORED_DEC.decode(msgspec.json.encode(unusual)) == unusual  # the object form, as stored before


async def test_a_reference_read_before_its_message_is_written_resolves_once_it_is(server: InProcessGateway) -> None:
    """In a Redis Cluster a send's log entry and its message live on different shards: a reader
    may see the entry first. Another process (nothing in memory) reads again until the message is there."""
    gw = server.gateway
    text = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="late"))
    stored = StoredMessage(
        msgID=c2c_msg_id("ann", "ben", 1, 5), sender="ann", receiver="ben", seq=1, random=5, timestamp=1, content=text
    )
    reference = embedded(gw.backend).message_events.reference(KIND_NEW, stored, base_view(stored, "ben"), "ben")
    assert reference is not None
    reader = MessageEvents(gw.redis, gw.keys)
    first_read = reader._read
    reads = 0

    async def read_then_write(*args: Any) -> list[int]:
        nonlocal reads
        missing = await first_read(*args)
        reads += 1
        if reads == 1:
            timeline = gw.keys.c2c_timeline("ann", "ben")
            await gw.redis.hset(gw.keys.timeline_messages(timeline), "1", STORED_ENC.encode(stored))
        return missing

    reader._read = read_then_write  # type: ignore[method-assign,assignment]
    (event,) = await reader.resolve("ben", [encode_reference(reference)])
    assert reads == 2
    assert isinstance(event, OnRecvNewMessage)
    assert event.message == base_view(stored, "ben")
    assert event.message.userID == "ann"
    assert not event.message.isSelf


class _CountingPipelines:
    """A Redis client whose pipelines record the commands each one sends (by command name and key)."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self.sent: list[list[tuple[str, str]]] = []

    def pipeline(self, transaction: bool = True) -> Any:
        pipe = self._redis.pipeline(transaction=transaction)
        execute = pipe.execute

        async def recorded(raise_on_error: bool = True) -> Any:
            self.sent.append([(str(args[0]), str(args[1]) if len(args) > 1 else "") for args, _ in pipe.command_stack])
            return await execute(raise_on_error=raise_on_error)

        pipe.execute = recorded
        return pipe


async def test_subscriptions_resuming_together_read_their_messages_in_a_shared_round_trip(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """After a restart, each resuming client replays a message or two of its own: their references
    are resolved in the pipeline the subscriptions opening at that moment share (one round trip for
    many, not one each), and each client still gets exactly its own message."""
    gw = server.gateway
    count = 12
    ann = await device(client, server, "ann")
    readers = [await device(client, server, f"reader{n}") for n in range(count)]
    cursors = [(await r.q(CURSOR))["eventCursor"] for r in readers]
    for n, reader in enumerate(readers):
        await ann.send_text(f"reader{n}", f"to reader {n}")
        await reader.event()
    # a restarted process has none of these messages in memory: each reference is read from Redis
    events = embedded(gw.backend).message_events
    events._recent.clear()
    shared = gw.dispatcher.shared
    counting = _CountingPipelines(shared._redis)
    shared._redis = counting
    try:
        replays = await asyncio.gather(
            *(_replay(server, r.token, since, 1, only=True) for r, since in zip(readers, cursors, strict=True))
        )
    finally:
        shared._redis = gw.redis
    assert [e[0]["message"]["textElem"]["text"] for e in replays] == [f"to reader {n}" for n in range(count)]
    messages = {gw.keys.timeline_messages(gw.keys.c2c_timeline(f"reader{n}", "ann")) for n in range(count)}
    reads = [sum(1 for name, key in sent if name == "HGET" and key in messages) for sent in counting.sent]
    assert sum(reads) == count  # every reference was read in the shared pipelines, none alone
    assert len([r for r in reads if r]) < count  # and several in one round trip
