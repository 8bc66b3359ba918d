"""The IM backend interface: one method per SDK API, grouped by manager, and its contract.

The contract is written here: each method's docstring says what it does, what it refuses (with
the `gateway.errors.Code` it refuses with) and which listener events it must cause for whom. The
contract suite (tests/contract) holds every backend to it, run at this interface.

Two implementations sit behind it: the embedded engine (`gateway.engine`, IM semantics on Redis)
and, later, the Tencent Cloud IM REST v4 adapter. Signatures use only domain objects
(`gateway.im`) and plain Python types: no Redis, no Strawberry, no httpx. Failures are
`IMError`s; a backend never lets a library exception escape.

Methods take the acting user first: the backend trusts it (the session layer authenticated it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

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
        """For each user, whether the account exists (imported or logged in once). No events."""
        ...

    async def ensure_account(self, user_id: str) -> None:
        """Create the account on first login (Tencent: account_import); idempotent. No events."""
        ...

    async def get_users_info(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        """Profiles of the users that exist, in the order asked (unknown users are left out). No events."""
        ...

    async def set_self_info(self, user_id: str, changes: ProfileChanges) -> UserFullInfo:
        """Apply a profile change (customInfo merges key by key) and return the profile. Refuses 40601 when a
        string field is too long, 6017 for a bad birthday, number or customInfo key. A change that changes
        something causes onSelfInfoUpdated to the user's devices and onFriendInfoChanged to those who have
        them as a friend."""
        ...


class FriendshipManager(Protocol):
    """V2TIMFriendshipManager."""

    async def get_friend_list(self, user_id: str) -> list[FriendInfo]:
        """The user's friends, each with remark, groups and profile. No events."""
        ...

    async def get_friends_info(self, user_id: str, user_ids: Sequence[str]) -> list[FriendInfoResult]:
        """Each user's relation and profile; a user that does not exist gets resultCode 30001."""
        ...

    async def set_friend_info(self, user_id: str, friend_id: str, changes: FriendChanges) -> None:
        """Change a friend's remark or custom fields. Refuses 31704 when they are not a friend, 30001 for a
        field that is too long. onFriendInfoChanged to the user's devices."""
        ...

    async def search_friends(self, user_id: str, param: FriendSearchParam) -> list[FriendInfoResult]:
        """Friends whose ID, nick name or remark match the keywords; 30001 without keywords or fields. No events."""
        ...

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
    ) -> FriendOperationResult:
        """Add `target`, or ask them. Refuses 30001 (self, unknown user, field too long), 30515 when the
        target is on the user's blacklist, 30525 when the user is on theirs, 30516 when they deny all, 30010
        when the list is full. Added: onFriendListAdded to each side that gains a friend. Needing confirmation:
        resultCode 30539 and onFriendApplicationListAdded to both users."""
        ...

    async def delete_from_friend_list(
        self, user_id: str, user_ids: Sequence[str], delete_type: FriendAddType
    ) -> list[FriendOperationResult]:
        """Remove friends (BOTH: from their list too); a non-friend's result is 31704. onFriendListDeleted
        to the user and, for BOTH, to each removed friend."""
        ...

    async def check_friend(
        self, user_id: str, user_ids: Sequence[str], check_type: FriendAddType
    ) -> list[FriendCheckResult]:
        """The relation (none, mine, theirs, both ways) with each user. No events."""
        ...

    async def get_friend_application_list(self, user_id: str) -> FriendApplicationResult:
        """The friend requests received and sent, newest first, and how many received are unread. No events."""
        ...

    async def accept_friend_application(
        self, user_id: str, applicant: str, response: FriendAccept
    ) -> FriendOperationResult:
        """Accept `applicant`'s request (AGREE_AND_ADD: befriend them back). Refuses 30614 when there is no
        such received request, 30010 when the applicant's list is full. onFriendApplicationListDeleted to
        both; onFriendListAdded to the applicant (and to the user for AGREE_AND_ADD)."""
        ...

    async def refuse_friend_application(self, user_id: str, applicant: str) -> FriendOperationResult:
        """Refuse `applicant`'s request; 30614 when there is none. onFriendApplicationListDeleted to both."""
        ...

    async def delete_friend_application(self, user_id: str, other: str) -> None:
        """Remove a request from the user's list only; 30614 when there is none.
        onFriendApplicationListDeleted to the user."""
        ...

    async def set_friend_application_read(self, user_id: str) -> None:
        """Mark the received requests read (unreadCount 0). onFriendApplicationListRead to the user."""
        ...

    async def add_to_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        """Block users: ends any friendship both ways and any pending request; blocking oneself gives 30001
        in that result, a full blacklist refuses the call with 30001. onBlackListAdd to the user;
        onFriendListDeleted to each side that lost a friend; onFriendApplicationListDeleted for dropped requests."""
        ...

    async def delete_from_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        """Unblock users; one not blocked gets resultCode 30001. onBlackListDeleted to the user."""
        ...

    async def get_black_list(self, user_id: str) -> list[FriendInfo]:
        """The users the user blocked, oldest first. No events."""
        ...

    async def create_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]:
        """A new friend group holding these friends (a non-friend's result is 31704); 30001 for a bad or
        taken name or too many groups. onFriendInfoChanged (friendGroup) to the user's devices for the friends it
        moved."""
        ...

    async def get_friend_groups(self, user_id: str, names: Sequence[str] | None) -> list[FriendGroup]:
        """The named friend groups (None: all) with their members. No events."""
        ...

    async def delete_friend_group(self, user_id: str, names: Sequence[str]) -> None:
        """Delete friend groups (the friends stay friends). onFriendInfoChanged (friendGroup) to the user's devices for
        the friends it moved."""
        ...

    async def rename_friend_group(self, user_id: str, old: str, new: str) -> None:
        """Rename a friend group; 30001 when `old` does not exist or `new` is bad or taken. onFriendInfoChanged
        (friendGroup) to the user's devices for the friends it moved."""
        ...

    async def add_friends_to_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]:
        """Add friends to a group (a non-friend's result is 31704); 30001 for an unknown group.
        onFriendInfoChanged (friendGroup) to the user's devices for the friends it moved."""
        ...

    async def delete_friends_from_friend_group(
        self, user_id: str, name: str, user_ids: Sequence[str]
    ) -> list[FriendOperationResult]:
        """Take friends out of a group (one not in it: 31704); 30001 for an unknown group.
        onFriendInfoChanged (friendGroup) to the user's devices for the friends it moved."""
        ...


