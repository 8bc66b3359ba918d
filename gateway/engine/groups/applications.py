"""Group applications: join requests to approval groups and invitations awaiting the invitee."""

from __future__ import annotations

from gateway.engine.groups.imports import known
from gateway.engine.groups.lifecycle import GroupLifecycle, require_added
from gateway.engine.groups.permissions import Op, require
from gateway.engine.groups.store import ADMIN, MEMBER, OWNER, ApplicationRecord, GroupStore, app_dec, bad, member_enc
from gateway.errors import Code, IMError
from gateway.im.enums import (
    GroupApplicationHandleResult,
    GroupApplicationHandleStatus,
    GroupApplicationType,
)
from gateway.im.events import OnApplicationProcessed
from gateway.im.groups import GroupApplication, GroupApplicationResult
from gateway.upstream import active

APPLICATIONS_SHOWN = 100


class GroupApplications:
    def __init__(self, store: GroupStore, lifecycle: GroupLifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle

    async def get_group_application_list(self, user_id: str) -> GroupApplicationResult:
        s = self.store
        found: list[GroupApplication] = []
        managed = []
        joined = await s.redis.hkeys(s.keys.user_groups(user_id))
        for gid in joined:
            record = await s.member(gid, user_id)
            if record is not None and record.role in (int(OWNER), int(ADMIN)):
                managed.append(gid)
        for gid in managed:
            for key, raw in (await s.redis.hgetall(s.keys.group_applications(gid))).items():
                if key.startswith("join:"):
                    found.append(
                        self._view(
                            gid,
                            app_dec.decode(raw),
                            GroupApplicationType.V2TIM_GROUP_APPLICATION_GET_TYPE_JOIN,
                            user_id,
                        )
                    )
        for gid in await s.redis.smembers(s.keys.user_group_invitations(user_id)):
            raw = await s.redis.hget(s.keys.group_applications(gid), f"invite:{user_id}")
            if raw:
                found.append(
                    self._view(
                        gid, app_dec.decode(raw), GroupApplicationType.V2TIM_GROUP_APPLICATION_GET_TYPE_INVITE, user_id
                    )
                )
        read_at = int(await s.redis.get(s.keys.group_applications_read_at(user_id)) or 0)
        found.sort(key=lambda a: (-a.addTime, a.groupID, a.fromUser))
        profiles = {p.userID: p for p in await s.profiles.get(sorted({a.fromUser for a in found}))}
        for app in found:
            profile = profiles.get(app.fromUser)
            if profile:
                app.fromUserNickName, app.fromUserFaceUrl = profile.nickName, profile.faceUrl
        unread = sum(
            1
            for a in found
            if a.addTime > read_at
            and a.handleStatus == GroupApplicationHandleStatus.V2TIM_GROUP_APPLICATION_HANDLE_STATUS_UNHANDLED
        )
        return GroupApplicationResult(unreadCount=unread, groupApplicationList=found[:APPLICATIONS_SHOWN])

    @staticmethod
    def _view(group_id: str, record: ApplicationRecord, kind: GroupApplicationType, viewer: str) -> GroupApplication:
        if not record.handledBy:
            status = GroupApplicationHandleStatus.V2TIM_GROUP_APPLICATION_HANDLE_STATUS_UNHANDLED
        elif record.handledBy == viewer:
            status = GroupApplicationHandleStatus.V2TIM_GROUP_APPLICATION_HANDLE_STATUS_HANDLED_BY_SELF
        else:
            status = GroupApplicationHandleStatus.V2TIM_GROUP_APPLICATION_HANDLE_STATUS_HANDLED_BY_OTHER
        return GroupApplication(
            groupID=group_id,
            fromUser=record.fromUser,
            toUser=record.toUser,
            addTime=record.addTime,
            requestMsg=record.requestMsg,
            handledMsg=record.handledMsg,
            type=kind,
            handleStatus=status,
            handleResult=GroupApplicationHandleResult.V2TIM_GROUP_APPLICATION_HANDLE_RESULT_AGREE
            if record.agreed
            else GroupApplicationHandleResult.V2TIM_GROUP_APPLICATION_HANDLE_RESULT_REFUSE,
        )

    async def _handle(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str, agree: bool
    ) -> None:
        await known(self.store, group_id)
        async with self.store.changing(group_id):
            await self._handle_now(user_id, group_id, from_user, to_user, reason, agree)

    async def _handle_now(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str, agree: bool
    ) -> None:
        """Applications are kept here only (an upstream has none, MAPPING.md #81-83): an accepted one
        adds the member upstream first, a refused one changes nothing there."""
        s = self.store
        group = await s.info(group_id)
        apps = s.keys.group_applications(group_id)
        invitation = to_user == user_id and await s.redis.hexists(apps, f"invite:{user_id}")
        key = f"invite:{user_id}" if invitation else f"join:{from_user}"
        raw = await s.redis.hget(apps, key)
        if raw is None:
            raise bad(f"no application from {from_user!r} to {group_id!r}")
        record = app_dec.decode(raw)
        if record.handledBy:
            raise IMError(Code.ERR_GROUP_APPLICATION_HANDLED, "this application was already handled")
        if not invitation:
            require(Op.HANDLE_APPLICATION, await s.role_of(group, user_id), group.groupType)
        joiner = user_id if invitation else from_user
        joining = agree and await s.member(group_id, joiner) is None
        if joining:
            await s.check_cap(group, 1)
            up = active(s.upstream)
            if up is not None:
                await require_added(up, group_id, [joiner])
        # the member first: a group that filled up meanwhile (joins take no turn) refuses the add
        # (10014), and the application stays unhandled rather than be spent on a member never made
        added = await s.add_members(group, [(joiner, MEMBER)]) if joining else []
        record.handledBy, record.handledMsg, record.agreed = user_id, reason, agree
        await s.redis.hset(apps, key, member_enc.encode(record))
        if invitation:
            await s.redis.srem(s.keys.user_group_invitations(user_id), group_id)
        if joining:
            group = await s.info(group_id)
            if invitation:
                await self.lifecycle.announce_invited(group, record.fromUser, added)
            else:
                await self.lifecycle.announce_entered(group, joiner)
        if not invitation:
            (handler,) = await s.member_infos(group_id, [user_id])
            event = OnApplicationProcessed(groupID=group_id, opUser=handler, opReason=reason, isAgreeJoin=agree)
            await s.bus.publish([from_user], event)

    async def accept_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None:
        await self._handle(user_id, group_id, from_user, to_user, reason, True)

    async def refuse_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None:
        await self._handle(user_id, group_id, from_user, to_user, reason, False)

    async def set_group_application_read(self, user_id: str) -> None:
        await self.store.redis.set(
            self.store.keys.group_applications_read_at(user_id), int(self.store.clock.now() * 1000)
        )
