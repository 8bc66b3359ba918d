"""Groups the mirror has never seen, imported from the upstream IM server (gateway.upstream).

With the Tencent backend a group may exist upstream only: created by a native SDK user or the
app's servers, or before the gateway was deployed. The first time the mirror needs one (a webhook
about it, a gateway user's joined-group list, an SDK call naming it) it is fetched whole from the
upstream (profile, custom data, attributes, counters, every member with role, join time, name card
and mute) and written
into the mirror in one pass, telling nobody: nothing changed for anyone, the mirror only learnt of
it. Its members' accounts are imported too, their subscriptions follow the group's stream from
then on, and the group's seq continues from the upstream's, so the seqs of its later messages are
the upstream's own (its earlier history is not copied: it is read before the import's seq).

An import of a group being created through the gateway waits for that creation (the owner's
"create" turn) and then finds the group there: each group is imported once, whoever asks.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.engine.groups.eraser import ERASE_LEASE_SECONDS
from gateway.engine.groups.store import (
    ADMIN,
    CLOSED_FIELD,
    CUSTOM_FIELD_PREFIX,
    MAX_MEMBERS_FIELD,
    MEMBER_CAPS,
    WORK,
    GroupStore,
    MemberRecord,
    member_enc,
)
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.ids import group_conversation_id, topic_parent
from gateway.im.enums import GroupAdd, MessageOpt
from gateway.keys import Keys
from gateway.upstream import GroupBeingErased, Upstream, UpstreamGroup, UpstreamMember, active

IMPORT_BATCH = 500  # members written per round trip


# ARGV[1]'s entry due at ARGV[2] (queued if missing) unless it is due by ARGV[3] already: an
# eraser's lease (which ends by then) is left to its holder, who is at work on it; a dismissal's
# longer hold, or an entry handed back for later, is cut short. KEYS: the queue.
_EXPEDITE = PipelinedScript(
    """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) <= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""
)


async def expedite_erasure(store: GroupStore, group_ids: Sequence[str]) -> None:
    """The dismissed groups' entries in the erasure queue due now, but those an eraser holds (its
    lease ends within ERASE_LEASE_SECONDS), so that an eraser takes them at its next look."""
    now = store.clock.now()
    for gid in group_ids:
        await run_script(store.redis, _EXPEDITE, [store.keys.groups_to_erase()], [gid, now, now + ERASE_LEASE_SECONDS])


async def known(store: GroupStore, group_id: str) -> None:
    """With an upstream: the group (a topic: its community) is in the mirror, imported if new. What an
    SDK call naming a group does first; nothing without an upstream or for the upstream's own writes."""
    up = active(store.upstream)
    if up is None:
        return
    group_id = topic_parent(group_id) or group_id
    pipe = store.redis.pipeline(transaction=False)
    pipe.exists(store.keys.group_info(group_id))
    pipe.hexists(store.keys.group_info(group_id), CLOSED_FIELD)
    there, closed = await pipe.execute()
    if closed:
        # a dismissed group still being erased: not found until then (the upstream may have one
        # made again under the ID, which the mirror takes once the erasure is done)
        await expedite_erasure(store, [group_id])
    elif not there:
        await GroupImports(store).import_from(up, [group_id])