class ConversationObserver(Protocol):
    """Follows one user's conversationListener subscription: the conversation notices a backend
    derives from message events (events stored once for a whole group carry none of their own),
    and the unread totals a conversation change moved."""

    async def start(self) -> None:
        """Take the baseline totals (the first `unread_changes` compares with them); IMError when it cannot."""
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
    ) -> CreatedMessage:
        """Keep a message to be sent by its id (create*Message; kept 24 hours); `at_users` / `targets` make
        an @ or targeted group message. Refuses nothing itself: the send checks the content. No events."""
        ...

    async def send_c2c_message(
        self, user_id: str, session_id: str, created_id: str, receiver: str, options: SendOptions
    ) -> Message:
        """Send a created message (a repeated send of one created id returns the first result). Refuses 6017
        (unknown created id, @/targeted), 20003 unknown receiver, 20007 blocked by them, 20009 not friends in a
        friends-only app, 8001 over 12 KB. onRecvNewMessage to the receiver (unless they take none from the
        sender) and the sender's other sessions; onNewConversation/onConversationChanged and totals for both."""
        ...

    async def send_c2c_content(
        self,
        user_id: str,
        session_id: str,
        content: Content,
        receiver: str,
        options: SendOptions,
        *,
        idempotency_key: str | None = None,
    ) -> Message:
        """A one-request send (sendTextMessage / sendCustomMessage): `content` sent as send_c2c_message
        sends a created message, with the same refusals and events, and no created message kept. With
        `idempotency_key` (1-128 characters, else 6017; the sender's own) a repeat returns the first
        result; without one nothing but the message is written. The answer's createdID is empty."""
        ...

    async def load_visible(self, user_id: str, msg_id: str, arg: str = "msgID") -> StoredMessage:
        """The stored message as the user may see it; 6017 when there is none, 6004 when it is not in the
        user's conversations (`arg` names the argument in the error). No events."""
        ...

    async def create_merger_message(
        self, user_id: str, msg_ids: Sequence[str], title: str, abstracts: Sequence[str], compatible_text: str
    ) -> CreatedMessage:
        """A created merger (forward) message of messages the user sees (6017 / 6004 otherwise). No events."""
        ...

    async def download_merger_message(self, user_id: str, msg_id: str) -> list[Message]:
        """The messages inside a merger message; 6017 when it is not one, 8005 when nested too deep."""
        ...

    async def get_message_extensions(self, user_id: str, msg_id: str) -> list[MessageExtension]:
        """A message's extensions; 23004 when it was not sent with extensions enabled, 6017 / 6004 as
        load_visible."""
        ...

    async def set_message_extensions(
        self,
        user_id: str,
        session_id: str,
        msg_id: str,
        extensions: Sequence[MessageExtension],
        versioned: Sequence[bool],
    ) -> list[MessageExtensionResult]:
        """Set extension keys (`versioned`: only if unchanged since read, else that key's result is 23001);
        6017 for bad keys, values or counts, 23004 when not enabled. onRecvMessageExtensionsChanged to the
        conversation's other parties (a group's members) and the user's other sessions."""
        ...

    async def delete_message_extensions(
        self, user_id: str, session_id: str, msg_id: str, keys: Sequence[str]
    ) -> list[MessageExtensionResult]:
        """Delete extension keys (None: all); codes as set_message_extensions.
        onRecvMessageExtensionsDeleted to the same users."""
        ...

    async def search_messages(self, user_id: str, param: SearchParam) -> MessageSearchResult:
        """Messages of the user's conversations matching keywords, sender, types and time; 6017 for a bad
        parameter, 10007 for a group the user is not in. No events."""
        ...

    async def reply_data(self, user_id: str, replied_id: str, receiver: str | None, group_id: str | None) -> str:
        """The cloudCustomData that makes a message a reply to `replied_id` (which the user must see, in
        the conversation named by `receiver` / `group_id`); 6017 otherwise. No events."""
        ...

    async def send_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> None:
        """Record that the user read these messages (those asking for receipts, sent by others; 6017 when
        they are not of one conversation). onRecvMessageReadReceipts to each sender once per reader."""
        ...

    async def get_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> list[MessageReceipt]:
        """Read receipts (C2C peer read; group read / unread counts) of the user's own messages; 6017 for
        another's message or too many IDs. No events."""
        ...

    async def get_group_message_read_member_list(
        self, user_id: str, msg_id: str, read_filter: int, next_seq: int, count: int
    ) -> GroupMessageReadMembers:
        """Members who read (read_filter 0) or did not read (1) a group message, paged by `next_seq`; 10007
        when the user did not send it, 6017 when it is not a group message asking for receipts. No events."""
        ...

    async def find_messages(self, user_id: str, msg_ids: Sequence[str]) -> list[Message]:
        """The messages with these IDs that the user sees, in the order asked; 6017 for too many IDs."""
        ...

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
    ) -> list[Message]:
        """The C2C conversation with `peer`, newest first (OLDER) or oldest first (NEWER) from
        `last_msg_id`, filtered by type and time; 6017 for a bad count or cursor. No events."""
        ...

    async def revoke_message(self, user_id: str, session_id: str, msg_id: str) -> None:
        """Revoke a message (stored as status LOCAL_REVOKED). Refuses 10007 unless the user sent it (or is a
        group's owner or admin), 20016 after 120 s, 6017 / 6004 as load_visible. onRecvMessageRevoked to the
        other party (the group's members) and the user's other sessions; onConversationChanged."""
        ...

    async def modify_message(
        self, user_id: str, session_id: str, msg_id: str, content: Content | None, cloud_custom_data: str | None
    ) -> Message:
        """Change a message's content (same elemType) or cloudCustomData. Refuses 10007 unless the user sent
        it, 6017 for a revoked message or another elemType, 8006 when another modification won.
        onRecvMessageModified to the other party (the group's members) and the user's other sessions."""
        ...

    async def mark_c2c_message_as_read(self, user_id: str, peer: str) -> None:
        """Mark the conversation with `peer` read. onRecvC2CReadReceipt to the peer; onConversationChanged
        and the unread totals to the user's devices."""
        ...

    async def delete_message_from_local_storage(self, user_id: str, msg_id: str) -> None:
        """Hide one message from the user's view only (6017 / 6004 as load_visible); onConversationChanged to the user's
        devices."""
        ...

    async def clear_c2c_history_message(self, user_id: str, peer: str) -> None:
        """Empty the user's view of the conversation with `peer` (the peer keeps theirs); onConversationChanged to the
        user's devices."""
        ...

    async def insert_c2c_message_to_local_storage(
        self, user_id: str, peer: str, sender: str, content: Content
    ) -> Message:
        """A message in the user's view only (status LOCAL_IMPORTED); 6017 unless `sender` is the user or
        `peer`, 20003 when the peer does not exist. onConversationChanged to the user's devices."""
        ...

    async def set_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str], opt: MessageOpt) -> None:
        """Receive, not receive or receive without notification from these users; 6017 for too many.
        onConversationChanged to the user's devices (recvOpt, totals)."""
        ...

    async def get_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str]) -> list[ReceiveOpt]:
        """The user's receive option for each of these users (receiving by default). No events."""
        ...

    async def derive_created_message(
        self,
        user_id: str,
        created_id: str,
        *,
        at_users: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> CreatedMessage:
        """A new created message from one (createAtSignedGroupMessage / createTargetedGroupMessage); 6017
        for an unknown created id, too many @ users or an empty receiver list. No events."""
        ...

    async def send_group_message(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        group_id: str,
        options: SendOptions,
        receiver: str | None = None,
    ) -> Message:
        """Send a created message to a group (`receiver`: to one member only, online only). Refuses 10010
        when the group does not exist, 10007 when the user is not a member, 10017 when muted, 8001, 6017.
        onRecvNewMessage to the other members (or the targets) and the user's other sessions;
        onNewConversation / onConversationChanged and the unread totals for the members."""
        ...

    async def send_group_content(
        self,
        user_id: str,
        session_id: str,
        content: Content,
        group_id: str,
        options: SendOptions,
        receiver: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Message:
        """A one-request send to a group: `content` sent as send_group_message sends a created message,
        with the same refusals and events; `idempotency_key` as in send_c2c_content."""
        ...

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
    ) -> list[Message]:
        """A group's messages the user may see, by msgID or seq cursor, seq list, type and time; 10010,
        10007 when the user is not a member, 6017 for bad arguments. No events."""
        ...

    async def mark_group_message_as_read(self, user_id: str, group_id: str) -> None:
        """Mark the group conversation read; 10010, 10007 when not a member. onConversationChanged to the user's devices
        and the unread totals."""
        ...

    async def mark_all_message_as_read(self, user_id: str) -> None:
        """Mark every C2C and group conversation read. onRecvC2CReadReceipt to the C2C peers;
        onConversationChanged to the user's devices and the unread totals."""
        ...

    async def set_group_receive_message_opt(self, user_id: str, group_id: str, opt: MessageOpt) -> None:
        """The user's receive option for a group; 10010, 10007 when not a member. NOT_RECEIVE stops the
        group's messages reaching the user's listeners; onConversationChanged to the user's devices."""
        ...

    async def clear_group_history_message(self, user_id: str, group_id: str) -> None:
        """Empty the user's view of a group's messages; 10010, 10007 when not a member. onConversationChanged to the
        user's devices."""
        ...

    async def insert_group_message_to_local_storage(
        self, user_id: str, group_id: str, sender: str, content: Content
    ) -> Message:
        """A message in the user's view of a group only (LOCAL_IMPORTED); 10010, 10007 when not a member.
        onConversationChanged to the user's devices."""
        ...


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
    ) -> str:
        """Create a group with the user as owner and return its ID (generated when None). Refuses 10004
        (empty name, bad options or members), 10015 for a bad custom ID, 10021 when taken, 8501-8505 for long
        fields, 8507 for too many members, 10037 at the user's group cap. onGroupCreated to the user;
        onMemberInvited to the members when `members` joined."""
        ...

    async def join_group(self, user_id: str, group_id: str, message: str) -> None:
        """Join (or, for Public groups needing approval, apply to) a group. Refuses 10010, 10013 when already a
        member, 10007 for a Work group or one taking no requests, 10014 when full, 10037 at the cap.
        onMemberEnter to the members; an application causes onReceiveJoinApplication to owner and admins."""
        ...

    async def quit_group(self, user_id: str, group_id: str) -> None:
        """Leave a group; 10010, 10007 when not a member, 10009 for the owner. onMemberLeave to the
        remaining members, onQuitFromGroup to the user."""
        ...

    async def dismiss_group(self, user_id: str, group_id: str) -> None:
        """Delete a group and everything in it; 10010, 10007 unless the user is the owner.
        onGroupDismissed to every member."""
        ...

    async def get_joined_group_list(self, user_id: str) -> list[GroupInfo]:
        """The groups the user is a member of. No events."""
        ...

    async def get_joined_community_list(self, user_id: str) -> list[GroupInfo]:
        """The Community groups the user is a member of. No events."""
        ...

    async def get_groups_info(self, group_ids: Sequence[str], viewer: str | None = None) -> list[GroupInfoResult]:
        """Each group's profile; one that does not exist gets resultCode 10010, a Work group `viewer` is
        not a member of 10007 (None: every profile, as the app admin sees them). No events."""
        ...

    async def know_groups(
        self, group_ids: Sequence[str], *, joined: Sequence[str] = (), operator: str = "", by_self: bool = False
    ) -> None:
        """With an upstream IM server (gateway.upstream): those of the groups the backend has never
        seen are imported from it, telling nobody, but for `joined`: members the upstream reports as
        having just joined, announced as an SDK join is (onMemberEnter when `by_self`, else
        onMemberInvited by `operator`). Without an upstream, nothing. Not an SDK API (the Tencent
        backend's webhooks use it)."""
        ...

    async def search_groups(self, user_id: str, keywords: Sequence[str], by_id: bool, by_name: bool) -> list[GroupInfo]:
        """Joined groups whose ID or name match the keywords; 10004 when none or neither field is chosen."""
        ...

    async def set_group_info(self, user_id: str, group_id: str, changes: GroupInfoChanges) -> None:
        """Change a group's profile; 10010, 10007 when the user's role may not (all-mute: owner or admin),
        10004 for a bad or fixed option, 8502-8505 for long fields. onGroupInfoChanged to the members."""
        ...

    async def get_group_member_list(
        self, user_id: str, group_id: str, member_filter: GroupMemberFilter, next_seq: int
    ) -> GroupMemberPage:
        """Members by role filter, paged by `next_seq` (0 first; 0 back at the end); 10010, 10007 when the
        user is not a member. No events."""
        ...

    async def get_group_members_info(
        self, user_id: str, group_id: str, member_ids: Sequence[str]
    ) -> list[GroupMemberFullInfo]:
        """These members' profiles in the group (non-members left out); 10010, 10007 when not a member."""
        ...

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
        """Members of the user's groups (or of `group_ids`) matching the keywords in the chosen fields;
        10004 when none are chosen. No events."""
        ...

    async def set_group_member_info(
        self, user_id: str, group_id: str, target: str, name_card: str | None, custom_info: dict[str, str] | None
    ) -> None:
        """Change a member's name card or custom info (the user's own, or as one who outranks them);
        10010, 10007, 10004 for a non-member, 8506 for a long name card. No events."""
        ...

    async def mute_group_member(self, user_id: str, group_id: str, target: str, seconds: int) -> None:
        """Mute a member for `seconds` (0 unmutes); 10010, 10007 unless the user outranks them, 10004.
        onMemberInfoChanged (muteTime) to the members."""
        ...

    async def invite_user_to_group(
        self, user_id: str, group_id: str, user_ids: Sequence[str]
    ) -> list[GroupOperationResult]:
        """Invite users: per user SUCC, PENDING (needs their approval), INVALID (already a member), FAIL
        (unknown) or OVERLIMIT. Refuses 10010, 10007 when the user may not invite or the group takes no
        invitations, 10014 when full, 10004 for too many. onMemberInvited to the members, the invitees included."""
        ...

    async def kick_group_member(
        self, user_id: str, group_id: str, member_ids: Sequence[str], reason: str
    ) -> list[GroupOperationResult]:
        """Remove members the user outranks (others: FAIL; non-members: INVALID); 10010, 10007 when the
        user may not kick. onMemberKicked to the members and the kicked."""
        ...

    async def set_group_member_role(self, user_id: str, group_id: str, target: str, role: GroupMemberRole) -> None:
        """Make a member admin or member; 10010, 10007 unless owner, 10004 for the owner role, the owner, a
        non-member or a Work group admin. onGrantAdministrator / onRevokeAdministrator to the members."""
        ...

    async def mark_group_member_list(
        self, user_id: str, group_id: str, member_ids: Sequence[str], mark_type: int, enable: bool
    ) -> None:
        """Set or clear a mark on members; 10010, 10007 when the user may not, 10004 for a non-member or a
        bad mark. No events."""
        ...

    async def transfer_group_owner(self, user_id: str, group_id: str, target: str) -> None:
        """Make another member owner (the user becomes a member); 10010, 10007 unless owner, 10004 for a
        non-member. onGroupInfoChanged (owner) to the members."""
        ...

    async def get_group_online_member_count(self, user_id: str, group_id: str) -> int:
        """How many members are online; 10010, 10007 when not a member. No events."""
        ...

    async def get_group_application_list(self, user_id: str) -> GroupApplicationResult:
        """The join applications and invitations the user may handle or was sent. No events."""
        ...

    async def accept_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None:
        """Accept a join application (or, as `to_user`, an invitation); 10010, 10004 when there is none,
        10024 when already handled, 10007 unless owner or admin, 10014 when full. onMemberEnter (an
        invitation: onMemberInvited) to the members; onApplicationProcessed to the applicant."""
        ...

    async def refuse_group_application(
        self, user_id: str, group_id: str, from_user: str, to_user: str, reason: str
    ) -> None:
        """Refuse a join application or invitation; codes as accept. onApplicationProcessed to the applicant."""
        ...

    async def set_group_application_read(self, user_id: str) -> None:
        """Mark the user's group applications read. No events."""
        ...

    async def init_group_attributes(self, user_id: str, group_id: str, attributes: dict[str, str]) -> None:
        """Replace all of a group's attributes; 10010, 10007 when not a member, 10004 for keys or sizes over
        the limits. onGroupAttributeChanged to the members."""
        ...

    async def set_group_attributes(self, user_id: str, group_id: str, attributes: dict[str, str]) -> None:
        """Add or change attributes; codes as init_group_attributes. onGroupAttributeChanged to the members."""
        ...

    async def delete_group_attributes(self, user_id: str, group_id: str, keys: Sequence[str] | None) -> None:
        """Delete attributes (None: all); 10010, 10007. onGroupAttributeChanged to the members."""
        ...

    async def get_group_attributes(self, user_id: str, group_id: str, keys: Sequence[str] | None) -> dict[str, str]:
        """A group's attributes (None: all); 10010, 10007 when not a member. No events."""
        ...

    async def set_group_counters(self, user_id: str, group_id: str, counters: dict[str, int]) -> list[GroupCounter]:
        """Set counters; 10010, 10007, 10004 for a Community group, bad keys or too many.
        onGroupCounterChanged to the members, per changed key."""
        ...

    async def get_group_counters(self, user_id: str, group_id: str, keys: Sequence[str] | None) -> list[GroupCounter]:
        """Counters (None: all); 10010, 10007, 10004 for a Community group. No events."""
        ...

    async def change_group_counter(self, user_id: str, group_id: str, name: str, delta: int) -> list[GroupCounter]:
        """Add `delta` to a counter; codes as set_group_counters. onGroupCounterChanged to the members."""
        ...

    async def create_topic_in_community(self, user_id: str, group_id: str, info: TopicInfo) -> str:
        """A topic in a Community group, returning its ID; 10010, 10004 when the group has no topics or the
        info is bad, 10007 unless owner or admin, 10021 when the topic ID is taken. onTopicCreated to the members."""
        ...

    async def delete_topic_from_community(
        self, user_id: str, group_id: str, topic_ids: Sequence[str]
    ) -> list[TopicOperationResult]:
        """Delete topics (an unknown one's result is 10010); 10010, 10004, 10007 as create.
        onTopicDeleted to the members."""
        ...

    async def set_topic_info(self, user_id: str, group_id: str, info: TopicInfo) -> None:
        """Change a topic; 10010 (also for an unknown topic), 10004, 10007 as create. onTopicInfoChanged
        to the members."""
        ...

    async def get_topic_info_list(
        self, user_id: str, group_id: str, topic_ids: Sequence[str] | None
    ) -> list[TopicInfoResult]:
        """Topics (None: all; an unknown one's result is 10010); 10010, 10004, 10007 when not a member."""
        ...

    async def know_topics(self, group_id: str, topic_ids: Sequence[str], viewer: str = "") -> list[str]:
        """Those of the topics of community `group_id` the backend has; with an upstream IM server
        (gateway.upstream), those it has never seen are imported from it first (read as `viewer`, a
        member; "": the app admin), telling nobody. Not an SDK API (the Tencent backend's webhooks
        use it)."""
        ...


