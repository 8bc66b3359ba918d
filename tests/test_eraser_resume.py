"""A group dismissal resumed by the erasers, a stopping replica's hand-back, the erasure's metrics.

- A dismissal (or a recycle) cut right after it closed the group leaves its farewell kept with the
  closing (gateway.engine.groups.eraser, `Farewell`): the eraser that takes the group tells it before
  it forgets and erases, to the members as they were at the closing (a subscribed member gets
  onGroupDismissed / onGroupRecycled with its opUser) and to the app (Group.CallbackAfterGroupDestroyed,
  with the dismissing request's origin), once. A dismissal that was not cut tells it once: the eraser
  finishing its history tells nothing again.
- A replica's eraser stopping hands its group under way back, due at once: another takes it without
  waiting for the stopped one's lease to run out.
- /metrics reports the groups waiting in the erasure queue and counts the messages erased.
- A deleted topic's long history is erased by its deletion up to a budget, the rest by the erasers,
  the topic gone at once: a topic made again under its ID meanwhile keeps its new messages, a
  community dismissed meanwhile takes the deleted topic's timeline with it, and a deletion cut
  before it removed the topic leaves the topic whole.

The erasers are driven by hand here (`GroupEraser.step`, `GroupEraserLoop.turn`), the gateway's own
loop stopped, on the gateway's manual clock; the callbacks go to a real HTTP receiver.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine import scripts
from gateway.engine.callbacks.hooks import decode_job
from gateway.engine.groups import topic_erasure
from gateway.engine.groups.eraser import (
    DISMISSAL_HOLD_SECONDS,
    ERASE_WORK_PER_SECOND,
    GroupEraser,
)
from gateway.engine.groups.topic_erasure import ERASING_TOPIC_FIELD, TOPIC_ENTRY
from gateway.engine.retention import MessageRetention
from gateway.errors import Code, IMError
from gateway.im.enums import GroupType
from gateway.im.events import GROUP_LISTENER, OnGroupDismissed, OnGroupRecycled
from gateway.im.groups import TopicInfo
from gateway.origin import act_as
from gateway.services import Gateway
from gateway.session.im_session import IMSession
from gateway.session.listening import Listening
from gateway.session.pool import Session
from gateway.v4 import callbacks as wire
from tests.support.callback_receiver import CallbackReceiver
from tests.support.engine import embedded, replica_after_one_erase
from tests.support.servers import start_in_process
from tests.test_dismissal_cleanup import (
    app_keys,
    keys_naming,
    keys_of,
    manual_clock,
    queued,
    send,
    stored_count,
    write_history,
)

MEETING = GroupType.V2TIM_GROUP_TYPE_MEETING
COMMUNITY = GroupType.V2TIM_GROUP_TYPE_COMMUNITY
LONG = 2_500  # a topic's messages: more than its deletion erases itself (TOPIC_DELETION_ERASE_BUDGET)
IDLE_SECONDS = 3600  # the recycler's idle time in these tests


@pytest.fixture
async def gw(settings: Settings, receiver: CallbackReceiver) -> AsyncIterator[Gateway]:
    """A gateway whose callbacks go to `receiver`, its eraser loop and its callback worker stopped:
    the test steps the eraser itself, and counts the callbacks queued before they are delivered."""
    gateway = Gateway.build(dataclasses.replace(settings, callback_url=receiver.url), clock=ManualClock())
    await gateway.start()
    try:
        await gateway.group_eraser.stop()
        assert gateway.callback_worker is not None
        await gateway.callback_worker.stop()
        for user in ("alice", "bob"):
            await gateway.backend.accounts.ensure_account(user)
        yield gateway
    finally:
        await gateway.close()


async def listening(gw: Gateway, user: str) -> Listening:
    """A session of `user`'s subscribed to the group listener, open."""
    session = Session(user_id=user, session_id=f"{user}-dev", platform="web", expires_at=2**40, token="t")
    opened = IMSession(gw.session_services, session).listening(GROUP_LISTENER, None)
    await opened.open()
    return opened


async def farewells(device: Listening) -> list[OnGroupDismissed | OnGroupRecycled]:
    """The farewells the subscription has received, waiting (a bound, not a measure) for the first."""
    got: list[OnGroupDismissed | OnGroupRecycled] = []
    async with asyncio.timeout(10):
        while not got:
            got += [d.event for d in await device.drain() if isinstance(d.event, OnGroupDismissed | OnGroupRecycled)]
            await asyncio.sleep(0.01)
    return got


