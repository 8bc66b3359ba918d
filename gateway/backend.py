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

from gateway.im.conversations import (
    Conversation,
    ConversationFilter,
    ConversationOperationResult,
    ConversationPage,
)
from gateway.im.enums import (
    ElemType,
    FriendAccept,
    FriendAddType,
    GetType,
    GroupAdd,
    GroupMemberFilter,
    GroupMemberRole,
    GroupType,
    MessageOpt,
)
from gateway.im.events import IMEvent
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
from gateway.im.messages import (
    Content,
    CreatedMessage,
    GroupMessageReadMembers,
    Message,
    MessageExtension,
    MessageExtensionResult,
    MessageReceipt,
    MessageSearchResult,
    OfflinePushInfo,
    ReceiveOpt,
    SearchParam,
    SendOptions,
    StoredMessage,
)
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
from gateway.im.signaling import SignalingInfo


class AccountManager(Protocol):
    """V2TIMManager's account and profile APIs."""

    async def exists(self, user_ids: Sequence[str]) -> list[bool]:
        """For each user, whether the account exists (imported or logged in once)."""
        ...

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


class ConversationObserver(Protocol):
    """Follows one user's conversationListener subscription: the conversation notices a backend
    derives from message events (events stored once for a whole group carry none of their own),
    and the unread totals a conversation change moved."""

    async def start(self) -> None:
        """Take the baseline totals (the first `unread_changes` compares with them)."""
        ...

    async def derive(self, event: IMEvent, from_group_stream: bool, notice: str) -> list[IMEvent]:
        """Conversation events for this user from a message event of another listener: `notice`
        is the entry's own conversation notice (gateway.events.bus.CONVERSATION_NEW / _CHANGED)
        or "", and `from_group_stream` says the event came from a group's shared stream."""
        ...

    async def unread_changes(self) -> list[IMEvent]:
        """onTotalUnreadMessageCountChanged / onUnreadMessageCountChangedByFilter for the totals
        that differ from what this observer last reported."""
        ...


