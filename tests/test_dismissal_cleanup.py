"""A dismissed group leaves nothing behind, and no member joins it on the way out.

- Everything a group's messages had (versions of revoked and modified ones, kept revisions,
  extensions, read receipts, @ marks, messages cleared for everyone, members' "deleted for me"
  marks), in the group's timeline and its topics', goes with it: no key of the app names the group
  afterwards (but its event stream, which expires by itself and from which subscriptions still read
  the farewell). Run on a single Redis and on a Redis Cluster, where each multi-key command must stay
  in one slot.
- Joins (and the app admin's adds) racing a dismissal: none of them keeps the dismissed group in a
  user's joined-group list, conversation list or stream following. Many users join at once, round
  after round, so that some joins land between the dismissal's reading of the members and its
  deletion of the group, where they stayed before the fix.
- A long history is erased in the background (gateway.engine.groups.eraser): the dismissal answers
  with the group queued, gone to every reader, its ID refused for a new group (10021) until the
  erasure is done; an eraser dying midway leaves the group to another once its lease runs out.
- A dismissal cut at any step (a gateway dying) leaves the group either as it was (cut before it
  closed) or closed and queued, and an eraser finishes it.
- Writes into the group's timelines racing the dismissal (sends to the group and its topics, join
  tips), erased by the dismissal itself or by the erasers: a write that reads the group closed or
  gone takes back what it wrote and nothing else (10010), so no key names the group afterwards;
  members sending without pause through a dismissal, and the window held open by a hook.
- Users who left before the dismissal (quit, kicked, a live room's crowd quitting as it goes) keep
  nothing of it either: no conversation, no "deleted for me", read, cleared or left mark, which a
  group made again under the same ID would apply to its own seqs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.background import BackgroundLoop, is_transient
from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.eraser import (
    DISMISSAL_HOLD_SECONDS,
    ERASE_LEASE_SECONDS,
    ERASE_RETRY_SECONDS,
    GroupEraser,
)
from gateway.engine.groups.erasure_queue import Hold
from gateway.engine.message_core import AT_ALL
from gateway.engine.message_ids import group_msg_id
from gateway.engine.retention import Erasure, MessageRetention
from gateway.errors import Code, IMError
from gateway.im.enums import ElemType, GroupMemberFilter, GroupType, MessageOpt
from gateway.im.groups import GroupInfoChanges, TopicInfo
from gateway.im.messages import Content, MessageExtension, SendOptions, StoredMessage, TextElem
from gateway.keys import Keys, escape_id
from gateway.services import Gateway
from gateway.store import scan_one, scan_targets
from gateway.tencent.mirror_writes import MirrorWrites
from gateway.upstream import GroupBeingErased
from tests.conftest import REDIS_URL
from tests.support.engine import HeldSends, embedded, replica_after_one_erase

WORK = GroupType.V2TIM_GROUP_TYPE_WORK
MEETING = GroupType.V2TIM_GROUP_TYPE_MEETING
COMMUNITY = GroupType.V2TIM_GROUP_TYPE_COMMUNITY
MEMBERS = ("alice", "bob", "carol")
JOINERS = 30  # users joining at once, each round
ROUNDS = 4
SESSION = "s-test"


@pytest.fixture(params=["single-redis", "redis-cluster"])
def redis_topology(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_url(redis_topology: str, request: pytest.FixtureRequest) -> str:
    if redis_topology == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return REDIS_URL


@pytest.fixture
def redis_is_cluster(redis_topology: str) -> bool:
    return redis_topology == "redis-cluster"


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Gateway]:
    gateway = Gateway.build(settings, clock=ManualClock())
    await gateway.start()
    try:
        for user in MEMBERS:
            await gateway.backend.accounts.ensure_account(user)
        yield gateway
    finally:
        await gateway.close()


def text(body: str) -> Content:
    return Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=body))


async def send(engine: EmbeddedBackend, sender: str, group: str, body: str, **options: Any) -> str:
    created = await engine.messages.create_message(sender, text(body), at_users=options.pop("at", ()))
    sent = await engine.messages.send_group_message(sender, SESSION, created.id, group, SendOptions(**options))
    return sent.msgID


def keys_of(gw: Gateway) -> Keys:
    return embedded(gw.backend).groups.store.keys


async def app_keys(gw: Gateway) -> list[str]:
    """Every key of the test's app, on every primary of a cluster."""
    found: set[str] = set()
    for pattern in keys_of(gw).scan_patterns():
        for target in scan_targets(gw.redis):
            cursor = 0
            while True:
                cursor, keys = await scan_one(gw.redis, target, cursor, pattern, 1000)
                found.update(keys)
                if not cursor:
                    break
    return sorted(found)


async def keys_naming(gw: Gateway, group_id: str) -> list[str]:
    """The app's keys whose name holds the group's ID (its own, its timeline's and its topics', and
    its members' keys about its conversations), but its event stream."""
    stream = keys_of(gw).group_events(group_id)
    return [k for k in await app_keys(gw) if escape_id(group_id) in k and k != stream]


def manual_clock(gw: Gateway) -> ManualClock:
    assert isinstance(gw.clock, ManualClock)
    return gw.clock


async def queued(gw: Gateway, group_id: str) -> bool:
    """Whether the group waits in the erasure queue (its history not all erased yet)."""
    return await gw.redis.zscore(keys_of(gw).groups_to_erase(), group_id) is not None


async def until_erased(gw: Gateway, *group_ids: str, after: float = 0) -> None:
    """Let the gateway's eraser work, its clock moved `after` seconds first (for a hold or a lease to
    run out), then a second at a time (its pace), until none of the groups is queued."""
    clock = manual_clock(gw)
    await clock.advance(after)
    async with asyncio.timeout(10):
        while [g for g in group_ids if await queued(gw, g)]:
            await clock.advance(1)
            await asyncio.sleep(0.005)


async def write_history(gw: Gateway, target: str, count: int) -> None:
    """`count` messages of alice's (every tenth @bob) stored in the timeline of `target` (a group
    or a topic) as a send stores them, in one pipeline: a long history without sending it."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    timeline = keys.group_timeline(target)
    first = int(await gw.redis.get(keys.timeline_seq(timeline)) or 0) + 1
    now = int(gw.clock.now())
    pipe = gw.redis.pipeline(transaction=False)
    for seq in range(first, first + count):
        stored = StoredMessage(
            msgID=group_msg_id(target, seq, seq),
            sender="alice",
            groupID=target,
            seq=seq,
            random=seq,
            timestamp=now,
            content=text(f"old {seq}"),
            groupAtUserList=["bob"] if seq % 10 == 0 else [],
        )
        engine.messages.group._queue_store(pipe, timeline, stored, countable=True)
    pipe.set(keys.timeline_seq(timeline), first + count - 1)
    await pipe.execute()


async def stored_count(gw: Gateway, target: str) -> int:
    return int(await gw.redis.hlen(keys_of(gw).timeline_messages(keys_of(gw).group_timeline(target))))


@pytest.fixture(params=["the dismissal", "the erasers"])
def erased_by(request: pytest.FixtureRequest, gw: Gateway) -> str:
    """Who erases the group's history: the dismissal itself (a short history), or the erasers (the
    dismissal erases nothing and hands it all on, as it does a long one's)."""
    if request.param == "the erasers":
        embedded(gw.backend).groups.eraser.dismissal_budget = 0
    return str(request.param)


