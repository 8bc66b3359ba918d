"""Tencent's webhooks, after they were answered: typed events, echo detection and the worker.

gateway.tencent.webhooks verifies each callback, answers it at once and queues it on the app's
`tencent_inbound_queue` stream. Here every replica runs an `InboundWorker` in one consumer group
over that stream (as gateway.engine.push.worker does), so each callback is handled by one replica:
it is decoded into a typed `InboundEvent` (one small struct per callback family, FIXTURES.md
section C), echoes of the gateway's own REST calls are dropped, and the rest go to an
`InboundHandler`, which the Tencent backend implements (turning them into listener events).

Failures: a callback that cannot be decoded, or whose command imql has no event for, is logged and
acknowledged (a retry would not change it). A handler that raises or overruns HANDLER_TIMEOUT_SECONDS
leaves the entry pending; after CLAIM_IDLE_SECONDS any replica claims it again. An entry whose
handler failed MAX_ATTEMPTS times of its own is moved to the queue's dead-letter stream with a log
line (gateway.background.StreamConsumer.max_deliveries); a failure for an outage (Redis, Tencent's
REST unreachable, silent, 5xx or asking to slow down: `InboundWorker.is_transient`) or an overrun,
which a stalled dependency causes, is not counted, and the entry waits the outage out. The same
claim takes over a dead replica's entries.

Decoding is lenient where Tencent is inconsistent (FIXTURES.md, "Golden-test advice"): `EventTime`
as a number or a string of digits, `Member_Account` or `Modified_Account`, integers sent as digit
strings, user IDs sent as numbers, optional fields absent.

Echoes (MAPPING.md section 5): a callback the gateway caused itself comes back with
`OptPlatform=RESTAPI`. When its REST call succeeds the backend calls `OwnMessages.record_own_message`
with the message's echo key (`c2c_echo_key` / `group_echo_key`, or a group membership or profile
write's `group_action_key`); a RESTAPI callback whose every
echo key was recorded within OWN_MESSAGE_TTL_SECONDS is dropped here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec
import orjson

from gateway.background import StreamConsumer
from gateway.digits import INT64_MIN, UINT64_MAX, parse_integer
from gateway.errors import IMError
from gateway.im.messages import Content
from gateway.keys import Keys
from gateway.tencent.errors import is_tencent_outage
from gateway.v4 import callbacks as wire
from gateway.v4.msgbody import content_from_msgbody

log = logging.getLogger("imql.tencent")

GROUP = "tencent-inbound"
BATCH = 50  # queue entries taken per read, handled in order
BLOCK_MILLISECONDS = 1000  # how long a read waits for new entries
HANDLER_TIMEOUT_SECONDS = 10.0  # one event's handling; an overrun is retried, not counted (a stalled dependency)
# An entry idle this long was either refused by the handler or taken by a replica that died: claim
# it again. Longer than HANDLER_TIMEOUT_SECONDS, so a live replica's entry is never taken from it.
CLAIM_IDLE_SECONDS = 30.0
MAX_ATTEMPTS = 5  # deliveries of one entry to a handler before it is dead-lettered
ERROR_PAUSE_SECONDS = 1.0
# How long the gateway's own REST message stays recognisable: far longer than a webhook takes to
# arrive (Tencent's timeout is 2 s, and a retried delivery comes within seconds too).
OWN_MESSAGE_TTL_SECONDS = 300

# echo-key actions: one per kind of REST call that produces a message callback
SEND = "send"
RECALL = "recall"
MODIFY = "modify"
READ = "read"  # a read report: its callback names no message, so the pair of users is the key
EXTENSION = "extension"
# group-action echo keys (gateway.tencent.groups records them for its own membership and profile writes)
GROUP_JOIN = "join"
GROUP_EXIT = "exit"
GROUP_CREATE = "create"
GROUP_DESTROY = "destroy"
GROUP_INFO = "info"
GROUP_OWNER = "owner"
GROUP_ROLE = "role"
GROUP_CARD = "card"
GROUP_ATTR = "attr"
# topic echo keys (gateway.tencent.topics records them for its own topic writes)
TOPIC_CREATE = "topic-create"
TOPIC_DESTROY = "topic-destroy"
TOPIC_INFO = "topic-info"


class InboundDecodeError(ValueError):
    """A callback body that does not have the documented shape."""


# ---- events ------------------------------------------------------------------------------------
class Inbound(msgspec.Struct, frozen=True, kw_only=True):
    """What every inbound event carries from its request line."""

    command: str  # CallbackCommand
    platform: str = ""  # OptPlatform: RESTAPI, Web, Android, iOS (IOS for State.StateChange), ...
    client_ip: str = ""  # ClientIP

    def echo_keys(self) -> tuple[str, ...]:
        """The keys that make this event an echo of the gateway's own REST call when all were recorded."""
        return ()


class Extension(msgspec.Struct, frozen=True):
    key: str
    value: str
    seq: int


class GroupAt(msgspec.Struct, frozen=True):
    at_all: bool
    user_id: str


class FriendPair(msgspec.Struct, frozen=True):
    from_account: str
    to_account: str
    initiator: str = ""  # Initiator_Account (Sns.CallbackFriendAdd only)


