"""The friendship part of IMSession: V2TIMFriendshipManager for the logged-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.ids import check_user_id, check_user_id_list
from gateway.im.enums import FriendAccept, FriendAddType
from gateway.im.model import (
    FriendApplicationResult,
    FriendChanges,
    FriendCheckResult,
    FriendGroup,
    FriendInfo,
    FriendInfoResult,
    FriendOperationResult,
    FriendSearchParam,
)

if TYPE_CHECKING:
    from gateway.backend import FriendshipManager


class FriendshipSession:
    """Mixed into IMSession, which sets both attributes."""

    user_id: str
    _friends: FriendshipManager

    async def get_friend_list(self) -> list[FriendInfo]:
        return await self._friends.get_friend_list(self.user_id)

    async def get_friends_info(self, user_ids: list[str]) -> list[FriendInfoResult]:
        return await self._friends.get_friends_info(self.user_id, check_user_id_list(user_ids))

    async def set_friend_info(self, friend_id: str, changes: FriendChanges) -> None:
        await self._friends.set_friend_info(self.user_id, check_user_id(friend_id), changes)

    async def search_friends(self, param: FriendSearchParam) -> list[FriendInfoResult]:
        return await self._friends.search_friends(self.user_id, param)

    async def add_friend(
        self, target: str, add_type: FriendAddType, remark: str, add_wording: str, add_source: str, friend_group: str
    ) -> FriendOperationResult:
        return await self._friends.add_friend(
            self.user_id,
            check_user_id(target),
            add_type,
            remark=remark,
            add_wording=add_wording,
            add_source=add_source,
            friend_group=friend_group,
        )

    async def delete_from_friend_list(
        self, user_ids: list[str], delete_type: FriendAddType
    ) -> list[FriendOperationResult]:
        return await self._friends.delete_from_friend_list(self.user_id, check_user_id_list(user_ids), delete_type)

    async def check_friend(self, user_ids: list[str], check_type: FriendAddType) -> list[FriendCheckResult]:
        return await self._friends.check_friend(self.user_id, check_user_id_list(user_ids), check_type)

    async def get_friend_application_list(self) -> FriendApplicationResult:
        return await self._friends.get_friend_application_list(self.user_id)

    async def accept_friend_application(self, applicant: str, response: FriendAccept) -> FriendOperationResult:
        return await self._friends.accept_friend_application(self.user_id, check_user_id(applicant), response)

    async def refuse_friend_application(self, applicant: str) -> FriendOperationResult:
        return await self._friends.refuse_friend_application(self.user_id, check_user_id(applicant))

    async def delete_friend_application(self, other: str) -> None:
        await self._friends.delete_friend_application(self.user_id, check_user_id(other))

    async def set_friend_application_read(self) -> None:
        await self._friends.set_friend_application_read(self.user_id)

    async def add_to_black_list(self, user_ids: list[str]) -> list[FriendOperationResult]:
        return await self._friends.add_to_black_list(self.user_id, check_user_id_list(user_ids))

    async def delete_from_black_list(self, user_ids: list[str]) -> list[FriendOperationResult]:
        return await self._friends.delete_from_black_list(self.user_id, check_user_id_list(user_ids))

    async def get_black_list(self) -> list[FriendInfo]:
        return await self._friends.get_black_list(self.user_id)

    async def create_friend_group(self, name: str, user_ids: list[str]) -> list[FriendOperationResult]:
        return await self._friends.create_friend_group(
            self.user_id, name, check_user_id_list(user_ids, allow_empty=True)
        )

    async def get_friend_groups(self, names: list[str] | None) -> list[FriendGroup]:
        return await self._friends.get_friend_groups(self.user_id, names)

    async def delete_friend_group(self, names: list[str]) -> None:
        await self._friends.delete_friend_group(self.user_id, names)

    async def rename_friend_group(self, old: str, new: str) -> None:
        await self._friends.rename_friend_group(self.user_id, old, new)

    async def add_friends_to_friend_group(self, name: str, user_ids: list[str]) -> list[FriendOperationResult]:
        return await self._friends.add_friends_to_friend_group(self.user_id, name, check_user_id_list(user_ids))

    async def delete_friends_from_friend_group(self, name: str, user_ids: list[str]) -> list[FriendOperationResult]:
        return await self._friends.delete_friends_from_friend_group(self.user_id, name, check_user_id_list(user_ids))