class ConversationManager(Protocol):
    """V2TIMConversationManager."""

    async def get_conversation_list(self, user_id: str, next_seq: str, count: int) -> ConversationPage:
        """The user's conversations, pinned first then by last activity, paged by `next_seq` ("" first). No events."""
        ...

    async def get_conversation_list_by_filter(
        self, user_id: str, conversation_filter: ConversationFilter, next_seq: str, count: int
    ) -> ConversationPage:
        """Conversations by type, conversation group, mark and unread; 51009 for an unknown conversation
        group, 6017 for a bad cursor. No events."""
        ...

    async def get_conversation_list_by_ids(self, user_id: str, conversation_ids: Sequence[str]) -> ConversationPage:
        """These conversations (unknown ones left out); 6017 for too many or a malformed ID. No events."""
        ...

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        """One conversation; 6004 when it is not one of the user's, 6017 for a malformed ID. No events."""
        ...

    async def get_total_unread_message_count(self, user_id: str) -> int:
        """Unread messages over the conversations that count (receive option RECEIVE). No events."""
        ...

    async def get_unread_message_count_by_filter(self, user_id: str, conversation_filter: ConversationFilter) -> int:
        """Unread messages over the conversations the filter selects. No events."""
        ...

    async def recent_messages(self, user_id: str, convs: Sequence[str], count: int) -> dict[str, list[Message]]:
        """The newest `count` messages the user sees in each conversation; 6017. No events."""
        ...

    async def delete_conversation_list(
        self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool, *, strict: bool = False
    ) -> None:
        """Remove conversations from the user's list (`clear_messages`: their history too); their messages
        no longer count as unread, and a new message brings one back as new; 6017 for too many. Those not
        in the user's list are skipped, or with `strict` (the user's own call) refused with 6004 and
        nothing deleted. onConversationDeleted to the user's devices."""
        ...

    async def set_conversation_draft(self, user_id: str, conversation_id: str, draft_text: str) -> None:
        """Set ("" clears) a draft; 6004 for an unknown conversation, 6017 when too long. onConversationChanged to the
        user's devices."""
        ...

    async def set_conversation_custom_data(
        self, user_id: str, conversation_ids: Sequence[str], custom_data: str
    ) -> list[ConversationOperationResult]:
        """Set custom data; 6017 when too long, 51006 for too many IDs, an unknown one's result 6004.
        onConversationChanged to the user's devices."""
        ...

    async def pin_conversation(self, user_id: str, conversation_id: str, pinned: bool) -> None:
        """Pin or unpin a conversation; 6004 for an unknown one. onConversationChanged to the user's devices."""
        ...

    async def mark_conversation(
        self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]:
        """Set or clear a mark bit; 6017 for a bad mark, 51006 for too many IDs, 51008 over the marked
        limit, an unknown conversation's result 6004. onConversationChanged to the user's devices."""
        ...

    async def clean_conversation_unread_message_count(
        self, user_id: str, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None:
        """Clear unread up to a time (C2C) or seq (group) in one conversation, or all "c2c", "group" or
        "" ones; 6004 for an unknown conversation. onConversationChanged to the user's devices and the unread totals."""
        ...

    async def create_conversation_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        """A conversation group holding these conversations; 51011 for a bad name, 51007 when it exists,
        51010 when there are too many, an unknown conversation's result 6004. onConversationGroupCreated."""
        ...

    async def get_conversation_group_list(self, user_id: str) -> list[str]:
        """The user's conversation group names. No events."""
        ...

    async def delete_conversation_group(self, user_id: str, name: str) -> None:
        """Delete a conversation group; 51009 when there is none. onConversationGroupDeleted to the user."""
        ...

    async def rename_conversation_group(self, user_id: str, old: str, new: str) -> None:
        """Rename one; 51009 for an unknown `old`, 51007 / 51011 for `new`. onConversationGroupNameChanged."""
        ...

    async def add_conversations_to_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        """Add conversations to a conversation group; 51009, per conversation 6004.
        onConversationsAddedToGroup to the user's devices."""
        ...

    async def delete_conversations_from_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        """Take conversations out of a conversation group; 51009, per conversation 6004.
        onConversationsDeletedFromGroup to the user's devices."""
        ...

    async def subscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        """From now on the user's conversationListener subscriptions report this filter's unread total
        (onUnreadMessageCountChangedByFilter)."""
        ...

    async def unsubscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        """Stop reporting the filter's unread total. No events."""
        ...

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
    ) -> str:
        """Invite one user to a call and return the invite ID; 6017 for oneself or a bad timeout, and any
        refusal a C2C message has (20003, 20007, 20009). onReceiveNewInvitation and the signaling message
        (onRecvNewMessage) to the invitee; onInvitationTimeout to both if unanswered in `timeout_seconds`."""
        ...

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
    ) -> str:
        """Invite members of a group; 6017 for no invitees, too many or non-members, 10010, 10007 when
        the user is not a member. onReceiveNewInvitation and the group signaling message to the invitees."""
        ...

    async def accept_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        """Accept as an invitee; 8010 for an unknown, answered, cancelled or timed-out invitation, 8011
        when the user is not invited. onInviteeAccepted to the inviter and invitees, but the calling session."""
        ...

    async def reject_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        """Reject as an invitee; codes as accept_invitation. onInviteeRejected to the inviter and invitees,
        but the calling session."""
        ...

    async def cancel_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        """Cancel as the inviter; 8010 as accept_invitation, 8011 unless the user invited.
        onInvitationCancelled to the invitees and the inviter's other sessions."""
        ...

    async def modify_invitation(self, user_id: str, session_id: str, invite_id: str, data: str) -> None:
        """Change an open invitation's data; 8010, 8011 when the user is not a party.
        onInvitationModified to the parties, but the calling session."""
        ...

    async def add_invited_signaling(self, user_id: str, invite_id: str) -> None:
        """Take an invitation the user was sent (e.g. read from an offline push) as received; 8010, 8011
        when not invited, 8012 when already added. onReceiveNewInvitation to the user."""
        ...

    async def get_signaling_info(self, user_id: str, msg_id: str) -> SignalingInfo:
        """The invitation a signaling message carries; 6017 when the message is none, 6004 as load_visible."""
        ...

    async def apply_remote_step(self, sender: str, info: SignalingInfo) -> None:
        """A step of an invitation made on the upstream IM server by `sender` (gateway.upstream;
        a native user of the Tencent backend), as its signaling message carried it: the state
        follows and local parties hear the events; nothing is sent."""
        ...


