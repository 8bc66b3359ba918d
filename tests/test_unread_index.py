"""The C2C unread index (gateway.engine.unread_index): a callback's UnreadMsgNum, the receiver's
total one-to-one unread, counted from the conversations that may hold unread messages.

End to end, the bodies a real callback receiver gets carry the right count after sends, reads,
deletions, cleared unread and receive options, and for a user whose index does not exist yet (as
after an upgrade). On the engine, the index's totals equal the recount (`Conversations`' C2C
total) across many conversations and every write that moves unread (a read up to an earlier time and
the retention included), a whole batch of users is counted in two round trips, and reads leave
only conversations with something unread in the index.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.retention import MessageRetention
from gateway.engine.unread_index import BUILT
from gateway.ids import c2c_conversation_id
from gateway.im.conversations import ConversationFilter
from gateway.im.enums import ConversationType, MessageOpt
from gateway.services import Gateway
from gateway.store import open_redis
from gateway.v4 import callbacks as wire
from tests.contract.conftest import send_text
from tests.support.actors import Actor
from tests.support.engine import embedded
from tests.test_callbacks_more import Setup, send, world  # noqa: F401 (the fixture)

C2C_ONLY = ConversationFilter(conversationType=int(ConversationType.V2TIM_C2C))


# ---- end to end: the bodies the app's endpoint gets ------------------------------------------------
async def test_unread_msg_num_follows_sends_reads_deletions_and_a_missing_index(world: Setup) -> None:  # noqa: F811
    alice, bob, carol, dave = [await world.user(u) for u in ("alice", "bob", "carol", "dave")]
    sent = 0

    async def after_send(sender: Actor, text: str) -> int:
        """Sends, waits for this send's after-callback, and returns its UnreadMsgNum."""
        nonlocal sent
        await send(sender, text, to="bob")
        sent += 1
        got = (await world.receiver.wait_for(wire.C2C_AFTER_SEND, sent))[-1]
        assert got.body["To_Account"] == "bob"
        await world.clock.advance(1)  # the next step happens at a later millisecond
        return int(got.body["UnreadMsgNum"])

    assert await after_send(alice, "a1") == 1
    assert await after_send(carol, "c1") == 2
    assert await after_send(alice, "a2") == 3
    assert await bob.q('mutation { markC2CMessageAsRead(userID: "alice") }')
    (report,) = await world.receiver.wait_for(wire.C2C_AFTER_READ)
    assert (report.body["Report_Account"], report.body["UnreadMsgNum"]) == ("bob", 1)  # carol's
    await world.clock.advance(1)
    assert await after_send(dave, "d1") == 2
    assert await bob.q('mutation { deleteConversationList(conversationIDList: ["c2c_carol"]) }')
    await world.clock.advance(1)
    assert await after_send(alice, "a3") == 2  # dave's and the new one
    assert await bob.q('mutation { cleanConversationUnreadMessageCount(conversationID: "c2c_dave") }')
    await world.clock.advance(1)
    assert await after_send(carol, "c2") == 2  # alice's a3, carol's c2 (her conversation is back)
    assert await bob.q('mutation { setC2CReceiveMessageOpt(userIDList: ["alice"], opt: V2TIM_NOT_RECEIVE_MESSAGE) }')
    assert await after_send(dave, "d2") == 2  # alice's conversation no longer counts: carol's and dave's
    assert await bob.q('mutation { setC2CReceiveMessageOpt(userIDList: ["alice"], opt: V2TIM_RECEIVE_MESSAGE) }')
    # bob's index gone, as for data from before it existed: the next count builds it again
    gw = world.server.gateway
    await gw.redis.delete(gw.keys.c2c_unread_index("bob"))
    assert await after_send(carol, "c3") == 4  # alice's a3, carol's c2 and c3, dave's d2
    # the same as the recount of every conversation
    assert await embedded(gw.backend).conversations.unread_total("bob", C2C_ONLY) == 4
    # a read by REST: the reader's count in its report
    await world.rest.ok("openim/admin_set_msg_read", {"Report_Account": "bob", "Peer_Account": "carol"})
    report = (await world.receiver.wait_for(wire.C2C_AFTER_READ, 2))[1]
    assert (report.body["Peer_Account"], report.body["UnreadMsgNum"]) == ("carol", 2)


