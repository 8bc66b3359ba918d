"""The group store: records, limits, permissions, and how a change is told (tips + events).

Everything of one group lives under its hash tag `{app:g:<group>}`: info hash, members hash, roster
(join order, for paging), admins, applications, attributes, counters, topics, online set, and the
timeline (seq, messages, countable seqs). A member's side (joined groups, read seq) lives under the
member's tag.

Every change of membership or profile writes a group tips message into the group's history and
emits the matching groupListener callback to the members: stored once in the group's stream,
whatever its size (gateway/events/bus.py says why).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import msgspec

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.codec import STORED_ENC
from gateway.engine.friendship import Friendship, decode_friend_record
from gateway.engine.groups.permissions import Op, require
from gateway.engine.message_ids import group_msg_id
from gateway.engine.profiles import Profiles
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.engine.upstream_turns import UpstreamTurns
from gateway.errors import Code, IMError
from gateway.events.bus import EventBus
from gateway.ids import group_conversation_id
from gateway.im.enums import ElemType, GroupAdd, GroupMemberRole, GroupType
from gateway.im.events import GroupEvent, IMEvent, OnRecvNewMessage
from gateway.im.groups import GroupInfo, GroupMemberFullInfo, GroupMemberInfo, GroupTipsElem
from gateway.im.messages import Content, Message, StoredMessage
from gateway.keys import Keys
from gateway.upstream import Upstream

GROUP_ID_MAX_BYTES = 48
GROUP_ID_PREFIX = "@TGS#"  # generated IDs start with it; custom ones may not
GROUP_NAME_MAX_BYTES = 30
INTRODUCTION_MAX_BYTES = 240
NOTIFICATION_MAX_BYTES = 300
FACE_URL_MAX_BYTES = 100
NAME_CARD_MAX_BYTES = 50
GROUPS_PER_USER_MAX = 500  # created + joined (10037 beyond)
MEMBER_CAPS: dict[GroupType, int | None] = {
    GroupType.V2TIM_GROUP_TYPE_WORK: 200,
    GroupType.V2TIM_GROUP_TYPE_PUBLIC: 2_000,
    GroupType.V2TIM_GROUP_TYPE_MEETING: 6_000,
    GroupType.V2TIM_GROUP_TYPE_COMMUNITY: 100_000,
    GroupType.V2TIM_GROUP_TYPE_AVCHATROOM: None,  # no cap
}
MAX_MEMBERS_FIELD = "maxMemberNum"  # info-hash field: a cap set over REST (MaxMemberCount), below the type's
CUSTOM_FIELD_PREFIX = "custom:"  # info-hash fields holding the group's custom data (REST AppDefinedData)
OWNER = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_OWNER
ADMIN = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_ADMIN
MEMBER = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER
WORK = GroupType.V2TIM_GROUP_TYPE_WORK
PUBLIC = GroupType.V2TIM_GROUP_TYPE_PUBLIC
MEETING = GroupType.V2TIM_GROUP_TYPE_MEETING
COMMUNITY = GroupType.V2TIM_GROUP_TYPE_COMMUNITY
AVCHATROOM = GroupType.V2TIM_GROUP_TYPE_AVCHATROOM


CLOSED_FIELD = "closed"  # info-hash field: the group's dismissal has begun (GroupStore.close)
# info-hash field, written with CLOSED_FIELD: what the dismissal tells (its farewell event and the
# origin of its callback, gateway.engine.groups.eraser.Farewell), removed once told; a dismissal cut
# before it told finds it there, and the group's eraser tells it (GroupEraser.erase)
FAREWELL_FIELD = "farewell"

# One member added to a group in one atomic step: the group must still exist and take members (a
# dismissal may have begun, or removed it, meanwhile) and have room under ARGV[3] (0: no cap), else
# nothing is written. KEYS: the group's info, members, roster, admins, join counter and former
# members (one slot); ARGV: the user, their record, the cap, 1 for an admin. Answers _ADDED,
# _ALREADY, _FULL or _GONE. Checked and written together, so joins racing for the last seats cannot
# pass the cap, as a check read before the write let them, and no member is added once a dismissal
# has read the members. A former member joining again is a member only: the dismissal finds each
# user in one of the two. A joiner has no entry in a community's topics' mutes to drop: their
# removal dropped them in its own step (`_REMOVE_MEMBER`), and none is written for a non-member
# (`MUTE_IN_TOPIC`).
_ADDED, _ALREADY, _FULL, _GONE = 1, 0, -1, -2
_ADD_MEMBER = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then return -2 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local cap = tonumber(ARGV[3])
if cap > 0 and redis.call('HLEN', KEYS[2]) >= cap then return -1 end
local order = redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], 'NX', order, ARGV[1])
if ARGV[4] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
redis.call('SREM', KEYS[6], ARGV[1])
return 1
"""
)
# One member's records removed from a group (a removal's commit point), and the user noted among
# its former members if they were one until now; with whether the group is still open (neither
# closed for its dismissal nor gone). KEYS: the group's info, members, last-sent times, roster,
# admins, online set and former members (one slot); ARGV: the user, 1 to note them (0 in a live
# room: it stores no message, so a visitor keeps nothing by seq there for its dismissal to forget,
# and its former members would be every viewer it ever had). Answers {removed, open}.
# The note only with the record it replaces: a removal landing after the dismissal's DEL (a live
# room's quit takes no turn) must not make the set again; and the openness read in the same step,
# so that a removal either comes before the closing (the user is a former member when the
# dismissal reads them) or sees it (`GroupStore._left_during_dismissal`).
# KEYS[8]: its topics hash, KEYS[9...]: the member-mutes hashes of the topics read from it
# (gateway.engine.groups.topic_mutes; a community's only, on its slot): the user's entries go in the
# same step, so no cut leaves a former member muted in a topic (to be found muted on joining again).
# A mute cannot land after it (`MUTE_IN_TOPIC` takes members only) nor between the topics' read and
# it (a mute and a removal take the group's turn, gateway.engine.upstream_turns); a topic made or
# deleted in between changes their count: {_TOPICS_CHANGED, 0}, nothing written, read them again.
_TOPICS_CHANGED = -1
_TOPICS_READS_MAX = 5
_REMOVE_MEMBER = PipelinedScript(
    f"""
if redis.call('HLEN', KEYS[8]) ~= #KEYS - 8 then return {{{_TOPICS_CHANGED}, 0}} end
for i = 9, #KEYS do redis.call('HDEL', KEYS[i], ARGV[1]) end
local removed = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
if removed == 1 and ARGV[2] == '1' then redis.call('SADD', KEYS[7], ARGV[1]) end
local open = redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 0
return {{removed, open and 1 or 0}}
"""
)
# Whole member records written back after a read (setGroupMemberInfo, a role, marks, an ownership's
# transfer: `GroupStore.write_members`), only while the group is open and each of them is still a
# member: those writes take the group's turn, but a live room's quit takes none (its crowd would
# queue), and one landing between the read and the write must not find its record written back
# without the rest of a membership (roster, the user's joined-group list). With them, in the same
# step, what goes with them: an admin added (ARGV[1]) or removed (ARGV[2]), the group's new owner
# (ARGV[3], at ARGV[4] as its info's change time); "" for none. KEYS: the group's info, members,
# admins (one slot); ARGV[5...]: user, record pairs. Answers _WRITTEN, _GONE or _NOT_MEMBER, nothing
# written but with _WRITTEN.
_WRITTEN, _NOT_MEMBER = 1, -3
_WRITE_MEMBERS = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then return {_GONE} end
for i = 5, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then return {_NOT_MEMBER} end
end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
if ARGV[1] ~= '' then redis.call('SADD', KEYS[3], ARGV[1]) end
if ARGV[2] ~= '' then redis.call('SREM', KEYS[3], ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'lastInfoTime', ARGV[4]) end
return {_WRITTEN}
"""
)
# A dismissal's first step (GroupStore.close): the group, if it still exists, takes no member from
# now on, and keeps what the dismissal is to tell (ARGV[1], "" for nothing) in the same step: no cut
# leaves a closed group without it. KEYS: its info. Answers 1, or 0 when it is gone already.
_CLOSE = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], '{CLOSED_FIELD}', 1)
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], '{FAREWELL_FIELD}', ARGV[1]) end
return 1
"""
)


