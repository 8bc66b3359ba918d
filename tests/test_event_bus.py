"""The event bus on real Redis: exact resume, the replay/live seam, large groups, slow consumers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import cast

import pytest

from gateway.clock import ManualClock
from gateway.errors import Code, IMError
from gateway.events import bus as bus_module
from gateway.events import mailbox as mailbox_module
from gateway.events import stream as stream_module
from gateway.events.bus import EVENT_STREAM_TTL_SECONDS, EVENT_TTL_REFRESH_SECONDS
from gateway.events.cursor import Cursor
from gateway.events.delivery import Delivery
from gateway.events.mailbox import LogEntry, Mailbox
from gateway.im.enums import UserStatusType
from gateway.im.events import SDK_LISTENER, OnKickedOffline, OnUserStatusChanged
from gateway.im.messages import SendOptions
from gateway.im.model import UserStatus
from gateway.services import Gateway
from gateway.session.im_session import IMSession
from gateway.session.pool import Session
from tests.contract.conftest import send_text, text


def marker(n: int, user: str = "bob") -> OnUserStatusChanged:
    """A distinguishable event: the number rides in customStatus."""
    return OnUserStatusChanged(
        statusList=[UserStatus(userID=user, statusType=UserStatusType.V2TIM_USER_STATUS_ONLINE, customStatus=str(n))]
    )


def number(delivery: Delivery) -> int:
    event = delivery.event
    assert isinstance(event, OnUserStatusChanged)
    return int(event.statusList[0].customStatus)


def session_of(gw: Gateway, user: str, sid: str = "s1") -> IMSession:
    return IMSession(
        gw.session_services, Session(user_id=user, session_id=sid, platform="web", expires_at=2**40, token="t")
    )


class Listener:
    """Runs one subscription in a task and collects what it yields."""

    def __init__(self, session: IMSession, since: str | None = None) -> None:
        self.items: list[Delivery] = []
        self.error: BaseException | None = None
        self.arrived = asyncio.Event()
        self.connected = asyncio.Event()
        self._gen = session.listen(SDK_LISTENER, since)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for delivery in self._gen:
                if not isinstance(delivery.event, OnUserStatusChanged):
                    self.connected.set()  # onConnecting / onConnectSuccess come once it follows its streams
                    continue
                self.items.append(delivery)
                self.arrived.set()
        except Exception as exc:  # the test inspects it
            self.error = exc

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[int]:
        async def reached() -> None:
            while len(self.items) < count and self.error is None and not self.task.done():
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(reached(), timeout)
        return [number(d) for d in self.items]

    async def ready(self, gw: Gateway) -> None:
        """Wait until the subscription follows its streams."""
        await asyncio.wait_for(self.connected.wait(), 10)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_live_events_arrive_in_order(gw: Gateway) -> None:
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    for n in range(20):
        await gw.bus.publish(["alice"], marker(n))
    assert await listener.wait_for(20) == list(range(20))
    await listener.stop()


async def test_resume_replays_exactly_the_missed_events_then_goes_live(gw: Gateway) -> None:
    first = Listener(session_of(gw, "alice"))
    await first.ready(gw)
    for n in range(5):
        await gw.bus.publish(["alice"], marker(n))
    await first.wait_for(5)
    cursor = first.items[2].cursor  # the client saw events 0..2 only
    await first.stop()
    for n in range(5, 8):
        await gw.bus.publish(["alice"], marker(n))
    second = Listener(session_of(gw, "alice"), since=cursor)
    assert await second.wait_for(5) == [3, 4, 5, 6, 7]
    await gw.bus.publish(["alice"], marker(8))
    assert await second.wait_for(6) == [3, 4, 5, 6, 7, 8]
    await second.stop()


async def test_no_gap_and_no_duplicate_at_the_seam_under_concurrent_publishing(gw: Gateway) -> None:
    for n in range(50):
        await gw.bus.publish(["alice"], marker(n))
    seed = Listener(session_of(gw, "alice"))
    await seed.ready(gw)
    await gw.bus.publish(["alice"], marker(50))
    await seed.wait_for(1)
    cursor = seed.items[0].cursor
    await seed.stop()

    async def publisher() -> None:
        for n in range(51, 251):
            await gw.bus.publish(["alice"], marker(n))
            if n % 10 == 0:
                await asyncio.sleep(0)

    producing = asyncio.create_task(publisher())
    resumed = Listener(session_of(gw, "alice"), since=cursor)  # opens while events are being written
    await producing
    assert await resumed.wait_for(200) == list(range(51, 251))
    await asyncio.sleep(0.2)
    assert len(resumed.items) == 200
    await resumed.stop()


async def test_events_addressed_to_another_session_are_not_delivered(gw: Gateway) -> None:
    mine = Listener(session_of(gw, "alice", "mine"))
    await mine.ready(gw)
    await gw.bus.publish(["alice"], OnKickedOffline(), session_id="other")
    await gw.bus.publish(["alice"], marker(1))
    assert await mine.wait_for(1) == [1]
    await mine.stop()


async def test_group_event_is_stored_once_and_resumes_exactly(gw: Gateway) -> None:
    members = ["alice", "bob", "carol"]
    await gw.bus.join_group_stream(members, "big")
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish_to_group("big", marker(1))
    await gw.bus.publish(["alice"], marker(2))
    await gw.bus.publish_to_group("big", marker(3))
    received = await listener.wait_for(3)
    # order is exact within each stream; across a user's and a group's stream it follows arrival
    assert sorted(received) == [1, 2, 3]
    assert received.index(1) < received.index(3)
    await listener.stop()
    # stored once in the group's stream, not copied into members' streams
    assert await gw.redis.xlen(gw.keys.group_events("big")) == 2
    assert await gw.redis.xlen(gw.keys.user_events("bob")) == 1  # bob's only entry: the join control
    await gw.bus.publish_to_group("big", marker(4))
    resumed = Listener(session_of(gw, "alice"), since=listener.items[received.index(1)].cursor)
    assert sorted(await resumed.wait_for(3)) == [2, 3, 4]
    await resumed.stop()


async def test_joining_a_group_while_subscribed_starts_following_it(gw: Gateway) -> None:
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.join_group_stream(["alice", "bob"], "big")
    await gw.bus.publish_to_group("big", marker(7))
    assert await listener.wait_for(1) == [7]
    await gw.bus.leave_group_stream(["alice"], "big")
    await gw.bus.publish_to_group("big", marker(8))
    await gw.bus.publish(["alice"], marker(9))
    assert await listener.wait_for(2) == [7, 9]
    await listener.stop()


async def test_a_leave_read_before_the_groups_last_entries_to_the_member_still_delivers_them(gw: Gateway) -> None:
    """The group's entries up to a member's leave are hers, though her subscription may read the
    leave first: the group's entry was still to be read (its poke lost or late here), or shares
    the leave's millisecond and was merged after it. The leave names the group's position; what
    the subscription has not had up to there it reads from the log, then stops following."""
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.join_group_stream(["alice"], "big")
    await gw.bus.publish_to_group("big", marker(7))
    assert await listener.wait_for(1) == [7]
    group = gw.keys.group_events("big")
    await gw.redis.xadd(group, bus_module._event_fields(marker(8)))  # no poke reaches her dispatcher
    await gw.bus.leave_group_stream(["alice"], "big")
    await gw.bus.publish_to_group("big", marker(9))  # after the leave: not hers
    await gw.bus.publish(["alice"], marker(10))
    assert await listener.wait_for(3) == [7, 8, 10]
    await asyncio.sleep(0.2)
    assert len(listener.items) == 3
    await listener.stop()


async def test_slow_subscriber_is_closed_and_can_resume_without_loss(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "MAILBOX_CAPACITY", 10)
    session = session_of(gw, "alice")
    # listen() is typed as an AsyncIterator; it is an async generator, which the test closes mid-stream
    events = cast(AsyncGenerator[Delivery, None], session.listen(SDK_LISTENER, None))
    assert (await anext(events)).event.__class__.__name__ == "OnConnecting"
    assert (await anext(events)).event.__class__.__name__ == "OnConnectSuccess"
    await gw.bus.publish(["alice"], marker(0))
    first = await anext(events)
    assert number(first) == 0
    for n in range(1, 40):  # the consumer is not reading: its mailbox overflows
        await gw.bus.publish(["alice"], marker(n))
    await asyncio.sleep(0.3)
    with pytest.raises(IMError) as closed:
        await anext(events)
    assert closed.value.code == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    assert "since" in closed.value.desc
    await events.aclose()
    resumed = Listener(session, since=first.cursor)
    assert await resumed.wait_for(39) == list(range(1, 40))
    await resumed.stop()


async def test_cursor_past_retention_is_refused_with_6017(gw: Gateway) -> None:
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish(["alice"], marker(0))
    await listener.wait_for(1)
    cursor = listener.items[0].cursor
    await listener.stop()
    for n in range(1, 5):
        await gw.bus.publish(["alice"], marker(n))
    stream = gw.keys.user_events("alice")
    await gw.redis.xtrim(stream, maxlen=2, approximate=False)  # what MAXLEN does to a busy user's old events
    with pytest.raises(IMError) as refused:
        await anext(session_of(gw, "alice").listen(SDK_LISTENER, cursor))
    assert refused.value.code == Code.ERR_INVALID_PARAMETERS
    assert "re-fetch" in refused.value.desc


async def test_a_cursor_lists_only_the_groups_that_moved_and_resumes_exactly(gw: Gateway, clock: ManualClock) -> None:
    groups = [f"g{i}" for i in range(200)]
    for gid in groups:
        await gw.bus.join_group_stream(["alice"], gid)
        await gw.bus.publish_to_group(gid, marker(-1))  # history before the subscription: never replayed
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish_to_group("g7", marker(1))
    await gw.bus.publish_to_group("g42", marker(2))
    assert await listener.wait_for(2) == [1, 2]
    cursor = Cursor.decode(listener.items[-1].cursor)
    assert set(cursor.groups) == {"g7", "g42"}  # not 200 positions in every event
    assert cursor.base
    assert len(listener.items[-1].cursor) < 400
    await listener.stop()
    for n, gid in enumerate(["g0", "g7", "g199"], start=3):
        await gw.bus.publish_to_group(gid, marker(n))
    resumed = Listener(session_of(gw, "alice"), since=listener.items[-1].cursor)
    assert await resumed.wait_for(3) == [3, 4, 5]
    await resumed.stop()
    # a base outlives the 48 h streams it points into by nothing: expired, the cursor is refused
    await gw.redis.delete(gw.keys.resume_base("alice", cursor.base))
    with pytest.raises(IMError) as refused:
        await anext(session_of(gw, "alice").listen(SDK_LISTENER, listener.items[-1].cursor))
    assert refused.value.code == Code.ERR_INVALID_PARAMETERS
    assert "re-fetch" in refused.value.desc


async def test_a_long_lived_subscription_writes_a_fresh_base(gw: Gateway, clock: ManualClock) -> None:
    await gw.bus.join_group_stream(["alice"], "g1")
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish_to_group("g1", marker(1))
    await listener.wait_for(1)
    first_base = Cursor.decode(listener.items[0].cursor).base
    await clock.advance(stream_module.BASE_REFRESH_SECONDS + 1)
    await gw.bus.publish_to_group("g1", marker(2))
    await listener.wait_for(2)
    later = Cursor.decode(listener.items[1].cursor)
    assert later.base
    assert later.base != first_base
    assert await gw.redis.ttl(gw.keys.resume_base("alice", later.base)) > stream_module.BASE_REFRESH_SECONDS
    await listener.stop()
    await gw.bus.publish_to_group("g1", marker(3))
    resumed = Listener(session_of(gw, "alice"), since=listener.items[1].cursor)
    assert await resumed.wait_for(1) == [3]
    await resumed.stop()


async def test_garbage_cursor_is_refused_with_6017(gw: Gateway) -> None:
    for bad in ["", "nope", "eyJ2IjoxfQ", "x" * 100_000]:
        with pytest.raises(IMError) as refused:
            await anext(session_of(gw, "alice").listen(SDK_LISTENER, bad or "="))
        assert refused.value.code == Code.ERR_INVALID_PARAMETERS


async def test_redis_connections_do_not_grow_with_subscriptions(gw: Gateway) -> None:
    listeners = [Listener(session_of(gw, f"user{i}", f"s{i}")) for i in range(300)]
    for listener in listeners:
        await listener.ready(gw)
    assert gw.dispatcher.subscriber_count == 300
    await gw.bus.publish([f"user{i}" for i in range(300)], marker(1))
    for listener in listeners:
        assert await listener.wait_for(1) == [1]
    pool = gw.redis.connection_pool
    in_use = len(pool._in_use_connections) + len(pool._available_connections)
    assert in_use <= 32  # the bounded pool, plus one pub/sub connection, whatever the subscriptions
    for listener in listeners:
        await listener.stop()


def test_an_idle_mailbox_holds_no_queue() -> None:
    box = Mailbox(user_id="u", session_id="s")
    assert box._items is None
    assert not box.has_news
    box.offer([LogEntry("stream", "1-0", {})])
    assert box.pending
    assert box.has_news
    box.items.popleft()
    box.shrink()  # drained: the queue goes until something arrives again
    assert box._items is None
    box.offer([LogEntry("stream", "1-0", {})] * 3)
    box.offer([LogEntry("stream", "2-0", {})] * box.capacity)  # over capacity: marked, emptied
    assert box.overflowed
    assert not box.pending


# A TTL this far below EVENT_STREAM_TTL_SECONDS was not refreshed since it was lowered by hand.
LOWERED_TTL = 1000


async def ttls(gw: Gateway, *users: str) -> list[int]:
    return [await gw.redis.ttl(gw.keys.user_events(u)) for u in users]


def refreshed(ttl: int) -> bool:
    return ttl > EVENT_STREAM_TTL_SECONDS - 60


async def test_a_logs_ttl_is_refreshed_once_an_hour_not_with_every_event(gw: Gateway, clock: ManualClock) -> None:
    """An EXPIRE per event was a tenth of a C2C send's commands: the first event sets the log's
    TTL, later ones within EVENT_TTL_REFRESH_SECONDS leave it (lowered by hand here, as if time had
    passed), the first one after refreshes it again."""
    stream = gw.keys.user_events("alice")
    await gw.bus.publish(["alice"], marker(0))
    assert refreshed(await gw.redis.ttl(stream))
    await gw.redis.expire(stream, LOWERED_TTL)
    await gw.bus.publish(["alice"], marker(1))
    await clock.advance(EVENT_TTL_REFRESH_SECONDS - 1)
    await gw.bus.publish(["alice"], marker(2))
    assert 0 < await gw.redis.ttl(stream) <= LOWERED_TTL
    await clock.advance(1)
    await gw.bus.publish(["alice"], marker(3))
    assert refreshed(await gw.redis.ttl(stream))
    assert await gw.redis.xlen(stream) == 4  # every event was written


async def test_a_refresh_not_confirmed_is_made_again(gw: Gateway) -> None:
    """A pipeline whose success nobody confirmed (it may have failed between an XADD and its
    EXPIRE) does not count as a refresh: the stream's next event refreshes it."""
    stream = gw.keys.user_events("alice")
    pipe = gw.redis.pipeline(transaction=False)
    gw.bus.queue_publish(pipe, ["alice"], marker(0))
    await pipe.execute()  # and no gw.bus.appended(pipe)
    await gw.redis.expire(stream, LOWERED_TTL)
    await gw.bus.publish(["alice"], marker(1))
    assert refreshed(await gw.redis.ttl(stream))


