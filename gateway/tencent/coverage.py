"""What the Tencent backend of this build serves, and the guard that refuses the rest.

Tencent is the source of truth: a write the gateway made only in its mirror would never reach
Tencent or native users, and a read of a family the mirror does not keep from Tencent's webhooks
would answer from a partial copy. So each manager's methods are listed here as they are written
through (or kept in the mirror by design: docs/tencent_apis.json "gateway"), and every other
method answers 7013 ("not available on the Tencent backend") before anything is read or written.
Families land one by one (docs/tencent-design.md, "Order of work"); this table is what landed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from gateway.backend import (
    AccountManager,
    ConversationManager,
    FriendshipManager,
    GroupManager,
    Housekeeping,
    IMBackend,
    MessageManager,
    SignalingManager,
)
from gateway.errors import Code, IMError

SERVED: dict[str, frozenset[str]] = {
    "accounts": frozenset({"exists", "ensure_account", "get_users_info", "set_self_info"}),
    "messages": frozenset(
        {
            # drafts, local-only changes and media: the gateway's own (Tencent never sees them)
            "create_message",
            "derive_created_message",
            "create_merger_message",
            "download_merger_message",
            "reply_data",
            "delete_message_from_local_storage",
            "insert_c2c_message_to_local_storage",
            "clear_c2c_history_message",
            "set_c2c_receive_message_opt",
            "get_c2c_receive_message_opt",
            "search_messages",
            # C2C messages: sent through openim/sendmsg, read from the mirror
            "send_c2c_message",
            "send_c2c_content",  # a one-request send: the same openim/sendmsg as send_c2c_message
            "load_visible",
            "find_messages",
            "get_c2c_history_message_list",
            "revoke_message",  # C2C: openim/admin_msgwithdraw; groups: group_msg_recall
            "modify_message",  # C2C: openim/modify_c2c_msg; groups: modify_group_msg
            "mark_c2c_message_as_read",  # openim/admin_set_msg_read
            "mark_all_message_as_read",  # one admin_set_msg_read per C2C conversation
            # group messages: sent through send_group_msg and stored at Tencent's MsgSeq, read from
            # the mirror; recalled and modified upstream first
            "send_group_message",
            "send_group_content",  # a one-request send: the same send_group_msg as send_group_message
            "get_group_history_message_list",
            # the gateway's own (docs/tencent_apis.json): the read position (no group read-report
            # REST), the per-user clear and local imports
            "mark_group_message_as_read",
            "clear_group_history_message",
            "insert_group_message_to_local_storage",
            # the member's MsgFlag through modify_group_member_info first (native devices obey it),
            # then the mirror's option, which the gateway's own push and unread counts read
            "set_group_receive_message_opt",
            # message extensions: openim_msg_ext_http_svc (gateway.tencent.extensions), versions
            # checked against the mirror, which keeps Tencent's Seq of each key; read from the mirror
            "set_message_extensions",
            "get_message_extensions",
            "delete_message_extensions",
            # read receipts: C2C through openim/c2c_msg_read_receipt (a group receipt has no documented
            # REST: 7013, gateway.tencent.receipts); natives' group receipts by webhook; read from the mirror
            "send_message_read_receipts",
            "get_message_read_receipts",
            "get_group_message_read_member_list",
        }
    ),
    "conversations": frozenset(
        {
            # the mirror's conversations (MAPPING.md section 7: the gateway keeps them)
            "get_conversation_list",
            "get_conversation_list_by_filter",
            "get_conversation_list_by_ids",
            "get_conversation",
            "get_total_unread_message_count",
            "get_unread_message_count_by_filter",
            "recent_messages",
            "set_conversation_draft",
            "set_conversation_custom_data",
            "pin_conversation",
            "subscribe_unread_message_count_by_filter",
            "unsubscribe_unread_message_count_by_filter",
            "observer",
            # written through to recentcontact/* (gateway/tencent/conversations.py)
            "delete_conversation_list",
            "mark_conversation",
            "clean_conversation_unread_message_count",
            "create_conversation_group",
            "get_conversation_group_list",
            "delete_conversation_group",
            "rename_conversation_group",
            "add_conversations_to_group",
            "delete_conversations_from_group",
        }
    ),
    "friendship": frozenset(
        {
            # sns/* first, then the mirror (gateway.tencent.friendship); reads from the mirror, whose
            # relation chains are imported once; requests are the mirror's own (no REST has them)
            "get_friend_list",
            "get_friends_info",
            "set_friend_info",
            "search_friends",
            "add_friend",
            "delete_from_friend_list",
            "check_friend",
            "get_friend_application_list",
            "accept_friend_application",
            "refuse_friend_application",
            "delete_friend_application",
            "set_friend_application_read",
            "add_to_black_list",
            "delete_from_black_list",
            "get_black_list",
            "create_friend_group",
            "get_friend_groups",
            "delete_friend_group",
            "rename_friend_group",
            "add_friends_to_friend_group",
            "delete_friends_from_friend_group",
        }
    ),
    "groups": frozenset(
        {
            # written through to group_open_http_svc, read from the mirror (groups Tencent has and the
            # mirror lacks are imported when first needed: gateway.engine.groups.imports)
            "create_group",
            "join_group",
            "quit_group",
            "dismiss_group",
            "get_joined_group_list",
            "get_joined_community_list",
            "get_groups_info",
            "set_group_info",
            "get_group_member_list",
            "get_group_members_info",
            "set_group_member_info",
            "mute_group_member",
            "invite_user_to_group",
            "kick_group_member",
            "set_group_member_role",
            "transfer_group_owner",
            "accept_group_application",
            "init_group_attributes",
            "set_group_attributes",
            "delete_group_attributes",
            "get_group_attributes",
            "set_group_counters",
            "change_group_counter",
            # read from Tencent (native changes have no webhook), the mirror brought up to date
            "get_group_counters",
            # community topics: million_group_open_http_svc create_topic / destroy_topic / modify_topic
            # first (gateway.tencent.topics; the mirror keeps a topic under the ID Tencent gave),
            # read from the mirror, which imports with get_topic the topics it lacks when first
            # needed; their messages go with the group messages above, with TopicId
            "create_topic_in_community",
            "delete_topic_from_community",
            "set_topic_info",
            "get_topic_info_list",
            # the gateway's own (docs/tencent_apis.json "gateway"): local searches, applications
            # REST cannot file or list, and the online count of imql users
            "search_groups",
            "search_group_members",
            "get_group_application_list",
            "refuse_group_application",
            "set_group_application_read",
            "get_group_online_member_count",
        }
    ),
    "signaling": frozenset(
        {
            # invitations: each step travels as a businessID 1 custom message through openim/sendmsg
            # (or send_group_msg), which native SDKs understand; the state is the gateway's
            "invite",
            "invite_in_group",  # the same, through group_open_http_svc/send_group_msg
            "accept_invitation",
            "reject_invitation",
            "cancel_invitation",
            "modify_invitation",
            "add_invited_signaling",
            "get_signaling_info",
            "apply_remote_step",
        }
    ),
}


def _refuse(manager: str, method: str) -> Callable[..., Awaitable[Any]]:
    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise IMError(
            Code.ERR_SDK_INTERFACE_NOT_SUPPORT,
            f"not available on the Tencent backend: {manager}.{method} is not served by this build of imql",
        )

    return refused


class Guarded:
    """A manager whose listed methods pass through and whose other methods answer 7013."""

    def __init__(self, manager: str, inner: object, served: frozenset[str]) -> None:
        self._manager = manager
        self._inner = inner
        self._served = served

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or name in self._served or not callable(value):
            return value
        return _refuse(self._manager, name)


class TencentBackend:
    """`IMBackend`: the mirror (the embedded engine with Tencent upstream) behind the guard."""

    def __init__(self, mirror: IMBackend) -> None:
        self._mirror = mirror
        self.accounts = cast(AccountManager, Guarded("accounts", mirror.accounts, SERVED["accounts"]))
        self.friendship = cast(FriendshipManager, Guarded("friendship", mirror.friendship, SERVED["friendship"]))
        self.messages = cast(MessageManager, Guarded("messages", mirror.messages, SERVED["messages"]))
        self.groups = cast(GroupManager, Guarded("groups", mirror.groups, SERVED["groups"]))
        self.conversations = cast(
            ConversationManager, Guarded("conversations", mirror.conversations, SERVED["conversations"])
        )
        self.signaling = cast(SignalingManager, Guarded("signaling", mirror.signaling, SERVED["signaling"]))

    @property
    def name(self) -> str:
        return self._mirror.name

    @property
    def housekeeping(self) -> Housekeeping | None:
        return self._mirror.housekeeping

    async def ping(self) -> None:
        await self._mirror.ping()

    async def close(self) -> None:
        await self._mirror.close()