async def farewells_stored(gw: Gateway, group_id: str) -> int:
    """How many farewells the group's event stream holds (each member reads each one)."""
    entries = await gw.redis.xrange(keys_of(gw).group_events(group_id))
    return sum(1 for _, fields in entries if any(t in str(fields) for t in ("onGroupDismissed", "onGroupRecycled")))


async def destroy_callbacks_queued(gw: Gateway) -> list[dict[str, Any]]:
    """The Group.CallbackAfterGroupDestroyed jobs waiting in the callback queue (its worker stopped)."""
    entries = await gw.redis.xrange(keys_of(gw).callback_queue())
    jobs = [decode_job(fields["job"]) for _, fields in entries]
    return [job.body for job in jobs if job.command == wire.GROUP_AFTER_DESTROY]


async def erase_all(gw: Gateway) -> None:
    """The gateway's eraser stepped until nothing is due."""
    eraser = embedded(gw.backend).groups.eraser
    async with asyncio.timeout(10):
        while await eraser.step(ERASE_WORK_PER_SECOND):
            pass


class _Cut(Exception):
    """The gateway dying right after the dismissal closed the group."""


async def _from_a_phone(call: Awaitable[Any]) -> None:
    """`call` served as a request from alice's phone (the origin the callback names), in a task of
    its own so that the origin stays there."""

    async def served() -> None:
        act_as("android", "10.0.0.7", "alice")
        await call

    await asyncio.create_task(served())


