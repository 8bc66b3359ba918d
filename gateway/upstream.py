"""The IM server an engine writes through to: what the Tencent Cloud backend plugs into the embedded
engine, which then serves as its local mirror (docs/tencent-design.md).

The embedded engine alone is its own IM server and has no upstream (`None`). With one, each write
of an SDK user is checked by the engine's own rules first, then made upstream, and only then
written to the mirror with what the upstream answered (its time, its message key): a refusal
upstream raises `IMError` and the mirror is left as it was. Reads are served from the mirror;
the upstream is asked only for what the mirror has never seen (an account created natively).

Writes that the upstream itself reported (its webhooks, applied to the mirror by the Tencent
backend's inbound handler) must not go back up: the handler runs them inside `from_upstream()`,
and `active()` then gives None. A context variable, as gateway.origin is, so no engine signature
carries the flag and concurrent requests never see each other's.

This module is the seam between the layers: gateway.engine imports it, gateway.tencent implements
it, and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from gateway.im.enums import FriendAddType, GroupMemberRole, MessageOpt, UserStatusType
from gateway.im.groups import CreateGroupMember, GroupInfo, GroupInfoChanges, TopicInfo, TopicOperationResult
from gateway.im.messages import Content, StoredMessage
from gateway.im.model import FriendChanges, FriendCheckResult, FriendOperationResult, ProfileChanges, UserFullInfo


@dataclass(frozen=True, slots=True)
class UpstreamSent:
    """What the upstream made of a message it accepted: its time (unix s) and its own key for it
    (Tencent's C2C MsgKey, or the group's MsgSeq as text)."""

    timestamp: int
    key: str


class AccountsUpstream(Protocol):
    async def ensure_account(self, user_id: str) -> None:
        """The account exists upstream (created if new; an existing one is left as it is)."""

    async def fetch_profiles(self, user_ids: Sequence[str]) -> list[UserFullInfo]:
        """The profiles of the accounts among `user_ids` that exist upstream (others left out)."""
        ...

    async def set_profile(self, user_id: str, changes: ProfileChanges) -> None: ...


class MessagesUpstream(Protocol):
    async def send_c2c(self, message: StoredMessage, *, online_only: bool, to_sender: bool) -> UpstreamSent:
        """Send `message` (sender, receiver, content, seq and random as the mirror will store it,
        under its mirror msgID; seq and random let the upstream drop a retried send as a
        duplicate). `to_sender`: it also enters the sender's history and other devices."""
        ...

    async def recall_c2c(self, message: StoredMessage, by: str) -> None:
        """`by` recalls `message` (its sender; the checks were the mirror's)."""

    async def modify_c2c(self, message: StoredMessage, by: str) -> None:
        """`message` as modified (its new content and cloudCustomData), by its sender."""

    async def read_c2c(self, reader: str, peer: str, read_time: int) -> None:
        """`reader` has read `peer`'s messages up to `read_time` (unix s)."""


