"""Member mutes (a community's, and in its topics) racing a leaving, on the engine and real Redis:
each cut is placed by a hook at the step where another write can land.

- a quit started while a mute holds the community's turn waits for it (both take the turn), then
  removes the target with their mutes; a topic made between the leaving's read of the topics and
  its step (a turn outlived) is read again;
- the community's own mute writes only while the target is still a member of the open group, and
  only its field of their record, found where msgspec writes it; a member's other fields written
  back after a live room's quit (which takes no turn) do not bring the record back;
- and, not a race but the same probe's concern: a mute naming a topic checks the caller's
  permission before the topic's existence, so a stranger learns nothing of which topics exist.
"""

from __future__ import annotations

import asyncio
import contextvars
from asyncio import FIRST_COMPLETED
from typing import Any

import msgspec
import pytest

import gateway.engine.groups.store as store_module
from gateway.engine.groups.store import MemberRecord, member_dec, member_enc
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.engine.upstream_turns import _held as turns_held
from gateway.im.enums import GroupType
from gateway.im.groups import TopicInfo
from gateway.services import Gateway
from tests.test_topic_mutes_engine import BAD, GONE, MUTED, NO, community, engine, refusal, send

__all__ = ["community"]  # the fixture


class _TurnWatch:
    """The turns' Redis client, telling when a write found the group's turn held by another."""

    def __init__(self, redis: Any, key: str) -> None:
        self._redis = redis
        self._key = key
        self.refused = asyncio.Event()

    async def set(self, key: str, *args: Any, **kwargs: Any) -> Any:
        taken = await self._redis.set(key, *args, **kwargs)
        if key == self._key and not taken:
            self.refused.set()
        return taken

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)