class _C2CMessage(Inbound, frozen=True, kw_only=True):
    from_account: str
    to_account: str
    msg_seq: int
    msg_random: int
    msg_time: int
    msg_key: str
    msg_id: str = ""  # the native V2TIM msgID, when Tencent sends it
    online_only: bool = False
    contents: tuple[Content, ...] = ()  # the elements imql has a type for, in order
    msg_body: tuple[Any, ...] = ()  # MsgBody as sent (len > len(contents): an element imql cannot read)
    cloud_custom_data: str = ""
    event_time: int = 0  # ms; 0 when the body has none

    def echo_keys(self) -> tuple[str, ...]:
        # a send is known before Tencent answers it (so before its MsgKey, whose time is Tencent's):
        # by its seq and random, which the gateway chose
        return (c2c_echo_key(SEND, self.from_account, self.to_account, c2c_send_id(self.msg_seq, self.msg_random)),)


class C2CMessageSent(_C2CMessage, frozen=True, kw_only=True):
    """C2C.CallbackAfterSendMsg. It also fires for a failed send: deliver only when `delivered`."""

    send_result: int = 0  # SendMsgResult
    error_info: str = ""
    unread: int = 0  # UnreadMsgNum: To_Account's total C2C unread

    @property
    def delivered(self) -> bool:
        return self.send_result == 0


class C2CSendRequested(_C2CMessage, frozen=True, kw_only=True):
    """C2C.CallbackBeforeSendMsg (answered "allow" at once; the outcome comes as C2CMessageSent)."""


class C2CMessageRead(Inbound, frozen=True, kw_only=True):
    """C2C.CallbackAfterMsgReport: `reporter` read `peer`'s messages up to `last_read_time`."""

    reporter: str
    peer: str
    last_read_time: int
    unread: int = 0  # the reporter's new C2C total
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (c2c_echo_key(READ, self.reporter, self.peer, ""),)


class C2CMessageRecalled(Inbound, frozen=True, kw_only=True):
    """C2C.CallbackAfterMsgWithDraw."""

    from_account: str
    to_account: str
    msg_key: str
    unread: int = 0
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (c2c_echo_key(RECALL, self.from_account, self.to_account, self.msg_key),)


class C2CMessageModified(Inbound, frozen=True, kw_only=True):
    """C2C.CallbackAfterModifyMsg."""

    operator: str
    from_account: str
    to_account: str
    msg_seq: int
    msg_random: int
    msg_time: int
    msg_key: str
    contents: tuple[Content, ...] = ()
    msg_body: tuple[Any, ...] = ()
    cloud_custom_data: str = ""
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (c2c_echo_key(MODIFY, self.from_account, self.to_account, self.msg_key),)


class C2CMessageExtension(Inbound, frozen=True, kw_only=True):
    """C2C.CallbackAfterC2CMsgExtension: OperateType 1 set, 2 delete keys, 3 clear all (no keys)."""

    from_account: str
    to_account: str
    msg_key: str
    operate_type: int
    extensions: tuple[Extension, ...]
    seq: int = 0
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (c2c_echo_key(EXTENSION, self.from_account, self.to_account, self.msg_key),)


class _GroupMessage(Inbound, frozen=True, kw_only=True):
    group_id: str
    group_type: str  # Tencent's name: Private, Public, ChatRoom, AVChatRoom, Community
    from_account: str
    operator: str = ""
    random: int = 0
    msg_id: str = ""
    online_only: bool = False
    contents: tuple[Content, ...] = ()
    msg_body: tuple[Any, ...] = ()
    cloud_custom_data: str = ""
    topic_id: str = ""
    at: tuple[GroupAt, ...] = ()
    event_time: int = 0


class GroupMessageSent(_GroupMessage, frozen=True, kw_only=True):
    """Group.CallbackAfterSendMsg."""

    msg_seq: int
    msg_time: int

    def echo_keys(self) -> tuple[str, ...]:
        return (group_echo_key(SEND, self.group_id, self.topic_id, self.msg_seq),)


class GroupSendRequested(_GroupMessage, frozen=True, kw_only=True):
    """Group.CallbackBeforeSendMsg (answered "allow" at once; no MsgSeq exists yet, so no echo key)."""