async def test_a_dismissal_deletes_every_key_of_the_group_its_messages_and_its_topics(gw: Gateway) -> None:
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    alice, bob, carol = MEMBERS
    work = await groups.create_group(alice, WORK, None, "work", members=[])
    await groups.invite_user_to_group(alice, work, [bob, carol])
    community = await groups.create_group(alice, COMMUNITY, None, "community", is_support_topic=True)
    await groups.join_group(bob, community, "")
    topic = await groups.create_topic_in_community(alice, community, TopicInfo(topicID="", topicName="news"))
    for group in (work, community, topic):
        plain = await send(engine, alice, group, "plain")
        revoked = await send(engine, alice, group, "revoked")
        modified = await send(engine, alice, group, "modified")
        asking = await send(engine, alice, group, "receipts", needReadReceipt=True)
        extended = await send(engine, alice, group, "extensions", isSupportMessageExtension=True)
        await send(engine, alice, group, "@bob and @all", at=[bob, AT_ALL])
        await send(engine, bob, group, "hidden by alice")
        await messages.revoke_message(alice, SESSION, revoked)
        for version in ("modified once", "modified twice"):  # two kept revisions
            await messages.modify_message(alice, SESSION, modified, text(version), None)
        await messages.send_message_read_receipts(bob, [asking])
        extension = MessageExtension(extensionKey="k", extensionValue="v")
        await messages.set_message_extensions(bob, SESSION, extended, [extension], [False])
        await messages.delete_message_from_local_storage(alice, plain)
    # the app admin's clear for everyone keeps the messages aside (REST clear_group_msg)
    await messages.clear_group_messages(work, 2)
    await send(engine, alice, work, "after the clear")
    named = {g: await keys_naming(gw, g) for g in (work, community)}
    # what the scan must find for the check below to mean anything
    timeline = keys.group_timeline(work)
    for family in (":version:", ":revisions", ":extensions:", ":readers:", ":at:", ":cleared", ":hidden:"):
        assert any(family in k for k in named[work]), f"no {family} key to delete in {named[work]}"
    assert any(timeline in k for k in named[work])
    assert any(keys.group_timeline(topic) in k for k in named[community])

    await groups.dismiss_group(alice, work)
    await groups.dismiss_group(alice, community)

    for group in (work, community):
        assert await keys_naming(gw, group) == []
        assert await gw.redis.zscore(keys.group_activity(), group) is None
    for user in MEMBERS:
        assert await groups.get_joined_group_list(user) == []


async def _race_round(
    gw: Gateway, round_no: int, joiners: list[str], add: Callable[[str, str], Awaitable[Any]]
) -> list[str]:
    """One group dismissed while `joiners` are added to it at once: the users who kept it, and the
    keys that name it (a join's tip written after the dismissal erased the timeline left them)."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    group = await engine.groups.create_group("alice", MEETING, None, f"race {round_no}")
    calls = [add(group, user) for user in joiners]
    outcomes = await asyncio.gather(engine.groups.dismiss_group("alice", group), *calls, return_exceptions=True)
    dismissed, *added = outcomes
    assert dismissed is None, dismissed
    for outcome in added:  # added before the dismissal, or refused: the group is gone
        assert outcome is None or isinstance(outcome, list) or _gone(outcome), outcome
    kept = []
    for user in ["alice", *joiners]:
        listed = await gw.redis.hexists(keys.user_groups(user), group)
        joined = [g.groupID for g in await engine.groups.get_joined_group_list(user)]
        conversations = await gw.redis.zscore(keys.conversations(user), f"group_{group}")
        followed = await gw.redis.hexists(keys.user_followed_groups(user), group)
        if listed or group in joined or conversations is not None or followed:
            kept.append(user)
    return kept + await keys_naming(gw, group)


def _gone(outcome: BaseException) -> bool:
    return isinstance(outcome, IMError) and outcome.code == Code.ERR_GROUP_NOT_FOUND


async def _joiners(gw: Gateway) -> list[str]:
    users = [f"joiner{n}" for n in range(JOINERS)]
    for user in users:
        await gw.backend.accounts.ensure_account(user)
    return users


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_no_user_keeps_a_group_whose_dismissal_raced_their_join(gw: Gateway) -> None:
    """joinGroup (free access) of many users at once with the owner's dismissGroup."""
    engine = embedded(gw.backend)
    joiners = await _joiners(gw)

    async def join(group: str, user: str) -> None:
        await engine.groups.join_group(user, group, "")

    kept = {n: k for n in range(ROUNDS) if (k := await _race_round(gw, n, joiners, join))}
    assert kept == {}, f"users and keys that outlived a dismissed group, by round: {kept}"


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_no_user_keeps_a_group_whose_dismissal_raced_the_admins_adds(gw: Gateway) -> None:
    """The app admin's add_group_member (REST), one user a call, with the owner's dismissGroup."""
    engine = embedded(gw.backend)
    joiners = await _joiners(gw)

    async def add(group: str, user: str) -> Any:
        return await engine.groups.invite_user_to_group("administrator", group, [user], app_admin=True)

    kept = {n: k for n in range(ROUNDS) if (k := await _race_round(gw, n, joiners, add))}
    assert kept == {}, f"users and keys that outlived a dismissed group, by round: {kept}"


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_join_whose_users_side_lands_after_the_dismissal_takes_it_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest window, held open: the join's member record is written before the group
    closes (so the dismissal reads the joiner among the members and clears their lists), its
    user's side (joined-group list, conversation, stream following) only after the dismissal is
    done. The join must then take that side back and answer 10010."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    store = engine.groups.store
    group = await engine.groups.create_group("alice", MEETING, None, "late")
    recorded, go_on = asyncio.Event(), asyncio.Event()
    write_users_side = store._add_user_side

    async def late(*args: Any) -> None:
        recorded.set()
        await go_on.wait()
        await write_users_side(*args)

    monkeypatch.setattr(store, "_add_user_side", late)
    joining = asyncio.create_task(engine.groups.join_group("bob", group, ""))
    await recorded.wait()
    await engine.groups.dismiss_group("alice", group)
    go_on.set()
    with pytest.raises(IMError) as refused:
        await joining
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    assert not await gw.redis.hexists(keys.user_groups("bob"), group)
    assert await gw.redis.zscore(keys.conversations("bob"), f"group_{group}") is None
    assert not await gw.redis.hexists(keys.user_followed_groups("bob"), group)
    assert await keys_naming(gw, group) == []


class _Cut(Exception):
    """A gateway dying in the middle of a dismissal."""