class Housekeeping(Protocol):
    """What a backend that keeps IM state itself must run besides SDK calls: timers every replica
    drives (gateway.housekeeping), operator actions of the server API, and presence it tracks."""

    async def recycle_idle_groups(self, idle_seconds: int) -> list[str]:
        """Delete groups idle for `idle_seconds` and return their IDs; onGroupRecycled to their members."""
        ...

    async def send_group_system_notification(
        self, group_id: str, content: str, to_members: Sequence[str] | None = None
    ) -> None:
        """A custom notice (Tencent send_group_system_notification); 10010, 10004 when too long.
        onReceiveRESTCustomData to `to_members` (members only) or every member."""
        ...

    async def expire_due(self) -> int:
        """Time out the invitations whose deadline passed and return how many (every replica's timer calls
        this; each is timed out once). onInvitationTimeout to the inviter and the invitees who had not answered."""
        ...

    async def presence_changed(self, user_id: str, online: bool) -> None:
        """The user came online or went offline (the group online counts follow it). No events."""
        ...

    async def presence_changed_many(self, changes: Sequence[tuple[str, bool]]) -> None:
        """`presence_changed` for many users (user, online) at once, in a few round trips."""
        ...

    async def trim_history(self, retention_seconds: float, budget: int) -> bool:
        """One step of the message retention: messages older than `retention_seconds` leave
        timelines, indexes and event logs, at most `budget` units of work (keys visited, messages
        read) at a time; returns whether the pass goes on. No events: history just ends sooner."""
        ...