class ConversationsUpstream(Protocol):
    """A user's own conversation list on the server (Tencent's recent contacts). Conversation IDs
    are imql's (`c2c_<userID>`, `group_<groupID>`); only those the mirror knows are passed."""

    async def delete(self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool) -> None: ...

    async def mark(self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int) -> None: ...

    async def create_group(self, user_id: str, name: str, conversation_ids: Sequence[str]) -> None: ...

    async def delete_group(self, user_id: str, name: str) -> None: ...

    async def rename_group(self, user_id: str, old: str, new: str) -> None: ...

    async def change_group(self, user_id: str, name: str, added: Sequence[str], removed: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class FriendAddition:
    """One friend request or addition as the SDK's addFriend makes it (remark and group are the
    requester's, for their own list)."""

    target: str
    remark: str = ""
    add_wording: str = ""
    add_source: str = ""
    friend_group: str = ""


@dataclass(frozen=True, slots=True)
class UpstreamFriend:
    """One entry of a user's friend list upstream."""

    user_id: str
    remark: str = ""
    groups: tuple[str, ...] = ()
    custom: tuple[tuple[str, str], ...] = ()  # custom friend fields (key without its prefix, value)
    add_time: int = 0
    add_source: str = ""
    add_wording: str = ""


@dataclass(frozen=True, slots=True)
class RelationChain:
    """A user's whole relation chain upstream: what the mirror imports the first time it needs it."""

    friends: tuple[UpstreamFriend, ...]
    blacklist: tuple[tuple[str, int], ...]  # (blocked user, when blocked, unix s)
    groups: tuple[str, ...]  # every friend group, empty ones included


class FriendshipUpstream(Protocol):
    """The relation chain upstream. Batch writes answer per user, as the SDK does: a result with a
    non-zero resultCode was not applied upstream (and must not be in the mirror)."""

    async def add_friend(
        self, user_id: str, addition: FriendAddition, add_type: FriendAddType, *, force: bool
    ) -> FriendOperationResult:
        """resultCode 0: the friendship is made; 30539: a request now waits for the target; any
        other: refused. `force`: the target's AllowType does not apply (an accepted request)."""
        ...

    async def delete_friends(
        self, user_id: str, user_ids: Sequence[str], delete_type: FriendAddType
    ) -> list[FriendOperationResult]: ...

    async def check_friends(
        self, user_id: str, user_ids: Sequence[str], check_type: FriendAddType
    ) -> list[FriendCheckResult]:
        """The relation with each user, in order (authoritative: it covers lists the mirror never imported)."""
        ...

    async def check_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[bool]:
        """Whether the user has blocked each of `user_ids`, in order."""
        ...

    async def update_friend(self, user_id: str, friend_id: str, changes: FriendChanges) -> None:
        """Remark and custom fields as `changes` sets them."""

    async def update_friend_groups(
        self, user_id: str, groups: Mapping[str, Sequence[str]]
    ) -> list[FriendOperationResult]:
        """Each friend's whole new list of friend groups (friend -> names), one result per friend."""
        ...

    async def add_to_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]:
        """resultCode 0 also for someone blocked already."""
        ...

    async def delete_from_black_list(self, user_id: str, user_ids: Sequence[str]) -> list[FriendOperationResult]: ...

    async def create_friend_group(self, user_id: str, name: str, user_ids: Sequence[str]) -> None: ...

    async def delete_friend_groups(self, user_id: str, names: Sequence[str]) -> None: ...

    async def rename_friend_group(self, user_id: str, old: str, new: str, members: Sequence[str]) -> None:
        """`members`: the friends in `old`, who move to `new`."""

    async def fetch_relations(self, user_id: str) -> RelationChain | None:
        """The user's friends, blacklist and friend groups; None when the account does not exist."""
        ...


class StatusUpstream(Protocol):
    """Users' online status upstream (native devices' connections)."""

    async def statuses(self, user_ids: Sequence[str]) -> list[UserStatusType | None]:
        """Each user's status upstream, in order; None for one the upstream has no account for."""
        ...


@dataclass(frozen=True, slots=True)
class UpstreamMember:
    """A group member as the upstream keeps it (what the mirror imports)."""

    user_id: str
    role: GroupMemberRole = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER
    join_time: int = 0
    name_card: str = ""
    mute_until: int = 0  # unix s; 0: not muted
    custom_info: dict[str, str] = field(default_factory=dict)
    # the member's own receive option for the group (Tencent's MsgFlag), which the member list
    # carries at no extra cost
    receive_option: MessageOpt = MessageOpt.V2TIM_RECEIVE_MESSAGE