# ---- on the engine: the index against the recount ---------------------------------------------------
class RoundTrips:
    """Round trips sent from the task that reads `n`: the gateway's background work (the
    dispatcher, the all-member push worker's poll, presence) shares the client in tasks of its own."""

    def __init__(self) -> None:
        self._by_task: dict[asyncio.Task[Any] | None, int] = {}

    @property
    def n(self) -> int:
        return self._by_task.get(asyncio.current_task(), 0)

    def __call__(self) -> None:
        task = asyncio.current_task()
        self._by_task[task] = self._by_task.get(task, 0) + 1


@pytest.fixture
async def counted(settings: Settings) -> AsyncIterator[tuple[Gateway, RoundTrips, ManualClock]]:
    trips = RoundTrips()
    clock = ManualClock()
    redis = open_redis(settings.redis_url, cluster=settings.redis_cluster, on_round_trip=trips)
    gw = Gateway.build(settings, clock=clock, redis=redis)
    await gw.start()
    yield gw, trips, clock
    await gw.close()


async def totals(engine: EmbeddedBackend, users: list[str]) -> dict[str, int]:
    return await engine.messages.core.unread_index.totals(users)


async def recount(engine: EmbeddedBackend, user: str) -> int:
    return await engine.conversations.unread_total(user, C2C_ONLY)


async def indexed(gw: Gateway, user: str) -> set[str]:
    return set(await gw.redis.zrange(gw.keys.c2c_unread_index(user), 0, -1))


async def test_totals_equal_the_recount_across_many_conversations_and_every_change(
    counted: tuple[Gateway, RoundTrips, ManualClock],
) -> None:
    gw, trips, clock = counted
    engine = embedded(gw.backend)
    users = ["bob", "ann", *(f"p{i}" for i in range(30))]
    for u in users:
        await engine.accounts.ensure_account(u)

    async def check() -> dict[str, int]:
        found = await totals(engine, users)
        assert found == {u: await recount(engine, u) for u in users}
        return found

    # 30 peers write to bob (some twice), bob to some of them
    for i in range(30):
        await send_text(engine, f"p{i}", "bob", "hi")
        if i % 3 == 0:
            await send_text(engine, f"p{i}", "bob", "again")
        if i % 5 == 0:
            await send_text(engine, "bob", f"p{i}", "back")
    await clock.advance(1)
    assert (await check())["bob"] == 40
    # reads of every kind, each at a later millisecond
    await engine.messages.mark_c2c_message_as_read("bob", "p0")
    await clock.advance(1)
    await engine.conversations.clean_conversation_unread_message_count("bob", "c2c_p1", 0, 0)
    await engine.messages.clear_c2c_history_message("bob", "p2")
    await engine.conversations.delete_conversation_list("bob", ["c2c_p3"], False)
    await engine.messages.set_c2c_receive_message_opt("bob", ["p4"], MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)
    await engine.messages.set_c2c_receive_message_opt("bob", ["p5"], MessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE)
    # a message deleted for bob alone, and messages that do not count
    unread_one = await send_text(engine, "p6", "bob", "deleted unread")
    await engine.messages.delete_message_from_local_storage("bob", unread_one.msgID)
    await send_text(engine, "p7", "bob", "not counted", isExcludedFromUnreadCount=True)
    await send_text(engine, "p8", "bob", "counted, not last", isExcludedFromLastMessage=True)
    await clock.advance(1)
    # the reads took their conversations out of the index (before any count)
    assert not {c2c_conversation_id(p) for p in ("p0", "p1", "p2", "p3")} & await indexed(gw, "bob")
    # out: p0 (2), p1, p2, p3 (2), p4 and p5 (not RECEIVE); in: p8's; p6's deleted, p7's not counted
    assert (await check())["bob"] == 40 - 2 - 1 - 1 - 2 - 1 - 1 + 1
    # a deleted conversation comes back with its next message
    await send_text(engine, "p3", "bob", "back again")
    await clock.advance(1)
    assert (await check())["bob"] == 34
    # a batch of users (built indexes) in two round trips (on a cluster, each goes to every node at once)
    before = trips.n
    await totals(engine, users)
    if not gw.settings.redis_cluster:
        assert trips.n - before == 2
    # mark all read: nothing unread, nothing left in the index but its mark
    await engine.messages.mark_all_message_as_read("bob")
    await clock.advance(1)
    assert await indexed(gw, "bob") == {BUILT}
    assert (await check())["bob"] == 0


