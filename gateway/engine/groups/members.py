"""Group members: listing and searching, profiles in the group, mute, invite, kick, roles, owner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from gateway.engine.groups.extras import known_topic
from gateway.engine.groups.imports import known
from gateway.engine.groups.lifecycle import GroupLifecycle, know_accounts, require_added
from gateway.engine.groups.permissions import Op, outranks, require
from gateway.engine.groups.store import (
    ADMIN,
    AVCHATROOM,
    CLOSED_FIELD,
    MEMBER,
    NAME_CARD_MAX_BYTES,
    OWNER,
    WORK,
    ApplicationRecord,
    GroupStore,
    MemberRecord,
    bad,
    check_bytes,
    member_enc,
)
from gateway.engine.groups.topic_mutes import MUTE_IN_TOPIC, MUTED_IN_TOPIC, NO_COMMUNITY, NO_MEMBER, NO_TOPIC
from gateway.engine.profiles import validate_custom_info
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.errors import Code, IMError
from gateway.ids import topic_parent
from gateway.im.enums import (
    GroupAdd,
    GroupInfoChangeType,
    GroupMemberFilter,
    GroupMemberOperationResult,
    GroupMemberRole,
    GroupTipsType,
)
from gateway.im.events import OnGrantAdministrator, OnMemberInfoChanged, OnMemberKicked, OnRevokeAdministrator
from gateway.im.groups import (
    GroupChangeInfo,
    GroupMemberChangeInfo,
    GroupMemberFullInfo,
    GroupMemberPage,
    GroupOperationResult,
    GroupTipsElem,
)
from gateway.upstream import active

MEMBER_PAGE_SIZE = 100
AVCHATROOM_LISTED_MAX = 1_000  # AVChatRoom lists its newest members only, as the SDK does
MUTE_SECONDS_MAX = 30 * 86400
MEMBER_SEARCH_KEYWORDS_MAX = 5
INVITE_PER_CALL_MAX = 100
ADMIN_ADD_PER_CALL_MAX = 300  # REST add_group_member's batch cap
OK = GroupMemberOperationResult.OPERATION_RESULT_SUCC
FAIL = GroupMemberOperationResult.OPERATION_RESULT_FAIL
INVALID = GroupMemberOperationResult.OPERATION_RESULT_INVALID
PENDING = GroupMemberOperationResult.OPERATION_RESULT_PENDING
OVERLIMIT = GroupMemberOperationResult.OPERATION_RESULT_OVERLIMIT

# A member's mute in the group written (ARGV[2]: until then, unix s; 0 lifts it), only while the
# group is open and the target still one of its members, and only that field of their record as it
# is now: a live room's quit (which takes no turn, for its crowd) or a dismissal landing after the
# mute's checks must not find the member written back, and a write of their other fields must not
# be undone. The field is replaced in the record's JSON text, just after customInfo's closing
# brace (msgspec writes muteUntil next, tests/test_topic_mutes_races.py checks it; a JSON string
# holding the same text has its quotes escaped): a cjson round trip would rewrite the rest (an
# empty list as {}, integers past 14 digits in float notation). KEYS: the group's info, its
# members (one slot); ARGV: the member, the end. Answers what `MUTE_IN_TOPIC` does:
# MUTED_IN_TOPIC, NO_COMMUNITY (closed or gone) or NO_MEMBER.
_MUTE_IN_GROUP = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then
  return {NO_COMMUNITY}
end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return {NO_MEMBER} end
local record, n = string.gsub(raw, '}},"muteUntil":%-?%d+', '}},"muteUntil":' .. ARGV[2], 1)
if n ~= 1 then return redis.error_reply('member record without muteUntil') end
redis.call('HSET', KEYS[2], ARGV[1], record)
return {MUTED_IN_TOPIC}
"""
)


def _failed(user_id: str) -> GroupOperationResult:
    return GroupOperationResult(memberID=user_id, result=FAIL)