class TimelineEraser(Protocol):
    """What removes messages with everything kept about them: the retention's
    (gateway.engine.retention.MessageRetention), which this module cannot import (through the
    message core it imports this one)."""

    async def take_back(
        self, timeline: str, messages: list[StoredMessage], info: str | None, *, keep_seq: bool = False
    ) -> None:
        """A write racing its group's dismissal (`GroupStore.queue_open_check`), or its topic's
        deletion (`keep_seq`: the topic's seq counter stays), undone by its writer."""
        ...


class MemberRecord(msgspec.Struct, kw_only=True):
    role: int = int(MEMBER)
    joinTime: int = 0
    nameCard: str = ""
    customInfo: dict[str, str] = {}
    muteUntil: int = 0
    marks: list[int] = []


class ApplicationRecord(msgspec.Struct, kw_only=True):
    """A join request ("join:<user>") or an invitation awaiting the invitee ("invite:<user>")."""

    fromUser: str
    toUser: str = ""
    requestMsg: str = ""
    handledMsg: str = ""
    addTime: int = 0  # ms
    handledBy: str = ""
    agreed: bool = False


member_enc = msgspec.json.Encoder()
member_dec = msgspec.json.Decoder(MemberRecord)
app_dec = msgspec.json.Decoder(ApplicationRecord)


def group_error(code: int, desc: str) -> IMError:
    return IMError(code, desc)


def bad(desc: str) -> IMError:
    return IMError(Code.ERR_GROUP_INVALID_PARAMETERS, desc)


def check_bytes(value: str, limit: int, code: int, arg: str) -> None:
    if len(value.encode("utf-8")) > limit:
        raise IMError(code, f"{arg} is over {limit} bytes")


