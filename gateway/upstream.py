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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from gateway.im.enums import GroupMemberRole
from gateway.im.groups import CreateGroupMember, GroupInfo, GroupInfoChanges
from gateway.im.messages import Content, StoredMessage
from gateway.im.model import ProfileChanges, UserFullInfo


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


@dataclass(frozen=True, slots=True)
class UpstreamMember:
    """A group member as the upstream keeps it (what the mirror imports)."""

    user_id: str
    role: GroupMemberRole = GroupMemberRole.V2TIM_GROUP_MEMBER_ROLE_MEMBER
    join_time: int = 0
    name_card: str = ""
    mute_until: int = 0  # unix s; 0: not muted
    custom_info: dict[str, str] = field(default_factory=dict)


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
    def groups(self) -> GroupsUpstream: ...

    async def ping(self) -> None:
        """Raise IMError when the upstream cannot be reached or refuses the app's credentials."""

    async def close(self) -> None: ...


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
