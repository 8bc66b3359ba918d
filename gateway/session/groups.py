"""The group part of IMSession: V2TIMGroupManager and V2TIMManager's group APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.errors import invalid
from gateway.ids import check_group_id, check_group_id_list, check_user_id, check_user_id_list
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

if TYPE_CHECKING:
    from gateway.backend import GroupManager


class GroupSession:
    """Mixed into IMSession, which sets these attributes."""

    user_id: str
    _groups: GroupManager

    async def create_group(
        self,
        group_type: GroupType,
        group_id: str | None,
        group_name: str,
        *,
        notification: str,
        introduction: str,
        face_url: str,
        add_opt: GroupAdd | None,
        approve_opt: GroupAdd | None,
        is_all_muted: bool,
        is_support_topic: bool,
        members: list[CreateGroupMember],
    ) -> str:
        check_user_id_list([m.userID for m in members], "memberListMap", allow_empty=True)
        return await self._groups.create_group(
            self.user_id,
            group_type,
            group_id or None,
            group_name,
            notification=notification,
            introduction=introduction,
            face_url=face_url,
            add_opt=add_opt,
            approve_opt=approve_opt,
            is_all_muted=is_all_muted,
            is_support_topic=is_support_topic,
            members=members,
        )

    async def join_group(self, group_id: str, message: str) -> None:
        await self._groups.join_group(self.user_id, check_group_id(group_id), message)

    async def quit_group(self, group_id: str) -> None:
        await self._groups.quit_group(self.user_id, check_group_id(group_id))

    async def dismiss_group(self, group_id: str) -> None:
        await self._groups.dismiss_group(self.user_id, check_group_id(group_id))

    async def get_joined_group_list(self) -> list[GroupInfo]:
        return await self._groups.get_joined_group_list(self.user_id)

    async def get_joined_community_list(self) -> list[GroupInfo]:
        return await self._groups.get_joined_community_list(self.user_id)

    async def get_groups_info(self, group_ids: list[str]) -> list[GroupInfoResult]:
        if not group_ids:
            raise invalid("groupIDList is empty")
        return await self._groups.get_groups_info(check_group_id_list(group_ids), self.user_id)

    async def search_groups(self, keywords: list[str], by_id: bool, by_name: bool) -> list[GroupInfo]:
        return await self._groups.search_groups(self.user_id, keywords, by_id, by_name)

    async def set_group_info(self, group_id: str, changes: GroupInfoChanges) -> None:
        await self._groups.set_group_info(self.user_id, check_group_id(group_id), changes)

    async def get_group_member_list(
        self, group_id: str, member_filter: GroupMemberFilter, next_seq: int
    ) -> GroupMemberPage:
        if next_seq < 0:
            raise invalid("nextSeq must be 0 or a nextSeq a previous page returned")
        return await self._groups.get_group_member_list(self.user_id, check_group_id(group_id), member_filter, next_seq)

    async def get_group_members_info(self, group_id: str, member_ids: list[str]) -> list[GroupMemberFullInfo]:
        return await self._groups.get_group_members_info(
            self.user_id, check_group_id(group_id), check_user_id_list(member_ids, "memberList")
        )

    async def search_group_members(
        self,
        keywords: list[str],
        group_ids: list[str] | None,
        by_user_id: bool,
        by_nick_name: bool,
        by_remark: bool,
        by_name_card: bool,
    ) -> list[GroupMemberFullInfo]:
        return await self._groups.search_group_members(
            self.user_id,
            keywords,
            check_group_id_list(group_ids) if group_ids else None,
            by_user_id=by_user_id,
            by_nick_name=by_nick_name,
            by_remark=by_remark,
            by_name_card=by_name_card,
        )

    async def set_group_member_info(
        self, group_id: str, target: str, name_card: str | None, custom_info: dict[str, str] | None
    ) -> None:
        await self._groups.set_group_member_info(
            self.user_id, check_group_id(group_id), check_user_id(target), name_card, custom_info
        )

    async def mute_group_member(self, group_id: str, target: str, seconds: int) -> None:
        await self._groups.mute_group_member(self.user_id, check_group_id(group_id), check_user_id(target), seconds)

    async def invite_user_to_group(self, group_id: str, user_ids: list[str]) -> list[GroupOperationResult]:
        return await self._groups.invite_user_to_group(
            self.user_id, check_group_id(group_id), check_user_id_list(user_ids, "userList")
        )

    async def kick_group_member(self, group_id: str, member_ids: list[str], reason: str) -> list[GroupOperationResult]:
        return await self._groups.kick_group_member(
            self.user_id, check_group_id(group_id), check_user_id_list(member_ids, "memberList"), reason
        )

    async def set_group_member_role(self, group_id: str, target: str, role: GroupMemberRole) -> None:
        await self._groups.set_group_member_role(self.user_id, check_group_id(group_id), check_user_id(target), role)

    async def mark_group_member_list(self, group_id: str, member_ids: list[str], mark_type: int, enable: bool) -> None:
        await self._groups.mark_group_member_list(
            self.user_id, check_group_id(group_id), check_user_id_list(member_ids, "memberIDList"), mark_type, enable
        )

    async def transfer_group_owner(self, group_id: str, target: str) -> None:
        await self._groups.transfer_group_owner(self.user_id, check_group_id(group_id), check_user_id(target))

    async def get_group_online_member_count(self, group_id: str) -> int:
        return await self._groups.get_group_online_member_count(self.user_id, check_group_id(group_id))

    async def get_group_application_list(self) -> GroupApplicationResult:
        return await self._groups.get_group_application_list(self.user_id)

    async def accept_group_application(self, group_id: str, from_user: str, to_user: str, reason: str) -> None:
        await self._groups.accept_group_application(
            self.user_id, check_group_id(group_id), check_user_id(from_user, "fromUser"), to_user, reason
        )

    async def refuse_group_application(self, group_id: str, from_user: str, to_user: str, reason: str) -> None:
        await self._groups.refuse_group_application(
            self.user_id, check_group_id(group_id), check_user_id(from_user, "fromUser"), to_user, reason
        )

    async def set_group_application_read(self) -> None:
        await self._groups.set_group_application_read(self.user_id)

    async def init_group_attributes(self, group_id: str, attributes: dict[str, str]) -> None:
        await self._groups.init_group_attributes(self.user_id, check_group_id(group_id), attributes)

    async def set_group_attributes(self, group_id: str, attributes: dict[str, str]) -> None:
        await self._groups.set_group_attributes(self.user_id, check_group_id(group_id), attributes)

    async def delete_group_attributes(self, group_id: str, keys: list[str] | None) -> None:
        await self._groups.delete_group_attributes(self.user_id, check_group_id(group_id), keys)

    async def get_group_attributes(self, group_id: str, keys: list[str] | None) -> dict[str, str]:
        return await self._groups.get_group_attributes(self.user_id, check_group_id(group_id), keys)

    async def set_group_counters(self, group_id: str, counters: dict[str, int]) -> list[GroupCounter]:
        return await self._groups.set_group_counters(self.user_id, check_group_id(group_id), counters)

    async def get_group_counters(self, group_id: str, keys: list[str] | None) -> list[GroupCounter]:
        return await self._groups.get_group_counters(self.user_id, check_group_id(group_id), keys)

    async def change_group_counter(self, group_id: str, key: str, delta: int) -> list[GroupCounter]:
        return await self._groups.change_group_counter(self.user_id, check_group_id(group_id), key, delta)

    async def create_topic_in_community(self, group_id: str, info: TopicInfo) -> str:
        return await self._groups.create_topic_in_community(self.user_id, check_group_id(group_id), info)

    async def delete_topic_from_community(self, group_id: str, topic_ids: list[str]) -> list[TopicOperationResult]:
        return await self._groups.delete_topic_from_community(self.user_id, check_group_id(group_id), topic_ids)

    async def set_topic_info(self, group_id: str, info: TopicInfo) -> None:
        await self._groups.set_topic_info(self.user_id, check_group_id(group_id), info)

    async def get_topic_info_list(self, group_id: str, topic_ids: list[str] | None) -> list[TopicInfoResult]:
        return await self._groups.get_topic_info_list(self.user_id, check_group_id(group_id), topic_ids)