@dataclass(frozen=True, slots=True)
class UpstreamGroup:
    """A group as the upstream keeps it, with every member: what the mirror imports the first time
    it needs a group it has never seen (created natively, or before the gateway was deployed)."""

    info: GroupInfo
    members: list[UpstreamMember]
    custom_info: dict[str, str] = field(default_factory=dict)
    max_members: int = 0  # 0: the type's cap
    next_seq: int = 1  # the seq the group's next message (or tips) will take upstream
    attributes: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class GroupsUpstream(Protocol):
    """Group writes of SDK users, made upstream as the app admin (the engine checked the SDK's rules)."""

    async def create_group(
        self,
        owner: str,
        info: GroupInfo,
        members: Sequence[CreateGroupMember],
    ) -> str:
        """Create the group with `owner` as its owner; its ID is `info.groupID` when given, else
        the one the upstream assigns (answered)."""
        ...

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> set[str]:
        """Add the accounts; answers those that are members now (added, or members already)."""
        ...

    async def remove_members(self, group_id: str, user_ids: Sequence[str], reason: str = "") -> None: ...

    async def destroy_group(self, group_id: str) -> None: ...

    async def set_group_info(self, group_id: str, changes: GroupInfoChanges) -> None: ...

    async def set_member_info(
        self,
        group_id: str,
        user_id: str,
        *,
        name_card: str | None = None,
        custom_info: dict[str, str] | None = None,
        role: GroupMemberRole | None = None,
    ) -> None: ...

    async def mute_members(self, group_id: str, user_ids: Sequence[str], seconds: int) -> None:
        """Mute for `seconds` (0 unmutes)."""

    async def set_receive_option(self, group_id: str, user_id: str, opt: MessageOpt) -> None:
        """The member's receive option for the group's messages (setGroupReceiveMessageOpt)."""

    async def change_owner(self, group_id: str, new_owner: str) -> None: ...

    async def set_attributes(self, group_id: str, attributes: dict[str, str], *, replace: bool) -> None:
        """Set these attributes (`replace`: and drop every other one)."""

    async def delete_attributes(self, group_id: str, keys: Sequence[str] | None) -> None:
        """Delete these attributes (None: all of them)."""

    async def update_counters(self, group_id: str, counters: dict[str, int], *, mode: str) -> dict[str, int]:
        """`mode` "Set", "Increase" or "Decrease" each counter by its value; answers the new values."""
        ...

    async def fetch_counters(self, group_id: str) -> dict[str, int]:
        """The group's counters as the upstream has them now (native changes have no webhook)."""
        ...

    async def fetch_groups(self, group_ids: Sequence[str]) -> list[UpstreamGroup]:
        """The groups among `group_ids` that exist upstream, each with all its members."""
        ...

    async def joined_group_ids(self, user_id: str) -> list[str]:
        """The groups the account is a member of upstream."""
        ...

    async def send_group_message(self, message: StoredMessage, *, online_only: bool) -> UpstreamSent:
        """Send `message` (sender, group or topic, content, random and options as the mirror will
        store it); answers the upstream's time and the group's MsgSeq it took (`key`, as text).
        A resend with the same random is the same message upstream."""
        ...

    async def recall_group_message(self, group_id: str, seq: int) -> None:
        """Recall the message at `seq` of a group or topic (`group_id` is the timeline's ID)."""

    async def modify_group_message(
        self, group_id: str, seq: int, content: Content | None, cloud_custom_data: str | None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class UpstreamTopic:
    """A community's topic as the upstream keeps it: what the mirror imports the first time it
    needs a topic it has never seen (created natively, or before the gateway served topics)."""

    info: TopicInfo  # draftText is the mirror's own (the upstream keeps none)
    next_seq: int = 1  # the seq the topic's next message will take upstream


class TopicsUpstream(Protocol):
    """The topics of topic-enabled communities upstream, written for SDK users as the app admin (the
    engine checked the SDK's rules first). A topic's ID is `<community ID>@TOPIC#_<suffix>`."""

    async def create_topic(self, group_id: str, creator: str, info: TopicInfo) -> str:
        """Create the topic with `creator` as its creator; its ID is `info.topicID` when given, else
        the one the upstream assigns (answered, always a topic ID of `group_id`)."""
        ...

    async def destroy_topics(self, group_id: str, topic_ids: Sequence[str]) -> list[TopicOperationResult]:
        """Destroy each topic: one result per topic, in order, errorCode 0 for those destroyed and
        the upstream's refusal of each other one (a topic it does not have included)."""
        ...

    async def modify_topic(self, group_id: str, by: str, old: TopicInfo, new: TopicInfo) -> None:
        """`by` changes the topic from `old` (the mirror's) to `new`: the fields the upstream keeps
        that differ are written (nothing is sent when none does)."""

    async def fetch_topics(self, group_id: str, viewer: str, topic_ids: Sequence[str] | None) -> list[UpstreamTopic]:
        """The community's topics the upstream has (None: all of them; else those of `topic_ids`
        it has), read as `viewer`, a member ("" for the app admin)."""
        ...

    async def supports_topics(self, group_id: str, viewer: str) -> bool:
        """Whether the community has topics upstream, asked as `viewer` (a member): for a community
        the mirror holds as having none, which may only mean it was imported before the upstream
        said (the engine asks at the point of need, gateway.engine.groups.extras.has_topics). An
        outage raises: unknown is not "no"."""
        ...

    def echoes_after(self) -> AbstractAsyncContextManager[None]:
        """Held by the engine, in the community's turn, around an upstream topic write and the
        mirror's: the write's echoes (its webhooks coming back) count as the gateway's own only from
        its end, once both were made; when it raises they do not, so the upstream's webhooks repair
        the mirror instead of being dropped as echoes."""
        ...


@dataclass(frozen=True, slots=True)
class UpstreamExtension:
    """One message extension key as the upstream answered or reported a write of it: `code` 0 when
    it was written (its value and the upstream's version of it, Tencent's `Seq`), else the
    upstream's refusal of that key (23001 with the key's current value and version, ...)."""

    key: str
    value: str = ""
    version: int = 0  # 0: the upstream gave none
    code: int = 0


class ExtensionsUpstream(Protocol):
    """Message extensions upstream (Tencent: openim_msg_ext_http_svc). `message` is the mirror's,
    `by` the party writing (the engine checked the version rules; the upstream does not for the admin)."""

    async def set_extensions(
        self, message: StoredMessage, by: str, items: Sequence[tuple[str, str]]
    ) -> list[UpstreamExtension]:
        """Set each (key, value); one result per key, in order."""
        ...

    async def delete_extensions(self, message: StoredMessage, by: str, keys: Sequence[str]) -> list[UpstreamExtension]:
        """Delete each key; one result per key, in order."""
        ...


class ReceiptsUpstream(Protocol):
    """Message read receipts upstream (Tencent: openim/c2c_msg_read_receipt)."""

    async def send_receipts(self, reader: str, messages: Sequence[StoredMessage]) -> None:
        """`reader` has read `messages` (of one conversation, sent by others, not yet receipted in
        the mirror); raising IMError refuses them all."""


@dataclass(frozen=True, slots=True)
class UpstreamReport:
    """What the upstream reported about a change being applied to the mirror that Tencent's REST
    body for the change cannot carry: who acted (`operator`, the listener events' opUser; "" for
    the app admin), whether members joined by applying or left by quitting (`by_self`: onMemberEnter
    / onMemberLeave, not onMemberInvited / onMemberKicked), and the seq and time a message took
    upstream (`seq` 0: none given)."""

    operator: str = ""
    by_self: bool = False
    seq: int = 0
    timestamp: int = 0


class Upstream(Protocol):
    """Every write method is called before the mirror's write; raising IMError refuses the action."""

    @property
    def name(self) -> str:
        """The backend's name (`IMBackend.name`), e.g. "tencent"."""
        ...

    @property
    def accounts(self) -> AccountsUpstream: ...

    @property
    def messages(self) -> MessagesUpstream: ...

    @property
    def conversations(self) -> ConversationsUpstream: ...

    @property
    def friendship(self) -> FriendshipUpstream: ...

    @property
    def status(self) -> StatusUpstream: ...

    @property
    def groups(self) -> GroupsUpstream: ...

    @property
    def topics(self) -> TopicsUpstream: ...

    @property
    def extensions(self) -> ExtensionsUpstream: ...

    @property
    def receipts(self) -> ReceiptsUpstream: ...

    async def ping(self) -> None:
        """Raise IMError when the upstream cannot be reached or refuses the app's credentials."""

    async def close(self) -> None: ...


# ---- the other way: the upstream's news written into the mirror ---------------------------------
@dataclass(frozen=True, slots=True)
class UpstreamC2CMessage:
    """A C2C message the upstream has (a native user's, or one a webhook was lost for)."""

    sender: str
    receiver: str
    random: int
    timestamp: int  # the upstream's time (unix s), kept as the mirror's
    content: Content
    key: str  # the upstream's identity of it (Tencent: MsgSeq_MsgRandom_MsgTime): a repeat is one message
    cloud_custom_data: str = ""
    online_only: bool = False
    live: bool = True  # False: into history only (nobody hears of it, it is not unread)


@dataclass(frozen=True, slots=True)
class MirroredMessage:
    msg_id: str  # the mirror's msgID
    key: str  # the mirror's own MsgKey for it (what its server API names it by)


class MirrorEntry(Protocol):
    """What the engine offers the upstream's inbound side, beyond its server API: writes that keep
    the upstream's time and identity. Each is idempotent by the upstream's key."""

    async def c2c_message(self, message: UpstreamC2CMessage) -> MirroredMessage | None:
        """Store and deliver it as the sender's (None for an online-only message: nothing is kept)."""
        ...

    async def c2c_extensions(
        self, viewer: str, msg_id: str, changes: Sequence[UpstreamExtension] | None, *, delete: bool
    ) -> None:
        """Apply the upstream's set (or delete) of these keys of a C2C message (`viewer`: a party),
        each at the upstream's version: a report repeated or overtaken by a later change changes
        nothing. `changes` None (with `delete`): every key the mirror holds (a clear)."""

    async def group_extensions(
        self, group_id: str, seq: int, changes: Sequence[UpstreamExtension] | None, *, delete: bool
    ) -> None:
        """The same for the message at `seq` of a group (or topic: `group_id` is the topic's ID)."""

    async def group_receipts(self, group_id: str, reads: Sequence[tuple[int, str]]) -> None:
        """The upstream's read receipts of a group's messages: (the message's seq, its reader) each,
        recorded once; each message's sender hears onRecvMessageReadReceipts."""


_from_upstream: ContextVar[bool] = ContextVar("imql_from_upstream", default=False)


@contextmanager
def from_upstream() -> Iterator[None]:
    """Writes made inside are the upstream's own news, applied to the mirror: none goes back up."""
    token = _from_upstream.set(True)
    try:
        yield
    finally:
        _from_upstream.reset(token)


_report: ContextVar[UpstreamReport | None] = ContextVar("imql_upstream_report", default=None)


@contextmanager
def reporting(report: UpstreamReport) -> Iterator[None]:
    """Writes made inside apply what the upstream reported (`from_upstream()` too): the mirror's REST
    server reads the rest of the report with `upstream_report()`."""
    token = _report.set(report)
    try:
        with from_upstream():
            yield
    finally:
        _report.reset(token)


def upstream_report() -> UpstreamReport | None:
    """The report of the upstream's change being applied now, or None (not an upstream change)."""
    return _report.get() if _from_upstream.get() else None


def active(upstream: Upstream | None) -> Upstream | None:
    """The upstream a write must go through, or None (no upstream, or the write came from it)."""
    if upstream is None or _from_upstream.get():
        return None
    return upstream


class GroupBeingErased(ConnectionError):
    """A group to import whose ID is still a dismissed group's being erased (its info hash, closed):
    the upstream has a group made again under the ID, which the mirror can take only once the old
    one's erasure is done. A ConnectionError, so that the webhook asking for it counts as failed
    for now (gateway.background.is_transient) and is retried after its claim period; the old
    group's entry is made due at once (gateway.engine.groups.imports `expedite_erasure`) so that
    the wait is short."""

    def __init__(self, group_ids: Sequence[str]) -> None:
        super().__init__(f"groups {list(group_ids)!r} are dismissed groups still being erased; retried once erased")
        self.group_ids = list(group_ids)