CUTS = [
    "the closing",
    "the members' stream following",
    "the members' side",
    "the timelines",
    "the hand-over",
    "the end",
]


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
@pytest.mark.parametrize("cut_at", CUTS)
async def test_a_dismissal_cut_at_any_step_leaves_the_group_queued_and_an_eraser_finishes_it(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, cut_at: str
) -> None:
    """Cut before the group closed, the group stays as it was (the dismissal failed) and its entry
    is dropped once the dismissal's hold runs out; cut after, the group is gone to readers (and a
    second dismissal is answered 10010) and an eraser finishes the dismissal once the hold runs
    out: its members' side (if the cut came before it was forgotten), its history, its keys."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, eraser = engine.groups, engine.groups.eraser
    group = await groups.create_group("alice", COMMUNITY, None, "cut", is_support_topic=True)
    topic = await groups.create_topic_in_community("alice", group, TopicInfo(topicID="", topicName="news"))
    await groups.join_group("bob", group, "")
    revoked = await send(engine, "alice", group, "revoked")
    await engine.messages.revoke_message("alice", SESSION, revoked)
    await send(engine, "bob", topic, "in the topic")
    if cut_at == "the hand-over":
        eraser.dismissal_budget = 1  # the history is handed on, as a long one is

    async def dying(*args: Any, **kwargs: Any) -> None:
        raise _Cut

    let_go = eraser.let_go

    async def dying_at(held: Any, *, due: float | None = None) -> None:
        if (due is None) == (cut_at == "the end"):  # the entry removed, or handed on
            raise _Cut
        await let_go(held, due=due)

    targets: dict[str, tuple[Any, str, Any]] = {
        "the closing": (groups.store, "close", dying),
        "the members' stream following": (groups.store.bus, "leave_group_stream", dying),
        "the members' side": (eraser, "forget_users", dying),
        "the timelines": (eraser.timelines, "erase_part", dying),
        "the hand-over": (eraser, "let_go", dying_at),
        "the end": (eraser, "dequeue_erased", dying),
    }
    target, name, patched = targets[cut_at]
    monkeypatch.setattr(target, name, patched)
    with pytest.raises(_Cut):
        await groups.dismiss_group("alice", group)
    monkeypatch.undo()
    assert await queued(gw, group), "queued whatever the cut"

    if cut_at == "the closing":
        (found,) = await groups.get_groups_info([group])
        assert found.groupInfo is not None, "a dismissal cut before closing the group failed"
        await until_erased(gw, group, after=DISMISSAL_HOLD_SECONDS)
        (found,) = await groups.get_groups_info([group])
        assert found.groupInfo is not None, "the entry of an open group is dropped, the group kept"
        assert await stored_count(gw, topic) == 1
        await groups.dismiss_group("alice", group)
    else:
        (found,) = await groups.get_groups_info([group])
        assert found.resultCode == Code.ERR_GROUP_NOT_FOUND, "gone to readers once closed"
        for refused_call in (groups.join_group("carol", group, ""), groups.dismiss_group("alice", group)):
            with pytest.raises(IMError) as refused:
                await refused_call
            assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
        assert not await gw.redis.hexists(keys.user_groups("carol"), group)
        assert await queued(gw, group), "held by the dismissal until its hold runs out"
        await until_erased(gw, group, after=DISMISSAL_HOLD_SECONDS)

    assert await keys_naming(gw, group) == []
    assert await gw.redis.hgetall(keys.groups_erasing()) == {}
    for user in ("alice", "bob", "carol"):
        assert await groups.get_joined_group_list(user) == []
        assert await _left_behind(gw, user, [f"group_{group}", f"group_{topic}"]) == {}
        assert not await gw.redis.hexists(keys.user_followed_groups(user), group)


# ---- a long history, erased in the background -----------------------------------------------------
LONG = 3_000  # messages of the group's own timeline: more than a dismissal erases itself


async def _long_community(gw: Gateway) -> tuple[str, str]:
    """A community of alice's with bob, a topic, and a long history in both timelines."""
    engine = embedded(gw.backend)
    group, topic = await _community_of(gw, "long", ["bob"])
    await write_history(gw, group, LONG)
    await write_history(gw, topic, LONG // 2)
    extended = await send(engine, "alice", topic, "extensions", isSupportMessageExtension=True)
    extension = MessageExtension(extensionKey="k", extensionValue="v")
    await engine.messages.set_message_extensions("bob", SESSION, extended, [extension], [False])
    return group, topic


async def test_a_long_history_is_erased_after_the_dismissal_answers_and_leaves_nothing(gw: Gateway) -> None:
    """The dismissal answers with the group gone to every reader and its members' side forgotten,
    and its history queued for the erasers; they erase it, a second of work at a time, and then
    no key names the group."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    group, topic = await _long_community(gw)

    await engine.groups.dismiss_group("alice", group)

    assert await queued(gw, group), "the history is the erasers' to erase"
    assert await stored_count(gw, group) + await stored_count(gw, topic) > 0
    (found,) = await engine.groups.get_groups_info([group])
    assert found.resultCode == Code.ERR_GROUP_NOT_FOUND
    for user in ("alice", "bob"):
        assert await engine.groups.get_joined_group_list(user) == []
        assert await _left_behind(gw, user, [f"group_{group}", f"group_{topic}"]) == {}

    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []
    assert await gw.redis.hgetall(keys.groups_erasing()) == {}
    assert await gw.redis.zscore(keys.group_activity(), group) is None


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_an_eraser_dying_midway_leaves_the_group_to_another_once_its_lease_runs_out(gw: Gateway) -> None:
    """One replica's eraser, cancelled once it has erased part of the history, holds the group
    until its lease runs out: another takes nothing before, and then finishes it."""
    engine = embedded(gw.backend)
    groups = engine.groups
    await gw.group_eraser.stop()  # the replicas' erasers are played here
    group, topic = await _long_community(gw)
    await groups.dismiss_group("alice", group)
    left = await stored_count(gw, group) + await stored_count(gw, topic)
    assert left > 0
    assert await queued(gw, group)

    dying = GroupEraser(groups.store, MessageRetention(gw.redis, keys_of(gw)))
    assert await dying.step(500), "one second's work of its: more is left"
    erased_part = await stored_count(gw, group) + await stored_count(gw, topic)
    assert 0 < erased_part < left
    # the replica dies: it holds the group no more, and renews its lease no more
    other = GroupEraser(groups.store, MessageRetention(gw.redis, keys_of(gw)))
    await manual_clock(gw).advance(ERASE_LEASE_SECONDS / 2)
    assert not await other.step(500), "nothing due while the lease lasts"
    assert await stored_count(gw, group) + await stored_count(gw, topic) == erased_part

    await manual_clock(gw).advance(ERASE_LEASE_SECONDS / 2)
    async with asyncio.timeout(10):
        while await other.step(500):
            pass
    assert not await queued(gw, group)
    assert await keys_naming(gw, group) == []
    assert not await dying.step(500), "the dead replica's hold is gone: nothing for it either"


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_cancelled_erasure_loop_is_finished_by_another_replicas(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with the loops themselves: a replica's loop cancelled once it has erased part of the
    history (a replica dying: cancelled without the hand-back of a graceful stop, which
    tests/test_eraser_resume.py covers) leaves the group queued, and the gateway's own loop
    finishes it once the lease has run out."""
    engine = embedded(gw.backend)
    groups = engine.groups
    await gw.group_eraser.stop()
    group, _ = await _community_of(gw, "long", ["bob"])
    await write_history(gw, group, LONG)
    await groups.dismiss_group("alice", group)
    left = await stored_count(gw, group)

    replica = await replica_after_one_erase(gw, monkeypatch)
    await BackgroundLoop.stop(replica)  # its task cancelled, nothing handed back
    assert await queued(gw, group)
    assert 0 < await stored_count(gw, group) < left
    assert await gw.redis.zscore(keys_of(gw).groups_to_erase(), group) > gw.clock.now(), "held until the lease ends"

    gw.group_eraser.start()
    await until_erased(gw, group, after=ERASE_LEASE_SECONDS)
    assert await keys_naming(gw, group) == []


async def test_messages_landing_while_the_erasure_passes_over_a_timeline_are_erased_with_their_marks(
    gw: Gateway,
) -> None:
    """HSCAN returns what was there for the whole scan only: messages written during a pass (none
    of them taken back by a writer here, as a mirror's moved message or a dead writer's) hold the
    timeline's drop back, and another pass erases them with their marks."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group = await groups.create_group("alice", MEETING, None, "passes")
    await write_history(gw, group, 300)
    # all cleared for everyone: its messages hash is empty, its cleared hash SCANned a part at a time
    await engine.messages.clear_group_messages(group)
    await groups.dismiss_group("alice", group)
    timeline = keys.group_timeline(group)
    erasure = Erasure(timeline, keys.group_info(group))
    await groups.eraser.timelines.erase_part(erasure, 30)
    assert (erasure.at, erasure.done) == (1, False), "past the messages, midway through the cleared ones"
    assert erasure.cursor
    await write_history(gw, group, 10)  # into the messages this pass is done with; the last one @bob
    while not erasure.done:
        await groups.eraser.timelines.erase_part(erasure, 30)
    at_bob, seq = keys.timeline_at(timeline, "bob"), keys.timeline_seq(timeline)
    assert await gw.redis.exists(keys.timeline_messages(timeline), keys.timeline_countable(timeline), at_bob, seq) == 0
    gw.group_eraser.start()
    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_dismissed_group_is_not_found_while_its_history_is_erased(gw: Gateway) -> None:
    """Closed and queued, its keys all there still: every read of it answers 10010, as once it
    is gone."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group, topic = await _community_of(gw, "closing", ["bob"])
    await send(engine, "bob", group, "history")
    await groups.dismiss_group("alice", group)
    assert await gw.redis.exists(keys.group_info(group), keys.group_members(group)) == 2

    (found,) = await groups.get_groups_info([group])
    assert found.resultCode == Code.ERR_GROUP_NOT_FOUND
    assert await groups.store.infos([group]) == [None]
    assert not await groups.store.being_erased("another")
    answer = await embedded_rest(gw, "group_open_http_svc/get_group_info", {"GroupIdList": [group]})
    assert answer["GroupInfo"][0]["ErrorCode"] == Code.ERR_GROUP_NOT_FOUND
    refusals = {
        "joinGroup": groups.join_group("carol", group, ""),
        "dismissGroup": groups.dismiss_group("alice", group),
        "setGroupInfo": groups.set_group_info("alice", group, GroupInfoChanges(groupName="x")),
        "getGroupMemberList": groups.get_group_member_list(
            "alice", group, GroupMemberFilter.V2TIM_GROUP_MEMBER_FILTER_ALL, 0
        ),
        "sendGroupMessage": send(engine, "bob", group, "after"),
        "sendToTopic": send(engine, "bob", topic, "after"),
        "getGroupHistoryMessageList": messages.get_group_history_message_list("bob", group, 10),
        "createTopicInCommunity": groups.create_topic_in_community(
            "alice", group, TopicInfo(topicID="", topicName="t")
        ),
    }
    codes = {}
    for name, call in refusals.items():
        try:
            await call
            codes[name] = 0
        except IMError as refused:
            codes[name] = refused.code
    assert codes == dict.fromkeys(refusals, Code.ERR_GROUP_NOT_FOUND)
    await manual_clock(gw).advance(3 * 86400)
    assert await groups.recycle_idle_groups(86400) == [], "nothing to recycle: it is gone"

    gw.group_eraser.start()
    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []


async def embedded_rest(gw: Gateway, command: str, body: dict[str, Any]) -> dict[str, Any]:
    assert gw.server_api is not None
    return await gw.server_api.call(command, body)


async def test_a_dismissed_groups_id_is_refused_for_a_new_group_until_its_erasure_is_done(gw: Gateway) -> None:
    """10021 saying why, on the SDK's createGroup and the server API's create_group alike, and
    the ID free once the erasure is done: the new group shows nothing of the old one. A closed
    group that is not queued (its dismissal stalled past its hold, then cut) is queued by the
    refusal, so its ID does come free."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group = await groups.create_group("alice", MEETING, "again", "first")
    await send(engine, "alice", group, "of the first group")
    await groups.dismiss_group("alice", group)

    with pytest.raises(IMError) as refused:
        await groups.create_group("alice", MEETING, "again", "second")
    assert refused.value.code == Code.ERR_GROUP_ID_TAKEN
    assert "erased" in refused.value.desc
    body = {"Owner_Account": "alice", "Type": "Meeting", "GroupId": "again", "Name": "second"}
    assert (await embedded_rest(gw, "group_open_http_svc/create_group", body))["ErrorCode"] == Code.ERR_GROUP_ID_TAKEN

    await gw.redis.zrem(keys.groups_to_erase(), group)
    await gw.redis.hdel(keys.groups_erasing(), group)
    with pytest.raises(IMError) as refused:
        await groups.create_group("alice", MEETING, "again", "second")
    assert refused.value.code == Code.ERR_GROUP_ID_TAKEN
    assert await queued(gw, group), "queued again by the refusal"

    gw.group_eraser.start()
    await until_erased(gw, group)
    assert await groups.create_group("alice", MEETING, "again", "second") == group
    assert await engine.messages.get_group_history_message_list("alice", group, 10) == []
    (found,) = await groups.get_groups_info([group])
    assert found.groupInfo is not None
    assert found.groupInfo.groupName == "second"


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_the_retention_deletes_the_version_of_a_message_revoked_and_never_modified(gw: Gateway) -> None:
    """A revocation writes the message's version key (modifications race on it) at 0: trimming the
    message must delete it, as it deletes a modified one's."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    group = await engine.groups.create_group("alice", MEETING, None, "trimmed")
    revoked = await send(engine, "alice", group, "revoked")
    await engine.messages.revoke_message("alice", SESSION, revoked)
    timeline = keys.group_timeline(group)
    stored = await engine.messages.load_visible("alice", revoked)
    version = keys.message_version(timeline, stored.seq)
    assert await gw.redis.exists(version)
    finished, _ = await MessageRetention(gw.redis, keys).trim_timeline(timeline, float("inf"), 1000)
    assert finished
    assert not await gw.redis.exists(version)
    assert not await gw.redis.hexists(keys.timeline_messages(timeline), str(stored.seq))


async def test_deleting_a_topic_deletes_its_messages_and_what_is_kept_about_them(gw: Gateway) -> None:
    """A deleted topic's timeline once stayed whole (messages, versions, receipts, extensions): a
    topic made again under its ID showed the old messages. Deleting it erases them as a dismissal
    erases a group's."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    alice, bob, _ = MEMBERS
    community = await groups.create_group(alice, COMMUNITY, None, "community", is_support_topic=True)
    await groups.join_group(bob, community, "")
    topic = await groups.create_topic_in_community(alice, community, TopicInfo(topicID="", topicName="news"))
    revoked = await send(engine, alice, topic, "revoked")
    extended = await send(engine, alice, topic, "extensions", isSupportMessageExtension=True)
    await send(engine, bob, topic, "plain")
    await messages.revoke_message(alice, SESSION, revoked)
    extension = MessageExtension(extensionKey="k", extensionValue="v")
    await messages.set_message_extensions(bob, SESSION, extended, [extension], [False])
    timeline = keys.group_timeline(topic)
    assert [k for k in await app_keys(gw) if k.startswith(timeline)]  # what the check below looks for

    await groups.delete_topic_from_community(alice, community, [topic])

    # its seq counter too: its last value is kept in the community's deleted-topics hash, for a
    # topic made again under the ID to go on from
    assert [k for k in await app_keys(gw) if k.startswith(timeline)] == []
    assert await groups.get_joined_group_list(bob)  # the community itself is untouched
    await groups.dismiss_group(alice, community)
    await until_erased(gw, community)
    assert not await gw.redis.exists(keys.group_deleted_topics(community)), "the record goes with its community"


# ---- writes into a timeline racing its group's dismissal -----------------------------------------
SENDERS = 8  # members sending without pause, each to the group and to its topic, while it is dismissed


def _refused_by_the_dismissal(outcome: BaseException) -> bool:
    """10010 (the group or topic is gone, or the write saw it go), or 10007 (the group's member
    records went with it before the write read them)."""
    return isinstance(outcome, IMError) and outcome.code in (Code.ERR_GROUP_NOT_FOUND, Code.ERR_NO_PERMISSION)


async def _send_until_refused(engine: EmbeddedBackend, user: str, target: str) -> None:
    """Sends one after another, each as soon as the one before is answered, until one is refused
    because the group went: there is always one under way, whatever step the dismissal is at."""
    while True:
        try:
            await send(engine, user, target, "racing")
        except IMError as refused:
            if not _refused_by_the_dismissal(refused):
                raise
            return


async def _community_of(gw: Gateway, name: str, members: list[str]) -> tuple[str, str]:
    """A community of alice's with `members` and one topic: (its ID, the topic's)."""
    groups = embedded(gw.backend).groups
    group = await groups.create_group("alice", COMMUNITY, None, name, is_support_topic=True)
    topic = await groups.create_topic_in_community("alice", group, TopicInfo(topicID="", topicName="news"))
    for user in members:
        await groups.join_group(user, group, "")
    return group, topic


async def _sends_racing_a_dismissal(gw: Gateway, round_no: int, senders: list[str]) -> list[str]:
    """A community dismissed while its members keep sending to it and to its topic; the keys that
    name it afterwards."""
    engine = embedded(gw.backend)
    group, topic = await _community_of(gw, f"sends {round_no}", senders)

    loops = [_send_until_refused(engine, user, target) for user in senders for target in (group, topic)]
    dismissed, *_ = await asyncio.gather(engine.groups.dismiss_group("alice", group), *loops)
    assert dismissed is None
    await until_erased(gw, group)
    return await keys_naming(gw, group)


async def test_no_key_survives_sends_racing_a_dismissal(gw: Gateway, erased_by: str) -> None:
    """Sends whose member check came before the dismissal and whose write after its erasure of the
    timeline once left the message, its seq counter and marks, and the sender's last-sent time: a
    group made again under the same ID inherited them."""
    senders = [f"sender{n}" for n in range(SENDERS)]
    for user in senders:
        await gw.backend.accounts.ensure_account(user)
    left = {n: k for n in range(ROUNDS) if (k := await _sends_racing_a_dismissal(gw, n, senders))}
    assert left == {}, f"keys that outlived a dismissed group, by round: {left}"


async def test_no_key_survives_joins_racing_a_dismissal(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """Joins each paused for a while (a busy gateway) between their member record and their tip,
    the group dismissed meanwhile: a tip written once the dismissal had erased the timeline left
    the tip and the timeline's seq counter."""
    engine = embedded(gw.backend)
    groups, store = engine.groups, engine.groups.store
    joiners = await _joiners(gw)

    async def crowded() -> str:
        group = await groups.create_group("alice", MEETING, None, "timed")
        for user in joiners:
            await groups.join_group(user, group, "")
        return group

    dismissal = await _dismissal_seconds(gw, crowded)
    pauses = random.Random(0)
    member_infos = store.member_infos
    paused_joins: set[str] = set()
    all_paused = asyncio.Event()

    async def paused(group_id: str, user_ids: list[str]) -> Any:
        if "alice" not in user_ids:  # a joiner's, read for its tip (the dismissal reads alice's)
            paused_joins.update(user_ids)
            if len(paused_joins) == len(joiners):
                all_paused.set()
            await asyncio.sleep(pauses.uniform(0, 3 * dismissal))
        return await member_infos(group_id, user_ids)

    monkeypatch.setattr(store, "member_infos", paused)

    async def dismiss_once_all_joined(group: str) -> None:
        async with asyncio.timeout(30):  # a join refused before its pause would keep it waiting
            await all_paused.wait()
        await groups.dismiss_group("alice", group)

    left: dict[int, list[str]] = {}
    for round_no in range(ROUNDS):
        paused_joins.clear()
        all_paused.clear()
        group = await groups.create_group("alice", MEETING, None, f"joins {round_no}")
        joins = [groups.join_group(user, group, "") for user in joiners]
        dismissed, *joined = await asyncio.gather(dismiss_once_all_joined(group), *joins, return_exceptions=True)
        assert dismissed is None, dismissed
        for outcome in joined:
            assert outcome is None or _refused_by_the_dismissal(outcome), outcome
        if keys := await keys_naming(gw, group):
            left[round_no] = keys
    assert left == {}, f"keys that outlived a dismissed group, by round: {left}"