class MessageManager(Protocol):
    """V2TIMMessageManager: C2C and group messages."""

    async def create_message(
        self, user_id: str, content: Content, *, at_users: Sequence[str] = (), targets: Sequence[str] = ()
    ) -> CreatedMessage: ...

    async def send_c2c_message(
        self, user_id: str, session_id: str, created_id: str, receiver: str, options: SendOptions
    ) -> Message: ...

    async def load_visible(self, user_id: str, msg_id: str, arg: str = "msgID") -> StoredMessage: ...

    async def create_merger_message(
        self, user_id: str, msg_ids: Sequence[str], title: str, abstracts: Sequence[str], compatible_text: str
    ) -> CreatedMessage: ...

    async def download_merger_message(self, user_id: str, msg_id: str) -> list[Message]: ...

    async def get_message_extensions(self, user_id: str, msg_id: str) -> list[MessageExtension]: ...

    async def set_message_extensions(
        self,
        user_id: str,
        session_id: str,
        msg_id: str,
        extensions: Sequence[MessageExtension],
        versioned: Sequence[bool],
    ) -> list[MessageExtensionResult]: ...

    async def delete_message_extensions(
        self, user_id: str, session_id: str, msg_id: str, keys: Sequence[str]
    ) -> list[MessageExtensionResult]: ...

    async def search_messages(self, user_id: str, param: SearchParam) -> MessageSearchResult: ...

    async def reply_data(self, user_id: str, replied_id: str, receiver: str | None, group_id: str | None) -> str: ...

    async def send_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> None: ...

    async def get_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> list[MessageReceipt]: ...

    async def get_group_message_read_member_list(
        self, user_id: str, msg_id: str, read_filter: int, next_seq: int, count: int
    ) -> GroupMessageReadMembers: ...

    async def find_messages(self, user_id: str, msg_ids: Sequence[str]) -> list[Message]: ...

    async def get_c2c_history_message_list(
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

    async def revoke_message(self, user_id: str, session_id: str, msg_id: str) -> None: ...

    async def modify_message(
        self, user_id: str, session_id: str, msg_id: str, content: Content | None, cloud_custom_data: str | None
    ) -> Message: ...

    async def mark_c2c_message_as_read(self, user_id: str, peer: str) -> None: ...

    async def delete_message_from_local_storage(self, user_id: str, msg_id: str) -> None: ...

    async def clear_c2c_history_message(self, user_id: str, peer: str) -> None: ...

    async def insert_c2c_message_to_local_storage(
        self, user_id: str, peer: str, sender: str, content: Content
    ) -> Message: ...

    async def set_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str], opt: MessageOpt) -> None: ...

    async def get_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str]) -> list[ReceiveOpt]: ...

    async def derive_created_message(
        self,
        user_id: str,
        created_id: str,
        *,
        at_users: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> CreatedMessage: ...

    async def send_group_message(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        group_id: str,
        options: SendOptions,
        receiver: str | None = None,
    ) -> Message: ...

    async def get_group_history_message_list(
        self,
        user_id: str,
        group_id: str,
        count: int,
        *,
        get_type: GetType = GetType.V2TIM_GET_CLOUD_OLDER_MSG,
        last_msg_id: str | None = None,
        last_seq: int | None = None,
        seq_list: Sequence[int] = (),
        message_types: Sequence[ElemType] = (),
        time_begin: int = 0,
        time_period: int = 0,
    ) -> list[Message]: ...

    async def mark_group_message_as_read(self, user_id: str, group_id: str) -> None: ...

    async def mark_all_message_as_read(self, user_id: str) -> None: ...

    async def set_group_receive_message_opt(self, user_id: str, group_id: str, opt: MessageOpt) -> None: ...

    async def clear_group_history_message(self, user_id: str, group_id: str) -> None: ...

    async def insert_group_message_to_local_storage(
        self, user_id: str, group_id: str, sender: str, content: Content
    ) -> Message: ...


class GroupManager(Protocol):
    """V2TIMGroupManager plus V2TIMManager's createGroup, joinGroup, quitGroup and dismissGroup."""

    async def create_group(
        self,
        user_id: str,
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
    ) -> str: ...

    async def join_group(self, user_id: str, group_id: str, message: str) -> None: ...

    async def quit_group(self, user_id: str, group_id: str) -> None: ...

    async def dismiss_group(self, user_id: str, group_id: str) -> None: ...

    async def get_joined_group_list(self, user_id: str) -> list[GroupInfo]: ...

    async def get_joined_community_list(self, user_id: str) -> list[GroupInfo]: ...

    async def get_groups_info(self, group_ids: Sequence[str]) -> list[GroupInfoResult]: ...

    async def search_groups(
        self, user_id: str, keywords: Sequence[str], by_id: bool, by_name: bool
    ) -> list[GroupInfo]: ...

    async def set_group_info(self, user_id: str, group_id: str, changes: GroupInfoChanges) -> None: ...

    async def get_group_member_list(
        self, user_id: str, group_id: str, member_filter: GroupMemberFilter, next_seq: int
    ) -> GroupMemberPage: ...

    async def get_group_members_info(
        self, user_id: str, group_id: str, member_ids: Sequence[str]
    ) -> list[GroupMemberFullInfo]: ...

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
    ) -> list[GroupMemberFullInfo]: ...

    async def set_group_member_info(
        self, user_id: str, group_id: str, target: str, name_card: str | None, custom_info: dict[str, str] | None
    ) -> None: ...

    async def mute_group_member(self, user_id: str, group_id: str, target: str, seconds: int) -> None: ...

    async def invite_user_to_group(
        self, user_id: str, group_id: str, user_ids: Sequence[str]
    ) -> list[GroupOperationResult]: ...

    async def kick_group_member(
        self, user_id: str, group_id: str, member_ids: Sequence[str], reason: str
    ) -> list[GroupOperationResult]: ...

    async def set_group_member_role(self, user_id: str, group_id: str, target: str, role: GroupMemberRole) -> None: ...

    async def mark_group_member_list(
        self, user_id: str, group_id: str, member_ids: Sequence[str], mark_type: int, enable: bool
    ) -> None: ...

    async def transfer_group_owner(self, user_id: str, group_id: str, target: str) -> None: ...

    async def get_group_online_member_count(self, user_id: str, group_id: str) -> int: ...

    async def get_group_application_list(self, user_id: str) -> GroupApplicationResult: ...

    async def accept_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None: ...

    async def refuse_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None: ...

    async def set_group_application_read(self, user_id: str) -> None: ...

    async def init_group_attributes(self, user_id: str, group_id: str, attributes: dict[str, str]) -> None: ...

    async def set_group_attributes(self, user_id: str, group_id: str, attributes: dict[str, str]) -> None: ...

    async def delete_group_attributes(self, user_id: str, group_id: str, keys: Sequence[str] | None) -> None: ...

    async def get_group_attributes(self, user_id: str, group_id: str, keys: Sequence[str] | None) -> dict[str, str]: ...

    async def set_group_counters(self, user_id: str, group_id: str, counters: dict[str, int]) -> list[GroupCounter]: ...

    async def get_group_counters(
        self, user_id: str, group_id: str, keys: Sequence[str] | None
    ) -> list[GroupCounter]: ...

    async def change_group_counter(self, user_id: str, group_id: str, name: str, delta: int) -> list[GroupCounter]: ...

    async def create_topic_in_community(self, user_id: str, group_id: str, info: TopicInfo) -> str: ...

    async def delete_topic_from_community(
        self, user_id: str, group_id: str, topic_ids: Sequence[str]
    ) -> list[TopicOperationResult]: ...

    async def set_topic_info(self, user_id: str, group_id: str, info: TopicInfo) -> None: ...

    async def get_topic_info_list(
        self, user_id: str, group_id: str, topic_ids: Sequence[str] | None
    ) -> list[TopicInfoResult]: ...


