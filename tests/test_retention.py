"""IMQL_MESSAGE_RETENTION_DAYS: messages older than the retention leave history, indexes and event
logs in the background, a bounded amount of work at a time; recent ones stay. On a Redis of the
test's own (a pass walks the whole keyspace, which the shared one fills with everyone's keys), with
a ManualClock moving days forward and then second by second, as the background loop paces itself
(the log entries are stamped by Redis's own clock, so their test writes entries with IDs from days
ago)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest

from gateway.clock import ManualClock
from gateway.config import ConfigError, Settings, load_settings
from gateway.engine.codec import STORED_ENC
from gateway.engine.message_ids import c2c_msg_id
from gateway.events.cursor import Cursor
from gateway.im.enums import ElemType
from gateway.im.messages import Content, StoredMessage, TextElem
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.redis_server import PrivateRedis
from tests.support.servers import InProcessGateway, start_in_process

DAY = 86400
LONG_SIG = 30 * DAY  # the test's clock moves days: its sessions must outlive that
HISTORY = """query($u: String, $g: String) {
  getHistoryMessageList(userID: $u, groupID: $g, count: 20) { msgID textElem { text } } }"""
FIND = "query($l: [String!]!) { findMessages(messageIDList: $l) { msgID } }"
MODIFY = 'mutation($m: String!) { modifyMessage(message: {msgID: $m, textElem: {text: "x"}}) { msgID } }'
UNREAD = 'query { getConversationList(nextSeq: "", count: 10) { conversationList { conversationID unreadCount } } }'
MESSAGES = "subscription($since: String) { advancedMsgListener(since: $since) { __typename } }"
Starter = Callable[[int], Awaitable[tuple[InProcessGateway, HTTPClient]]]


@pytest.fixture
async def running(
    settings: Settings, clock: ManualClock, private_redis: PrivateRedis
) -> AsyncIterator[Callable[[int], Awaitable[tuple[InProcessGateway, HTTPClient]]]]:
    """Starts a gateway on the test's own Redis that keeps messages the given number of days."""
    started: list[tuple[InProcessGateway, HTTPClient]] = []

    async def start(days: int) -> tuple[InProcessGateway, HTTPClient]:
        own = replace(settings, redis_url=private_redis.url, message_retention_days=days)
        server = await start_in_process(own, clock)
        http = HTTPClient(server.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
        started.append((server, http))
        return server, http

    yield start
    for server, http in started:
        await http.aclose()
        await server.stop()


async def _texts(client: HTTPClient, token: str, **target: str) -> list[str]:
    reply = (await client.gql(HISTORY, {"u": target.get("u"), "g": target.get("g")}, token=token)).ok()
    return [m["textElem"]["text"] for m in reply["getHistoryMessageList"] if m["textElem"]]


async def test_messages_older_than_the_retention_leave_and_recent_ones_stay(
    running: Starter, clock: ManualClock
) -> None:
    server, client = await running(1)
    gw = server.gateway
    alice, bob = await client.login("alice", expire=LONG_SIG), await client.login("bob", expire=LONG_SIG)
    group = (
        await client.gql('mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g") }', token=alice)
    ).ok()["createGroup"]
    invite = f'mutation {{ inviteUserToGroup(groupID: "{group}", userList: ["bob"]) {{ memberID }} }}'
    (await client.gql(invite, token=alice)).ok()
    old = [(await send_text(client, alice, f"old {n}", to="bob"))["msgID"] for n in (1, 2)]
    old.append((await send_text(client, alice, "old in the group", group=group))["msgID"])
    await clock.advance(1.5 * DAY)
    await send_text(client, alice, "recent", to="bob")
    await send_text(client, alice, "recent in the group", group=group)
    await clock.advance(0.5 * DAY + 120)  # the old ones are past a day now, the recent ones half a day

    async def trimmed() -> bool:
        # the history ends at the oldest message kept (the group's creation tips went too)
        return await _texts(client, bob, u="alice") == ["recent"] and await _texts(client, bob, g=group) == [
            "recent in the group"
        ]

    await settle_async(trimmed, clock)
    # a message past the retention is a missing message: found by none, 6017 to act on
    assert (await client.gql(FIND, {"l": old}, token=bob)).ok()["findMessages"] == []
    assert (await client.gql(MODIFY, {"m": old[0]}, token=alice)).codes == [6017]
    # its unread marks went with it
    listing = (await client.gql(UNREAD, token=bob)).ok()["getConversationList"]["conversationList"]
    assert {c["conversationID"]: c["unreadCount"] for c in listing} == {"c2c_alice": 1, f"group_{group}": 1}
    timeline = gw.keys.c2c_timeline("alice", "bob")
    assert await gw.redis.hkeys(gw.keys.timeline_messages(timeline)) == ["3"]
    assert await gw.redis.get(gw.keys.timeline_floor(timeline)) == "2"
    assert await gw.redis.zrange(gw.keys.timeline_countable_for(timeline, "bob"), 0, -1) == ["3"]


async def settle_async(predicate: Callable[[], Awaitable[bool]], clock: ManualClock, seconds: int = 120) -> None:
    """Let the background loop work, one step a second of the clock, until `predicate` holds."""
    for _ in range(seconds):
        if await predicate():
            return
        await clock.advance(1)
        await asyncio.sleep(0.05)
    assert await predicate(), f"the retention did not get there in {seconds} s of its loop"


async def test_event_logs_lose_their_entries_older_than_the_retention(running: Starter) -> None:
    """A log keeps what is younger than the retention, by the clock that stamped its entries; a
    cursor into what went is refused (6017), as for any cursor past the log's retention."""
    server, client = await running(0)  # no loop: the steps are taken here
    gw = server.gateway
    seconds, _ = await gw.redis.time()
    two_days_ago = (int(seconds) - 2 * DAY) * 1000
    stream = gw.keys.user_events("carol")
    for n in range(300):  # whole stream nodes of old entries (an approximate trim drops whole nodes)
        await gw.redis.xadd(stream, {"e": "{}"}, id=f"{two_days_ago}-{n}")
    recent = [await gw.redis.xadd(stream, {"e": "{}"}) for _ in range(5)]
    housekeeping = gw.backend.housekeeping
    assert housekeeping is not None
    while await housekeeping.trim_history(DAY, 1_000):
        pass
    left = [entry_id for entry_id, _ in await gw.redis.xrange(stream)]
    assert left[-5:] == recent
    assert len(left) <= 5 + 100  # at most the node that also holds a recent entry is kept whole
    token = await client.login("carol")
    ws = await WSClient.connect(server.ws_url, token)
    op = await ws.subscribe(MESSAGES, {"since": Cursor(user=f"{two_days_ago}-0").encode()})
    refused = await ws.next(op)
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == 6017, refused
    await ws.close()


async def test_a_log_the_retention_empties_is_deleted_so_a_cursor_taken_then_resumes(running: Starter) -> None:
    """A log with nothing younger than the retention goes altogether, not just its entries: a
    cursor taken on a log with no entry names its start ("0-0"), and a resume from it is refused
    once the log has lost an entry (EventStream). An emptied log that stayed would refuse every
    such cursor, for entries trimmed before it was taken."""
    server, client = await running(0)  # no loop: the steps are taken here
    gw = server.gateway
    dora, eve = await client.login("dora"), await client.login("eve")
    stream = gw.keys.user_events("dora")
    await gw.redis.delete(stream)
    seconds, _ = await gw.redis.time()
    two_days_ago = (int(seconds) - 2 * DAY) * 1000
    for n in range(300):
        await gw.redis.xadd(stream, {"e": "{}"}, id=f"{two_days_ago}-{n}")
    housekeeping = gw.backend.housekeeping
    assert housekeeping is not None
    while await housekeeping.trim_history(DAY, 1_000):
        pass
    assert not await gw.redis.exists(stream)
    cursor = (await client.gql("{ eventCursor }", token=dora)).ok()["eventCursor"]
    await send_text(client, eve, "after the cursor", to="dora")
    ws = await WSClient.connect(server.ws_url, dora)
    op = await ws.subscribe(MESSAGES, {"since": cursor})
    assert (await ws.next_event(op))["__typename"] == "RecvNewMessageEvent"
    await ws.close()


async def test_a_retention_step_does_bounded_work_and_a_pass_finishes(running: Starter) -> None:
    """A timeline of 500 messages past the retention: each step reads at most its budget, the
    history shrinks from its oldest end, and the pass ends with all of them gone."""
    server, _ = await running(0)  # no loop: the steps are taken here
    gw = server.gateway
    timeline = gw.keys.c2c_timeline("ann", "ben")
    three_days_ago = int(gw.clock.now()) - 3 * DAY
    text = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="old"))
    pipe = gw.redis.pipeline(transaction=False)
    for seq in range(1, 501):
        message = StoredMessage(
            msgID=c2c_msg_id("ann", "ben", seq, seq),
            sender="ann",
            receiver="ben",
            seq=seq,
            random=seq,
            timestamp=three_days_ago,
            content=text,
        )
        pipe.hset(gw.keys.timeline_messages(timeline), str(seq), STORED_ENC.encode(message))
        pipe.zadd(gw.keys.timeline_countable_for(timeline, "ben"), {str(seq): three_days_ago * 1000})
    pipe.set(gw.keys.timeline_seq(timeline), 500)
    await pipe.execute()
    housekeeping = gw.backend.housekeeping
    assert housekeeping is not None
    floors = []
    while await housekeeping.trim_history(DAY, 100):
        floors.append(int(await gw.redis.get(gw.keys.timeline_floor(timeline)) or 0))
    assert floors
    assert all(b - a <= 100 for a, b in zip([0, *floors], floors, strict=False))
    assert await gw.redis.get(gw.keys.timeline_floor(timeline)) == "500"
    assert not await gw.redis.exists(gw.keys.timeline_messages(timeline))
    assert not await gw.redis.exists(gw.keys.timeline_countable_for(timeline, "ben"))