def check_custom_group_id(group_id: str) -> None:
    check_bytes(group_id, GROUP_ID_MAX_BYTES, Code.ERR_GROUP_ID_TOO_LONG, "groupID")
    if not group_id or not all(0x20 <= ord(c) <= 0x7E for c in group_id):
        raise IMError(Code.ERR_GROUP_ID_INVALID, "groupID must be printable ASCII")
    if group_id.startswith("@TGS"):
        raise IMError(Code.ERR_GROUP_ID_INVALID, "groupID: custom IDs may not start with @TGS")


def _exists(row: dict[str, str]) -> bool:
    """Whether an info hash read whole is a group's that exists: one closed for its dismissal is
    gone to readers, whose erasure may take minutes (gateway.engine.groups.eraser)."""
    return bool(row) and CLOSED_FIELD not in row


def _info_from_hash(group_id: str, row: dict[str, str], member_count: int) -> GroupInfo:
    return GroupInfo(
        groupID=group_id,
        groupType=GroupType(row["groupType"]),
        groupName=row.get("groupName", ""),
        notification=row.get("notification", ""),
        introduction=row.get("introduction", ""),
        faceUrl=row.get("faceUrl", ""),
        addOpt=GroupAdd(int(row.get("addOpt", GroupAdd.V2TIM_GROUP_ADD_ANY))),
        approveOpt=GroupAdd(int(row.get("approveOpt", GroupAdd.V2TIM_GROUP_ADD_FORBID))),
        isAllMuted=row.get("isAllMuted") == "1",
        isSupportTopic=row.get("isSupportTopic") == "1",
        owner=row.get("owner", ""),
        memberCount=member_count,
        createTime=int(row.get("createTime", 0)),
        lastInfoTime=int(row.get("lastInfoTime", 0)),
    )