class GroupMembers:
    def __init__(self, store: GroupStore, lifecycle: GroupLifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle

    async def get_group_member_list(
        self, user_id: str, group_id: str, member_filter: GroupMemberFilter, next_seq: int
    ) -> GroupMemberPage:
        s = self.store
        await known(s, group_id)
        group = await s.info(group_id)
        await s.require_member(group, user_id)
        roster = s.keys.group_roster(group_id)
        if group.groupType == AVCHATROOM:
            newest = await s.redis.zrevrange(
                roster, next_seq, min(next_seq, AVCHATROOM_LISTED_MAX) + MEMBER_PAGE_SIZE - 1
            )
            newest = newest[: max(0, AVCHATROOM_LISTED_MAX - next_seq)]
            done = len(newest) < MEMBER_PAGE_SIZE or next_seq + len(newest) >= AVCHATROOM_LISTED_MAX
            infos = await s.full_infos(user_id, group_id, newest)
            return GroupMemberPage(nextSeq=0 if done else next_seq + len(newest), memberInfoList=infos)
        if member_filter == GroupMemberFilter.V2TIM_GROUP_MEMBER_FILTER_OWNER:
            return GroupMemberPage(nextSeq=0, memberInfoList=await s.full_infos(user_id, group_id, [group.owner]))
        if member_filter == GroupMemberFilter.V2TIM_GROUP_MEMBER_FILTER_ADMIN:
            admins = sorted(await s.redis.smembers(s.keys.group_admins(group_id)))
            return GroupMemberPage(nextSeq=0, memberInfoList=await s.full_infos(user_id, group_id, admins))
        common_only = member_filter == GroupMemberFilter.V2TIM_GROUP_MEMBER_FILTER_COMMON
        managers = {group.owner, *await s.redis.smembers(s.keys.group_admins(group_id))} if common_only else set()
        picked: list[str] = []
        cursor = next_seq
        while len(picked) < MEMBER_PAGE_SIZE:
            rows = await s.redis.zrangebyscore(
                roster, f"({cursor}", "+inf", start=0, num=MEMBER_PAGE_SIZE, withscores=True
            )
            if not rows:
                cursor = 0
                break
            for uid, score in rows:
                cursor = int(score)
                if uid not in managers:
                    picked.append(uid)
                if len(picked) == MEMBER_PAGE_SIZE:
                    break
            if len(rows) < MEMBER_PAGE_SIZE and len(picked) < MEMBER_PAGE_SIZE:
                cursor = 0
                break
        if cursor and not await s.redis.zrangebyscore(roster, f"({cursor}", "+inf", start=0, num=1):
            cursor = 0
        return GroupMemberPage(nextSeq=cursor, memberInfoList=await s.full_infos(user_id, group_id, picked))

    async def get_group_members_info(
        self, user_id: str, group_id: str, member_ids: Sequence[str]
    ) -> list[GroupMemberFullInfo]:
        await known(self.store, group_id)
        group = await self.store.info(group_id)
        await self.store.require_member(group, user_id)
        return await self.store.full_infos(user_id, group_id, list(dict.fromkeys(member_ids)))

    async def search_group_members(
        self,
        user_id: str,
        keywords: Sequence[str],
        group_ids: Sequence[str] | None,
        *,
        by_user_id: bool,
        by_nick_name: bool,
        by_remark: bool,
        by_name_card: bool,
    ) -> list[GroupMemberFullInfo]:
        words = [k.casefold() for k in keywords]
        if not words or len(words) > MEMBER_SEARCH_KEYWORDS_MAX or not all(words):
            raise bad(f"param.keywordList needs 1-{MEMBER_SEARCH_KEYWORDS_MAX} non-empty keywords")
        s = self.store
        joined = set(await s.redis.hkeys(s.keys.user_groups(user_id)))
        targets = [g for g in group_ids if g in joined] if group_ids else sorted(joined)
        found: list[GroupMemberFullInfo] = []
        for gid in targets:
            for info in await s.full_infos(user_id, gid, await s.member_ids(gid)):
                fields = [
                    value
                    for value, on in (
                        (info.userID, by_user_id),
                        (info.nickName, by_nick_name),
                        (info.friendRemark, by_remark),
                        (info.nameCard, by_name_card),
                    )
                    if on and value
                ]
                if any(w in f.casefold() for w in words for f in fields):
                    found.append(info)
        return found

    async def set_group_member_info(
        self,
        user_id: str,
        group_id: str,
        target: str,
        name_card: str | None,
        custom_info: dict[str, str] | None,
        *,
        app_admin: bool = False,
    ) -> None:
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            await self._set_group_member_info(user_id, group_id, target, name_card, custom_info, app_admin)

    async def _set_group_member_info(
        self,
        user_id: str,
        group_id: str,
        target: str,
        name_card: str | None,
        custom_info: dict[str, str] | None,
        app_admin: bool,
    ) -> None:
        s = self.store
        group = await s.info(group_id)
        actor = OWNER if app_admin else await s.role_of(group, user_id)
        if actor is None:
            raise IMError(Code.ERR_NO_PERMISSION, f"you are not a member of {group_id!r}")
        record = await s.member(group_id, target)
        if record is None:
            raise bad(f"userID: {target!r} is not a member")
        if target != user_id and not app_admin:
            require(Op.SET_OTHERS_INFO, actor, group.groupType)
            if not outranks(actor, GroupMemberRole(record.role)):
                raise IMError(Code.ERR_NO_PERMISSION, "an admin may change ordinary members' info only")
        if name_card is not None:
            check_bytes(name_card, NAME_CARD_MAX_BYTES, Code.ERR_GROUP_NAME_CARD_TOO_LONG, "nameCard")
            record.nameCard = name_card
        if custom_info is not None:
            if not app_admin:  # the REST API checks Tencent's own limits for AppMemberDefinedData
                validate_custom_info(custom_info, "customInfo")
            record.customInfo = {**record.customInfo, **custom_info}
        up = active(s.upstream)
        if up is not None:
            await up.groups.set_member_info(group_id, target, name_card=name_card, custom_info=custom_info)
        await s.write_members(group_id, [(target, record)])  # the target still a member (a live room's quit)
        if name_card is not None:
            pipe = s.redis.pipeline(transaction=False)
            role = GroupMemberRole(record.role)
            s.callbacks.queue_member_field_changed(pipe, group, user_id, target, role, record.nameCard)
            if len(pipe):
                await pipe.execute()

    async def mute_group_member(
        self, user_id: str, group_id: str, target: str, seconds: int, *, app_admin: bool = False
    ) -> None:
        """`group_id` may name a community's topic: the member is muted in that topic only
        (V2TIMTopicInfo.selfMuteTime), by the community's rules (`_mute_in_topic`)."""
        community = topic_parent(group_id)
        if community is not None:
            # imported first (with an upstream) as whoever acts: the app admin as "", no member
            await known_topic(self.store, group_id, "" if app_admin else user_id)
            async with self.store.changing(community):
                await self._mute_in_topic(user_id, community, group_id, target, seconds, app_admin)
            return
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            await self._mute_group_member(user_id, group_id, target, seconds, app_admin)

    async def _mute_group_member(self, user_id: str, group_id: str, target: str, seconds: int, app_admin: bool) -> None:
        s = self.store
        keys = [s.keys.group_info(group_id), s.keys.group_members(group_id)]

        async def write(_: MemberRecord, until: int) -> None:
            # checked again in the write's own step (`_MUTE_IN_GROUP`), as a topic's mute is
            done = int(await run_script(s.redis, _MUTE_IN_GROUP, keys, [target, until]))
            if done == NO_MEMBER:
                raise bad(f"userID: {target!r} is not a member of {group_id!r}")
            if done != MUTED_IN_TOPIC:
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {group_id!r}")

        await self._mute(user_id, group_id, group_id, target, seconds, app_admin, write)

    async def _mute_in_topic(
        self, user_id: str, community: str, topic_id: str, target: str, seconds: int, app_admin: bool
    ) -> None:
        """A community mute's rules (who may, whom), its target a member of the community; kept in
        the topic's own mutes hash (`Keys.group_topic_mutes`), which the topic's sends check, and
        told as the community's mute is, in the topic: a tip in its conversation and
        onMemberInfoChanged, both naming the topic. With an upstream it is muted there first
        (Tencent's forbid_send_msg with the topic's TopicId)."""
        s = self.store
        topics = s.keys.group_topics(community)

        async def exists() -> None:
            if not await s.redis.hexists(topics, topic_id):
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no topic {topic_id!r}")

        mutes = s.keys.group_topic_mutes(community, topic_id)
        keys = [s.keys.group_info(community), topics, mutes, s.keys.group_members(community)]

        async def write(_: MemberRecord, until: int) -> None:
            # checked again in the write's own step (`MUTE_IN_TOPIC`): the topic deleted, the
            # community dismissed or the target removed since the checks, by a write not waiting
            # for this one's turn (a quit or kick waits for it: the removal, which drops the
            # leaver's topic mutes in its own step, `_REMOVE_MEMBER`, comes before or after it whole)
            done = int(await run_script(s.redis, MUTE_IN_TOPIC, keys, [topic_id, target, until]))
            if done == NO_MEMBER:
                raise bad(f"userID: {target!r} is not a member of {community!r}")
            if done != MUTED_IN_TOPIC:
                gone = f"topic {topic_id!r}" if done == NO_TOPIC else f"group {community!r}"
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no {gone}")

        await self._mute(user_id, community, topic_id, target, seconds, app_admin, write, exists)

    async def _mute(
        self,
        user_id: str,
        group_id: str,
        conversation: str,
        target: str,
        seconds: int,
        app_admin: bool,
        write: Callable[[MemberRecord, int], Awaitable[None]],
        exists: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """A mute of `target` (`seconds`; 0 unmutes) by the group's rules, in `conversation`: the
        group itself, or one of its topics (a community's). Muted upstream first, then written by
        `write` (the target's record, the end: unix s, 0 for none), then told in `conversation`: a
        member-info tip there and onMemberInfoChanged naming it. `exists` (a topic's: 10010 without
        it) is asked only once the caller may mute in the group: a stranger is refused alike
        (10007) whether the conversation exists or not, and learns nothing of which do."""
        s = self.store
        if not 0 <= seconds <= MUTE_SECONDS_MAX:
            raise bad(f"seconds must be 0 (unmute) to {MUTE_SECONDS_MAX}")
        group = await s.info(group_id)
        actor = await s.authorize(Op.MUTE, group, user_id, app_admin)
        if exists is not None:
            await exists()
        record = await s.member(group_id, target)
        if record is None:
            raise bad(f"userID: {target!r} is not a member of {group_id!r}")
        if not outranks(actor, GroupMemberRole(record.role)):
            raise IMError(Code.ERR_NO_PERMISSION, "an admin may mute ordinary members only")
        up = active(s.upstream)
        if up is not None:
            await up.groups.mute_members(conversation, [target], seconds)
        await write(record, s.now() + seconds if seconds else 0)
        (op,) = await s.member_infos(group_id, [user_id])
        changes = [GroupMemberChangeInfo(userID=target, muteTime=seconds)]
        elem = GroupTipsElem(
            groupID=conversation,
            type=GroupTipsType.V2TIM_GROUP_TIPS_TYPE_MEMBER_INFO_CHANGE,
            opMember=op,
            memberList=await s.member_infos(group_id, [target]),
            memberChangeInfoList=changes,
        )
        await s.tips(group, elem, topic="" if conversation == group_id else conversation)
        await s.emit(group, OnMemberInfoChanged(groupID=conversation, groupMemberChangeInfoList=changes))

    async def invite_user_to_group(
        self,
        user_id: str,
        group_id: str,
        user_ids: Sequence[str],
        *,
        app_admin: bool = False,
        silent: bool = False,
        entered: bool = False,
    ) -> list[GroupOperationResult]:
        """The app admin (REST add_group_member: up to 300, no role, approveOpt or pending
        approval, any type but AVChatRoom) adds directly; `silent` adds without tips or events;
        `entered`: the members joined by themselves (an upstream's report of an application or a
        free join, gateway.upstream.UpstreamReport.by_self), announced as onMemberEnter."""
        await known(self.store, group_id)
        async with self.store.turns.turn(f"group:{group_id}"):
            return await self._invite(user_id, group_id, user_ids, app_admin, silent, entered)

    async def _invite(
        self, user_id: str, group_id: str, user_ids: Sequence[str], app_admin: bool, silent: bool, entered: bool
    ) -> list[GroupOperationResult]:
        s = self.store
        per_call = ADMIN_ADD_PER_CALL_MAX if app_admin else INVITE_PER_CALL_MAX
        if len(user_ids) > per_call:
            raise bad(f"userList: at most {per_call} users per call")
        group = await s.info(group_id)
        if app_admin:
            if group.groupType == AVCHATROOM:
                raise IMError(Code.ERR_NO_PERMISSION, "AVChatRoom groups take no added members")
        else:
            require(Op.INVITE, await s.role_of(group, user_id), group.groupType)
            if group.approveOpt == GroupAdd.V2TIM_GROUP_ADD_FORBID:
                raise IMError(Code.ERR_NO_PERMISSION, f"group {group_id!r} takes no invitations (approveOpt FORBID)")
        up = active(s.upstream)
        if up is not None:  # accounts made upstream that the mirror has not seen
            await know_accounts(s, up, user_ids)
        exists = await s.profiles.exists(user_ids)
        results: list[GroupOperationResult] = []
        joining: list[str] = []
        for uid, account in zip(user_ids, exists, strict=True):
            if not account:
                results.append(GroupOperationResult(memberID=uid, result=FAIL))
            elif await s.member(group_id, uid) is not None or uid in joining:
                results.append(GroupOperationResult(memberID=uid, result=INVALID))
            elif not await s.check_user_group_cap(uid):
                results.append(GroupOperationResult(memberID=uid, result=OVERLIMIT))
            elif group.approveOpt == GroupAdd.V2TIM_GROUP_ADD_AUTH and not app_admin:
                record = ApplicationRecord(fromUser=user_id, toUser=uid, addTime=int(s.clock.now() * 1000))
                await s.redis.hset(s.keys.group_applications(group_id), f"invite:{uid}", member_enc.encode(record))
                await s.redis.sadd(s.keys.user_group_invitations(uid), group_id)
                results.append(GroupOperationResult(memberID=uid, result=PENDING))
            else:
                joining.append(uid)
                results.append(GroupOperationResult(memberID=uid, result=OK))
        if joining:
            await s.check_cap(group, len(joining))
            if up is not None:  # the ones the upstream did not add failed
                members = await require_added(up, group_id, joining)
                results = [r if r.result != OK or r.memberID in members else _failed(r.memberID) for r in results]
                joining = [uid for uid in joining if uid in members]
            added = await s.add_members(group, [(uid, MEMBER) for uid in joining])
            if len(added) < len(joining):  # the group filled up meanwhile (or they joined themselves)
                results = [_failed(r.memberID) if r.result == OK and r.memberID not in added else r for r in results]
            group = await s.info(group_id)
            if entered and not silent:
                for uid in added:
                    await self.lifecycle.announce_entered(group, uid)
            else:
                await self.lifecycle.announce_invited(group, user_id, added, silent=silent)
        return results

    async def kick_group_member(
        self,
        user_id: str,
        group_id: str,
        member_ids: Sequence[str],
        reason: str,
        *,
        app_admin: bool = False,
        silent: bool = False,
    ) -> list[GroupOperationResult]:
        """`silent` (REST delete_group_member's Silence: 1): removed without tips or events."""
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            return await self._kick(user_id, group_id, member_ids, reason, app_admin, silent)

    async def _kick(
        self, user_id: str, group_id: str, member_ids: Sequence[str], reason: str, app_admin: bool, silent: bool
    ) -> list[GroupOperationResult]:
        s = self.store
        group = await s.info(group_id)
        actor = await s.authorize(Op.KICK, group, user_id, app_admin)
        results: list[GroupOperationResult] = []
        kicking: list[str] = []
        for uid in dict.fromkeys(member_ids):
            record = await s.member(group_id, uid)
            if record is None:
                results.append(GroupOperationResult(memberID=uid, result=INVALID))
            elif uid == user_id or not outranks(actor, GroupMemberRole(record.role)):
                results.append(GroupOperationResult(memberID=uid, result=FAIL))
            else:
                kicking.append(uid)
                results.append(GroupOperationResult(memberID=uid, result=OK))
        up = active(s.upstream)
        if kicking and up is not None:
            await up.groups.remove_members(group_id, kicking, reason)
        if kicking and silent:
            await s.remove_members(group, kicking)
        elif kicking:
            (op,) = await s.member_infos(group_id, [user_id])
            kicked = await s.member_infos(group_id, kicking)
            # the kicked keep the tip they are told, as the last message of their conversation
            _, tip_seq = await s.remove_told_members(group, kicking)
            group = await s.info(group_id)
            elem = GroupTipsElem(
                groupID=group_id,
                type=GroupTipsType.V2TIM_GROUP_TIPS_TYPE_KICKED,
                opMember=op,
                memberList=kicked,
                memberCount=group.memberCount,
            )
            await s.tips(group, elem, also=kicking, seq=tip_seq)
            event = OnMemberKicked(groupID=group_id, opUser=op, memberList=kicked)
            await s.emit(group, event, also=kicking)
            await s.callbacks.members_left(group, user_id, kicking, "Kicked")
        return results

    async def set_group_member_role(
        self, user_id: str, group_id: str, target: str, role: GroupMemberRole, *, app_admin: bool = False
    ) -> None:
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            await self._set_role(user_id, group_id, target, role, app_admin)

    async def _set_role(self, user_id: str, group_id: str, target: str, role: GroupMemberRole, app_admin: bool) -> None:
        s = self.store
        group = await s.info(group_id)
        await s.authorize(Op.SET_ROLE, group, user_id, app_admin)
        if role == OWNER:
            raise bad("role: make someone owner with transferGroupOwner")
        if role == ADMIN and group.groupType == WORK:
            raise bad("role: Work groups have no admins")
        record = await s.member(group_id, target)
        if record is None:
            raise bad(f"userID: {target!r} is not a member")
        if GroupMemberRole(record.role) == OWNER:
            raise bad("userID: the owner's role changes only by transferGroupOwner")
        if record.role == int(role):
            return
        up = active(s.upstream)
        if up is not None:
            await up.groups.set_member_info(group_id, target, role=role)
        record.role = int(role)
        added, removed = (target, "") if role == ADMIN else ("", target)
        await s.write_members(group_id, [(target, record)], admin_added=added, admin_removed=removed)
        # after the commit: the callback queue is app-wide, another slot on a Redis Cluster
        after = s.redis.pipeline(transaction=False)
        s.callbacks.queue_member_field_changed(after, group, user_id, target, role, record.nameCard)
        if len(after):
            await after.execute()
        (op,) = await s.member_infos(group_id, [user_id])
        changed = await s.member_infos(group_id, [target])
        granted = role == ADMIN
        tips_type = (
            GroupTipsType.V2TIM_GROUP_TIPS_TYPE_SET_ADMIN
            if granted
            else GroupTipsType.V2TIM_GROUP_TIPS_TYPE_CANCEL_ADMIN
        )
        await s.tips(group, GroupTipsElem(groupID=group_id, type=tips_type, opMember=op, memberList=changed))
        event_type = OnGrantAdministrator if granted else OnRevokeAdministrator
        await s.emit(group, event_type(groupID=group_id, opUser=op, memberList=changed))

    async def mark_group_member_list(
        self, user_id: str, group_id: str, member_ids: Sequence[str], mark_type: int, enable: bool
    ) -> None:
        async with self.store.changing(group_id):  # it rewrites member records
            await self._mark_group_member_list(user_id, group_id, member_ids, mark_type, enable)

    async def _mark_group_member_list(
        self, user_id: str, group_id: str, member_ids: Sequence[str], mark_type: int, enable: bool
    ) -> None:
        s = self.store
        group = await s.info(group_id)
        require(Op.MARK, await s.role_of(group, user_id), group.groupType)
        if mark_type <= 0:
            raise bad("markType must be a positive number")
        for uid in member_ids:
            record = await s.member(group_id, uid)
            if record is None:
                raise bad(f"memberIDList: {uid!r} is not a member")
            marks = set(record.marks)
            marks = marks | {mark_type} if enable else marks - {mark_type}
            record.marks = sorted(marks)
            await s.write_members(group_id, [(uid, record)])

    async def transfer_group_owner(self, user_id: str, group_id: str, target: str, *, app_admin: bool = False) -> None:
        """The app admin hands over the group of whoever owns it (or of nobody: REST may create
        ownerless groups); the operator in tips and events is the admin."""
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            await self._transfer(user_id, group_id, target, app_admin)

    async def _transfer(self, user_id: str, group_id: str, target: str, app_admin: bool) -> None:
        s = self.store
        group = await s.info(group_id)
        await s.authorize(Op.TRANSFER, group, user_id, app_admin)
        new_owner = await s.member(group_id, target)
        if new_owner is None or target == group.owner:
            raise bad(f"userID: {target!r} is not another member of the group")
        old_owner = await s.member(group_id, group.owner) if group.owner else None
        up = active(s.upstream)
        if up is not None:
            await up.groups.change_owner(group_id, target)
        new_owner.role = int(OWNER)
        records = [(target, new_owner)]
        if old_owner is not None:
            old_owner.role = int(MEMBER)
            records.append((group.owner, old_owner))
        await s.write_members(group_id, records, admin_removed=target, owner=target)
        # after the commit: the callback queue is app-wide, another slot on a Redis Cluster
        after = s.redis.pipeline(transaction=False)
        s.callbacks.queue_owner_changed(after, group, user_id, target)
        if len(after):
            await after.execute()
        change = GroupChangeInfo(type=GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_OWNER, value=target)
        await self.lifecycle.announce_info_change(await s.info(group_id), user_id, [change])

    async def get_group_online_member_count(self, user_id: str, group_id: str) -> int:
        s = self.store
        group = await s.info(group_id)
        await s.require_member(group, user_id)
        return int(await s.redis.scard(s.keys.group_online(group_id)))

    async def presence_changed(self, user_id: str, online: bool) -> None:
        """Keep each joined group's online set right when the user comes or goes."""
        await self.presence_changed_many([(user_id, online)])

    async def presence_changed_many(self, changes: Sequence[tuple[str, bool]]) -> None:
        """`presence_changed` for many users: their groups in one round trip, the sets in another."""
        s = self.store
        pipe = s.redis.pipeline(transaction=False)
        for user_id, _ in changes:
            pipe.hkeys(s.keys.user_groups(user_id))
        joined = await pipe.execute()
        pipe = s.redis.pipeline(transaction=False)
        for (user_id, online), groups in zip(changes, joined, strict=True):
            for gid in groups:
                if online:
                    pipe.sadd(s.keys.group_online(gid), user_id)
                else:
                    pipe.srem(s.keys.group_online(gid), user_id)
        if len(pipe):
            await pipe.execute()