async def test_a_seq_taken_by_a_send_in_flight_stays_above_the_floor(running: Starter) -> None:
    """A send takes its seq before it writes the message: a pass that meets such an empty seq at
    the top of a timeline must not move the floor past it, or the message would land under the
    floor and history would never show it (a race that CI's load once caught)."""
    server, _ = await running(0)  # no loop: the steps are taken here
    gw = server.gateway
    timeline = gw.keys.c2c_timeline("ann", "ben")
    now = int(gw.clock.now())

    def stored(seq: int, timestamp: int) -> bytes:
        text = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=f"m{seq}"))
        message = StoredMessage(
            msgID=c2c_msg_id("ann", "ben", seq, seq),
            sender="ann",
            receiver="ben",
            seq=seq,
            random=seq,
            timestamp=timestamp,
            content=text,
        )
        return STORED_ENC.encode(message)

    # seq 2 was never written (a send that failed), seq 4 is being sent right now
    await gw.redis.hset(
        gw.keys.timeline_messages(timeline), mapping={"1": stored(1, now - 3 * DAY), "3": stored(3, now - 3 * DAY)}
    )
    await gw.redis.set(gw.keys.timeline_seq(timeline), 4)
    housekeeping = gw.backend.housekeeping
    assert housekeeping is not None
    while await housekeeping.trim_history(DAY, 1_000):
        pass
    assert await gw.redis.get(gw.keys.timeline_floor(timeline)) == "3"  # past the gap, not past 4
    await gw.redis.hset(gw.keys.timeline_messages(timeline), "4", stored(4, now))
    while await housekeeping.trim_history(DAY, 1_000):
        pass
    assert await gw.redis.get(gw.keys.timeline_floor(timeline)) == "3"
    assert await gw.redis.hkeys(gw.keys.timeline_messages(timeline)) == ["4"]


def test_the_retention_is_days_and_zero_keeps_messages_forever() -> None:
    assert load_settings({}).message_retention_days == 0
    assert load_settings({"IMQL_MESSAGE_RETENTION_DAYS": "7"}).message_retention_days == 7
    for bad in ("-1", "a week"):
        with pytest.raises(ConfigError):
            load_settings({"IMQL_MESSAGE_RETENTION_DAYS": bad})


async def test_without_a_retention_messages_are_kept_forever(running: Starter, clock: ManualClock) -> None:
    """The default (0): no pass runs, however old the messages grow."""
    _, client = await running(0)
    alice, bob = await client.login("alice", expire=400 * DAY), await client.login("bob", expire=400 * DAY)
    await send_text(client, alice, "kept", to="bob")
    await clock.advance(365 * DAY)

    async def gone() -> bool:
        return await _texts(client, bob, u="alice") != ["kept"]

    with pytest.raises(AssertionError, match="did not get there"):
        await settle_async(gone, clock, seconds=20)  # what a running pass would have done by then