async def refreshed_by_one_event(gw: Gateway, users: list[str]) -> list[bool]:
    """Whose log an event to all of `users` (one pipeline: each EXPIRE decided by the memo as it
    was) refreshes, their TTLs lowered first."""
    for user in users:
        await gw.redis.expire(gw.keys.user_events(user), LOWERED_TTL)
    await gw.bus.publish(users, marker(9))
    return [refreshed(t) for t in await ttls(gw, *users)]


async def test_the_ttl_memo_forgets_the_streams_refreshed_longest_ago_past_its_bound(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo holds EVENT_TTL_MEMO_MAX streams; past it the one refreshed longest ago is
    forgotten (its next event refreshes again). An event that does not refresh does not make its
    stream newer."""
    monkeypatch.setattr(bus_module, "EVENT_TTL_MEMO_MAX", 3)
    for user in ("u0", "u1", "u2"):
        await gw.bus.publish([user], marker(0))
    await gw.bus.publish(["u0"], marker(1))  # within the hour: no EXPIRE, u0 stays the oldest
    await gw.bus.publish(["u3"], marker(0))  # ... so u0 is forgotten
    assert await refreshed_by_one_event(gw, ["u0", "u1", "u2", "u3"]) == [True, False, False, False]


async def test_a_stream_refreshed_again_is_the_memos_newest(
    gw: Gateway, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_module, "EVENT_TTL_MEMO_MAX", 3)
    await gw.bus.publish(["u0"], marker(0))
    await clock.advance(EVENT_TTL_REFRESH_SECONDS)
    for user in ("u1", "u2", "u0"):  # u0's refresh an hour on makes it newer than u1 and u2
        await gw.bus.publish([user], marker(1))
    await gw.bus.publish(["u3"], marker(0))  # ... so u1 is forgotten
    assert await refreshed_by_one_event(gw, ["u0", "u1", "u2", "u3"]) == [False, True, False, False]


async def test_a_group_streams_ttl_is_refreshed_once_an_hour(gw: Gateway, clock: ManualClock) -> None:
    stream = gw.keys.group_events("big")
    await gw.bus.publish_to_group("big", marker(0))
    await gw.redis.expire(stream, LOWERED_TTL)
    await gw.bus.publish_to_group("big", marker(1))
    assert 0 < await gw.redis.ttl(stream) <= LOWERED_TTL
    await clock.advance(EVENT_TTL_REFRESH_SECONDS)
    await gw.bus.publish_to_group("big", marker(2))
    assert refreshed(await gw.redis.ttl(stream))


@pytest.mark.parametrize("path", ["one-request", "two-step"])
async def test_c2c_sends_refresh_both_logs_ttls_once_an_hour(gw: Gateway, clock: ManualClock, path: str) -> None:
    """Both C2C send paths confirm their write, so a conversation's next sends within the hour
    send no EXPIRE (2 of their commands), and the first after it refreshes both users' logs."""
    b = gw.backend
    for user in ("alice", "bob"):
        await b.accounts.ensure_account(user)

    async def send(body: str) -> None:
        if path == "one-request":
            await b.messages.send_c2c_content("alice", "s-send", text(body), "bob", SendOptions())
        else:
            await send_text(b, "alice", "bob", body)

    await send("first")
    assert all(refreshed(t) for t in await ttls(gw, "alice", "bob"))
    for user in ("alice", "bob"):
        await gw.redis.expire(gw.keys.user_events(user), LOWERED_TTL)
    await send("second")
    assert all(0 < t <= LOWERED_TTL for t in await ttls(gw, "alice", "bob"))
    await clock.advance(EVENT_TTL_REFRESH_SECONDS)
    await send("third")
    assert all(refreshed(t) for t in await ttls(gw, "alice", "bob"))
