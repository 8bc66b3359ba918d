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
- A dismissal cut midway (a gateway dying) leaves the group closed to new members, and dismissing it
  again finishes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.group_messages import AT_ALL
from gateway.engine.retention import MessageRetention
from gateway.errors import Code, IMError
from gateway.im.enums import ElemType, GroupType
from gateway.im.groups import TopicInfo
from gateway.im.messages import Content, MessageExtension, SendOptions, TextElem
from gateway.keys import Keys, escape_id
from gateway.services import Gateway
from gateway.store import scan_one, scan_targets
from tests.conftest import REDIS_URL
from tests.support.engine import embedded

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
    """One group dismissed while `joiners` are added to it at once; the users who kept it."""
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
    return kept


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
    assert kept == {}, f"users who keep a dismissed group, by round: {kept}"


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
async def test_no_user_keeps_a_group_whose_dismissal_raced_the_admins_adds(gw: Gateway) -> None:
    """The app admin's add_group_member (REST), one user a call, with the owner's dismissGroup."""
    engine = embedded(gw.backend)
    joiners = await _joiners(gw)

    async def add(group: str, user: str) -> Any:
        return await engine.groups.invite_user_to_group("administrator", group, [user], app_admin=True)

    kept = {n: k for n in range(ROUNDS) if (k := await _race_round(gw, n, joiners, add))}
    assert kept == {}, f"users who keep a dismissed group, by round: {kept}"


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


@pytest.mark.parametrize("redis_topology", ["single-redis"], indirect=True)
@pytest.mark.parametrize("cut_at", ["the members' stream following", "the timelines"])
async def test_a_dismissal_cut_midway_leaves_the_group_closed_and_dismissing_again_finishes_it(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, cut_at: str
) -> None:
    engine, keys = embedded(gw.backend), keys_of(gw)
    groups = engine.groups
    group = await groups.create_group("alice", MEETING, None, "cut")
    await groups.join_group("bob", group, "")
    revoked = await send(engine, "alice", group, "revoked")
    await engine.messages.revoke_message("alice", SESSION, revoked)

    async def dying(*args: Any) -> None:
        raise _Cut

    if cut_at == "the timelines":
        monkeypatch.setattr(groups.lifecycle.timelines, "erase_timeline", dying)
    else:
        monkeypatch.setattr(groups.store.bus, "leave_group_stream", dying)
    with pytest.raises(_Cut):
        await groups.dismiss_group("alice", group)
    monkeypatch.undo()

    (found,) = await groups.get_groups_info([group])
    assert found.groupInfo is not None, "the group is there until its dismissal is done"
    with pytest.raises(IMError) as refused:
        await groups.join_group("carol", group, "")
    assert refused.value.code == Code.ERR_GROUP_NOT_FOUND, "a group being dismissed takes no member"
    assert not await gw.redis.hexists(keys.user_groups("carol"), group)

    await groups.dismiss_group("alice", group)
    assert await keys_naming(gw, group) == []
    for user in ("alice", "bob", "carol"):
        assert await groups.get_joined_group_list(user) == []


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

    assert [k for k in await app_keys(gw) if k.startswith(timeline)] == []
    assert await groups.get_joined_group_list(bob)  # the community itself is untouched
