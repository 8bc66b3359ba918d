"""Many subscriptions opening at once (a gateway restart's reconnections) on one process: each
resumes from its cursor and then continues live, while events are appended to its streams before,
during and after its open. Every subscription must get every event after its cursor exactly once,
and must stay live (bench reconnect-storm measures the same at 10,000 clients). And the seam inside
the dispatcher: an entry appended right after a new stream's end was read is delivered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.errors import Code, IMError
from gateway.events.mailbox import LogEntry, Mailbox
from gateway.events.stream import current_cursor
from gateway.im.enums import UserStatusType
from gateway.im.events import SDK_LISTENER, OnUserStatusChanged
from gateway.im.model import UserStatus
from gateway.services import Gateway
from gateway.session.im_session import IMSession
from gateway.session.pool import Session

CROWD = 150  # subscriptions opened at once: enough for their opens to interleave in every step
GROUP = "crowd"
BEFORE, DURING, AFTER = 3, 40, 2  # group events appended before the opens, while they run, after


def marker(label: str) -> OnUserStatusChanged:
    status = UserStatus(userID="x", statusType=UserStatusType.V2TIM_USER_STATUS_ONLINE, customStatus=label)
    return OnUserStatusChanged(statusList=[status])


class Crowdling:
    """One user's subscription, collecting the labels of the markers it gets, in order."""

    def __init__(self, gw: Gateway, user: str, since: str) -> None:
        session = Session(user_id=user, session_id=f"s-{user}", platform="web", expires_at=2**40, token="t")
        self._listening = IMSession(gw.session_services, session).listening(SDK_LISTENER, since)
        self.labels: list[str] = []
        self.arrived = asyncio.Event()
        self.error: BaseException | None = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for delivery in self._listening.events():
                if isinstance(delivery.event, OnUserStatusChanged):
                    self.labels.append(delivery.event.statusList[0].customStatus)
                    self.arrived.set()
        except Exception as exc:  # the test reports it
            self.error = exc
            self.arrived.set()

    async def until(self, wanted: set[str]) -> None:
        while not wanted <= set(self.labels) and self.error is None:
            self.arrived.clear()
            await self.arrived.wait()

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_a_crowd_opening_at_once_gets_every_event_once_and_stays_live(gw: Gateway) -> None:
    users = [f"crowd{i}" for i in range(CROWD)]
    await gw.bus.join_group_stream(users, GROUP)
    cursors = {u: await current_cursor(gw.redis, gw.keys, u) for u in users}
    for k in range(BEFORE):  # while everyone was away: in the group's stream, and one each
        await gw.bus.publish_to_group(GROUP, marker(f"g{k}"))
    for u in users:
        await gw.bus.publish([u], marker(f"{u}-away"))

    async def appending() -> None:
        for k in range(BEFORE, BEFORE + DURING):
            await gw.bus.publish_to_group(GROUP, marker(f"g{k}"))
            await gw.bus.publish([users[k % CROWD]], marker(f"{users[k % CROWD]}-during"))
            await asyncio.sleep(0.002)

    appender = asyncio.create_task(appending())
    crowd = [Crowdling(gw, u, cursors[u]) for u in users]  # all open at once, events arriving meanwhile
    await appender
    for k in range(BEFORE + DURING, BEFORE + DURING + AFTER):  # once all are open: live
        await gw.bus.publish_to_group(GROUP, marker(f"g{k}"))
    for u in users:
        await gw.bus.publish([u], marker(f"{u}-live"))
    try:
        busy = {users[k % CROWD] for k in range(BEFORE, BEFORE + DURING)}
        for u, one in zip(users, crowd, strict=True):
            own = {f"{u}-away", f"{u}-live"} | ({f"{u}-during"} if u in busy else set())
            wanted = {f"g{k}" for k in range(BEFORE + DURING + AFTER)} | own
            try:
                await asyncio.wait_for(one.until(wanted), 20)
            except TimeoutError:
                pytest.fail(f"{u} missed {sorted(wanted - set(one.labels))} (got {len(one.labels)})")
            assert one.error is None, f"{u}: {one.error!r}"
            assert len(one.labels) == len(set(one.labels)), f"{u} got duplicates: {one.labels}"
            group_order = [label for label in one.labels if label.startswith("g")]
            assert group_order == [f"g{k}" for k in range(BEFORE + DURING + AFTER)]
    finally:
        for one in crowd:
            await one.stop()


class _EndsThenAppend:
    """The dispatcher's Redis client, but the first time it reads streams' ends (XREVRANGE), `then`
    runs after the reply and before the dispatcher sees it: an entry appended in that instant."""

    def __init__(self, redis: Any, then: Callable[[], Awaitable[None]]) -> None:
        self._redis = redis
        self._then: Callable[[], Awaitable[None]] | None = then

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    async def _after_ends(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            await then()

    async def xrevrange(self, *args: Any, **kwargs: Any) -> Any:
        reply = await self._redis.xrevrange(*args, **kwargs)
        await self._after_ends()
        return reply

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        return _EndsPipeline(self._redis.pipeline(*args, **kwargs), self)


class _EndsPipeline:
    def __init__(self, pipe: Any, owner: _EndsThenAppend) -> None:
        self._pipe = pipe
        self._owner = owner
        self._reads_ends = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def xrevrange(self, *args: Any, **kwargs: Any) -> Any:
        self._reads_ends = True
        return self._pipe.xrevrange(*args, **kwargs)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        replies = await self._pipe.execute(*args, **kwargs)
        if self._reads_ends:
            await self._owner._after_ends()
        return replies


async def test_an_entry_appended_right_after_a_new_streams_end_was_read_is_delivered(gw: Gateway) -> None:
    """Its poke reaches the dispatcher while it is still opening the stream: the poke must not be
    dropped (it was, when the feed became known only after its end was read, and the entry then
    waited for the stream's next poke, which for a quiet user may never come)."""
    stream = gw.keys.user_events("quiet")
    await gw.bus.publish(["quiet"], marker("old"))

    async def append_and_let_the_poke_arrive() -> None:
        await gw.bus.publish(["quiet"], marker("new"))
        await asyncio.sleep(0.3)  # the dispatcher's listener reads the poke meanwhile

    dispatcher = gw.dispatcher
    dispatcher._redis = _EndsThenAppend(dispatcher._redis, append_and_let_the_poke_arrive)
    mailbox = Mailbox(user_id="quiet", session_id="s-quiet")
    dispatcher.register(mailbox)
    try:
        tail = await dispatcher.follow(mailbox, stream)
        (last,) = await gw.redis.xrevrange(stream, "+", "-", count=1)
        assert tail != str(last[0])  # the end it read is before the new entry
        await asyncio.wait_for(mailbox.wait(), 5)  # no other poke, no sweep: that first poke's read
        delivered = [item for item in mailbox.items if isinstance(item, LogEntry)]
        assert [entry.entry_id for entry in delivered] == [str(last[0])]
    finally:
        dispatcher.unregister(mailbox)


async def test_a_stream_asked_for_once_the_dispatcher_stopped_is_refused_not_left_waiting(gw: Gateway) -> None:
    await gw.dispatcher.stop()
    mailbox = Mailbox(user_id="late", session_id="s-late")
    with pytest.raises(IMError) as refused:
        await asyncio.wait_for(gw.dispatcher.follow(mailbox, gw.keys.user_events("late")), 5)
    assert refused.value.code == Code.ERR_SDK_INTERNAL_ERROR