class GroupStore:
    """Shared by the group managers: reading, checking, and telling."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        friendship: Friendship,
        announcer: Announcer,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
        *,
        timelines: TimelineEraser,
    ) -> None:
        self.callbacks = callbacks or Callbacks()  # the app's third-party callbacks (off: Callbacks())
        # takes back what a write racing a dismissal put into the group's timelines
        self.timelines = timelines
        # the IM server group writes go through first (gateway.upstream); None: the engine is the server
        self.upstream = upstream
        self.turns = UpstreamTurns(redis, keys, enabled=upstream is not None)
        self.redis = redis
        self.announcer = announcer  # tells users a (group) conversation appeared
        self.keys = keys
        self.bus = bus
        self.clock = clock
        self.profiles = profiles
        self.friendship = friendship

    def now(self) -> int:
        return int(self.clock.now())

    # ---- reading -------------------------------------------------------------------------------
    async def info(self, group_id: str) -> GroupInfo:
        """The group, or 10010 when it does not exist, or was dismissed: from the moment its
        dismissal closed it (`close`), while its history is still being erased in the background
        (gateway.engine.groups.eraser), it is gone to every reader."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.group_info(group_id))
        pipe.hlen(self.keys.group_members(group_id))
        row, count = await pipe.execute()
        if not _exists(row):
            raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {group_id!r}")
        return _info_from_hash(group_id, row, int(count))

    async def infos(self, group_ids: Sequence[str]) -> list[GroupInfo | None]:
        """`info` of each, None for a group that does not exist (or was dismissed)."""
        pipe = self.redis.pipeline(transaction=False)
        for gid in group_ids:
            pipe.hgetall(self.keys.group_info(gid))
            pipe.hlen(self.keys.group_members(gid))
        raw = await pipe.execute()
        return [
            _info_from_hash(gid, raw[2 * i], int(raw[2 * i + 1])) if _exists(raw[2 * i]) else None
            for i, gid in enumerate(group_ids)
        ]

    async def being_erased(self, group_id: str) -> bool:
        """Whether the group was dismissed and its keys are not all gone yet (its info hash, closed,
        goes last): its ID is not free for a new group until then."""
        return bool(await self.redis.hexists(self.keys.group_info(group_id), CLOSED_FIELD))

    async def group_custom_info(self, group_id: str) -> dict[str, str]:
        """The group's custom data (set over the server REST API as AppDefinedData)."""
        row = await self.redis.hgetall(self.keys.group_info(group_id))
        return {k[len(CUSTOM_FIELD_PREFIX) :]: v for k, v in row.items() if k.startswith(CUSTOM_FIELD_PREFIX)}

    async def member(self, group_id: str, user_id: str) -> MemberRecord | None:
        raw = await self.redis.hget(self.keys.group_members(group_id), user_id)
        return member_dec.decode(raw) if raw else None

    async def write_members(
        self,
        group_id: str,
        records: Sequence[tuple[str, MemberRecord]],
        *,
        admin_added: str = "",
        admin_removed: str = "",
        owner: str = "",
    ) -> None:
        """Member records read and changed, written back whole (`_WRITE_MEMBERS`), with the admin
        set and owner changes that go with them: 10004 (invalid parameters) when one of them left
        since the read, 10010 when the group's dismissal began; then nothing is written."""
        keys = [self.keys.group_info(group_id), self.keys.group_members(group_id), self.keys.group_admins(group_id)]
        args: list[Any] = [admin_added, admin_removed, owner, self.now() if owner else ""]
        for user_id, record in records:
            args += [user_id, member_enc.encode(record)]
        done = int(await run_script(self.redis, _WRITE_MEMBERS, keys, args))
        if done == _NOT_MEMBER:
            raise bad(f"userID: {', '.join(u for u, _ in records)!r} is no longer a member")
        if done != _WRITTEN:
            raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {group_id!r}")

    async def role_of(self, group: GroupInfo, user_id: str) -> GroupMemberRole | None:
        record = await self.member(group.groupID, user_id)
        return GroupMemberRole(record.role) if record else None

    async def authorize(self, op: Op, group: GroupInfo, user_id: str, app_admin: bool = False) -> GroupMemberRole:
        """The role `user_id` acts with for `op`, or 10007. The app admin (server REST API) is no
        member and skips role checks, as on Tencent: it acts with the owner's rank."""
        if app_admin:
            return OWNER
        return require(op, await self.role_of(group, user_id), group.groupType)

    async def require_member(self, group: GroupInfo, user_id: str) -> MemberRecord:
        record = await self.member(group.groupID, user_id)
        if record is None:
            raise IMError(Code.ERR_NO_PERMISSION, f"you are not a member of {group.groupID!r}")
        return record

    async def non_members(self, group_id: str, user_ids: Sequence[str]) -> list[str]:
        """Those of `user_ids` not in the group (one round trip)."""
        if not user_ids:
            return []
        found = await self.redis.hmget(self.keys.group_members(group_id), list(user_ids))
        return [uid for uid, raw in zip(user_ids, found, strict=True) if raw is None]

    async def non_members_of(self, group_ids: Sequence[str], user_id: str) -> list[str]:
        """Those of `group_ids` the user is not a member of (one round trip)."""
        if not group_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for gid in group_ids:
            pipe.hexists(self.keys.group_members(gid), user_id)
        return [gid for gid, member in zip(group_ids, await pipe.execute(), strict=True) if not member]

    async def member_ids(self, group_id: str) -> list[str]:
        return list(await self.redis.hkeys(self.keys.group_members(group_id)))

    async def member_infos(self, group_id: str, user_ids: Sequence[str]) -> list[GroupMemberInfo]:
        """Short member info (V2TIMGroupMemberInfo) for tips and events."""
        if not user_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(self.keys.group_members(group_id), list(user_ids))
        cards = (await pipe.execute())[0]
        profiles = {p.userID: p for p in await self.profiles.get(list(user_ids))}
        infos = []
        for uid, raw in zip(user_ids, cards, strict=True):
            profile = profiles.get(uid)
            infos.append(
                GroupMemberInfo(
                    userID=uid,
                    nickName=profile.nickName if profile else "",
                    faceUrl=profile.faceUrl if profile else "",
                    nameCard=member_dec.decode(raw).nameCard if raw else "",
                )
            )
        return infos

    async def full_infos(self, viewer: str, group_id: str, user_ids: Sequence[str]) -> list[GroupMemberFullInfo]:
        if not user_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(self.keys.group_members(group_id), list(user_ids))
        pipe.hmget(self.keys.friends(viewer), list(user_ids))
        records, friends = await pipe.execute()
        profiles = {p.userID: p for p in await self.profiles.get(list(user_ids))}
        result = []
        for uid, raw, friend in zip(user_ids, records, friends, strict=True):
            if raw is None:
                continue
            record = member_dec.decode(raw)
            profile = profiles.get(uid)
            result.append(
                GroupMemberFullInfo(
                    groupID=group_id,
                    userID=uid,
                    role=GroupMemberRole(record.role),
                    muteUntil=record.muteUntil,
                    nameCard=record.nameCard,
                    customInfo=dict(record.customInfo),
                    joinTime=record.joinTime,
                    nickName=profile.nickName if profile else "",
                    faceUrl=profile.faceUrl if profile else "",
                    friendRemark=decode_friend_record(friend).remark if friend else "",
                    markList=list(record.marks),
                )
            )
        return result

    def changing(self, group_id: str) -> AbstractAsyncContextManager[None]:
        """The group's turn for a write that reads what it changes (its attributes, a member's
        record, its owner, an application, its profile): one at a time per group, on every backend
        (gateway.engine.upstream_turns)."""
        return self.turns.turn(f"group:{group_id}", always=True)

    # ---- membership writes ---------------------------------------------------------------------
    async def member_cap(self, group: GroupInfo) -> int | None:
        """The type's cap, or the lower one the app set for this group (REST MaxMemberCount)."""
        cap = MEMBER_CAPS[group.groupType]
        chosen = await self.redis.hget(self.keys.group_info(group.groupID), MAX_MEMBERS_FIELD)
        return min(int(chosen), cap or int(chosen)) if chosen else cap

    async def check_cap(self, group: GroupInfo, adding: int) -> None:
        cap = await self.member_cap(group)
        if cap is not None and group.memberCount + adding > cap:
            raise IMError(Code.ERR_GROUP_FULL, f"group {group.groupID!r} is full ({cap} members)")

    async def check_user_group_cap(self, user_id: str) -> bool:
        return int(await self.redis.hlen(self.keys.user_groups(user_id))) < GROUPS_PER_USER_MAX

    async def add_members(self, group: GroupInfo, members: Sequence[tuple[str, GroupMemberRole]]) -> list[str]:
        """Add members (skipping current ones); returns who was added. Their subscriptions follow
        the group's stream from now on, and the online set stays right.

        Per member, the group's record first (the commit point, on the group's slot), then the
        user's side (their joined-group list and conversation, on their slot), then their stream
        following: a gateway dying in between leaves a member the user's side lacks, which
        `complete_member` finishes when the join is tried again (docs/scaling.md). A dismissal
        that began meanwhile takes back what was written (`_withdrawn_if_closed`): 10010."""
        added: list[str] = []
        now = self.now()
        gid = group.groupID
        keys = [
            self.keys.group_info(gid),
            self.keys.group_members(gid),
            self.keys.group_roster(gid),
            self.keys.group_admins(gid),
            self.keys.group_join_counter(gid),
            self.keys.group_former_members(gid),
        ]
        cap = await self.member_cap(group) or 0
        for user_id, role in members:
            record = member_enc.encode(MemberRecord(role=int(role), joinTime=now))
            args = [user_id, record, int(cap), int(role == ADMIN)]
            verdict = int(await run_script(self.redis, _ADD_MEMBER, keys, args))
            if verdict == _GONE:
                if added:
                    break
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {gid!r}")
            if verdict == _FULL:
                if added:
                    break  # the rest did not fit: the caller reports who was added
                raise IMError(Code.ERR_GROUP_FULL, f"group {gid!r} is full ({cap} members)")
            if verdict != _ADDED:
                continue  # a member already
            added.append(user_id)
            await self._add_user_side(group, user_id, now)
        if added:
            await self.bus.join_group_stream(added, group.groupID)
            if await self._withdrawn_if_closed(group, added):
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {gid!r}")
            await self.announcer.announce_new({u: [group_conversation_id(group.groupID)] for u in added})
        return added

    async def _withdrawn_if_closed(self, group: GroupInfo, user_ids: Sequence[str]) -> bool:
        """Once these members' side is written (joined-group list, conversation, online set, stream
        following): whether the group's dismissal has begun, and if so that side taken back.

        A member added just before the group closed (`close`) is among those the dismissal reads,
        which it removes from their lists, possibly before their side was written. Read after the
        writes, the closing is seen here when it came first, and otherwise came after them all."""
        gid = group.groupID
        if self.still_open(await self.redis.hmget(self.keys.group_info(gid), ["groupType", CLOSED_FIELD])):
            return False
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            self.queue_forgotten(pipe, user_id, gid, [group_conversation_id(gid)])
        pipe.srem(self.keys.group_online(gid), *user_ids)
        await pipe.execute()
        await self.bus.leave_group_stream(user_ids, gid)
        return True

    def queue_forgotten(self, pipe: Any, user_id: str, group_id: str, conversation_ids: Sequence[str]) -> None:
        """Into a pipeline: a group gone from a user's side, member or former member: their
        joined-group list, and of its conversations (`conversation_ids`: the group's, and its
        topics') the rows, and what the user keeps by seq: the messages they deleted for
        themselves, how far they read and cleared, where they left. A group made again under the
        same ID starts its seqs over, and would have them applied to its own messages. And the
        user's settings of those conversations (receive option, pin, draft, custom data, marks and
        when they were set, deletion, announcement), which a group made again under the ID would
        take as its own: a "not receive" kept would silently drop the new group's messages."""
        pipe.hdel(self.keys.user_groups(user_id), group_id)
        pipe.zrem(self.keys.conversations(user_id), *conversation_ids)
        pipe.delete(*(self.keys.hidden_messages(user_id, c) for c in conversation_ids))
        for by_conversation in (
            self.keys.group_read_seqs(user_id),
            self.keys.cleared_before(user_id),
            *(
                self.keys.conversation_state(user_id, family)
                for family in ("left", "draft", "custom-data", "pinned", "marks", "marked-at", "deleted", "announced")
            ),
        ):
            pipe.hdel(by_conversation, *conversation_ids)
        pipe.hdel(self.keys.receive_options(user_id), *(Keys.receive_option_field(c) for c in conversation_ids))

    async def _add_user_side(self, group: GroupInfo, user_id: str, joined_at: int) -> None:
        conversation = group_conversation_id(group.groupID)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.keys.user_groups(user_id), group.groupID, joined_at)
        pipe.zadd(self.keys.conversations(user_id), {conversation: int(self.clock.now() * 1000)})
        pipe.hdel(self.keys.conversation_state(user_id, "left"), conversation)
        pipe.hdel(self.keys.conversation_state(user_id, "deleted"), conversation)
        pipe.hset(self.keys.group_read_seqs(user_id), conversation, await self._last_seq(group.groupID))
        pipe.hlen(self.keys.presence(user_id))
        *_, live = await pipe.execute()
        if live:
            await self.redis.sadd(self.keys.group_online(group.groupID), user_id)

    async def complete_member(self, group: GroupInfo, user_id: str) -> None:
        """Finish the user's side of a membership whose join was cut short (see `add_members`):
        nothing to do when their joined-group list and stream following both have the group, nor
        once the group's dismissal has begun."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self.keys.group_members(group.groupID), user_id)
        pipe.hexists(self.keys.user_groups(user_id), group.groupID)
        pipe.hexists(self.keys.user_followed_groups(user_id), group.groupID)
        raw, listed, followed = await pipe.execute()
        if raw is None or (listed and followed):
            return
        if not listed:
            await self._add_user_side(group, user_id, member_dec.decode(raw).joinTime)
        if not followed:
            await self.bus.join_group_stream([user_id], group.groupID)
        await self._withdrawn_if_closed(group, [user_id])

    async def close(self, group_id: str, farewell: str = "") -> bool:
        """A dismissal's first step on the group: the group takes no member from now on
        (`_ADD_MEMBER` refuses), so the members read after it are all it will have, and it is gone
        to readers (`info`). `farewell`: what the dismissal tells (FAREWELL_FIELD), kept with the
        closing so that an eraser tells it if the dismissal is cut before it does. False: it is
        gone already."""
        return bool(await run_script(self.redis, _CLOSE, [self.keys.group_info(group_id)], [farewell]))

    async def closed_info(self, group_id: str) -> GroupInfo | None:
        """The group as its dismissal closed it (its profile and its members, which no longer
        change), for an eraser telling a cut dismissal's farewell; None unless it is closed."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.group_info(group_id))
        pipe.hlen(self.keys.group_members(group_id))
        row, count = await pipe.execute()
        if CLOSED_FIELD not in row or "groupType" not in row:
            return None
        return _info_from_hash(group_id, row, int(count))

    async def _last_seq(self, group_id: str) -> int:
        return int(await self.redis.get(self.keys.timeline_seq(self.keys.group_timeline(group_id))) or 0)

    async def remove_members(self, group: GroupInfo, user_ids: Sequence[str]) -> list[str]:
        """Remove members (skipping non-members); returns who was removed.

        The users' side first (their joined-group list, the left mark, their stream following),
        then the group's records (the commit point): a gateway dying in between leaves a member who
        no longer follows the group, never a former member who still hears it; removing them again
        finishes it (docs/scaling.md)."""
        leaving = await self._members_among(group, user_ids)
        if not leaving:
            return []
        last = await self._last_seq(group.groupID)
        pipe = self.redis.pipeline(transaction=False)
        for user_id in leaving:
            pipe.hdel(self.keys.user_groups(user_id), group.groupID)
            self._queue_left_mark(pipe, group, user_id, last)
        await pipe.execute()
        await self.bus.leave_group_stream(leaving, group.groupID)
        return await self._remove_records(group, leaving)

    async def remove_told_members(self, group: GroupInfo, user_ids: Sequence[str]) -> tuple[list[str], int]:
        """`remove_members` for members told of it by a tip they keep (a kick's): returns who was
        removed and the seq reserved for the tip (`tips(seq=...)`; 0 when nobody was removed).

        The seq is taken once they no longer follow the group's stream, and is their left mark:
        their conversation ends with the tip they are shown, whatever is sent after takes a later
        seq they neither hear nor see, and what took an earlier one was sent while they were
        members. The users' side still comes first (their joined-group list, their stream
        following, the left mark), then the group's records; a gateway dying before the tip is
        written leaves its seq without a message, as an online-only message does."""
        leaving = await self._members_among(group, user_ids)
        if not leaving:
            return [], 0
        pipe = self.redis.pipeline(transaction=False)
        for user_id in leaving:
            pipe.hdel(self.keys.user_groups(user_id), group.groupID)
        await pipe.execute()
        await self.bus.leave_group_stream(leaving, group.groupID)
        tip_seq = await self._next_seq(self.keys.group_timeline(group.groupID))
        pipe = self.redis.pipeline(transaction=False)
        for user_id in leaving:
            self._queue_left_mark(pipe, group, user_id, tip_seq)
        await pipe.execute()
        return await self._remove_records(group, leaving), tip_seq

    async def _members_among(self, group: GroupInfo, user_ids: Sequence[str]) -> list[str]:
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hexists(self.keys.group_members(group.groupID), user_id)
        return [u for u, member in zip(user_ids, await pipe.execute(), strict=True) if member]

    def _queue_left_mark(self, pipe: Any, group: GroupInfo, user_id: str, seq: int) -> None:
        if group.groupType == AVCHATROOM:
            # a live room stores no message: a viewer who left keeps nothing of it to read back, so
            # nothing of it stays (its dismissal, which cannot list every viewer it ever had, has
            # nothing of theirs to forget)
            self.queue_forgotten(pipe, user_id, group.groupID, [group_conversation_id(group.groupID)])
            return
        # the conversation stays, but nothing sent after `seq` is theirs, nor counts as unread
        pipe.hset(self.keys.conversation_state(user_id, "left"), group_conversation_id(group.groupID), seq)

    async def _remove_records(self, group: GroupInfo, leaving: Sequence[str]) -> list[str]:
        """The group's side of a removal (its commit point), member by member, each then one of
        its former members (`_REMOVE_MEMBER`). 10010 when the group's dismissal began meanwhile."""
        gid = group.groupID
        keys = [
            self.keys.group_info(gid),
            self.keys.group_members(gid),
            self.keys.group_last_sent(gid),
            self.keys.group_roster(gid),
            self.keys.group_admins(gid),
            self.keys.group_online(gid),
            self.keys.group_former_members(gid),
            self.keys.group_topics(gid),
        ]
        noted = "0" if group.groupType == AVCHATROOM else "1"
        removed = []
        open_throughout = True
        topic_mutes = await self._topic_mutes_keys(group)
        for user_id in leaving:
            for _ in range(_TOPICS_READS_MAX):
                args = [user_id, noted]
                was_member, still_open = await run_script(self.redis, _REMOVE_MEMBER, keys + topic_mutes, args)
                if int(was_member) != _TOPICS_CHANGED:
                    break
                topic_mutes = await self._topic_mutes_keys(group)
            else:
                raise IMError(Code.ERR_SDK_INTERNAL_ERROR, f"the topics of {gid!r} keep changing; retry shortly")
            if int(was_member):
                removed.append(user_id)
            open_throughout = open_throughout and bool(int(still_open))
        if not open_throughout:
            await self._left_during_dismissal(gid, leaving)
            raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {gid!r}")
        return removed

    async def _topic_mutes_keys(self, group: GroupInfo) -> list[str]:
        """The member-mutes hashes of a community's topics (`Keys.group_topic_mutes`), for
        `_REMOVE_MEMBER`; none, and no read, for any other group (which has no topics)."""
        if group.groupType != COMMUNITY:
            return []
        topic_ids = await self.redis.hkeys(self.keys.group_topics(group.groupID))
        return [self.keys.group_topic_mutes(group.groupID, topic_id) for topic_id in topic_ids]

    async def _left_during_dismissal(self, group_id: str, user_ids: Sequence[str]) -> None:
        """Users whose removal saw the group closed: their side of it forgotten again.

        The dismissal forgets the side of the members it reads, and of the former members it reads
        after them. A removal done before the closing made the user a former member before either
        read; one done after it may have been read as a member's, whose side the dismissal forgot
        before the removal's own writes there (the left mark) landed: those are taken back here."""
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            self.queue_forgotten(pipe, user_id, group_id, [group_conversation_id(group_id)])
        await pipe.execute()

    # ---- telling -------------------------------------------------------------------------------
    async def touch(self, group_id: str) -> None:
        """Note activity in the group (the idle-group recycler skips active groups)."""
        await self.redis.zadd(self.keys.group_activity(), {group_id: self.now()})

    async def emit(self, group: GroupInfo, event: GroupEvent, *, also: Sequence[str] = ()) -> None:
        """A groupListener event to every member, plus `also` (e.g. members who just left)."""
        await self.touch(group.groupID)
        await self._deliver(group, event, also)

    async def tips(
        self, group: GroupInfo, elem: GroupTipsElem, *, also: Sequence[str] = (), seq: int = 0, topic: str = ""
    ) -> None:
        """Write a group tips message into the group's history and deliver it as a new message, at
        `seq` when one was reserved for it (`remove_told_members`), else at the timeline's next.
        `topic`: into that topic's history instead (a community's, e.g. a mute in the topic), told
        to the community's members as its messages are. AVChatRoom groups keep no history, so they
        get no tips (their listener events still go out)."""
        if group.groupType == AVCHATROOM:
            return
        conversation = topic or group.groupID
        timeline = self.keys.group_timeline(conversation)
        stored = self._tip_message(conversation, elem, seq or await self._next_seq(timeline), secrets.randbelow(2**31))
        # A seq is the tip's alone, but on a mirror, where the upstream may store its message at a
        # seq the tip took before the tip is written (docs/tencent-design.md): the tip then takes
        # the next one rather than overwrite it.
        while not (written := await self._write_tip(timeline, stored, group.groupID, topic))[0]:
            stored = self._tip_message(conversation, elem, await self._next_seq(timeline), stored.random)
        _, still_open, topic_there = written
        if not (still_open and topic_there):
            # the group's own timeline is on its info's slot, where the last step checks the group;
            # a topic's is on a slot of its own (one script cannot touch both: CROSSSLOT on a Cluster)
            info = None if topic else self.keys.group_info(group.groupID)
            # a deleted topic's timeline, its community open, keeps its seq counter (as a send's
            # does, gateway.engine.group_messages): the deletion's erasure is bounded by it, and a
            # topic made again under the ID goes on from it
            await self.timelines.take_back(timeline, [stored], info, keep_seq=still_open and not topic_there)
            raise IMError(
                Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {group.groupID!r}" + (topic and f" or topic {topic!r}")
            )
        await self._deliver(group, OnRecvNewMessage(message=neutral_view(stored)), also)

    async def _write_tip(
        self, timeline: str, stored: StoredMessage, group_id: str, topic: str = ""
    ) -> tuple[bool, bool, bool]:
        """The tip stored at its seq unless that seq is taken, then whether the group is still open
        (`queue_open_check`: a tip written after the group closed is taken back) and whether its
        topic is still there (True for the group's own timeline), in one round trip:
        a tip goes into the group's own timeline, on its info's slot (a topic's: on a slot of its
        own, checked against its community, `group_id`). A topic's tip also needs the topic still
        there (in its community's topics hash, on the community's slot): one written after the
        topic's deletion is taken back as one written after a dismissal is (the topic's eraser,
        started by the deletion, may have passed over its timeline already)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hsetnx(self.keys.timeline_messages(timeline), str(stored.seq), STORED_ENC.encode(stored))
        self.queue_open_check(pipe, group_id)
        if topic:
            pipe.hexists(self.keys.group_topics(group_id), topic)
        written, state, *topic_there = await pipe.execute()
        return bool(written), self.still_open(state), all(topic_there)

    def queue_open_check(self, pipe: Any, group_id: str) -> None:
        """Into a pipeline, after writes into the group's timelines (its own, its topics'): whether
        the group is still open, neither closed for its dismissal nor gone (`still_open` reads the
        answer). A writer that finds it not open takes back what it wrote, and only that
        (`TimelineEraser.take_back`: its messages with what is kept about them, then the timeline's
        own keys if no message is left in it), and answers 10010: the rest of the timeline, which
        may be a huge group's history, is the group's eraser's (gateway.engine.groups.eraser).

        Why nothing such a writer leaves outlives the dismissal, whatever the writer's checks
        before its write (membership, the group's existence) saw. The writer takes its seq (I:
        INCR of the timeline's counter), writes (W), then checks (C). The dismissal closes the group
        (S); its erasure then passes over each timeline (E: HSCAN, each message with what is kept
        about it), drops the timeline's own keys, the seq counter among them, only in a step that
        finds no message left in it (D, else another pass), and at last deletes the group's keys
        and its info hash in one DEL (G). Either:
        - C saw the group open: C came before S, so W before E began, and W's message was there for
          the whole of E's first pass, which finds it (a SCAN returns what was there from its start
          to its end); D deletes the counter I wrote, G the group's keys W wrote (a last-sent time),
          and the members' forgetting, after S, the sender's read mark; or
        - C saw it closed or gone: the writer removes its message, its marks, its local data, read
          mark and last-sent time itself, whether E has found them or not, then the timeline's keys
          if no message is left. If I came before D, D took the counter; if after, the counter
          was made again, and this writer's last step finds no message body but those of writers
          like it, still to take back their own, each of which then runs the same step: the last
          one drops it. A message that landed while E passed over the timeline, and that E missed,
          is its writer's to remove, and holds D back until it is gone, never losing its marks.
        """
        pipe.hmget(self.keys.group_info(group_id), ["groupType", CLOSED_FIELD])

    @staticmethod
    def still_open(state: Sequence[str | None]) -> bool:
        """The answer of `queue_open_check`."""
        kind, closed = state
        return kind is not None and closed is None

    async def _next_seq(self, timeline: str) -> int:
        return int(await self.redis.incr(self.keys.timeline_seq(timeline)))

    def _tip_message(self, conversation: str, elem: GroupTipsElem, seq: int, random: int) -> StoredMessage:
        """`conversation`: the group's ID, or its topic's."""
        return StoredMessage(
            msgID=group_msg_id(conversation, seq, random),
            sender=elem.opMember.userID,
            groupID=conversation,
            seq=seq,
            random=random,
            timestamp=self.now(),
            content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS, groupTipsElem=elem),
            nickName=elem.opMember.nickName,
            faceUrl=elem.opMember.faceUrl,
            isExcludedFromUnreadCount=True,
        )

    async def _deliver(self, group: GroupInfo, event: IMEvent, also: Sequence[str]) -> None:
        """To the members (the group's stream, which they follow) and `also` (their own streams)."""
        await self.bus.publish_to_group(group.groupID, event)
        if also:
            await self.bus.publish(also, event)


def neutral_view(stored: StoredMessage) -> Message:
    """A group message as anyone but its sender sees it, for events stored once for all members."""
    content = stored.content
    return Message(
        msgID=stored.msgID,
        sender=stored.sender,
        nickName=stored.nickName,
        faceUrl=stored.faceUrl,
        groupID=stored.groupID,
        status=stored.status,
        isSelf=False,
        isRead=False,
        needReadReceipt=stored.needReadReceipt,
        groupAtUserList=stored.groupAtUserList,
        cloudCustomData=stored.cloudCustomData,
        seq=stored.seq,
        random=stored.random,
        timestamp=stored.timestamp,
        priority=stored.priority,
        isExcludedFromUnreadCount=stored.isExcludedFromUnreadCount,
        isExcludedFromLastMessage=stored.isExcludedFromLastMessage,
        isSupportMessageExtension=stored.isSupportMessageExtension,
        offlinePushInfo=stored.offlinePushInfo,
        **{name: getattr(content, name) for name in content.__struct_fields__},
    )
