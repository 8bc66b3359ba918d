"""Member mutes (a community's, and in its topics) racing a leaving, on the engine and real Redis:
each cut is placed by a hook at the step where another write, not waiting for the mute's turn (a
quit takes none of it), can land.

- a mute in a topic landing between a leaving's first pass over the leaver's topic mutes and their
  records' removal is dropped by its second pass, and a join drops any left by a cut before it;
- the community's own mute writes only while the target is still a member of the open group, and
  only its field of their record;
- and, not a race but the same probe's concern: a mute naming a topic checks the caller's
  permission before the topic's existence, so a stranger learns nothing of which topics exist.
"""

from __future__ import annotations

from typing import Any

import pytest

import gateway.engine.groups.store as store_module
from gateway.engine.groups.store import MemberRecord, member_dec, member_enc
from gateway.engine.groups.topic_mutes import MUTE_IN_TOPIC, MUTED_IN_TOPIC
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.services import Gateway
from tests.test_topic_mutes_engine import BAD, GONE, MUTED, NO, community, engine, refusal, send

__all__ = ["community"]  # the fixture


async def test_a_topic_mute_landing_just_before_a_leavers_records_go_does_not_outlive_them(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mute's own step (`MUTE_IN_TOPIC`, which finds the target still a member) run just before
    the leaving's `_REMOVE_MEMBER`, after its first pass over the leaver's topic mutes: the leaver
    keeps no entry, and joining again can send in the topic."""
    gid, topic, _ = community
    store = engine(gw).groups.store
    keys = store.keys
    mutes = keys.group_topic_mutes(gid, topic)
    real = run_script  # the store's own (imported from gateway.engine.scripts)
    landed: list[int] = []

    async def mute_lands_first(redis: Any, script: PipelinedScript, ks: list[str], args: list[Any]) -> Any:
        if script is store_module._REMOVE_MEMBER and not landed:
            mute_keys = [keys.group_info(gid), keys.group_topics(gid), mutes, keys.group_members(gid)]
            until = store.now() + 60
            landed.append(int(await run_script(redis, MUTE_IN_TOPIC, mute_keys, [topic, "target", until])))
        return await real(redis, script, ks, args)

    monkeypatch.setattr("gateway.engine.groups.store.run_script", mute_lands_first)
    await gw.backend.groups.quit_group("target", gid)
    monkeypatch.undo()
    assert landed == [MUTED_IN_TOPIC]  # the mute did find the target a member
    assert not await gw.redis.hexists(mutes, "target")
    await gw.backend.groups.join_group("target", gid, "")
    assert await send(gw, "target", topic) == 0


async def test_a_former_member_left_muted_in_a_topic_by_a_cut_is_not_muted_on_joining_again(
    gw: Gateway, community: tuple[str, str, str]
) -> None:
    """A leaving cut between its records' removal and its second pass over the leaver's topic mutes
    leaves an entry behind (written here as that cut would): the join drops it in its own step."""
    gid, topic, other = community
    g = gw.backend.groups
    keys = engine(gw).groups.store.keys
    await g.quit_group("target", gid)
    until = engine(gw).groups.store.now() + 60
    for t in (topic, other):
        await gw.redis.hset(keys.group_topic_mutes(gid, t), "target", until)
    await gw.redis.hset(keys.group_topic_mutes(gid, other), "member", until)  # a member's stays
    await g.join_group("target", gid, "")
    assert [await send(gw, "target", t) for t in (topic, other)] == [0, 0]
    assert await gw.redis.hkeys(keys.group_topic_mutes(gid, other)) == ["member"]


async def test_a_community_mute_racing_a_quit_does_not_bring_the_member_back(
    gw: Gateway, community: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target quits just after the mute read their record (a quit takes no turn of the
    mute's): the write finds them gone, refused as a non-member's; the members hash has no record
    of theirs without the rest of a membership (roster, their joined-group list)."""
    gid, _, _ = community
    g = gw.backend.groups
    store = engine(gw).groups.store
    real = store.member
    quit_once: list[str] = []

    async def member_then_quits(group_id: str, user_id: str) -> Any:
        found = await real(group_id, user_id)
        if user_id == "target" and not quit_once:
            quit_once.append(user_id)
            await g.quit_group("target", gid)
        return found

    monkeypatch.setattr(store, "member", member_then_quits)
    assert await refusal(g.mute_group_member("admin", gid, "target", 60)) == BAD
    monkeypatch.undo()
    assert quit_once == ["target"]
    assert not await gw.redis.hexists(store.keys.group_members(gid), "target")
    await g.join_group("target", gid, "")
    assert await send(gw, "target", gid) == 0


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