@pytest.mark.parametrize("ending", ["dismissed", "recycled"])
async def test_a_dismissal_cut_after_the_closing_is_told_by_the_eraser(
    gw: Gateway, receiver: CallbackReceiver, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    engine = embedded(gw.backend)
    groups = engine.groups
    group = await groups.create_group("alice", MEETING, None, "cut short")
    await groups.join_group("bob", group, "")
    bob = await listening(gw, "bob")

    async def dying(*args: Any) -> list[str]:
        raise _Cut

    # the step after the closing: the members' read, which the telling needs
    monkeypatch.setattr(groups.store, "member_ids", dying)
    if ending == "dismissed":
        dismissal: Awaitable[Any] = groups.dismiss_group("alice", group)
    else:
        await manual_clock(gw).advance(IDLE_SECONDS)
        dismissal = groups.recycle_idle_groups(IDLE_SECONDS)
    with pytest.raises(_Cut):
        await _from_a_phone(dismissal)
    monkeypatch.undo()
    assert await queued(gw, group)
    with pytest.raises(IMError) as again:
        await groups.dismiss_group("alice", group)
    assert again.value.code == Code.ERR_GROUP_NOT_FOUND, "closed: gone to every caller"
    assert await farewells_stored(gw, group) == 0
    assert await destroy_callbacks_queued(gw) == []

    await manual_clock(gw).advance(DISMISSAL_HOLD_SECONDS)  # the dismissal's hold runs out
    await erase_all(gw)

    assert not await queued(gw, group)
    (told,) = await farewells(bob)
    expected = OnGroupDismissed if ending == "dismissed" else OnGroupRecycled
    assert isinstance(told, expected)
    assert (told.groupID, told.opUser.userID) == (group, "alice" if ending == "dismissed" else "@TIM#SYSTEM")
    assert await farewells_stored(gw, group) == 1
    (body,) = await destroy_callbacks_queued(gw)
    assert body["GroupId"] == group
    assert sorted(m["Member_Account"] for m in body["MemberList"]) == ["alice", "bob"], "the members at the closing"
    assert not await gw.redis.hexists(keys_of(gw).user_followed_groups("bob"), group), "the stream left"

    assert gw.callback_worker is not None
    gw.callback_worker.start()
    (sent,) = await receiver.wait_for(wire.GROUP_AFTER_DESTROY)
    assert sent.body["GroupId"] == group
    assert (sent.params["OptPlatform"], sent.params["ClientIP"]) == ("android", "10.0.0.7"), "the dismissal's origin"
    await bob.close()


async def test_a_dismissal_not_cut_is_told_once_though_its_history_is_erased_by_the_eraser(
    gw: Gateway, receiver: CallbackReceiver
) -> None:
    engine = embedded(gw.backend)
    groups = engine.groups
    groups.eraser.dismissal_budget = 0  # the whole history handed to the erasers
    group = await groups.create_group("alice", MEETING, None, "told once")
    await groups.join_group("bob", group, "")
    await write_history(gw, group, 10)
    bob = await listening(gw, "bob")

    await groups.dismiss_group("alice", group)
    assert await queued(gw, group)
    assert await farewells_stored(gw, group) == 1
    await erase_all(gw)

    assert not await queued(gw, group)
    assert await stored_count(gw, group) == 0
    (told,) = await farewells(bob)
    assert isinstance(told, OnGroupDismissed)
    assert told.opUser.userID == "alice"
    assert await farewells_stored(gw, group) == 1, "told by the dismissal only"
    assert len(await destroy_callbacks_queued(gw)) == 1
    assert gw.callback_worker is not None
    gw.callback_worker.start()
    await receiver.wait_for(wire.GROUP_AFTER_DESTROY)
    await bob.close()


async def test_a_stopping_replica_hands_its_group_back_at_once(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its loop stopped once it has erased part of a history: the group is due now, held by no one,
    and another replica's eraser takes it on at once (the lease's 60 s not waited for)."""
    engine = embedded(gw.backend)
    groups = engine.groups
    groups.eraser.dismissal_budget = 0
    group = await groups.create_group("alice", MEETING, None, "long")
    await write_history(gw, group, 1_500)
    await groups.dismiss_group("alice", group)
    left = await stored_count(gw, group)

    replica = await replica_after_one_erase(gw, monkeypatch)
    await replica.stop()
    erased_part = await stored_count(gw, group)
    assert 0 < erased_part < left, "stopped midway"

    keys = keys_of(gw)
    assert await gw.redis.zscore(keys.groups_to_erase(), group) <= gw.clock.now(), "due now"
    assert await gw.redis.hget(keys.groups_erasing(), group) is None, "held by no one"
    other = GroupEraser(groups.store, MessageRetention(gw.redis, keys_of(gw)))
    assert await other.step(500), "taken on at once, the clock where it was"
    assert await stored_count(gw, group) < erased_part


async def test_metrics_report_the_erasure_queue_and_the_messages_erased(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One turn of the eraser loop erases a dismissed group's history and reports what is left
    queued (a group whose dismissal was cut, not due yet); /metrics shows both."""
    running = await start_in_process(settings, ManualClock())
    try:
        gw = running.gateway
        await gw.group_eraser.stop()
        engine = embedded(gw.backend)
        groups = engine.groups
        await gw.backend.accounts.ensure_account("alice")
        groups.eraser.dismissal_budget = 0
        erased = await groups.create_group("alice", MEETING, None, "erased")
        await write_history(gw, erased, 25)
        count = await stored_count(gw, erased)
        waiting = await groups.create_group("alice", MEETING, None, "cut")
        await groups.dismiss_group("alice", erased)

        async def dying(*args: Any) -> list[str]:
            raise _Cut

        monkeypatch.setattr(groups.store, "member_ids", dying)
        with pytest.raises(_Cut):
            await groups.dismiss_group("alice", waiting)
        monkeypatch.undo()

        assert not await gw.group_eraser.turn(), "the cut one is not due"
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            text = (await http.get("/metrics")).text
        assert "imql_groups_to_erase 1.0" in text
        assert f"imql_group_messages_erased_total {float(count)}" in text
    finally:
        await running.stop()


# ---- a deleted topic's history ---------------------------------------------------------------------
async def _long_topic(gw: Gateway) -> tuple[str, str]:
    """A community of alice's with a topic holding LONG messages: (the community, the topic)."""
    groups = embedded(gw.backend).groups
    community = await groups.create_group("alice", COMMUNITY, None, "topics", is_support_topic=True)
    topic = await groups.create_topic_in_community("alice", community, TopicInfo(topicID="", topicName="news"))
    await write_history(gw, topic, LONG)
    return community, topic


async def _marks(gw: Gateway, community: str) -> list[str]:
    """The community's marks of deleted topics whose timelines are being erased."""
    fields = await gw.redis.hkeys(keys_of(gw).group_deleted_topics(community))
    return [f for f in fields if f.startswith(ERASING_TOPIC_FIELD)]


async def test_a_deleted_topics_long_history_is_erased_after_the_deletion_answers(gw: Gateway) -> None:
    groups = embedded(gw.backend).groups
    keys = keys_of(gw)
    community, topic = await _long_topic(gw)

    (result,) = await groups.delete_topic_from_community("alice", community, [topic])

    assert result.errorCode == 0
    assert not await gw.redis.hexists(keys.group_topics(community), topic), "gone at once"
    assert 0 < await stored_count(gw, topic) < LONG, "a part erased by the deletion, the rest handed on"
    assert await queued(gw, TOPIC_ENTRY + topic)
    await erase_all(gw)
    assert not await queued(gw, TOPIC_ENTRY + topic)
    timeline = keys.group_timeline(topic)
    # its seq counter too, its last value recorded for a topic made again under the ID to go on from
    assert [k for k in await app_keys(gw) if k.startswith(timeline)] == []
    assert await _marks(gw, community) == []
    assert await gw.redis.hgetall(keys.groups_erasing()) == {}


async def test_a_deleted_topics_id_is_refused_until_its_erasure_is_done(gw: Gateway) -> None:
    """Made again while the old erasure is under way, a topic would have that erasure forget its
    users' state and bound its messages (10021, as a dismissed group's ID); once done, it is free."""
    engine = embedded(gw.backend)
    groups = engine.groups
    community, topic = await _long_topic(gw)
    await groups.delete_topic_from_community("alice", community, [topic])
    assert await stored_count(gw, topic) > 0, "the old history is still being erased"

    with pytest.raises(IMError) as refused:
        await groups.create_topic_in_community("alice", community, TopicInfo(topicID=topic, topicName="again"))
    assert refused.value.code == Code.ERR_GROUP_ID_TAKEN
    assert not await gw.redis.hexists(keys_of(gw).group_topics(community), topic)
    await erase_all(gw)

    again = await groups.create_topic_in_community("alice", community, TopicInfo(topicID=topic, topicName="again"))
    assert again == topic
    await send(engine, "alice", topic, "new")
    await erase_all(gw)
    assert await stored_count(gw, topic) == 1, "the old messages erased, the new one kept"
    history = await engine.messages.get_group_history_message_list("alice", topic, 10)
    assert [m.textElem.text for m in history if m.textElem is not None] == ["new"]
    assert not await queued(gw, TOPIC_ENTRY + topic)
    assert await _marks(gw, community) == []


async def test_a_community_dismissed_while_a_deleted_topic_is_erased_takes_its_timeline(gw: Gateway) -> None:
    groups = embedded(gw.backend).groups
    keys = keys_of(gw)
    community, topic = await _long_topic(gw)
    await groups.delete_topic_from_community("alice", community, [topic])
    # the topic's entry held elsewhere meanwhile (another replica's lease): the community's erasure
    # comes first, and must take the deleted topic's timeline with it
    later = gw.clock.now() + 1_000
    await gw.redis.zadd(keys.groups_to_erase(), {TOPIC_ENTRY + topic: later})
    groups.eraser.dismissal_budget = 0
    await groups.dismiss_group("alice", community)
    await erase_all(gw)

    assert not await queued(gw, community)
    assert await keys_naming(gw, community) == [], "the deleted topic's timeline went with its community"
    await manual_clock(gw).advance(1_000)
    await erase_all(gw)
    assert not await queued(gw, TOPIC_ENTRY + topic), "its entry finds nothing left to do"


async def test_a_topic_deletion_cut_before_it_removed_the_topic_leaves_the_topic_whole(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = embedded(gw.backend).groups
    community, topic = await _long_topic(gw)

    async def dying(redis: Any, script: Any, keys: Any, args: Any) -> Any:
        if script is topic_erasure._COMMIT_TOPIC_DELETION:
            raise _Cut
        return await scripts.run_script(redis, script, keys, args)

    monkeypatch.setattr(topic_erasure, "run_script", dying)
    with pytest.raises(_Cut):
        await groups.delete_topic_from_community("alice", community, [topic])
    monkeypatch.undo()
    assert await queued(gw, TOPIC_ENTRY + topic), "held by the deletion"

    await manual_clock(gw).advance(DISMISSAL_HOLD_SECONDS)
    await erase_all(gw)
    assert not await queued(gw, TOPIC_ENTRY + topic), "dropped: the topic was not deleted"
    assert await gw.redis.hexists(keys_of(gw).group_topics(community), topic)
    assert await stored_count(gw, topic) == LONG