async def test_a_read_up_to_an_earlier_time_leaves_read_messages_read(
    counted: tuple[Gateway, RoundTrips, ManualClock],
) -> None:
    """REST admin_set_msg_read with an earlier MsgReadTime does not move bob's read mark back: a
    read never makes read messages unread again (a late or replayed report included), and the
    index agrees with the recount."""
    gw, _, clock = counted
    engine = embedded(gw.backend)
    for u in ("ann", "bob"):
        await engine.accounts.ensure_account(u)
    await send_text(engine, "ann", "bob", "early")
    early = int(clock.now())
    await clock.advance(10)
    await send_text(engine, "ann", "bob", "late")
    await clock.advance(10)
    await engine.messages.mark_c2c_message_as_read("bob", "ann")
    assert (await totals(engine, ["bob"]))["bob"] == 0 == await recount(engine, "bob")
    assert await indexed(gw, "bob") == {BUILT}
    await engine.messages.mark_c2c_message_as_read("bob", "ann", read_time=early)
    assert (await totals(engine, ["bob"]))["bob"] == 0 == await recount(engine, "bob")
    assert await indexed(gw, "bob") == {BUILT}


async def test_a_user_without_an_index_gets_one_built_from_their_conversations(
    counted: tuple[Gateway, RoundTrips, ManualClock],
) -> None:
    """Data from before the index (here: the index deleted after the sends, as an upgrade finds it):
    the first count builds it from the conversation list, and later writes keep it."""
    gw, _, clock = counted
    engine = embedded(gw.backend)
    peers = [f"p{i}" for i in range(12)]
    for u in ("bob", *peers):
        await engine.accounts.ensure_account(u)
    for i, p in enumerate(peers):
        await send_text(engine, p, "bob", "hi")
        if i % 2:
            await clock.advance(1)
            await engine.messages.mark_c2c_message_as_read("bob", p)
    await clock.advance(1)
    await gw.redis.delete(gw.keys.c2c_unread_index("bob"))
    assert (await totals(engine, ["bob"]))["bob"] == 6 == await recount(engine, "bob")
    # built: the unread conversations only, and its mark
    assert await indexed(gw, "bob") == {BUILT, *(c2c_conversation_id(p) for p in peers[::2])}
    # a send before the first count (the index made by the send, without the mark) is merged
    await gw.redis.delete(gw.keys.c2c_unread_index("bob"))
    await send_text(engine, "p1", "bob", "new")
    await clock.advance(1)
    assert (await totals(engine, ["bob"]))["bob"] == 7 == await recount(engine, "bob")


async def test_the_retention_takes_trimmed_conversations_out_of_the_index(
    counted: tuple[Gateway, RoundTrips, ManualClock],
) -> None:
    gw, _, clock = counted
    engine = embedded(gw.backend)
    for u in ("ann", "bob", "cat"):
        await engine.accounts.ensure_account(u)
    await send_text(engine, "ann", "bob", "old")
    await send_text(engine, "cat", "bob", "old too")
    await clock.advance(3600)
    await send_text(engine, "cat", "bob", "recent")
    await clock.advance(60)
    assert (await totals(engine, ["bob"]))["bob"] == 3
    retention = MessageRetention(gw.redis, gw.keys)
    cutoff = clock.now() - 1800
    for peer in ("ann", "cat"):
        finished, _ = await retention.trim_timeline(gw.keys.c2c_timeline(peer, "bob"), cutoff, 100)
        assert finished
    # ann's conversation held only trimmed messages: out; cat's keeps its recent one
    assert await indexed(gw, "bob") == {BUILT, "c2c_cat"}
    assert (await totals(engine, ["bob"]))["bob"] == 1 == await recount(engine, "bob")