class GroupImports:
    def __init__(self, store: GroupStore) -> None:
        self.store = store

    async def import_missing(self, group_ids: Sequence[str], *, skip_being_erased: bool = False) -> list[str]:
        """With an upstream: the groups among `group_ids` the mirror lacks and the upstream has,
        imported; answers those written now (EmbeddedGroups.know_groups announces from them).
        A dismissed group still being erased here cannot be imported yet (its erasure is made due
        at once): GroupBeingErased, what a webhook about it waits out; `skip_being_erased` (an SDK
        read: not found until then) leaves it out instead."""
        up = active(self.store.upstream)
        if up is None:
            return []
        missing = await self._not_mirrored(group_ids, skip_being_erased=skip_being_erased)
        return await self.import_from(up, missing) if missing else []

    async def _not_mirrored(self, group_ids: Sequence[str], *, skip_being_erased: bool) -> list[str]:
        """Those of the groups the mirror has not got. A dismissed group still being erased (its
        info hash, closed) is not one the mirror has, nor one it can take yet: GroupBeingErased,
        or (`skip_being_erased`) left out."""
        s = self.store
        pipe = s.redis.pipeline(transaction=False)
        for gid in group_ids:
            pipe.exists(s.keys.group_info(gid))
            pipe.hexists(s.keys.group_info(gid), CLOSED_FIELD)
        replies = await pipe.execute()
        there, closed = replies[0::2], replies[1::2]
        erased = [gid for gid, c in zip(group_ids, closed, strict=True) if c]
        if erased:
            await expedite_erasure(s, erased)
            if not skip_being_erased:
                raise GroupBeingErased(erased)
        return [gid for gid, t in zip(group_ids, there, strict=True) if not t]

    async def import_from(self, up: Upstream, group_ids: Sequence[str]) -> list[str]:
        """Fetch and write the groups (those the upstream has); answers the ones written now."""
        written = []
        for group in await up.groups.fetch_groups(list(dict.fromkeys(group_ids))):
            # a creation through the gateway holds its owner's turn until its mirror write is done
            async with self.store.turns.turn(f"create:{group.info.owner}"):
                if await self._write_imported(up, group):
                    written.append(group.info.groupID)
        return written

    async def _write_imported(self, up: Upstream, group: UpstreamGroup) -> bool:
        s, info = self.store, group.info
        gid = info.groupID
        members = group.members
        known = await s.profiles.exists([m.user_id for m in members])
        unknown = [m.user_id for m, there in zip(members, known, strict=True) if not there]
        if unknown:
            await s.profiles.import_from(up, unknown, s.now())
        cap = MEMBER_CAPS[info.groupType]
        fields: dict[str, str | int] = {
            "groupType": info.groupType.value,
            "groupName": info.groupName,
            "notification": info.notification,
            "introduction": info.introduction,
            "faceUrl": info.faceUrl,
            "addOpt": int(info.addOpt),
            # invitations need no approval in Work groups and are refused elsewhere, as created here
            "approveOpt": int(
                GroupAdd.V2TIM_GROUP_ADD_ANY if info.groupType == WORK else GroupAdd.V2TIM_GROUP_ADD_FORBID
            ),
            "isAllMuted": "1" if info.isAllMuted else "0",
            "isSupportTopic": "1" if info.isSupportTopic else "0",
            "owner": info.owner,
            "createTime": info.createTime,
            "lastInfoTime": info.lastInfoTime,
            **{CUSTOM_FIELD_PREFIX + k: v for k, v in group.custom_info.items()},
        }
        if group.max_members and (cap is None or group.max_members < cap):
            fields[MAX_MEMBERS_FIELD] = group.max_members
        if not await s.redis.hsetnx(s.keys.group_info(gid), "groupType", info.groupType.value):
            if await s.being_erased(gid):  # dismissed meanwhile, its erasure under way
                await expedite_erasure(s, [gid])
                raise GroupBeingErased([gid])
            return False  # imported (or created) meanwhile
        last_seq = group.next_seq - 1
        timeline = s.keys.group_timeline(gid)
        conversation = group_conversation_id(gid)
        pipe = s.redis.pipeline(transaction=False)
        pipe.hset(s.keys.group_info(gid), mapping=fields)
        pipe.set(s.keys.timeline_seq(timeline), last_seq)
        pipe.incrby(s.keys.group_join_counter(gid), len(members))
        if group.attributes:
            pipe.hset(s.keys.group_attributes(gid), mapping=group.attributes)
        if group.counters:
            pipe.hset(s.keys.group_counters(gid), mapping=group.counters)
        await pipe.execute()
        for start in range(0, len(members), IMPORT_BATCH):
            batch = members[start : start + IMPORT_BATCH]
            pipe = s.redis.pipeline(transaction=False)
            presence_at: list[int] = []  # where each member's presence count is among the replies
            for order, m in enumerate(batch, start=start + 1):
                record = MemberRecord(
                    role=int(m.role),
                    joinTime=m.join_time,
                    nameCard=m.name_card,
                    customInfo=dict(m.custom_info),
                    muteUntil=m.mute_until,
                )
                pipe.hset(s.keys.group_members(gid), m.user_id, member_enc.encode(record))
                pipe.zadd(s.keys.group_roster(gid), {m.user_id: order})
                if m.role == ADMIN:
                    pipe.sadd(s.keys.group_admins(gid), m.user_id)
                pipe.hset(s.keys.user_groups(m.user_id), gid, m.join_time)
                # what was sent before the import is not in the mirror: nothing of it is unread
                pipe.hset(s.keys.group_read_seqs(m.user_id), conversation, last_seq)
                pipe.zadd(s.keys.conversations(m.user_id), {conversation: m.join_time * 1000}, nx=True)
                presence_at.append(len(pipe))
                pipe.hlen(s.keys.presence(m.user_id))
            replies = await pipe.execute()
            online = [m.user_id for m, at in zip(batch, presence_at, strict=True) if replies[at]]
            if online:
                await s.redis.sadd(s.keys.group_online(gid), *online)
        if members:
            await s.bus.join_group_stream([m.user_id for m in members], gid)
        await self._keep_receive_options(gid, members)
        await s.touch(gid)
        return True

    async def _keep_receive_options(self, group_id: str, members: Sequence[UpstreamMember]) -> None:
        """Members' receive options as the upstream has them (Tencent's MsgFlag, set from a native
        device or through the gateway before the mirror had the group). Not receiving is applied
        where the group's stream is read, from its position now, as a change of the option is
        (EventBus.receive_option_changed); the other options only decide pushes: the field alone."""
        s = self.store
        field = Keys.group_receive_option_field(group_id)
        quiet = [m for m in members if m.receive_option != MessageOpt.V2TIM_RECEIVE_MESSAGE]
        for m in quiet:
            if m.receive_option == MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE:
                await s.bus.receive_option_changed(m.user_id, group_id, False, keep=(field, int(m.receive_option)))
            else:
                await s.redis.hset(s.keys.receive_options(m.user_id), field, int(m.receive_option))