async def _dismissal_seconds(gw: Gateway, make: Callable[[], Awaitable[str]]) -> float:
    """How long dismissing a group `make` creates takes here (this Redis, this machine)."""
    group = await make()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await embedded(gw.backend).groups.dismiss_group("alice", group)
    return loop.time() - started


@pytest.mark.parametrize("target", ["group", "topic"])
async def test_a_send_written_after_the_dismissal_takes_its_write_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, target: str, erased_by: str
) -> None:
    """The window held open: the send has checked the sender's membership and taken its seq, and
    writes only once the dismissal is done. It must find the group closed or gone, take back what
    it wrote and answer 10010."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    group = await groups.create_group("alice", COMMUNITY, "doomed", "doomed", is_support_topic=True)
    topic = await groups.create_topic_in_community("alice", group, TopicInfo(topicID="", topicName="news"))
    await groups.join_group("bob", group, "")
    await send(engine, "bob", topic if target == "topic" else group, "before")
    held = HeldSends(monkeypatch, messages)
    claimed, go_on = held.claimed, held.go_on
    created = await messages.create_message("bob", text("late"), at_users=["alice"])
    options = SendOptions(localCustomData="mine")
    sending = asyncio.create_task(
        messages.send_group_message("bob", SESSION, created.id, topic if target == "topic" else group, options)
    )
    await claimed.wait()
    await groups.dismiss_group("alice", group)
    go_on.set()
    with pytest.raises(IMError) as refused:
        await sending
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []
    assert await gw.redis.hgetall(keys.local_message_data("bob")) == {}


async def test_a_send_to_a_group_whose_dismissal_was_cut_is_refused_and_leaves_nothing(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group closed by a dismissal cut before it forgot its members' side: a send is refused
    (10010) and writes nothing; the eraser finishes the dismissal and leaves nothing."""
    engine = embedded(gw.backend)
    groups = engine.groups
    group = await groups.create_group("alice", MEETING, None, "cut")
    await groups.join_group("bob", group, "")

    async def dying(*args: Any) -> None:
        raise _Cut

    monkeypatch.setattr(groups.eraser, "forget_users", dying)
    with pytest.raises(_Cut):
        await groups.dismiss_group("alice", group)
    monkeypatch.undo()
    with pytest.raises(IMError) as refused:
        await send(engine, "bob", group, "into a closing group")
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND

    await until_erased(gw, group, after=DISMISSAL_HOLD_SECONDS)
    assert await keys_naming(gw, group) == []


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_send_that_reads_the_group_closed_takes_back_its_own_message_and_nothing_else(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send whose write lands once the group is closed, before the erasers have begun: it removes
    its message, its marks and its sender's writes, and leaves the history to the erasers (a
    writer that erased the whole timeline did the erasers' work inside a request)."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group = await groups.create_group("alice", MEETING, None, "closing")
    await groups.join_group("bob", group, "")
    await write_history(gw, group, 50)
    held = HeldSends(monkeypatch, messages)
    claimed, go_on = held.claimed, held.go_on
    created = await messages.create_message("bob", text("late"), at_users=["alice"])
    sending = asyncio.create_task(
        messages.send_group_message("bob", SESSION, created.id, group, SendOptions(localCustomData="mine"))
    )
    await claimed.wait()
    timeline = keys.group_timeline(group)
    history = await stored_count(gw, group)  # the join's tip and those 50
    seq = await gw.redis.get(keys.timeline_seq(timeline))  # the send's, taken before its claim
    await groups.dismiss_group("alice", group)
    go_on.set()
    with pytest.raises(IMError) as refused:
        await sending
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND

    assert await stored_count(gw, group) == history, "the history is left to the erasers"
    assert not await gw.redis.hexists(keys.timeline_messages(timeline), seq)
    assert await gw.redis.zscore(keys.timeline_countable(timeline), seq) is None
    assert await gw.redis.zscore(keys.timeline_at(timeline, "alice"), seq) is None
    assert await gw.redis.hgetall(keys.local_message_data("bob")) == {}
    assert not await gw.redis.hexists(keys.group_last_sent(group), "bob")
    gw.group_eraser.start()
    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []


@pytest.mark.parametrize("target", ["group", "topic"])
async def test_a_send_whose_seq_is_taken_after_the_erasure_of_its_timeline_leaves_no_counter(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """The erasers have dropped the timeline (its seq counter with it) while the group is still
    closed, not gone: a send that then takes a seq makes the counter again, reads the group closed,
    and must drop the counter itself, no message being left in the timeline."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group, topic = await _community_of(gw, "dropped", ["bob"])
    to = topic if target == "topic" else group
    await write_history(gw, to, 30)
    timeline = keys.group_timeline(to)
    profiles_read, go_on = asyncio.Event(), asyncio.Event()
    get_profiles = engine.profiles.get

    async def late(user_ids: list[str]) -> Any:
        if list(user_ids) == ["bob"] and not go_on.is_set():  # the send's, just before its seq
            profiles_read.set()
            await go_on.wait()
        return await get_profiles(user_ids)

    monkeypatch.setattr(engine.profiles, "get", late)
    created = await messages.create_message("bob", text("late"))
    sending = asyncio.create_task(messages.send_group_message("bob", SESSION, created.id, to, SendOptions()))
    await profiles_read.wait()
    await groups.dismiss_group("alice", group)
    erasure = Erasure(timeline, keys.group_info(group) if to == group else None)
    while not erasure.done:
        await groups.eraser.timelines.erase_part(erasure, 1000)
    assert not await gw.redis.exists(keys.timeline_seq(timeline))
    assert await groups.store.being_erased(group), "closed, not gone"

    go_on.set()
    with pytest.raises(IMError) as refused:
        await sending
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    left = [keys.timeline_seq(timeline), keys.timeline_messages(timeline), keys.timeline_countable(timeline)]
    assert await gw.redis.exists(*left) == 0
    gw.group_eraser.start()
    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []


async def test_a_joins_tip_written_after_the_dismissal_takes_its_write_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, erased_by: str
) -> None:
    """A join whose member record came before the group closed, and whose tip is written once the
    dismissal is done: the tip must find the group gone, erase what it wrote and answer 10010."""
    engine = embedded(gw.backend)
    store = engine.groups.store
    group = await engine.groups.create_group("alice", MEETING, None, "late tip")
    announcing, go_on = asyncio.Event(), asyncio.Event()
    member_infos = store.member_infos

    async def late(group_id: str, user_ids: list[str]) -> Any:
        if list(user_ids) == ["bob"]:  # the joiner's, read for the tip (the dismissal reads alice's)
            announcing.set()
            await go_on.wait()
        return await member_infos(group_id, user_ids)

    monkeypatch.setattr(store, "member_infos", late)
    joining = asyncio.create_task(engine.groups.join_group("bob", group, ""))
    await announcing.wait()
    await engine.groups.dismiss_group("alice", group)
    go_on.set()
    with pytest.raises(IMError) as refused:
        await joining
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    await until_erased(gw, group)
    assert await keys_naming(gw, group) == []


# ---- members who left before the dismissal --------------------------------------------------------
async def _left_behind(gw: Gateway, user: str, conversations: list[str]) -> dict[str, Any]:
    """What `user` keeps of these conversations on their side (keys named by them show in
    `keys_naming`; these are fields of the user's own hashes)."""
    keys = keys_of(gw)
    found: dict[str, Any] = {}
    for conversation in conversations:
        for what, key in (
            ("left mark", keys.conversation_state(user, "left")),
            ("cleared up to", keys.cleared_before(user)),
            ("read seq", keys.group_read_seqs(user)),
        ):
            if (value := await gw.redis.hget(key, conversation)) is not None:
                found[f"{what} of {conversation}"] = value
        if await gw.redis.zscore(keys.conversations(user), conversation) is not None:
            found[f"row of {conversation}"] = True
    return found


async def _hide_one_each(engine: EmbeddedBackend, user: str, targets: list[str]) -> None:
    """A message of alice's in each of `targets`, deleted by `user` for themselves."""
    for target in targets:
        await engine.messages.delete_message_from_local_storage(user, await send(engine, "alice", target, "hidden"))


async def test_members_who_left_keep_nothing_of_a_dismissed_group(gw: Gateway) -> None:
    """bob quit and carol was kicked before the dismissal: their conversations of the group and its
    topic, their "deleted for me" marks, their left marks and their clears stayed (only members'
    were removed), and a group made again under the same ID hid its messages at those seqs."""
    engine = embedded(gw.backend)
    groups = engine.groups
    alice, bob, carol = MEMBERS
    group = await groups.create_group(alice, COMMUNITY, None, "left", is_support_topic=True)
    topic = await groups.create_topic_in_community(alice, group, TopicInfo(topicID="", topicName="news"))
    for user in (bob, carol):
        await groups.join_group(user, group, "")
        await _hide_one_each(engine, user, [group, topic])
        await engine.messages.clear_group_history_message(user, topic)
    await groups.quit_group(bob, group)
    await groups.kick_group_member(alice, group, [carol], "")
    conversations = [f"group_{group}", f"group_{topic}"]
    assert all([await _left_behind(gw, u, conversations) for u in (bob, carol)])  # what must go
    assert [k for k in await keys_naming(gw, group) if ":hidden:" in k]

    await groups.dismiss_group(alice, group)

    assert await keys_naming(gw, group) == []
    assert {u: w for u in (bob, carol) if (w := await _left_behind(gw, u, conversations))} == {}


async def test_a_group_made_again_under_a_dismissed_ones_id_shows_former_members_its_messages(
    gw: Gateway,
) -> None:
    """Former members of the first group join the second one: its messages at the seqs they had
    deleted for themselves in the first are theirs to see."""
    engine = embedded(gw.backend)
    groups, messages = engine.groups, engine.messages
    alice, bob, carol = MEMBERS
    group = await groups.create_group(alice, MEETING, "again", "first")
    for user in (bob, carol):
        await groups.join_group(user, group, "")
    hidden_seqs: dict[str, set[int]] = {}
    for user in (bob, carol):
        for n in range(4):
            msg_id = await send(engine, alice, group, f"first {n}")
            await messages.delete_message_from_local_storage(user, msg_id)
        hidden = await gw.redis.smembers(keys_of(gw).hidden_messages(user, f"group_{group}"))
        hidden_seqs[user] = {int(seq) for seq in hidden}
    await groups.quit_group(bob, group)
    await groups.kick_group_member(alice, group, [carol], "")
    await groups.dismiss_group(alice, group)

    assert await groups.create_group(alice, MEETING, "again", "second") == group
    for user in (bob, carol):
        await groups.join_group(user, group, "")
    sent = [await send(engine, alice, group, f"second {n}") for n in range(12)]
    for user in (bob, carol):
        history = await messages.get_group_history_message_list(user, group, 50)
        shown = {m.msgID for m in history}
        seqs = {m.seq for m in history}
        assert set(sent) <= shown, f"{user} misses {set(sent) - shown}"
        assert hidden_seqs[user] <= seqs, f"{user}'s old deleted seqs hide the new group's messages"


async def test_a_member_who_quit_and_joined_again_keeps_their_marks_and_loses_them_with_the_group(
    gw: Gateway,
) -> None:
    """Joining again is as before: what they deleted for themselves stays deleted, the left mark
    goes. Quitting again makes them a former member again: the dismissal removes their side."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups, messages = engine.groups, engine.messages
    alice, bob, _ = MEMBERS
    group = await groups.create_group(alice, MEETING, None, "back and forth")
    await groups.join_group(bob, group, "")
    hidden = await send(engine, alice, group, "hidden by bob")
    await messages.delete_message_from_local_storage(bob, hidden)
    await groups.quit_group(bob, group)
    conversation = f"group_{group}"
    assert await gw.redis.hget(keys.conversation_state(bob, "left"), conversation) is not None

    await groups.join_group(bob, group, "")
    assert await gw.redis.hget(keys.conversation_state(bob, "left"), conversation) is None
    after = await send(engine, alice, group, "after the join")
    shown = {m.msgID for m in await messages.get_group_history_message_list(bob, group, 50)}
    assert after in shown
    assert hidden not in shown

    await groups.quit_group(bob, group)
    await groups.dismiss_group(alice, group)
    assert await keys_naming(gw, group) == []
    assert await _left_behind(gw, bob, [conversation]) == {}


LIVE_CROWD = 20  # live-room members quitting at once, each round


async def test_live_room_members_quitting_as_it_is_dismissed_keep_nothing_of_it(gw: Gateway) -> None:
    """A live room's quits take no turn (its crowd would queue): they race the dismissal, and a quit
    whose left mark came after the dismissal removed that member's side must take it back."""
    engine = embedded(gw.backend)
    groups = engine.groups
    crowd = [f"viewer{n}" for n in range(LIVE_CROWD)]
    for user in crowd:
        await gw.backend.accounts.ensure_account(user)
    left: dict[int, dict[str, Any]] = {}
    for round_no in range(ROUNDS):
        room = await groups.create_group("alice", GroupType.V2TIM_GROUP_TYPE_AVCHATROOM, None, f"live {round_no}")
        for user in crowd:
            await groups.join_group(user, room, "")
        quits = [groups.quit_group(user, room) for user in crowd]
        dismissed, *quitted = await asyncio.gather(groups.dismiss_group("alice", room), *quits, return_exceptions=True)
        assert dismissed is None, dismissed
        for outcome in quitted:
            assert outcome is None or _refused_by_the_dismissal(outcome), outcome
        found: dict[str, Any] = {u: w for u in crowd if (w := await _left_behind(gw, u, [f"group_{room}"]))}
        if keys := await keys_naming(gw, room):
            found["keys"] = keys
        if found:
            left[round_no] = found
    assert left == {}, f"what outlived a dismissed live room, by round: {left}"


async def test_a_live_room_quit_whose_left_mark_lands_after_the_dismissal_takes_it_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window held open: the quit has found the user a member, and writes their side (left
    mark) and removes their record only once the dismissal is done. It must see the group gone,
    forget the side it wrote, leave no former-members set behind and answer 10010."""
    engine = embedded(gw.backend)
    groups, store = engine.groups, engine.groups.store
    room = await groups.create_group("alice", GroupType.V2TIM_GROUP_TYPE_AVCHATROOM, None, "live")
    await groups.join_group("bob", room, "")
    found, go_on = asyncio.Event(), asyncio.Event()
    members_among = store._members_among

    async def late(*args: Any) -> list[str]:
        leaving = await members_among(*args)
        found.set()
        await go_on.wait()
        return leaving

    monkeypatch.setattr(store, "_members_among", late)
    quitting = asyncio.create_task(groups.quit_group("bob", room))
    await found.wait()
    await groups.dismiss_group("alice", room)
    go_on.set()
    with pytest.raises(IMError) as refused:
        await quitting
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND
    assert await keys_naming(gw, room) == []
    assert await _left_behind(gw, "bob", [f"group_{room}"]) == {}


async def test_a_live_rooms_viewers_who_left_keep_nothing_of_it_and_it_lists_none_of_them(gw: Gateway) -> None:
    """A live room stores no message, so a viewer who quits (or is kicked) keeps nothing of it, and
    the room notes no former members: over its life it may have had millions of viewers."""
    engine = embedded(gw.backend)
    groups = engine.groups
    room = await groups.create_group("alice", GroupType.V2TIM_GROUP_TYPE_AVCHATROOM, None, "live")
    for user in ("bob", "carol"):
        await groups.join_group(user, room, "")
    await groups.quit_group("bob", room)
    await groups.kick_group_member("alice", room, ["carol"], "")
    for user in ("bob", "carol"):
        assert await _left_behind(gw, user, [f"group_{room}"]) == {}, user
    assert not await gw.redis.exists(keys_of(gw).group_former_members(room))


async def _eraser(gw: Gateway) -> GroupEraser:
    return GroupEraser(embedded(gw.backend).groups.store, MessageRetention(gw.redis, keys_of(gw)))


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_an_eraser_resuming_after_its_group_was_finished_and_made_again_erases_nothing_of_the_new_one(
    gw: Gateway,
) -> None:
    """An eraser stalled inside a step (past its lease) while another finished the group, and a
    group (and a topic) made again under the IDs: resuming, it erases none of their messages."""
    engine = embedded(gw.backend)
    groups = engine.groups
    await gw.group_eraser.stop()
    group = await groups.create_group("alice", COMMUNITY, "reborn", "first", is_support_topic=True)
    topic = await groups.create_topic_in_community("alice", group, TopicInfo(topicID="", topicName="news"))
    await groups.join_group("bob", group, "")
    await write_history(gw, group, LONG)
    await write_history(gw, topic, LONG // 2)
    await groups.dismiss_group("alice", group)

    paused = await _eraser(gw)
    assert await paused.step(500)
    held = paused._current
    assert held is not None
    assert held.erasures
    await manual_clock(gw).advance(ERASE_LEASE_SECONDS + 1)  # its lease lapses while it stalls
    other = await _eraser(gw)
    async with asyncio.timeout(10):
        while await other.step(10_000):
            pass
    assert not await queued(gw, group)

    assert await groups.create_group("alice", COMMUNITY, group, "second", is_support_topic=True) == group
    assert await groups.create_topic_in_community("alice", group, TopicInfo(topicID=topic, topicName="n")) == topic
    await send(engine, "alice", group, "of the new group")
    await send(engine, "alice", topic, "of the new topic")

    done, _ = await paused.erase(held, 10_000)  # resumes where it stalled
    assert done
    for target in (group, topic):
        assert await stored_count(gw, target) == 1, target
        assert len(await engine.messages.get_group_history_message_list("alice", target, 10)) == 1, target


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_group_erased_by_another_holder_leaves_no_entry_for_the_first_to_renew(gw: Gateway) -> None:
    """An eraser holds the entry while another holder (a dismissal or recycle whose own hold ran
    out) erases the group to the end: the entry and its holder go all the same, so the first one's
    renewal fails and no eraser is left working on a finished group."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group = await groups.create_group("alice", MEETING, None, "held")
    await send(engine, "alice", group, "one")
    await groups.dismiss_group("alice", group)

    first = await _eraser(gw)
    assert await first.step(1), "it takes the entry, and has more to do"
    assert first._current is not None
    done, _ = await groups.eraser.erase(Hold(group, "another"), 10_000)
    assert done
    assert await keys_naming(gw, group) == []
    assert not await queued(gw, group)
    assert await gw.redis.hgetall(keys.groups_erasing()) == {}
    assert not await first.step(500), "its renewal fails: nothing left for it"
    assert first._current is None


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_group_made_again_upstream_while_the_old_one_is_erased_waits_for_the_erasure(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an upstream (Tencent), a webhook about a group made again there under the ID of one
    still being erased here fails for now (a transient error: retried, never dead-lettered), the old
    one's entry is made due at once, and its erasure ends with the reconcile marks of the group and
    its topics gone (the new group's seqs start over)."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    group, topic = await _community_of(gw, "again upstream", ["bob"])
    await send(engine, "alice", group, "of the old group")
    await gw.redis.hset(keys.tencent_groups_synced(), mapping={group: 9, topic: 4, "other": 2})
    await groups.dismiss_group("alice", group)
    # held for minutes yet, as a dismissal cut after closing it leaves it
    await gw.redis.zadd(keys.groups_to_erase(), {group: gw.clock.now() + DISMISSAL_HOLD_SECONDS})

    monkeypatch.setattr(groups.store, "upstream", SimpleNamespace())  # never asked: the erasure comes first

    # the mirror's way to the engine (MirrorWrites.know_groups), over the engine's error boundary
    mirror = MirrorWrites.__new__(MirrorWrites)
    mirror.backend = cast(Any, SimpleNamespace(groups=engine.groups))
    with pytest.raises(GroupBeingErased) as waiting:
        await mirror.know_groups(group, joined=("bob",), operator="alice")  # the create and join webhooks'
    assert is_transient(waiting.value)
    assert await gw.redis.zscore(keys.groups_to_erase(), group) <= gw.clock.now(), "due now"

    eraser = await _eraser(gw)
    async with asyncio.timeout(10):
        while await eraser.step(10_000):
            pass
    assert not await queued(gw, group)
    assert await gw.redis.hgetall(keys.tencent_groups_synced()) == {"other": "2"}


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_a_group_whose_erasure_keeps_failing_is_handed_back_for_later_and_the_others_are_erased(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The eraser does not retry one failing group for ever: after a few failed steps in a row it
    hands it back, due later, and erases the groups queued after it."""
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    await gw.group_eraser.stop()
    groups.eraser.dismissal_budget = 0
    failing = await groups.create_group("alice", MEETING, None, "failing")
    fine = await groups.create_group("alice", MEETING, None, "fine")
    for group in (failing, fine):
        await send(engine, "alice", group, "one")
    await groups.dismiss_group("alice", failing)
    await manual_clock(gw).advance(1)  # due before the other
    await groups.dismiss_group("alice", fine)
    erase_part = groups.eraser.timelines.erase_part
    failing_timeline = keys.group_timeline(failing)

    async def refused(erasure: Erasure, budget: int) -> int:
        if erasure.timeline == failing_timeline:
            raise RedisConnectionError("refused")
        return await erase_part(erasure, budget)

    monkeypatch.setattr(groups.eraser.timelines, "erase_part", refused)
    gw.group_eraser.start()
    await until_erased(gw, fine)
    assert await queued(gw, failing)
    assert await gw.redis.zscore(keys.groups_to_erase(), failing) > gw.clock.now(), "due later"
    assert await stored_count(gw, failing) == 1

    monkeypatch.setattr(groups.eraser.timelines, "erase_part", erase_part)
    await until_erased(gw, failing, after=ERASE_RETRY_SECONDS)
    assert await keys_naming(gw, failing) == []


async def test_a_members_settings_of_a_dismissed_group_do_not_apply_to_one_made_again_under_its_id(
    gw: Gateway,
) -> None:
    """bob, a member, set the group not to be received, pinned it and left a draft in it; it is
    dismissed, made again under its ID, and bob joins the new one: its messages reach him (counted
    unread) and its conversation is neither pinned nor drafted."""
    engine = embedded(gw.backend)
    groups = engine.groups
    group = await groups.create_group("alice", WORK, "settings", "first")
    await groups.invite_user_to_group("alice", group, ["bob"])
    conversation = f"group_{group}"
    await engine.messages.set_group_receive_message_opt("bob", group, MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)
    await engine.conversations.pin_conversation("bob", conversation, True)
    await engine.conversations.set_conversation_draft("bob", conversation, "unsent")
    await groups.dismiss_group("alice", group)
    await until_erased(gw, group)

    assert await groups.create_group("alice", WORK, group, "second") == group
    await groups.invite_user_to_group("alice", group, ["bob"])
    await send(engine, "alice", group, "to the new group")
    found = await engine.conversations.get_conversation("bob", conversation)
    assert found.recvOpt == MessageOpt.V2TIM_RECEIVE_MESSAGE
    assert found.unreadCount == 1
    assert not found.isPinned
    assert found.draftText == ""
    opt = await gw.redis.hget(keys_of(gw).receive_options("bob"), Keys.group_receive_option_field(group))
    assert opt is None