class ConversationManager(Protocol):
    """V2TIMConversationManager."""

    async def get_conversation_list(self, user_id: str, next_seq: str, count: int) -> ConversationPage: ...

    async def get_conversation_list_by_filter(
        self, user_id: str, conversation_filter: ConversationFilter, next_seq: str, count: int
    ) -> ConversationPage: ...

    async def get_conversation_list_by_ids(self, user_id: str, conversation_ids: Sequence[str]) -> ConversationPage: ...

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation: ...

    async def get_total_unread_message_count(self, user_id: str) -> int: ...

    async def get_unread_message_count_by_filter(
        self, user_id: str, conversation_filter: ConversationFilter
    ) -> int: ...

    async def recent_messages(self, user_id: str, convs: Sequence[str], count: int) -> dict[str, list[Message]]: ...

    async def delete_conversation_list(
        self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool
    ) -> None: ...

    async def set_conversation_draft(self, user_id: str, conversation_id: str, draft_text: str) -> None: ...

    async def set_conversation_custom_data(
        self, user_id: str, conversation_ids: Sequence[str], custom_data: str
    ) -> list[ConversationOperationResult]: ...

    async def pin_conversation(self, user_id: str, conversation_id: str, pinned: bool) -> None: ...

    async def mark_conversation(
        self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]: ...

    async def clean_conversation_unread_message_count(
        self, user_id: str, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None: ...

    async def create_conversation_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]: ...

    async def get_conversation_group_list(self, user_id: str) -> list[str]: ...

    async def delete_conversation_group(self, user_id: str, name: str) -> None: ...

    async def rename_conversation_group(self, user_id: str, old: str, new: str) -> None: ...

    async def add_conversations_to_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]: ...

    async def delete_conversations_from_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]: ...

    async def subscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None: ...

    async def unsubscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None: ...

    def observer(self, user_id: str) -> ConversationObserver:
        """What a conversationListener subscription of this user adds to its own events."""
        ...


class SignalingManager(Protocol):
    """V2TIMSignalingManager: call invitations; the backend enforces their timeouts."""

    async def invite(
        self,
        user_id: str,
        session_id: str,
        invitee: str,
        data: str,
        timeout_seconds: int,
        *,
        online_user_only: bool = False,
        offline_push_info: OfflinePushInfo | None = None,
    ) -> str: ...

    async def invite_in_group(
        self,
        user_id: str,
        session_id: str,
        group_id: str,
        invitees: Sequence[str],
        data: str,
        timeout_seconds: int,
        *,
        online_user_only: bool = False,
    ) -> str: ...

    async def accept_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None: ...

    async def reject_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None: ...

    async def cancel_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None: ...

    async def modify_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None: ...

    async def add_invited_signaling(self, user_id: str, invite_id: str) -> None: ...

    async def get_signaling_info(self, user_id: str, msg_id: str) -> SignalingInfo: ...


class Housekeeping(Protocol):
    """What a backend that keeps IM state itself must run besides SDK calls: timers every replica
    drives (gateway.housekeeping), operator actions of the server API, and presence it tracks."""

    async def recycle_idle_groups(self, idle_seconds: int) -> list[str]: ...

    async def send_group_system_notification(
        self, group_id: str, content: str, to_members: Sequence[str] | None = None
    ) -> None: ...

    async def expire_due(self) -> int:
        """Time out the invitations whose deadline passed (every replica's timer calls this)."""
        ...

    async def presence_changed(self, user_id: str, online: bool) -> None: ...


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

    @property
    def groups(self) -> GroupManager: ...

    @property
    def conversations(self) -> ConversationManager: ...

    @property
    def signaling(self) -> SignalingManager: ...

    @property
    def housekeeping(self) -> Housekeeping | None:
        """The backend's own timers and operator actions; None for a backend that has none."""
        ...

    async def ping(self) -> None:
        """Raise IMError when the backend cannot be reached (reported as onConnectFailed)."""
        ...

    async def close(self) -> None: ...
