"""The embedded GroupManager: one object over the group parts (life, members, applications, extras).

Each part is built with the one GroupStore it reads and tells through (and members and
applications with the lifecycle part, which announces joins); this facade builds them and
delegates to them. With an upstream IM server (gateway.upstream), SDK users' writes go there
first and groups it has that the mirror lacks are imported (GroupImports)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.errors import maps_store_errors
from gateway.engine.friendship import Friendship
from gateway.engine.groups.applications import GroupApplications
from gateway.engine.groups.eraser import GroupEraser
from gateway.engine.groups.extras import GroupExtras
from gateway.engine.groups.imports import GroupImports
from gateway.engine.groups.lifecycle import GroupLifecycle
from gateway.engine.groups.members import GroupMembers
from gateway.engine.groups.store import GroupStore
from gateway.engine.groups.topic_mutes import TopicConversations, as_seen_by
from gateway.engine.profiles import Profiles
from gateway.engine.retention import MessageRetention
from gateway.events.bus import EventBus
from gateway.im.enums import GroupAdd, GroupMemberFilter, GroupMemberRole, GroupType
from gateway.im.groups import (
    CreateGroupMember,
    GroupApplicationResult,
    GroupCounter,
    GroupInfo,
    GroupInfoChanges,
    GroupInfoResult,
    GroupMemberFullInfo,
    GroupMemberPage,
    GroupOperationResult,
    TopicInfo,
    TopicInfoResult,
    TopicOperationResult,
)
from gateway.keys import Keys
from gateway.upstream import Upstream


@maps_store_errors
class EmbeddedGroups:
    """gateway.backend.GroupManager (and the group parts of Housekeeping) by delegation."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        friendship: Friendship,
        announcer: Announcer,
        topic_conversations: TopicConversations,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
        on_erased: Callable[[int], None] | None = None,
    ) -> None:
        timelines = MessageRetention(redis, keys)
        self.store = store = GroupStore(
            redis, keys, bus, clock, profiles, friendship, announcer, callbacks, upstream, timelines=timelines
        )
        self.imports = GroupImports(store)
        # dismissed groups' and deleted topics' history, erased in the background (the gateway runs
        # its GroupEraserLoop); `on_erased` counts the messages erased (imql_group_messages_erased)
        self.eraser = GroupEraser(store, timelines, on_erased=on_erased)
        self.lifecycle = GroupLifecycle(store, self.imports, self.eraser)
        self.members = GroupMembers(store, self.lifecycle)
        self.applications = GroupApplications(store, self.lifecycle)
        self.extras = GroupExtras(store, self.eraser)
        # a reader's topic conversations (receive option, unread count, last message) for
        # getTopicInfoList: the conversation views, which the engine's backend builds before the
        # groups (required: without them every topic would read as all read, with no message)
        self.topic_conversations = topic_conversations

    async def know_groups(
        self, group_ids: Sequence[str], *, joined: Sequence[str] = (), operator: str = "", by_self: bool = False
    ) -> None:
        """`GroupManager.know_groups`: an imported group's members that the upstream reports as
        just joined are announced (tips and events) as their joining would be here."""
        for gid in await self.imports.import_missing(group_ids):
            present = [uid for uid in dict.fromkeys(joined) if await self.store.member(gid, uid) is not None]
            if not present:
                continue
            group = await self.store.info(gid)
            if by_self:
                for uid in present:
                    await self.lifecycle.announce_entered(group, uid)
            else:
                await self.lifecycle.announce_invited(group, operator, present)

    # ---- life: creating, joining, leaving, dismissing, profiles (GroupLifecycle) ------------------------------------
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
        return await self.lifecycle.create_group(
            user_id,
            group_type,
            group_id,
            group_name,
            notification=notification,
            introduction=introduction,
            face_url=face_url,
            add_opt=add_opt,
            approve_opt=approve_opt,
            is_all_muted=is_all_muted,
            is_support_topic=is_support_topic,
            members=members,
            operator=operator,
            max_members=max_members,
            custom_info=custom_info,
        )

    async def join_group(self, user_id: str, group_id: str, message: str) -> None:
        await self.lifecycle.join_group(user_id, group_id, message)

    async def quit_group(self, user_id: str, group_id: str) -> None:
        await self.lifecycle.quit_group(user_id, group_id)

    async def dismiss_group(self, user_id: str, group_id: str, *, app_admin: bool = False) -> None:
        await self.lifecycle.dismiss_group(user_id, group_id, app_admin=app_admin)

    async def send_group_system_notification(
        self, group_id: str, content: str, to_members: Sequence[str] | None = None
    ) -> None:
        await self.lifecycle.send_group_system_notification(group_id, content, to_members)

    async def recycle_idle_groups(self, idle_seconds: int) -> list[str]:
        return await self.lifecycle.recycle_idle_groups(idle_seconds)

    async def get_joined_group_list(self, user_id: str) -> list[GroupInfo]:
        return await self.lifecycle.get_joined_group_list(user_id)

    async def get_joined_community_list(self, user_id: str) -> list[GroupInfo]:
        return await self.lifecycle.get_joined_community_list(user_id)

    async def get_groups_info(self, group_ids: Sequence[str], viewer: str | None = None) -> list[GroupInfoResult]:
        return await self.lifecycle.get_groups_info(group_ids, viewer)

    async def search_groups(self, user_id: str, keywords: Sequence[str], by_id: bool, by_name: bool) -> list[GroupInfo]:
        return await self.lifecycle.search_groups(user_id, keywords, by_id, by_name)

    async def set_group_info(
        self,
        user_id: str,
        group_id: str,
        changes: GroupInfoChanges,
        *,
        app_admin: bool = False,
        custom_info: dict[str, str] | None = None,
    ) -> None:
        await self.lifecycle.set_group_info(user_id, group_id, changes, app_admin=app_admin, custom_info=custom_info)

    # ---- members (GroupMembers) -------------------------------------------------------------------------------------
    async def get_group_member_list(
        self, user_id: str, group_id: str, member_filter: GroupMemberFilter, next_seq: int
    ) -> GroupMemberPage:
        return await self.members.get_group_member_list(user_id, group_id, member_filter, next_seq)

    async def get_group_members_info(
        self, user_id: str, group_id: str, member_ids: Sequence[str]
    ) -> list[GroupMemberFullInfo]:
        return await self.members.get_group_members_info(user_id, group_id, member_ids)

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
        return await self.members.search_group_members(
            user_id,
            keywords,
            group_ids,
            by_user_id=by_user_id,
            by_nick_name=by_nick_name,
            by_remark=by_remark,
            by_name_card=by_name_card,
        )

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
        await self.members.set_group_member_info(user_id, group_id, target, name_card, custom_info, app_admin=app_admin)

    async def mute_group_member(
        self, user_id: str, group_id: str, target: str, seconds: int, *, app_admin: bool = False
    ) -> None:
        await self.members.mute_group_member(user_id, group_id, target, seconds, app_admin=app_admin)

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
        return await self.members.invite_user_to_group(
            user_id, group_id, user_ids, app_admin=app_admin, silent=silent, entered=entered
        )

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
        return await self.members.kick_group_member(
            user_id, group_id, member_ids, reason, app_admin=app_admin, silent=silent
        )

    async def set_group_member_role(
        self, user_id: str, group_id: str, target: str, role: GroupMemberRole, *, app_admin: bool = False
    ) -> None:
        await self.members.set_group_member_role(user_id, group_id, target, role, app_admin=app_admin)

    async def mark_group_member_list(
        self, user_id: str, group_id: str, member_ids: Sequence[str], mark_type: int, enable: bool
    ) -> None:
        await self.members.mark_group_member_list(user_id, group_id, member_ids, mark_type, enable)

    async def transfer_group_owner(self, user_id: str, group_id: str, target: str, *, app_admin: bool = False) -> None:
        await self.members.transfer_group_owner(user_id, group_id, target, app_admin=app_admin)

    async def get_group_online_member_count(self, user_id: str, group_id: str) -> int:
        return await self.members.get_group_online_member_count(user_id, group_id)

    async def presence_changed(self, user_id: str, online: bool) -> None:
        await self.members.presence_changed(user_id, online)

    async def presence_changed_many(self, changes: Sequence[tuple[str, bool]]) -> None:
        await self.members.presence_changed_many(changes)

    # ---- join applications (GroupApplications) ----------------------------------------------------------------------
    async def get_group_application_list(self, user_id: str) -> GroupApplicationResult:
        return await self.applications.get_group_application_list(user_id)

    async def accept_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None:
        await self.applications.accept_group_application(user_id, group_id, from_user, to_user, reason)

    async def refuse_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None:
        await self.applications.refuse_group_application(user_id, group_id, from_user, to_user, reason)

    async def set_group_application_read(self, user_id: str) -> None:
        await self.applications.set_group_application_read(user_id)

    # ---- attributes, counters, topics (GroupExtras) -----------------------------------------------------------------
    async def init_group_attributes(
        self, user_id: str, group_id: str, attributes: dict[str, str], *, app_admin: bool = False
    ) -> None:
        await self.extras.init_group_attributes(user_id, group_id, attributes, app_admin=app_admin)

    async def set_group_attributes(
        self, user_id: str, group_id: str, attributes: dict[str, str], *, app_admin: bool = False
    ) -> None:
        await self.extras.set_group_attributes(user_id, group_id, attributes, app_admin=app_admin)

    async def delete_group_attributes(
        self, user_id: str, group_id: str, keys: Sequence[str] | None, *, app_admin: bool = False
    ) -> None:
        await self.extras.delete_group_attributes(user_id, group_id, keys, app_admin=app_admin)

    async def get_group_attributes(
        self, user_id: str, group_id: str, keys: Sequence[str] | None, *, app_admin: bool = False
    ) -> dict[str, str]:
        return await self.extras.get_group_attributes(user_id, group_id, keys, app_admin=app_admin)

    async def set_group_counters(
        self, user_id: str, group_id: str, counters: dict[str, int], *, app_admin: bool = False
    ) -> list[GroupCounter]:
        return await self.extras.set_group_counters(user_id, group_id, counters, app_admin=app_admin)

    async def get_group_counters(
        self, user_id: str, group_id: str, keys: Sequence[str] | None, *, app_admin: bool = False
    ) -> list[GroupCounter]:
        return await self.extras.get_group_counters(user_id, group_id, keys, app_admin=app_admin)

    async def change_group_counter(
        self, user_id: str, group_id: str, name: str, delta: int, *, app_admin: bool = False
    ) -> list[GroupCounter]:
        return await self.extras.change_group_counter(user_id, group_id, name, delta, app_admin=app_admin)

    async def change_group_counters(
        self, user_id: str, group_id: str, deltas: Sequence[tuple[str, int]], *, app_admin: bool = False
    ) -> list[GroupCounter]:
        return await self.extras.change_group_counters(user_id, group_id, deltas, app_admin=app_admin)

    async def delete_group_counters(
        self, user_id: str, group_id: str, keys: Sequence[str], *, app_admin: bool = False
    ) -> list[str]:
        return await self.extras.delete_group_counters(user_id, group_id, keys, app_admin=app_admin)

    async def create_topic_in_community(
        self, user_id: str, group_id: str, info: TopicInfo, *, app_admin: bool = False
    ) -> str:
        return await self.extras.create_topic_in_community(user_id, group_id, info, app_admin=app_admin)

    async def delete_topic_from_community(
        self, user_id: str, group_id: str, topic_ids: Sequence[str], *, app_admin: bool = False
    ) -> list[TopicOperationResult]:
        return await self.extras.delete_topic_from_community(user_id, group_id, topic_ids, app_admin=app_admin)

    async def set_topic_info(self, user_id: str, group_id: str, info: TopicInfo, *, app_admin: bool = False) -> None:
        await self.extras.set_topic_info(user_id, group_id, info, app_admin=app_admin)

    async def get_topic_info_list(
        self, user_id: str, group_id: str, topic_ids: Sequence[str] | None, *, app_admin: bool = False
    ) -> list[TopicInfoResult]:
        """A member reads each topic with their own state in it (`TopicView`: their mute time,
        receive option, unread count and last message there); the app admin, no member, reads the
        topics alone."""
        found = await self.extras.get_topic_info_list(user_id, group_id, topic_ids, app_admin=app_admin)
        if app_admin:
            return found
        return await as_seen_by(self.store, group_id, found, user_id, self.topic_conversations)

    async def know_topics(self, group_id: str, topic_ids: Sequence[str], viewer: str = "") -> list[str]:
        return await self.extras.know_topics(group_id, topic_ids, viewer)
