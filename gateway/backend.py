"""The IM backend interface: one method per SDK API, grouped by manager.

Two implementations sit behind it: the embedded engine (`gateway.engine`, IM semantics on Redis)
and the Tencent Cloud IM REST v4 adapter. Signatures use only domain objects (`gateway.im`) and
plain Python types: no Redis, no Strawberry, no httpx. Failures are `IMError`s; a backend never
lets a library exception escape.

Methods take the acting user first: the backend trusts it (the session layer authenticated it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.im.enums import ElemType, FriendAccept, FriendAddType, GetType, MessageOpt
from gateway.im.messages import Content, CreatedMessage, Message, ReceiveOpt, SendOptions, StoredMessage
from gateway.im.model import (
    FriendApplicationResult,
    FriendChanges,
    FriendCheckResult,
    FriendGroup,
    FriendInfo,
    FriendInfoResult,
    FriendOperationResult,
    FriendSearchParam,
    ProfileChanges,
    UserFullInfo,
)


class AccountManager(Protocol):
    """V2TIMManager's account and profile APIs."""

    async def ensure_account(self, user_id: str) -> None:
        """Create the account on first login (Tencent: account_import); idempotent."""
        ...

    async def get_users_info(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        """Profiles of the users that exist, in the order asked."""
        ...

    async def set_self_info(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        """Apply a profile change; tell the user's devices (onSelfInfoUpdated) and those who have
        them as a friend (onFriendInfoChanged)."""
        ...


class FriendshipManager(Protocol):
    """V2TIMFriendshipManager."""

    async def get_friend_list(self, user_id: str) -> list[FriendInfo]: ...

    async def get_friends_info(self, user_id: str, user_ids: Sequence[str]) -> list[FriendInfoResult]: ...

    async def set_friend_info(self, user_id: str, friend_id: str, changes: FriendChanges) -> None: ...

    async def search_friends(self, user_id: str, param: FriendSearchParam) -> list[FriendInfoResult]: ...

    async def add_friend(
        self,
        user_id: str,
        target: str,
        add_type: FriendAddType,
        *,
        remark: str = "",
        add_wording: str = "",
        add_source: str = "",
        friend_group: str = "",
    ) -> FriendOperationResult: ...

    async def delete_from_friend_list(
        self, user_id: str, user_ids: Sequence[str], delete_type: FriendAddType
    ) -> list[FriendOperationResult]: ...

    async def check_friend(
        self, user_id: str, user_ids: Sequence[str], check_type: FriendAddType
    ) -> list[FriendCheckResult]: ...

    async def get_friend_application_list(self, user_id: str) -> FriendApplicationResult: ...

    async def accept_friend_application(
        self, user_id: str, applicant: str, response: FriendAccept
    ) -> FriendOperationResult: ...

    async def refuse_friend_application(self, user_id: str, applicant: str) -> FriendOperationResult: ...

    async def delete_friend_application(self, user_id: str, other: str) -> None: ...

    async def set_friend_application_read(self, user_id: str) -> None: ...

    async def add_to_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]: ...

    async def delete_from_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]: ...

    async def get_black_list(self, user_id: str) -> list[FriendInfo]: ...

    async def create_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]: ...

    async def get_friend_groups(self, user_id: str, names: Sequence[str] | None) -> list[FriendGroup]: ...

    async def delete_friend_group(self, user_id: str, names: Sequence[str]) -> None: ...

    async def rename_friend_group(self, user_id: str, old: str, new: str) -> None: ...

    async def add_friends_to_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]: ...

    async def delete_friends_from_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]: ...


class MessageManager(Protocol):
    """V2TIMMessageManager (C2C so far; group messages arrive with groups)."""

    async def create(
        self, user_id: str, content: Content, *, at_users: Sequence[str] = (), targets: Sequence[str] = ()
    ) -> CreatedMessage: ...

    async def send_c2c(
        self, user_id: str, session_id: str, created_id: str, receiver: str, options: SendOptions
    ) -> Message: ...

    async def load_visible(self, user_id: str, msg_id: str, arg: str = "msgID") -> StoredMessage: ...

    async def find_messages(self, user_id: str, msg_ids: Sequence[str]) -> list[Message]: ...

    async def c2c_history(
        self,
        user_id: str,
        peer: str,
        count: int,
        *,
        get_type: GetType = GetType.V2TIM_GET_CLOUD_OLDER_MSG,
        last_msg_id: str | None = None,
        message_types: Sequence[ElemType] = (),
        time_begin: int = 0,
        time_period: int = 0,
    ) -> list[Message]: ...

    async def revoke(self, user_id: str, session_id: str, msg_id: str) -> None: ...

    async def modify(
        self, user_id: str, session_id: str, msg_id: str, content: Content | None, cloud_custom_data: str | None
    ) -> Message: ...

    async def mark_c2c_read(self, user_id: str, peer: str) -> None: ...

    async def delete_for_me(self, user_id: str, msg_id: str) -> None: ...

    async def clear_c2c_history(self, user_id: str, peer: str) -> None: ...

    async def insert_c2c_local(self, user_id: str, peer: str, sender: str, content: Content) -> Message: ...

    async def set_c2c_receive_opt(self, user_id: str, user_ids: Sequence[str], opt: MessageOpt) -> None: ...

    async def get_c2c_receive_opt(self, user_id: str, user_ids: Sequence[str]) -> list[ReceiveOpt]: ...

    async def group_exists(self, group_id: str) -> bool: ...


class IMBackend(Protocol):
    """A whole backend: one part per manager."""

    @property
    def name(self) -> str: ...

    @property
    def accounts(self) -> AccountManager: ...

    @property
    def friendship(self) -> FriendshipManager: ...

    @property
    def messages(self) -> MessageManager: ...

    async def ping(self) -> None:
        """Raise IMError when the backend cannot be reached (reported as onConnectFailed)."""
        ...

    async def close(self) -> None: ...
