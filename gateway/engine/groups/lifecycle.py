"""Group life: create, join, quit, dismiss; profiles (get, search, set); joined lists."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from contextlib import nullcontext

from gateway.engine.groups.eraser import Farewell, GroupEraser
from gateway.engine.groups.extras import has_topics
from gateway.engine.groups.imports import GroupImports, known
from gateway.engine.groups.permissions import Op
from gateway.engine.groups.store import (
    ADMIN,
    AVCHATROOM,
    COMMUNITY,
    CUSTOM_FIELD_PREFIX,
    FACE_URL_MAX_BYTES,
    GROUP_ID_PREFIX,
    GROUP_NAME_MAX_BYTES,
    INTRODUCTION_MAX_BYTES,
    MAX_MEMBERS_FIELD,
    MEMBER,
    MEMBER_CAPS,
    NOTIFICATION_MAX_BYTES,
    OWNER,
    PUBLIC,
    WORK,
    ApplicationRecord,
    GroupStore,
    bad,
    check_bytes,
    check_custom_group_id,
    member_enc,
)
from gateway.errors import Code, IMError
from gateway.im.enums import GroupAdd, GroupInfoChangeType, GroupTipsType, GroupType
from gateway.im.events import (
    OnGroupCreated,
    OnGroupDismissed,
    OnGroupInfoChanged,
    OnGroupRecycled,
    OnMemberEnter,
    OnMemberInvited,
    OnMemberLeave,
    OnQuitFromGroup,
    OnReceiveJoinApplication,
    OnReceiveRESTCustomData,
)
from gateway.im.groups import (
    CreateGroupMember,
    GroupChangeInfo,
    GroupInfo,
    GroupInfoChanges,
    GroupInfoResult,
    GroupMemberInfo,
    GroupTipsElem,
)
from gateway.upstream import Upstream, active

SEARCH_KEYWORDS_MAX = 5
SYSTEM_NOTIFICATION_MAX_BYTES = 12 * 1024  # the message body limit
RECYCLE_BATCH = 100  # idle groups recycled per pass
SYSTEM_USER = "@TIM#SYSTEM"  # the operator named in system actions, as Tencent names it
_ID_ALPHABET = string.ascii_uppercase + string.digits

# addOpt as each type works: only Public groups choose (default: admin approval)
FIXED_ADD_OPT = {
    WORK: GroupAdd.V2TIM_GROUP_ADD_FORBID,
    GroupType.V2TIM_GROUP_TYPE_MEETING: GroupAdd.V2TIM_GROUP_ADD_ANY,
    COMMUNITY: GroupAdd.V2TIM_GROUP_ADD_ANY,
    AVCHATROOM: GroupAdd.V2TIM_GROUP_ADD_ANY,
}
NO_INVITATIONS = (COMMUNITY, AVCHATROOM)  # approveOpt is fixed at FORBID for these


def check_profile_fields(
    name: str | None, notification: str | None, introduction: str | None, face_url: str | None
) -> None:
    if name is not None:
        check_bytes(name, GROUP_NAME_MAX_BYTES, Code.ERR_GROUP_NAME_TOO_LONG, "groupName")
    if notification is not None:
        check_bytes(notification, NOTIFICATION_MAX_BYTES, Code.ERR_GROUP_NOTIFICATION_TOO_LONG, "notification")
    if introduction is not None:
        check_bytes(introduction, INTRODUCTION_MAX_BYTES, Code.ERR_GROUP_INTRODUCTION_TOO_LONG, "introduction")
    if face_url is not None:
        check_bytes(face_url, FACE_URL_MAX_BYTES, Code.ERR_GROUP_FACE_URL_TOO_LONG, "faceURL")


def _changed(changes: GroupInfoChanges, group: GroupInfo) -> GroupInfoChanges:
    """`changes` without the fields the group has already."""
    return GroupInfoChanges(
        **{
            name: value
            for name in GroupInfoChanges.__struct_fields__
            if (value := getattr(changes, name)) is not None and value != getattr(group, name)
        }
    )


async def know_accounts(store: GroupStore, up: Upstream, user_ids: Sequence[str]) -> None:
    """Accounts made upstream that the mirror has not seen, imported (a group write names them)."""
    exist = await store.profiles.exists(user_ids)
    missing = [u for u, there in zip(user_ids, exist, strict=True) if not there]
    if missing:
        await store.profiles.import_from(up, missing, store.now())


async def require_added(up: Upstream, group_id: str, user_ids: Sequence[str]) -> set[str]:
    """Add the accounts upstream; 10007 when it added none of them (its per-member failure has no code)."""
    members = await up.groups.add_members(group_id, user_ids)
    if not members & set(user_ids):
        raise IMError(Code.ERR_NO_PERMISSION, f"the IM server did not add {', '.join(user_ids)} to {group_id!r}")
    return members


class GroupLifecycle:
    def __init__(self, store: GroupStore, imports: GroupImports, eraser: GroupEraser) -> None:
        self.store = store
        self.imports = imports  # groups the upstream has and the mirror lacks (gateway.upstream)
        self.eraser = eraser  # finishes a dismissal: forgets its users' side, erases its history

    async def create_group(
        self,
        user_id: str | None,
        group_type: GroupType,
        group_id: str | None,
        group_name: str,
        *,
        notification: str = "",
        introduction: str = "",
        face_url: str = "",
        add_opt: GroupAdd | None = None,
        approve_opt: GroupAdd | None = None,
        is_all_muted: bool = False,
        is_support_topic: bool = False,
        members: Sequence[CreateGroupMember] = (),
        operator: str | None = None,
        max_members: int | None = None,
        custom_info: dict[str, str] | None = None,
    ) -> str:
        """`user_id` becomes the owner. The server REST API may create a group with no owner
        (`user_id` None, owner ""), name itself as `operator` of the invitation tips instead of the
        owner, lower the type's member cap (`max_members`) and set the group's custom data."""
        s = self.store
        check_profile_fields(group_name, notification, introduction, face_url)
        if not group_name:
            raise bad("groupName must not be empty")
        if group_id:
            check_custom_group_id(group_id)
            # before the upstream is asked: it freed the ID at the dismissal, and would make a
            # group the mirror could not write
            await self._refuse_if_being_erased(group_id)
        if is_support_topic and group_type != COMMUNITY:
            raise bad("isSupportTopic: only Community groups have topics")
        if group_type in NO_INVITATIONS and approve_opt not in (None, GroupAdd.V2TIM_GROUP_ADD_FORBID):
            raise bad(f"approveOpt: {group_type.value} groups take no invitations")
        initial = list({m.userID: m for m in members if m.userID != user_id}.values())
        for m in initial:
            if m.role == OWNER or (m.role == ADMIN and group_type == WORK):
                raise bad(f"memberListMap: {m.userID!r} cannot start as {m.role.name} in a {group_type.value} group")
        if initial and group_type == AVCHATROOM:
            raise bad("memberListMap: AVChatRoom groups start with no members")
        type_cap = MEMBER_CAPS[group_type]
        cap = min(max_members, type_cap or max_members) if max_members else type_cap
        if cap is not None and len(initial) + (1 if user_id else 0) > cap:
            raise IMError(Code.ERR_GROUP_MEMBER_COUNT_LIMIT, f"memberListMap: a {group_type.value} group holds {cap}")
        if user_id and not await s.check_user_group_cap(user_id):
            raise IMError(Code.ERR_GROUP_CAP_REACHED, "you have created or joined as many groups as allowed")
        up = active(s.upstream) if user_id else None
        if up is not None and initial:  # accounts made upstream that the mirror has not seen
            await know_accounts(s, up, [m.userID for m in initial])
        exist = await s.profiles.exists([m.userID for m in initial]) if initial else []
        for m, exists in zip(initial, exist, strict=True):
            if not exists:
                raise bad(f"memberListMap: no user {m.userID!r}")
        await s.callbacks.before_create_group(user_id or "", group_type, group_name, [m.userID for m in initial])
        now = s.now()
        fields: dict[str, str | int] = {
            "groupType": group_type.value,
            "groupName": group_name,
            "notification": notification,
            "introduction": introduction,
            "faceUrl": face_url,
            "addOpt": int(
                FIXED_ADD_OPT.get(group_type, add_opt if add_opt is not None else GroupAdd.V2TIM_GROUP_ADD_AUTH)
            ),
            "approveOpt": int(
                approve_opt
                if approve_opt is not None
                else (GroupAdd.V2TIM_GROUP_ADD_ANY if group_type == WORK else GroupAdd.V2TIM_GROUP_ADD_FORBID)
            ),
            "isAllMuted": "1" if is_all_muted else "0",
            "isSupportTopic": "1" if is_support_topic else "0",
            "owner": user_id or "",
            "createTime": now,
            "lastInfoTime": now,
            **({MAX_MEMBERS_FIELD: max_members} if max_members else {}),
            **{CUSTOM_FIELD_PREFIX + k: v for k, v in (custom_info or {}).items()},
        }
        # with an upstream: created there first, under the ID it assigns (or the custom one), while
        # the owner's "create" turn keeps the import of its echo waiting for this mirror write
        async with s.turns.turn(f"create:{user_id}") if up is not None else nullcontext():
            if up is not None and user_id:
                upstream_info = GroupInfo(
                    groupID=group_id or "",
                    groupType=group_type,
                    groupName=group_name,
                    notification=notification,
                    introduction=introduction,
                    faceUrl=face_url,
                    addOpt=GroupAdd(int(fields["addOpt"])),
                    isAllMuted=is_all_muted,
                    isSupportTopic=is_support_topic,
                )
                group_id = await up.groups.create_group(user_id, upstream_info, initial)
            return await self._write_created(user_id, group_type, group_id, fields, initial, operator or user_id or "")

    async def _write_created(
        self,
        user_id: str | None,
        group_type: GroupType,
        group_id: str | None,
        fields: dict[str, str | int],
        initial: Sequence[CreateGroupMember],
        operator: str,
    ) -> str:
        s = self.store
        gid = group_id or await self._new_group_id()
        if not await s.redis.hsetnx(s.keys.group_info(gid), "groupType", group_type.value):
            await self._refuse_if_being_erased(gid)
            raise IMError(Code.ERR_GROUP_ID_TAKEN, f"groupID {gid!r} is taken")
        await s.redis.hset(s.keys.group_info(gid), mapping=fields)
        group = await s.info(gid)
        if user_id:
            await s.add_members(group, [(user_id, OWNER)])
            group = await s.info(gid)
            await s.bus.publish([user_id], OnGroupCreated(groupID=gid))
        await s.touch(gid)
        if initial:
            joinable = [(m.userID, m.role) for m in initial if await s.check_user_group_cap(m.userID)]
            added = await s.add_members(group, joinable)
            group = await s.info(gid)
            if added:
                await self.announce_invited(group, operator, added)
        await s.callbacks.group_created(group, operator, [m.userID for m in initial])
        return gid

    async def _refuse_if_being_erased(self, group_id: str) -> None:
        """10021 while a dismissed group of this ID is still being erased (its info hash, closed,
        goes last): a group made now under the ID would share its keys with what the erasure is
        deleting. Tencent frees the ID at once; here it is free once the erasure is done, for a
        group with a short history when its dismissal answers (docs/scaling.md). The group is
        queued for erasure if it was not (`GroupEraser.queue_if_missing`): the ID must come free."""
        if await self.store.being_erased(group_id):
            await self.eraser.queue_if_missing(group_id)
            raise IMError(
                Code.ERR_GROUP_ID_TAKEN,
                f"groupID {group_id!r} is a dismissed group's whose history is still being erased; retry shortly",
            )

    async def _new_group_id(self) -> str:
        for _ in range(10):
            candidate = GROUP_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
            if not await self.store.redis.exists(self.store.keys.group_info(candidate)):
                return candidate
        raise IMError(Code.ERR_SDK_INTERNAL_ERROR, "could not pick a free groupID")

    async def announce_invited(
        self, group: GroupInfo, op_user: str, added: Sequence[str], *, silent: bool = False
    ) -> None:
        """Tips and onMemberInvited; none when `silent` (REST add_group_member's Silence: 1)."""
        s = self.store
        if silent:
            await s.touch(group.groupID)
            return
        (op,) = await s.member_infos(group.groupID, [op_user])
        joined = await s.member_infos(group.groupID, added)
        elem = GroupTipsElem(
            groupID=group.groupID,
            type=GroupTipsType.V2TIM_GROUP_TIPS_TYPE_INVITE,
            opMember=op,
            memberList=joined,
            memberCount=group.memberCount,
        )
        await s.tips(group, elem)
        await s.emit(group, OnMemberInvited(groupID=group.groupID, opUser=op, memberList=joined))
        await s.callbacks.members_joined(group, op_user, added, "Invited")

    async def announce_entered(self, group: GroupInfo, user_id: str) -> None:
        s = self.store
        joined = await s.member_infos(group.groupID, [user_id])
        elem = GroupTipsElem(
            groupID=group.groupID,
            type=GroupTipsType.V2TIM_GROUP_TIPS_TYPE_JOIN,
            opMember=joined[0],
            memberList=joined,
            memberCount=group.memberCount,
        )
        await s.tips(group, elem)
        await s.emit(group, OnMemberEnter(groupID=group.groupID, memberList=joined))
        await s.callbacks.members_joined(group, user_id, [user_id], "Apply")

    async def join_group(self, user_id: str, group_id: str, message: str) -> None:
        await known(self.store, group_id)
        async with self.store.turns.turn(f"group:{group_id}"):
            await self._join_group(user_id, group_id, message)

    async def _join_group(self, user_id: str, group_id: str, message: str) -> None:
        s = self.store
        group = await s.info(group_id)
        if await s.member(group_id, user_id) is not None:
            await s.complete_member(group, user_id)  # a join cut short before: finish the user's side
            raise IMError(Code.ERR_ALREADY_GROUP_MEMBER, f"you are already in {group_id!r}")
        if group.groupType == WORK:
            raise IMError(Code.ERR_NO_PERMISSION, "Work groups are joined by invitation only")
        if group.groupType == PUBLIC and group.addOpt == GroupAdd.V2TIM_GROUP_ADD_FORBID:
            raise IMError(Code.ERR_NO_PERMISSION, f"group {group_id!r} takes no join requests")
        await s.check_cap(group, 1)
        if not await s.check_user_group_cap(user_id):
            raise IMError(Code.ERR_GROUP_CAP_REACHED, "you have created or joined as many groups as allowed")
        await s.callbacks.before_apply_join(group, user_id)
        if group.groupType == PUBLIC and group.addOpt == GroupAdd.V2TIM_GROUP_ADD_AUTH:
            # an upstream has no application to file (MAPPING.md #10): it stays here, for the
            # managers among this gateway's users, and the member is added upstream on acceptance
            await self._apply(group, user_id, message)
            return
        up = active(s.upstream)
        if up is not None:
            await require_added(up, group_id, [user_id])
        await s.add_members(group, [(user_id, MEMBER)])
        group = await s.info(group_id)
        await self.announce_entered(group, user_id)

    async def _apply(self, group: GroupInfo, user_id: str, message: str) -> None:
        s = self.store
        record = ApplicationRecord(fromUser=user_id, requestMsg=message, addTime=int(s.clock.now() * 1000))
        await s.redis.hset(s.keys.group_applications(group.groupID), f"join:{user_id}", member_enc.encode(record))
        managers = [group.owner, *await s.redis.smembers(s.keys.group_admins(group.groupID))]
        managers = [m for m in managers if m]  # a group created over REST may have no owner
        (applicant,) = await s.member_infos(group.groupID, [user_id])
        event = OnReceiveJoinApplication(groupID=group.groupID, member=applicant, opReason=message)
        await s.bus.publish(sorted(set(managers)), event)

    async def quit_group(self, user_id: str, group_id: str) -> None:
        await known(self.store, group_id)
        # in the group's turn, as the writes of a member's record are (one of them landing after a
        # quit would bring the record back); but a live room's crowd leaving at once does not queue
        crowd = (await self.store.info(group_id)).groupType == AVCHATROOM
        async with self.store.turns.turn(f"group:{group_id}", always=not crowd):
            await self._quit_group(user_id, group_id)

    async def _quit_group(self, user_id: str, group_id: str) -> None:
        s = self.store
        group = await s.info(group_id)
        record = await s.require_member(group, user_id)
        if record.role == OWNER:
            raise IMError(Code.ERR_GROUP_OWNER_CANNOT_QUIT, "the owner cannot quit; transfer or dismiss first")
        up = active(s.upstream)
        if up is not None:  # native members see a kick by the admin (REST has no quit)
            await up.groups.remove_members(group_id, [user_id])
        (leaving,) = await s.member_infos(group_id, [user_id])
        await s.remove_members(group, [user_id])
        group = await s.info(group_id)
        elem = GroupTipsElem(
            groupID=group_id,
            type=GroupTipsType.V2TIM_GROUP_TIPS_TYPE_QUIT,
            opMember=leaving,
            memberList=[leaving],
            memberCount=group.memberCount,
        )
        await s.tips(group, elem)
        await s.emit(group, OnMemberLeave(groupID=group_id, member=leaving))
        await s.bus.publish([user_id], OnQuitFromGroup(groupID=group_id))
        await s.callbacks.members_left(group, user_id, [user_id], "Quit")

    async def dismiss_group(self, user_id: str, group_id: str, *, app_admin: bool = False) -> None:
        s = self.store
        await known(s, group_id)
        async with s.changing(group_id):
            group = await s.info(group_id)
            await s.authorize(Op.DISMISS, group, user_id, app_admin)
            up = active(s.upstream)
            if up is not None:
                try:
                    await up.groups.destroy_group(group_id)
                except IMError as exc:
                    # gone upstream already (a dismissal cut after Tencent's part, or a webhook of it
                    # lost): the mirror's copy is what is left to remove
                    if exc.code != Code.ERR_GROUP_NOT_FOUND:
                        raise
            (op,) = await s.member_infos(group_id, [user_id])
            await self.destroy(group, OnGroupDismissed(groupID=group_id, opUser=op))

    async def send_group_system_notification(
        self, group_id: str, content: str, to_members: Sequence[str] | None = None
    ) -> None:
        """A custom system notice (Tencent REST send_group_system_notification): onReceiveRESTCustomData
        to the chosen members, or to all of them."""
        s = self.store
        group = await s.info(group_id)
        if len(content.encode("utf-8")) > SYSTEM_NOTIFICATION_MAX_BYTES:
            raise bad(f"Content is over {SYSTEM_NOTIFICATION_MAX_BYTES} bytes")
        event = OnReceiveRESTCustomData(groupID=group_id, customData=content)
        if to_members:
            members = set(await s.member_ids(group_id))
            await s.bus.publish([m for m in to_members if m in members], event)
        else:
            await s.emit(group, event)

    async def recycle_idle_groups(self, idle_seconds: int) -> list[str]:
        """Recycle groups with no activity (messages, membership or profile changes) for
        `idle_seconds`, as Tencent recycles idle groups; members get onGroupRecycled."""
        s = self.store
        cutoff = s.now() - idle_seconds
        idle = await s.redis.zrangebyscore(s.keys.group_activity(), "-inf", cutoff, start=0, num=RECYCLE_BATCH)
        recycled = []
        for group_id in idle:
            # in the group's turn, as a dismissal: a write of its records (taking the same turn)
            # landing after the deletion would leave that record behind
            async with s.changing(group_id):
                try:
                    group = await s.info(group_id)
                except IMError:
                    await s.redis.zrem(s.keys.group_activity(), group_id)
                    continue
                system = GroupMemberInfo(userID=SYSTEM_USER)
                await self.destroy(group, OnGroupRecycled(groupID=group_id, opUser=system))
            recycled.append(group_id)
        return recycled

    async def destroy(self, group: GroupInfo, farewell: OnGroupDismissed | OnGroupRecycled) -> None:
        """Tell the members, forget the group on their side, and have its history erased: at once
        when it is short (`DISMISSAL_ERASE_BUDGET`), else in the background by every replica's eraser
        (gateway.engine.groups.eraser), without keeping the dismissal's answer waiting for it.

        In an order that leaves no step undone after a cut (docs/scaling.md): the group's entry in
        the erasure queue held first, then the group closed (`GroupStore.close`): no member is added
        from then on, so the members read next are all it will have (a join racing it either comes
        before and is among them, or is refused), and it is gone to every reader. A cut before the
        closing leaves the group as it was, and its entry, once the hold runs out, is dropped; a cut
        after it leaves it closed and queued, and an eraser finishes it (`GroupEraser.erase`):
        no closed group is left out of the queue (the eraser's module says why the hold comes
        first). The closing keeps the farewell (the event, the callback's origin) in the group's
        info hash in the same step, and the telling removes it (`GroupEraser.announce`): a cut
        before that has the eraser tell it, to the members as they were closed in (at least once:
        a cut after the telling and before the removal tells it twice). Then the app's callback,
        the farewell, the members' stream following and their side of it, then its
        former members' side (a member leaving meanwhile is one of them by then, or sees the
        closing and forgets their side itself), noted done; then as much of its timelines (the
        group's and its topics') as the budget allows, each message with everything kept about it,
        and, if that was all, the group's own keys and its info hash in one DEL. A write into a
        timeline racing all this takes itself back once it sees the closing
        (`GroupStore.queue_open_check`). Its event stream stays for subscriptions still to read the
        farewell (it expires, gateway.events.bus), and its turn is the dismissal's own, released
        after it."""
        s = self.store
        group_id = group.groupID
        held = await self.eraser.hold(group_id)
        told = Farewell.of(farewell)
        if not await s.close(group_id, told.encode()):
            await self.eraser.let_go(held)
            return  # removed meanwhile (by another dismissal): nothing left to do
        members = await s.member_ids(group_id)
        await self.eraser.announce(group, told, members)
        await self.eraser.forget(group_id, members)
        await self.eraser.erase_or_hand_on(held)

    # ---- profiles -------------------------------------------------------------------------------
    async def get_joined_group_list(self, user_id: str) -> list[GroupInfo]:
        up = active(self.store.upstream)
        if up is not None:  # groups the user joined upstream that the mirror has never seen
            await self.imports.import_missing(await up.groups.joined_group_ids(user_id), skip_being_erased=True)
        joined = await self.store.redis.hgetall(self.store.keys.user_groups(user_id))
        ordered = sorted(joined, key=lambda g: (int(joined[g]), g))
        return [g for g in await self.store.infos(ordered) if g is not None]

    async def get_joined_community_list(self, user_id: str) -> list[GroupInfo]:
        communities = [g for g in await self.get_joined_group_list(user_id) if g.groupType == COMMUNITY]
        return [g for g in communities if await self._lists_topics(g)]

    async def _lists_topics(self, group: GroupInfo) -> bool:
        """Whether the community has topics (`has_topics`: with an upstream, a community the mirror
        holds as having none is asked again); while the upstream cannot answer, as the mirror has
        it, rather than failing the whole list."""
        try:
            return await has_topics(self.store, group)
        except IMError:
            return group.isSupportTopic

    async def get_groups_info(self, group_ids: Sequence[str], viewer: str | None = None) -> list[GroupInfoResult]:
        """`viewer` (None: no one's view, as the app admin's): a Work group's profile is its members'
        only (Tencent's Private/Work group: invitation-only, not searchable), 10007 to others."""
        infos = await self.store.infos(group_ids)
        missing = [gid for gid, info in zip(group_ids, infos, strict=True) if info is None]
        if missing and active(self.store.upstream) is not None:
            await self.imports.import_missing(missing, skip_being_erased=True)
            infos = await self.store.infos(group_ids)
        private = [g.groupID for g in infos if g is not None and g.groupType == WORK]
        outsider = set(await self.store.non_members_of(private, viewer)) if viewer is not None else set()
        results = []
        for gid, info in zip(group_ids, infos, strict=True):
            if info is None:
                results.append(GroupInfoResult(resultCode=Code.ERR_GROUP_NOT_FOUND, resultMessage=f"no group {gid!r}"))
            elif info.groupID in outsider:
                results.append(
                    GroupInfoResult(
                        resultCode=Code.ERR_NO_PERMISSION,
                        resultMessage=f"{gid!r}: a Work group's profile is its members'",
                    )
                )
            else:
                results.append(GroupInfoResult(groupInfo=info))
        return results

    async def search_groups(self, user_id: str, keywords: Sequence[str], by_id: bool, by_name: bool) -> list[GroupInfo]:
        words = [k.casefold() for k in keywords]
        if not words or len(words) > SEARCH_KEYWORDS_MAX or not all(words):
            raise bad(f"searchParam.keywordList needs 1-{SEARCH_KEYWORDS_MAX} non-empty keywords")
        if not (by_id or by_name):
            raise bad("searchParam: search the group ID, the name, or both")
        found = []
        for group in await self.get_joined_group_list(user_id):
            fields = [f.casefold() for f, on in ((group.groupID, by_id), (group.groupName, by_name)) if on]
            if any(w in f for w in words for f in fields):
                found.append(group)
        return found

    async def set_group_info(
        self,
        user_id: str,
        group_id: str,
        changes: GroupInfoChanges,
        *,
        app_admin: bool = False,
        custom_info: dict[str, str] | None = None,
    ) -> None:
        """`custom_info` (server REST API only): the group's custom data; "" deletes a key."""
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            await self._set_group_info(user_id, group_id, changes, app_admin=app_admin, custom_info=custom_info)

    async def _set_group_info(
        self,
        user_id: str,
        group_id: str,
        changes: GroupInfoChanges,
        *,
        app_admin: bool,
        custom_info: dict[str, str] | None,
    ) -> None:
        s = self.store
        group = await s.info(group_id)
        check_profile_fields(changes.groupName, changes.notification, changes.introduction, changes.faceUrl)
        if changes.groupName == "":
            raise bad("groupName must not be empty")
        profile = [changes.groupName, changes.notification, changes.introduction, changes.faceUrl]
        if any(v is not None for v in profile) or custom_info:
            await s.authorize(Op.SET_INFO, group, user_id, app_admin)
        if changes.isAllMuted is not None or changes.addOpt is not None or changes.approveOpt is not None:
            await s.authorize(Op.MUTE_ALL, group, user_id, app_admin)
        if changes.approveOpt is not None and group.groupType in NO_INVITATIONS:
            raise bad(f"approveOpt: {group.groupType.value} groups take no invitations")
        if changes.addOpt is not None and group.groupType != PUBLIC:
            raise bad(f"addOpt: {group.groupType.value} groups' join rule is fixed")
        fields: dict[str, str | int] = {}
        infos: list[GroupChangeInfo] = []
        text_changes = (
            ("groupName", changes.groupName, GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_NAME),
            ("notification", changes.notification, GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_NOTIFICATION),
            ("introduction", changes.introduction, GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_INTRODUCTION),
            ("faceUrl", changes.faceUrl, GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_FACE_URL),
        )
        for field, value, kind in text_changes:
            if value is not None and value != getattr(group, field):
                fields[field] = value
                infos.append(GroupChangeInfo(type=kind, value=value))
        if changes.isAllMuted is not None and changes.isAllMuted != group.isAllMuted:
            fields["isAllMuted"] = "1" if changes.isAllMuted else "0"
            infos.append(
                GroupChangeInfo(
                    type=GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_SHUT_UP_ALL,
                    value="1" if changes.isAllMuted else "0",
                    boolValue=changes.isAllMuted,
                )
            )
        if changes.addOpt is not None and changes.addOpt != group.addOpt:
            fields["addOpt"] = int(changes.addOpt)
            infos.append(
                GroupChangeInfo(
                    type=GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_GROUP_ADD_OPT,
                    value=str(int(changes.addOpt)),
                    intValue=int(changes.addOpt),
                )
            )
        if changes.approveOpt is not None and changes.approveOpt != group.approveOpt:
            fields["approveOpt"] = int(changes.approveOpt)
        removed = await self._custom_changes(group_id, custom_info or {}, fields, infos)
        if not fields and not removed:
            return
        up = active(s.upstream)
        if up is not None:  # what changed, as the upstream keeps it
            await up.groups.set_group_info(group_id, _changed(changes, group))
        fields["lastInfoTime"] = s.now()
        pipe = s.redis.pipeline(transaction=True)
        pipe.hset(s.keys.group_info(group_id), mapping=fields)
        if removed:
            pipe.hdel(s.keys.group_info(group_id), *removed)
        await pipe.execute()
        if infos:
            await self.announce_info_change(await s.info(group_id), user_id, infos)

    async def _custom_changes(
        self, group_id: str, custom: dict[str, str], fields: dict[str, str | int], infos: list[GroupChangeInfo]
    ) -> list[str]:
        """Add the custom-data writes to `fields` and their change infos (type CUSTOM, with the key);
        answers the info-hash fields to delete (keys set to "")."""
        if not custom:
            return []
        current = await self.store.group_custom_info(group_id)
        removed = []
        for key, value in custom.items():
            if current.get(key, "") == value:
                continue
            if value:
                fields[CUSTOM_FIELD_PREFIX + key] = value
            else:
                removed.append(CUSTOM_FIELD_PREFIX + key)
            infos.append(
                GroupChangeInfo(type=GroupInfoChangeType.V2TIM_GROUP_INFO_CHANGE_TYPE_CUSTOM, key=key, value=value)
            )
        return removed

    async def announce_info_change(self, group: GroupInfo, op_user: str, infos: list[GroupChangeInfo]) -> None:
        s = self.store
        (op,) = await s.member_infos(group.groupID, [op_user])
        elem = GroupTipsElem(
            groupID=group.groupID,
            type=GroupTipsType.V2TIM_GROUP_TIPS_TYPE_GROUP_INFO_CHANGE,
            opMember=op,
            groupChangeInfoList=infos,
        )
        await s.tips(group, elem)
        await s.emit(group, OnGroupInfoChanged(groupID=group.groupID, groupChangeInfoList=infos))
        await s.callbacks.group_info_changed(group, op_user, infos)