class GroupMessagesRecalled(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterRecallMsg."""

    group_id: str
    group_type: str
    operator: str
    msg_seqs: tuple[int, ...]
    topic_id: str = ""
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return tuple(group_echo_key(RECALL, self.group_id, self.topic_id, s) for s in self.msg_seqs)


class GroupMessageModified(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterModifyMsg."""

    group_id: str
    operator: str
    msg_seq: int
    topic_id: str = ""
    contents: tuple[Content, ...] = ()
    msg_body: tuple[Any, ...] = ()
    cloud_custom_data: str = ""
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (group_echo_key(MODIFY, self.group_id, self.topic_id, self.msg_seq),)


class GroupMessageExtension(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterGroupMsgExtension (OperateType as for C2C)."""

    group_id: str
    msg_seq: int
    operate_type: int
    extensions: tuple[Extension, ...]
    topic_id: str = ""
    seq: int = 0
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (group_echo_key(EXTENSION, self.group_id, self.topic_id, self.msg_seq),)


class GroupReceipt(msgspec.Struct, frozen=True):
    msg_seq: int
    read_num: int
    unread_num: int
    readers: tuple[str, ...]


class GroupReadReceipts(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterReadReceipt."""

    group_id: str
    group_type: str
    receipts: tuple[GroupReceipt, ...]
    event_time: int = 0


class GroupMembersJoined(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterNewMemberJoin: JoinType "Apply" (onMemberEnter) or "Invited" (onMemberInvited)."""

    group_id: str
    group_type: str
    join_type: str
    operator: str
    members: tuple[str, ...]
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return tuple(group_action_key(GROUP_JOIN, self.group_id, m) for m in self.members)


class GroupMembersLeft(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterMemberExit: ExitType "Quit" (onMemberLeave) or "Kicked" (onMemberKicked)."""

    group_id: str
    group_type: str
    exit_type: str
    operator: str
    members: tuple[str, ...]
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return tuple(group_action_key(GROUP_EXIT, self.group_id, m) for m in self.members)


class GroupMemberFieldChanged(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterMemberFieldChanged: Role and NameCard, only those that changed."""

    group_id: str
    group_type: str
    operator: str
    member: str  # Member_Account, or Modified_Account as [DOOCS] names it
    role: str | None = None  # "Admin" | "Member"
    name_card: str | None = None
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        keys = [group_action_key(GROUP_ROLE, self.group_id, self.member, self.role)] if self.role is not None else []
        if self.name_card is not None:
            keys.append(group_action_key(GROUP_CARD, self.group_id, self.member, self.name_card))
        return tuple(keys)


class GroupJoinRequested(Inbound, frozen=True, kw_only=True):
    """Group.CallbackBeforeApplyJoinGroup (answered "allow" at once; no application text exists)."""

    group_id: str
    group_type: str
    requestor: str
    event_time: int = 0


class GroupCreated(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterCreateGroup."""

    group_id: str
    group_type: str
    operator: str
    owner: str
    name: str
    members: tuple[str, ...]
    user_defined_data: tuple[tuple[str, str], ...] = ()  # UserDefinedDataList, in order
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (group_action_key(GROUP_CREATE, self.group_id),)


class GroupDestroyed(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterGroupDestroyed (no MemberList for Community groups)."""

    group_id: str
    group_type: str
    owner: str
    name: str
    members: tuple[str, ...]
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (group_action_key(GROUP_DESTROY, self.group_id),)


class GroupInfoChanged(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterGroupInfoChanged: only the fields that changed are set."""

    group_id: str
    group_type: str
    operator: str
    name: str | None = None
    introduction: str | None = None
    notification: str | None = None
    face_url: str | None = None
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        changed = (("Name", self.name), ("Introduction", self.introduction), ("Notification", self.notification))
        fields = (*changed, ("FaceUrl", self.face_url))
        return tuple(group_action_key(GROUP_INFO, self.group_id, n, v) for n, v in fields if v is not None)


class GroupOwnerChanged(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterChangeGroupOwner."""

    group_id: str
    group_type: str
    operator: str
    old_owner: str
    new_owner: str
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (group_action_key(GROUP_OWNER, self.group_id, self.new_owner),)


class GroupAttrChanged(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterGroupAttrChanged: OptionType set | modify | clear | delete, and the pairs it names."""

    group_id: str
    group_type: str
    operator: str
    option_type: str
    attrs: tuple[tuple[str, str], ...]
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        pairs = [(k, v) for k, v in self.attrs] or [("", "")]  # a clear names none
        return tuple(group_action_key(GROUP_ATTR, self.group_id, self.option_type, k, v) for k, v in pairs)


class TopicCreated(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterCreateTopic (shape from MAPPING.md 4.3; no FIXTURES sample)."""

    group_id: str
    topic_id: str
    group_type: str = ""
    operator: str = ""
    owner: str = ""
    name: str = ""
    user_defined_data: tuple[tuple[str, str], ...] = ()
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return (group_action_key(TOPIC_CREATE, self.group_id, self.topic_id),)


class TopicsDestroyed(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterTopicDestroyed."""

    group_id: str
    topic_ids: tuple[str, ...]
    group_type: str = ""
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        return tuple(group_action_key(TOPIC_DESTROY, self.group_id, t) for t in self.topic_ids)


class TopicInfoChanged(Inbound, frozen=True, kw_only=True):
    """Group.CallbackAfterTopicInfoChanged: the sample has no TopicId (*unconfirmed*), so it may be ""."""

    group_id: str
    topic_id: str = ""
    group_type: str = ""
    operator: str = ""
    name: str | None = None
    introduction: str | None = None
    notification: str | None = None
    face_url: str | None = None
    event_time: int = 0

    def echo_keys(self) -> tuple[str, ...]:
        # by the topic and the fields it names. One that names no topic (Tencent's sample) is never
        # an echo: the same fields and values may be another topic's native change, which must not be
        # swallowed as the gateway's own; its applier re-reads the topics (get_topic) and writes only
        # what differs from the mirror, so the gateway's own change is not told twice either
        if not self.topic_id:
            return ()
        fields = (
            ("Name", self.name),
            ("Introduction", self.introduction),
            ("Notification", self.notification),
            ("FaceUrl", self.face_url),
        )
        return tuple(topic_info_key(self.group_id, self.topic_id, n, v) for n, v in fields if v is not None)


class FriendsAdded(Inbound, frozen=True, kw_only=True):
    """Sns.CallbackFriendAdd. ClientCmd: friend_add | FriendAdd | friend_response | FriendResponse."""

    pairs: tuple[FriendPair, ...]
    client_cmd: str = ""
    admin_account: str = ""
    force_flag: int = 0
    event_time: int = 0


class FriendsDeleted(Inbound, frozen=True, kw_only=True):
    """Sns.CallbackFriendDelete."""

    pairs: tuple[FriendPair, ...]
    event_time: int = 0


class BlacklistAdded(Inbound, frozen=True, kw_only=True):
    """Sns.CallbackBlackListAdd: From_Account blocked To_Account."""

    pairs: tuple[FriendPair, ...]
    event_time: int = 0


class BlacklistDeleted(Inbound, frozen=True, kw_only=True):
    """Sns.CallbackBlackListDelete."""

    pairs: tuple[FriendPair, ...]
    event_time: int = 0


class FriendRequest(msgspec.Struct, frozen=True):
    to_account: str
    remark: str = ""
    group_name: str = ""
    add_source: str = ""
    add_wording: str = ""


class FriendApplicationsAdded(Inbound, frozen=True, kw_only=True):
    """Sns.CallbackPrevFriendAdd (answered "allow" for every item at once)."""

    requester: str
    from_account: str
    requests: tuple[FriendRequest, ...]
    add_type: str = ""
    force_add_flags: int = 0
    event_time: int = 0


class FriendResponse(msgspec.Struct, frozen=True):
    to_account: str
    action: str  # Response_Action_AgreeAndAdd | Response_Action_Agree | Response_Action_Reject
    remark: str = ""
    tag_name: str = ""


class FriendApplicationsAnswered(Inbound, frozen=True, kw_only=True):
    """Sns.CallbackPrevFriendResponse (answered "allow" for every item at once)."""

    requester: str
    from_account: str
    responses: tuple[FriendResponse, ...]
    event_time: int = 0


class PortraitSet(Inbound, frozen=True, kw_only=True):
    """Profile.CallbackPortraitSet: the changed items only, as (Tag, Value) in order."""

    operator: str
    from_account: str
    items: tuple[tuple[str, Any], ...]
    event_time: int = 0


class StateChanged(Inbound, frozen=True, kw_only=True):
    """State.StateChange of a native SDK user. Action Login | Logout | Disconnect."""

    user_id: str
    action: str
    reason: str = ""
    kicked_platforms: tuple[str, ...] = ()
    event_time: int = 0


InboundEvent = (
    C2CMessageSent
    | C2CSendRequested
    | C2CMessageRead
    | C2CMessageRecalled
    | C2CMessageModified
    | C2CMessageExtension
    | GroupMessageSent
    | GroupSendRequested
    | GroupMessagesRecalled
    | GroupMessageModified
    | GroupMessageExtension
    | GroupReadReceipts
    | GroupMembersJoined
    | GroupMembersLeft
    | GroupMemberFieldChanged
    | GroupJoinRequested
    | GroupCreated
    | GroupDestroyed
    | GroupInfoChanged
    | GroupOwnerChanged
    | GroupAttrChanged
    | TopicCreated
    | TopicsDestroyed
    | TopicInfoChanged
    | FriendsAdded
    | FriendsDeleted
    | BlacklistAdded
    | BlacklistDeleted
    | FriendApplicationsAdded
    | FriendApplicationsAnswered
    | PortraitSet
    | StateChanged
)


# ---- echo keys ---------------------------------------------------------------------------------
def c2c_send_id(msg_seq: int, msg_random: int) -> str:
    """What names a C2C send in its echo key: the MsgSeq and MsgRandom the sender chose."""
    return f"{int(msg_seq)}_{int(msg_random)}"


def c2c_echo_key(action: str, from_account: str, to_account: str, msg_key: str) -> str:
    """The echo key of a C2C message action (SEND, RECALL, MODIFY, EXTENSION) the gateway made by REST."""
    return orjson.dumps(["c2c", action, from_account, to_account, msg_key]).decode()


def group_echo_key(action: str, group_id: str, topic_id: str, msg_seq: int) -> str:
    """The echo key of a group message action; `topic_id` is "" outside topics."""
    return orjson.dumps(["grp", action, group_id, topic_id, int(msg_seq)]).decode()


def group_action_key(action: str, group_id: str, *parts: str) -> str:
    """The echo key of a group membership or profile write the gateway made by REST (GROUP_JOIN, ...):
    the group, and what the callback names (a member, a field and its new value)."""
    return orjson.dumps(["grp-action", action, group_id, *parts]).decode()


def topic_info_key(group_id: str, topic_id: str, field: str, value: str) -> str:
    """The echo key of a topic info write: the community, the topic ("" when the callback names
    none), a field Group.CallbackAfterTopicInfoChanged reports (Name, Introduction, Notification,
    FaceUrl) and its new value."""
    return group_action_key(TOPIC_INFO, group_id, topic_id, field, value)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class OwnMessages:
    """The messages the gateway itself made through REST, remembered for OWN_MESSAGE_TTL_SECONDS."""

    def __init__(self, redis: Any, keys: Keys, ttl_seconds: int = OWN_MESSAGE_TTL_SECONDS) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def record_own_message(self, key: str) -> None:
        """Call when a REST call that makes message callbacks succeeded, with its echo key."""
        await self._redis.set(self._keys.tencent_own_message(_digest(key)), "1", ex=self._ttl)

    async def is_echo(self, key: str) -> bool:
        return bool(await self._redis.exists(self._keys.tencent_own_message(_digest(key))))

    async def all_echoes(self, keys: Sequence[str]) -> bool:
        """Whether every one of `keys` was recorded (False for none): one round trip."""
        if not keys:
            return False
        names = [self._keys.tencent_own_message(_digest(k)) for k in keys]
        return int(await self._redis.exists(*names)) == len(set(names))


# ---- decoding ----------------------------------------------------------------------------------
class _Fields:
    """A callback body read leniently: absent or null fields take defaults, digit strings are integers."""

    def __init__(self, raw: dict[str, Any], where: str = "") -> None:
        self.raw = raw
        self.where = where

    def _error(self, name: str, what: str) -> InboundDecodeError:
        return InboundDecodeError(f"{self.where}{name} must be {what}")

    def _get(self, names: tuple[str, ...]) -> tuple[str, Any]:
        for name in names:
            value = self.raw.get(name)
            if value is not None:
                return name, value
        return names[0], None

    def s(self, *names: str, default: str = "") -> str:
        name, value = self._get(names)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):  # numeric user IDs
            return str(value)
        raise self._error(name, "a string")

    def opt_s(self, *names: str) -> str | None:
        return self.s(*names) if self._get(names)[1] is not None else None

    def i(self, *names: str, default: int = 0) -> int:
        name, value = self._get(names)
        if value is None:
            return default
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            number = parse_integer(value)
        # Tencent's integers are at most 64 bits; a larger one could not even be written back
        # (orjson refuses it, as the echo check's keys do)
        if number is None or not INT64_MIN <= number <= UINT64_MAX:
            raise self._error(name, "an integer of at most 64 bits")
        return number

    def req_s(self, *names: str) -> str:
        if self._get(names)[1] is None:
            raise InboundDecodeError(f"{self.where}{names[0]} is required")
        return self.s(*names)

    def objects(self, name: str) -> list[_Fields]:
        value = self.raw.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._error(name, "a list of objects")
        return [_Fields(v, f"{self.where}{name}[{n}].") for n, v in enumerate(value)]

    def accounts(self, name: str, *fields: str) -> tuple[str, ...]:
        return tuple(item.s(*(fields or ("Member_Account",))) for item in self.objects(name))

    def pairs(self, name: str, key: str, value: str) -> tuple[tuple[str, str], ...]:
        return tuple((item.s(key), item.s(value)) for item in self.objects(name))

    def body(self) -> tuple[tuple[Content, ...], tuple[Any, ...]]:
        """MsgBody: the elements imql can read, and the body as sent."""
        value = self.raw.get("MsgBody")
        if value is None:
            return (), ()
        if not isinstance(value, list):
            raise self._error("MsgBody", "a list")
        contents: list[Content] = []
        for elem in value:
            try:
                contents.append(content_from_msgbody([elem]))
            except IMError as exc:
                log.info("a MsgBody element imql cannot read: %s", exc.desc)
        return tuple(contents), tuple(value)

    def extensions(self) -> tuple[Extension, ...]:
        return tuple(Extension(e.s("Key"), e.s("Value"), e.i("Seq")) for e in self.objects("ExtensionList"))

    def friend_pairs(self) -> tuple[FriendPair, ...]:
        pairs = self.objects("PairList")
        return tuple(FriendPair(p.s("From_Account"), p.s("To_Account"), p.s("Initiator_Account")) for p in pairs)


def _c2c_message(f: _Fields) -> dict[str, Any]:
    contents, body = f.body()
    return {  # (a message names both users: without them it could only be delivered to nobody, or wrongly)
        "from_account": f.req_s("From_Account"),
        "to_account": f.req_s("To_Account"),
        "msg_seq": f.i("MsgSeq"),
        "msg_random": f.i("MsgRandom"),
        "msg_time": f.i("MsgTime"),
        "msg_key": f.req_s("MsgKey"),
        "msg_id": f.s("MsgId"),
        "online_only": bool(f.i("OnlineOnlyFlag")),
        "contents": contents,
        "msg_body": body,
        "cloud_custom_data": f.s("CloudCustomData"),
        "event_time": f.i("EventTime"),
    }


def _group_message(f: _Fields) -> dict[str, Any]:
    contents, body = f.body()
    at = tuple(
        GroupAt(bool(a.i("GroupAtAllFlag")), a.s("GroupAt_Account", "GroupAtAccount")) for a in f.objects("GroupAtInfo")
    )
    return {
        "group_id": f.req_s("GroupId"),
        "group_type": f.s("Type"),
        "from_account": f.s("From_Account"),
        "operator": f.s("Operator_Account"),
        "random": f.i("Random"),
        "msg_id": f.s("MsgId"),
        "online_only": bool(f.i("OnlineOnlyFlag")),
        "contents": contents,
        "msg_body": body,
        "cloud_custom_data": f.s("CloudCustomData"),
        "topic_id": f.s("TopicId"),
        "at": at,
        "event_time": f.i("EventTime"),
    }


def _group_info(f: _Fields) -> dict[str, Any]:
    return {
        "name": f.opt_s("Name"),
        "introduction": f.opt_s("Introduction"),
        "notification": f.opt_s("Notification"),
        "face_url": f.opt_s("FaceUrl"),
        "event_time": f.i("EventTime"),
    }


_Decoder = Callable[[_Fields, dict[str, Any]], InboundEvent]

_DECODERS: dict[str, _Decoder] = {
    wire.C2C_AFTER_SEND: lambda f, m: C2CMessageSent(
        **m,
        **_c2c_message(f),
        send_result=f.i("SendMsgResult"),
        error_info=f.s("ErrorInfo"),
        unread=f.i("UnreadMsgNum"),
    ),
    wire.C2C_BEFORE_SEND: lambda f, m: C2CSendRequested(**m, **_c2c_message(f)),
    "C2C.CallbackAfterMsgReport": lambda f, m: C2CMessageRead(
        **m,
        reporter=f.req_s("Report_Account"),
        peer=f.req_s("Peer_Account"),
        last_read_time=f.i("LastReadTime"),
        unread=f.i("UnreadMsgNum"),
        event_time=f.i("EventTime"),
    ),
    wire.C2C_AFTER_WITHDRAW: lambda f, m: C2CMessageRecalled(
        **m,
        from_account=f.req_s("From_Account"),
        to_account=f.req_s("To_Account"),
        msg_key=f.req_s("MsgKey"),
        unread=f.i("UnreadMsgNum"),
        event_time=f.i("EventTime"),
    ),
    "C2C.CallbackAfterModifyMsg": lambda f, m: C2CMessageModified(
        **m,
        operator=f.s("Operator_Account"),
        **{k: v for k, v in _c2c_message(f).items() if k not in ("msg_id", "online_only")},
    ),
    "C2C.CallbackAfterC2CMsgExtension": lambda f, m: C2CMessageExtension(
        **m,
        from_account=f.req_s("From_Account"),
        to_account=f.req_s("To_Account"),
        msg_key=f.req_s("MsgKey"),
        operate_type=f.i("OperateType"),
        extensions=f.extensions(),
        seq=f.i("Seq"),
        event_time=f.i("EventTime"),
    ),
    wire.GROUP_AFTER_SEND: lambda f, m: GroupMessageSent(
        **m, **_group_message(f), msg_seq=f.i("MsgSeq"), msg_time=f.i("MsgTime")
    ),
    wire.GROUP_BEFORE_SEND: lambda f, m: GroupSendRequested(**m, **_group_message(f)),
    wire.GROUP_AFTER_RECALL: lambda f, m: GroupMessagesRecalled(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        msg_seqs=tuple(s.i("MsgSeq") for s in f.objects("MsgSeqList")),
        topic_id=f.s("TopicId"),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterModifyMsg": lambda f, m: _group_modified(f, m),
    "Group.CallbackAfterGroupMsgExtension": lambda f, m: GroupMessageExtension(
        **m,
        group_id=f.req_s("GroupId"),
        msg_seq=f.i("MsgSeq"),
        operate_type=f.i("OperateType"),
        extensions=f.extensions(),
        topic_id=f.s("TopicId"),
        seq=f.i("Seq"),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterReadReceipt": lambda f, m: GroupReadReceipts(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        receipts=tuple(
            GroupReceipt(r.i("MsgSeq"), r.i("ReadNum"), r.i("UnreadNum"), r.accounts("ReadReceiptMembers"))
            for r in f.objects("GroupMsgReceiptList")
        ),
        event_time=f.i("EventTime"),
    ),
    wire.GROUP_AFTER_JOIN: lambda f, m: GroupMembersJoined(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        join_type=f.s("JoinType"),
        operator=f.s("Operator_Account"),
        members=f.accounts("NewMemberList"),
        event_time=f.i("EventTime"),
    ),
    wire.GROUP_AFTER_EXIT: lambda f, m: GroupMembersLeft(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        exit_type=f.s("ExitType"),
        operator=f.s("Operator_Account"),
        members=f.accounts("ExitMemberList"),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterMemberFieldChanged": lambda f, m: GroupMemberFieldChanged(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        member=f.req_s("Member_Account", "Modified_Account"),
        role=f.opt_s("Role"),
        name_card=f.opt_s("NameCard"),
        event_time=f.i("EventTime"),
    ),
    wire.BEFORE_APPLY_JOIN: lambda f, m: GroupJoinRequested(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        requestor=f.req_s("Requestor_Account"),
        event_time=f.i("EventTime"),
    ),
    wire.GROUP_AFTER_CREATE: lambda f, m: GroupCreated(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        owner=f.s("Owner_Account"),
        name=f.s("Name"),
        members=f.accounts("MemberList"),
        user_defined_data=f.pairs("UserDefinedDataList", "Key", "Value"),
        event_time=f.i("EventTime"),
    ),
    wire.GROUP_AFTER_DESTROY: lambda f, m: GroupDestroyed(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        owner=f.s("Owner_Account"),
        name=f.s("Name"),
        members=f.accounts("MemberList"),
        event_time=f.i("EventTime"),
    ),
    wire.GROUP_AFTER_INFO: lambda f, m: GroupInfoChanged(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        **_group_info(f),
    ),
    "Group.CallbackAfterChangeGroupOwner": lambda f, m: GroupOwnerChanged(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        old_owner=f.s("OldOwner_Account"),
        new_owner=f.req_s("NewOwner_Account"),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterGroupAttrChanged": lambda f, m: GroupAttrChanged(
        **m,
        group_id=f.req_s("GroupId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        option_type=f.s("OptionType"),
        attrs=tuple((a.s("key", "Key"), a.s("value", "Value")) for a in f.objects("GroupAttr")),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterCreateTopic": lambda f, m: TopicCreated(
        **m,
        group_id=f.req_s("GroupId"),
        topic_id=f.req_s("TopicId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        owner=f.s("Owner_Account"),
        name=f.s("Name"),
        user_defined_data=f.pairs("UserDefinedDataList", "Key", "Value"),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterTopicDestroyed": lambda f, m: TopicsDestroyed(
        **m,
        group_id=f.req_s("GroupId"),
        topic_ids=_strings(f, "TopicIdList"),
        group_type=f.s("Type"),
        event_time=f.i("EventTime"),
    ),
    "Group.CallbackAfterTopicInfoChanged": lambda f, m: TopicInfoChanged(
        **m,
        group_id=f.req_s("GroupId"),
        topic_id=f.s("TopicId"),
        group_type=f.s("Type"),
        operator=f.s("Operator_Account"),
        **_group_info(f),
    ),
    wire.FRIEND_ADD: lambda f, m: FriendsAdded(
        **m,
        pairs=f.friend_pairs(),
        client_cmd=f.s("ClientCmd"),
        admin_account=f.s("Admin_Account"),
        force_flag=f.i("ForceFlag"),
        event_time=f.i("EventTime"),
    ),
    wire.FRIEND_DELETE: lambda f, m: FriendsDeleted(**m, pairs=f.friend_pairs(), event_time=f.i("EventTime")),
    wire.BLACKLIST_ADD: lambda f, m: BlacklistAdded(**m, pairs=f.friend_pairs(), event_time=f.i("EventTime")),
    wire.BLACKLIST_DELETE: lambda f, m: BlacklistDeleted(**m, pairs=f.friend_pairs(), event_time=f.i("EventTime")),
    wire.PREV_FRIEND_ADD: lambda f, m: FriendApplicationsAdded(
        **m,
        requester=f.s("Requester_Account"),
        from_account=f.req_s("From_Account"),
        requests=tuple(
            FriendRequest(i.req_s("To_Account"), i.s("Remark"), i.s("GroupName"), i.s("AddSource"), i.s("AddWording"))
            for i in f.objects("FriendItem")
        ),
        add_type=f.s("AddType"),
        force_add_flags=f.i("ForceAddFlags"),
        event_time=f.i("EventTime"),
    ),
    "Sns.CallbackPrevFriendResponse": lambda f, m: FriendApplicationsAnswered(
        **m,
        requester=f.s("Requester_Account"),
        from_account=f.req_s("From_Account"),
        responses=tuple(
            FriendResponse(i.req_s("To_Account"), i.s("ResponseAction"), i.s("Remark"), i.s("TagName"))
            for i in f.objects("ResponseFriendItem")
        ),
        event_time=f.i("EventTime"),
    ),
    wire.PORTRAIT_SET: lambda f, m: PortraitSet(
        **m,
        operator=f.s("Operator_Account"),
        from_account=f.req_s("From_Account"),
        items=tuple((i.s("Tag"), i.raw.get("Value")) for i in f.objects("ProfileItem")),
        event_time=f.i("EventTime"),
    ),
    wire.STATE_CHANGE: lambda f, m: _state_change(f, m),
}

KNOWN_COMMANDS = frozenset(_DECODERS)


def _strings(f: _Fields, name: str) -> tuple[str, ...]:
    value = f.raw.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InboundDecodeError(f"{name} must be a list of strings")
    return tuple(value)


def _group_modified(f: _Fields, meta: dict[str, Any]) -> GroupMessageModified:
    contents, body = f.body()
    return GroupMessageModified(
        **meta,
        group_id=f.req_s("GroupId"),
        operator=f.s("Operator_Account"),
        msg_seq=f.i("MsgSeq"),
        topic_id=f.s("TopicId"),
        contents=contents,
        msg_body=body,
        cloud_custom_data=f.s("CloudCustomData"),
        event_time=f.i("EventTime"),
    )


def _state_change(f: _Fields, meta: dict[str, Any]) -> StateChanged:
    info = f.raw.get("Info")
    if not isinstance(info, dict):
        raise InboundDecodeError("Info must be an object")
    i = _Fields(info, "Info.")
    return StateChanged(
        **meta,
        user_id=i.req_s("To_Account"),
        action=i.s("Action"),
        reason=i.s("Reason"),
        kicked_platforms=tuple(d.s("Platform") for d in f.objects("KickedDevice")),
        event_time=f.i("EventTime"),
    )


def decode_callback(
    command: str, body: dict[str, Any], *, platform: str = "", client_ip: str = ""
) -> InboundEvent | None:
    """The typed event of one callback body; None for a command imql has no event for.
    Raises InboundDecodeError for a body without the documented shape."""
    decoder = _DECODERS.get(command)
    if decoder is None:
        return None
    return decoder(_Fields(body), {"command": command, "platform": platform, "client_ip": client_ip})


# ---- the handler and the worker ----------------------------------------------------------------
class InboundHandler(Protocol):
    """What the Tencent backend implements: one decoded webhook, after echoes and retries were dropped.
    Raising leaves the callback queued for another attempt (at most MAX_ATTEMPTS in all)."""

    async def handle(self, event: InboundEvent) -> None: ...


class LoggingHandler:
    """The handler while no Tencent backend consumes the events: each one is logged and dropped."""

    async def handle(self, event: InboundEvent) -> None:
        log.info("inbound %s (no backend consumes it)", event.command)


OTHER_LANE = "other"  # relations, profiles, status: kept in one order among themselves


def ordering_lane(fields: dict[Any, Any] | None) -> str:
    """Which events must stay in order with this one: a group's, or a C2C pair's (both directions)."""
    if not fields:
        return OTHER_LANE
    try:
        body = orjson.loads(fields.get("body", "{}"))
    except orjson.JSONDecodeError:
        return OTHER_LANE
    if not isinstance(body, dict):
        return OTHER_LANE
    group_id = body.get("GroupId")
    if isinstance(group_id, str):
        return f"g:{group_id}"
    if str(fields.get("cmd", "")).startswith("C2C."):
        first = body.get("From_Account", body.get("Report_Account"))
        second = body.get("To_Account", body.get("Peer_Account"))
        return "c:" + orjson.dumps(sorted((str(first), str(second)))).decode()
    return OTHER_LANE


class InboundWorker(StreamConsumer):
    task_name = "imql-tencent-inbound"
    group = GROUP
    batch = BATCH
    block_milliseconds = BLOCK_MILLISECONDS
    error_pause_seconds = ERROR_PAUSE_SECONDS

    def is_transient(self, exc: BaseException) -> bool:
        """A handler's call to Tencent failing for Tencent's outage is one too: the webhook's entry
        waits it out, uncounted, as it does Redis's."""
        return super().is_transient(exc) or is_tencent_outage(exc)

    def __init__(self, redis: Any, keys: Keys, handler: InboundHandler, own: OwnMessages, *, consumer: str) -> None:
        super().__init__(redis, keys.tencent_inbound_queue(), consumer)
        self.handler = handler
        self.own = own
        # read when built, so tests can shorten them
        self.claim_idle_seconds = CLAIM_IDLE_SECONDS
        self._handler_timeout = HANDLER_TIMEOUT_SECONDS
        self.max_deliveries = MAX_ATTEMPTS

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        """In order within each conversation (a C2C pair, a group), conversations side by side: one
        busy conversation does not hold the others back, and no conversation's events overtake each
        other. An entry whose handler failed stays pending, to be claimed again (and counted, unless
        the failure was an outage: StreamConsumer.is_transient)."""
        lanes: dict[str, list[tuple[Any, dict[Any, Any]]]] = {}
        for entry_id, fields in entries:
            lanes.setdefault(ordering_lane(fields), []).append((entry_id, fields))

        async def run(lane: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
            done: list[Any] = []
            for entry_id, fields in lane:
                if await self._process_one(entry_id, fields):
                    done.append(entry_id)
            return done

        return [entry_id for done in await asyncio.gather(*(run(lane) for lane in lanes.values())) for entry_id in done]

    async def _process_one(self, entry_id: str, fields: dict[str, Any]) -> bool:
        """Whether the entry is done with (handled, dropped or unusable); False leaves it pending."""
        command = str(fields.get("cmd", ""))
        try:
            body = orjson.loads(fields.get("body", "{}"))
            if not isinstance(body, dict):
                raise InboundDecodeError("the body is not a JSON object")
            event = decode_callback(
                command, body, platform=str(fields.get("platform", "")), client_ip=str(fields.get("ip", ""))
            )
            echoes = event.echo_keys() if event is not None and event.platform == wire.REST_API else None
        except (InboundDecodeError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
            log.warning("%s dropped, its body cannot be read: %s", command, exc)
            return True
        if event is None:
            log.info("%s has no inbound event; acknowledged", command)
            return True
        try:
            # the echo check reads Redis: its failure is this entry's (an outage, not counted), not
            # the batch's, so the other conversations' entries go on
            if echoes is not None and await self.own.all_echoes(echoes):
                log.debug("%s is an echo of the gateway's own REST call", command)
                return True
            # An overrun is a TimeoutError, which is transient (not counted): a handler waits on
            # Redis (no socket timeout) or on Tencent (an idempotent call's retries outlast it), and
            # a stalled dependency cannot be told from a slow entry here. An entry too slow ever to
            # finish is then tried every claim time, logged each time, rather than dead-lettered.
            async with asyncio.timeout(self._handler_timeout):
                await self.handler.handle(event)
        except Exception as exc:
            self._failed(entry_id, exc, command)
            return False
        return True
