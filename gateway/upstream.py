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
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from gateway.im.enums import FriendAddType, UserStatusType
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


_from_upstream: ContextVar[bool] = ContextVar("imql_from_upstream", default=False)


@contextmanager
def from_upstream() -> Iterator[None]:
    """Writes made inside are the upstream's own news, applied to the mirror: none goes back up."""
    token = _from_upstream.set(True)
    try:
        yield
    finally:
        _from_upstream.reset(token)


def active(upstream: Upstream | None) -> Upstream | None:
    """The upstream a write must go through, or None (no upstream, or the write came from it)."""
    if upstream is None or _from_upstream.get():
        return None
    return upstream