@pytest.mark.parametrize("where", ["topic", "community"])
async def test_a_quit_started_during_a_mute_waits_for_it_and_leaves_no_mute(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The target quits (in a task of its own, as another request would) just after the mute read
    their record, the mute holding the community's turn: the quit waits for that turn, so the mute
    writes (the target still a member) and the quit then removes the target with their mute, in
    the topic (`_REMOVE_MEMBER`) or in their record; joining again, they are not muted. A quit not
    taking the turn would remove them under the mute, which would then refuse them as a
    non-member."""
    gid, topic, _ = community
    g = gw.backend.groups
    store = engine(gw).groups.store
    watch = _TurnWatch(store.turns._redis, store.keys.upstream_turn(f"group:{gid}"))
    monkeypatch.setattr(store.turns, "_redis", watch)
    real = store.member
    quitting: list[asyncio.Task[None]] = []

    async def member_then_quits(group_id: str, user_id: str) -> Any:
        found = await real(group_id, user_id)
        if user_id == "target" and not quitting:
            other_request = contextvars.copy_context()  # holding no turn of this task's
            other_request.run(turns_held.set, frozenset())
            quitting.append(asyncio.create_task(g.quit_group("target", gid), context=other_request))
            await asyncio.wait([asyncio.ensure_future(watch.refused.wait()), quitting[0]], return_when=FIRST_COMPLETED)
        return found

    monkeypatch.setattr(store, "member", member_then_quits)
    muted = await refusal(g.mute_group_member("admin", topic if where == "topic" else gid, "target", 60))
    await quitting[0]
    monkeypatch.undo()
    assert muted == 0  # the quit waited: the mute found the target a member
    assert not await gw.redis.hexists(store.keys.group_members(gid), "target")
    assert not await gw.redis.hexists(store.keys.group_topic_mutes(gid, topic), "target")
    await g.join_group("target", gid, "")
    assert [await send(gw, "target", to) for to in (gid, topic)] == [0, 0]


async def test_a_topic_made_between_a_leavings_read_of_the_topics_and_its_step_is_read_again(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A topic made, with the leaver muted in it, after the leaving read the community's topics (a
    write whose turn outlived TURN_TTL_SECONDS; written here directly): `_REMOVE_MEMBER` finds
    their count changed, writes nothing, and the leaving reads them again, so the leaver keeps no
    entry there either."""
    gid, _, _ = community
    store = engine(gw).groups.store
    keys = store.keys
    late = f"{gid}@TOPIC#_late"
    real = run_script
    made: list[str] = []

    async def topic_made_first(redis: Any, script: PipelinedScript, ks: list[str], args: list[Any]) -> Any:
        if script is store_module._REMOVE_MEMBER and not made:
            made.append(late)
            await redis.hset(keys.group_topics(gid), late, msgspec.json.encode(TopicInfo(topicID=late)))
            await redis.hset(keys.group_topic_mutes(gid, late), "target", store.now() + 60)
        return await real(redis, script, ks, args)

    monkeypatch.setattr("gateway.engine.groups.store.run_script", topic_made_first)
    await gw.backend.groups.quit_group("target", gid)
    monkeypatch.undo()
    assert made == [late]
    assert not await gw.redis.hexists(keys.group_members(gid), "target")
    assert not await gw.redis.exists(keys.group_topic_mutes(gid, late))


async def test_a_community_mute_racing_a_dismissal_writes_nothing(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The community closed for its dismissal just after the mute read the target: 10010, and the
    record the dismissal read stays as it was."""
    gid, _, _ = community
    store = engine(gw).groups.store
    real = store.member
    before = await gw.redis.hget(store.keys.group_members(gid), "target")

    async def member_then_closed(group_id: str, user_id: str) -> Any:
        found = await real(group_id, user_id)
        if user_id == "target":
            assert await store.close(gid)
        return found

    monkeypatch.setattr(store, "member", member_then_closed)
    assert await refusal(gw.backend.groups.mute_group_member("admin", gid, "target", 60)) == GONE
    assert await gw.redis.hget(store.keys.group_members(gid), "target") == before


async def test_a_community_mute_changes_only_its_field_of_the_record_as_it_is_now(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target's record rewritten (name card, custom data, marks) just after the mute read it:
    the mute keeps those, and writes its end; empty lists and large numbers stay as they were."""
    gid, _, _ = community
    store = engine(gw).groups.store
    field = store.keys.group_members(gid)
    real = store.member
    changed = MemberRecord(role=0, joinTime=1, nameCard='card "muteUntil":5', customInfo={"k": "v"}, marks=[2**50])

    async def member_then_changed(group_id: str, user_id: str) -> Any:
        found = await real(group_id, user_id)
        if user_id == "target":
            current = member_dec.decode(await gw.redis.hget(field, "target"))
            changed.role, changed.joinTime = current.role, current.joinTime
            await gw.redis.hset(field, "target", member_enc.encode(changed))
        return found

    monkeypatch.setattr(store, "member", member_then_changed)
    await gw.backend.groups.mute_group_member("admin", gid, "target", 60)
    monkeypatch.undo()
    written = member_dec.decode(await gw.redis.hget(field, "target"))
    assert written == MemberRecord(
        role=changed.role,
        joinTime=changed.joinTime,
        nameCard=changed.nameCard,
        customInfo={"k": "v"},
        marks=[2**50],
        muteUntil=store.now() + 60,
    )
    assert await send(gw, "target", gid) == MUTED
    # unmuted, with no marks: the record's empty list stays a list
    await gw.redis.hset(field, "target", member_enc.encode(MemberRecord(role=written.role, muteUntil=1)))
    await gw.backend.groups.mute_group_member("admin", gid, "target", 0)
    assert member_dec.decode(await gw.redis.hget(field, "target")) == MemberRecord(role=written.role)
    assert await send(gw, "target", gid) == 0


async def test_a_member_info_write_racing_a_live_rooms_quit_does_not_bring_the_record_back(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live room's quit takes no turn (its crowd would queue): the viewer quits just after
    setGroupMemberInfo (the owner naming them) read their record. The write (`GroupStore.write_members`) finds them gone,
    refused as a non-member's, and leaves no record without the rest of a membership."""
    g = gw.backend.groups
    for user in ("owner", "viewer"):
        await gw.backend.accounts.ensure_account(user)
    gid = await g.create_group("owner", GroupType.V2TIM_GROUP_TYPE_AVCHATROOM, None, "live")
    await g.join_group("viewer", gid, "")
    store = engine(gw).groups.store
    real = store.member
    quit_once: list[str] = []

    async def member_then_quits(group_id: str, user_id: str) -> Any:
        found = await real(group_id, user_id)
        if user_id == "viewer" and not quit_once:
            quit_once.append(user_id)
            await g.quit_group("viewer", gid)
        return found

    monkeypatch.setattr(store, "member", member_then_quits)
    assert await refusal(g.set_group_member_info("owner", gid, "viewer", "card", None)) == BAD
    monkeypatch.undo()
    assert quit_once == ["viewer"]
    assert not await gw.redis.hexists(store.keys.group_members(gid), "viewer")


def test_a_member_records_mute_end_follows_its_custom_info() -> None:
    """`_MUTE_IN_GROUP` (gateway.engine.groups.members) finds muteUntil in a record's JSON text
    just after customInfo's closing brace: msgspec writes the fields in this order."""
    fields = MemberRecord.__struct_fields__
    assert fields[fields.index("customInfo") + 1] == "muteUntil", "_MUTE_IN_GROUP's pattern relies on it"
    encoded = member_enc.encode(MemberRecord(customInfo={"k": '},"muteUntil":5'}, muteUntil=7))
    assert encoded.count(b'},"muteUntil":') == 1
    assert b'},"muteUntil":7' in encoded


async def test_a_stranger_muting_in_a_topic_learns_not_whether_it_exists(
    gw: Gateway, community: tuple[str, str, str]
) -> None:
    """Permission before existence: a stranger, or an ordinary member, naming a topic that does not
    exist is refused as for one that does (10007), not told 10010; an admin is told 10010."""
    gid, topic, _ = community
    g = gw.backend.groups
    missing = f"{gid}@TOPIC#_none"
    for who in ("stranger", "member"):
        assert [await refusal(g.mute_group_member(who, t, "target", 60)) for t in (topic, missing)] == [NO, NO]
    assert await refusal(g.mute_group_member("admin", missing, "target", 60)) == GONE