class SessionControl(Protocol):
    """What the server API needs of the session layer (lent by the composition root): Tencent's
    `kick` and `query_online_status` act on gateway sessions, which no backend owns."""

    async def kick(self, user_id: str) -> None:
        """End every session of the user on every replica (their subscriptions get onKickedOffline
        and end, their tokens stop working). No session: nothing happens."""
        ...

    async def online_status(self, user_ids: Sequence[str]) -> list[tuple[str, list[str]]]:
        """For each user, in the order asked: "Online" (a live subscription on some replica),
        "PushOnline" (logged in, nothing live) or "Offline", and the platforms of their sessions."""
        ...


class ServerAPI(Protocol):
    """Tencent's server REST API v4 (`/v4/<service>/<command>`), served by a backend that is its own
    IM server (the embedded engine). The caller has authenticated the app admin already."""

    def has(self, command: str) -> bool:
        """Whether `<service>/<command>` is served."""
        ...

    def commands(self) -> list[str]:
        """Every served `<service>/<command>`, sorted."""
        ...

    async def call(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run a command; the whole answer body in Tencent's envelope (ActionStatus, ErrorCode,
        ErrorInfo and the command's fields). Never raises for a refusal: refusals are answers.
        Each write causes the listener events the equivalent SDK call causes."""
        ...


class IMBackend(Protocol):
    """A whole backend: one part per manager."""

    @property
    def name(self) -> str:
        """The backend's name, as IMQL_BACKEND names it ("embedded")."""
        ...

    @property
    def accounts(self) -> AccountManager:
        """Accounts and profiles."""
        ...

    @property
    def friendship(self) -> FriendshipManager:
        """Friends, requests, the blacklist and friend groups."""
        ...

    @property
    def messages(self) -> MessageManager:
        """C2C and group messages."""
        ...

    @property
    def groups(self) -> GroupManager:
        """Groups, members, applications, attributes, counters and topics."""
        ...

    @property
    def conversations(self) -> ConversationManager:
        """Conversations, their unread counts and conversation groups."""
        ...

    @property
    def signaling(self) -> SignalingManager:
        """Call invitations."""
        ...

    @property
    def housekeeping(self) -> Housekeeping | None:
        """The backend's own timers and operator actions; None for a backend that has none."""
        ...

    async def ping(self) -> None:
        """Raise IMError when the backend cannot be reached (reported as onConnectFailed); 7012 for a store
        failure."""
        ...

    async def close(self) -> None:
        """Release what the backend holds (connections, tasks); called once, when the gateway closes."""
        ...
