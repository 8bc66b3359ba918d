"""Offline push, the IM part: which sent messages may be pushed, to whom, saying what.

Sending a message costs one XADD onto the app's push queue, and only when pushes are on and the
message is pushable at all; everything else (receive options, the receivers' devices and
foreground state, the delivery) happens later in a PushWorker (gateway.push), never on the send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import msgspec

from gateway.engine.conversations.manager import Conversations
from gateway.engine.groups.store import GroupStore
from gateway.engine.profiles import Profiles
from gateway.ids import c2c_conversation_id, group_conversation_id, topic_parent
from gateway.im.enums import ElemType, MessageOpt
from gateway.im.messages import OfflinePushInfo, StoredMessage, content_abstract
from gateway.keys import Keys

QUEUE_MAX = 100_000  # entries kept if no worker reads (approximate trim): a backlog, not a leak
DESC_MAX_CHARS = 100  # a notification shows a line or two of the text


class PushJob(msgspec.Struct, kw_only=True):
    message: StoredMessage
    receivers: list[str] | None  # None: every member of message.groupID's group (a large group)


class PushContent(msgspec.Struct, kw_only=True):
    """One user's notification for one message, before the gateway adds their devices."""

    userID: str
    msgID: str
    sender: str
    conversationID: str
    title: str
    desc: str
    ext: str = ""
    badge: int = 0
    options: OfflinePushInfo | None = None  # sounds, channel IDs, iOS push type: as the sender gave them


_job_enc = msgspec.json.Encoder()
_job_dec = msgspec.json.Decoder(PushJob)


def pushable(stored: StoredMessage, online_user_only: bool) -> bool:
    """The SDK's rules that need no receiver: online-only messages and disablePush are never
    pushed, group tips neither, and a custom message only when it says what to show (a desc)."""
    info = stored.offlinePushInfo
    if online_user_only or (info is not None and info.disablePush):
        return False
    content = stored.content
    if content.elemType == ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS:
        return False
    if content.elemType == ElemType.V2TIM_ELEM_TYPE_CUSTOM:
        return bool((content.customElem and content.customElem.desc) or (info and info.desc))
    return True


class PushQueue:
    """The send path's side: one XADD per pushable message, nothing when pushes are off."""

    def __init__(self, redis: Any, keys: Keys, *, enabled: bool) -> None:
        self._redis = redis
        self._keys = keys
        self.enabled = enabled

    async def message_sent(self, stored: StoredMessage, receivers: Sequence[str] | None, online_only: bool) -> None:
        if not self.enabled or not pushable(stored, online_only):
            return
        job = PushJob(message=stored, receivers=None if receivers is None else list(receivers))
        await self._redis.xadd(
            self._keys.push_queue(), {"job": _job_enc.encode(job)}, maxlen=QUEUE_MAX, approximate=True
        )


def decode_job(raw: bytes | str) -> PushJob:
    return _job_dec.decode(raw)


class PushPlanner:
    """The worker's side: who of a job's receivers wants the message pushed, and what it says."""

    def __init__(
        self, redis: Any, keys: Keys, groups: GroupStore, profiles: Profiles, conversations: Conversations
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._groups = groups
        self._profiles = profiles
        self._conversations = conversations

    async def plan(
        self, job: PushJob, reachable: Callable[[list[str]], Awaitable[Collection[str]]]
    ) -> list[PushContent]:
        """The notifications of one job, for the receivers `reachable` keeps (the gateway's say:
        who has a push device and no app in the foreground), asked before any badge is counted."""
        m = job.message
        receivers = job.receivers
        if receivers is None:
            receivers = await self._groups.member_ids(topic_parent(m.groupID) or m.groupID)
        receivers = [r for r in dict.fromkeys(receivers) if r != m.sender]
        if not receivers:
            return []
        # the receiver's option for this conversation: only RECEIVE is notified
        field = Keys.group_receive_option_field(m.groupID) if m.groupID else Keys.c2c_receive_option_field(m.sender)
        pipe = self._redis.pipeline(transaction=False)
        for r in receivers:
            pipe.hget(self._keys.receive_options(r), field)
        options = await pipe.execute()
        notified = [
            r
            for r, o in zip(receivers, options, strict=True)
            if Keys.receive_option(o) == MessageOpt.V2TIM_RECEIVE_MESSAGE
        ]
        if notified:
            kept = await reachable(notified)
            notified = [r for r in notified if r in kept]
        if not notified:
            return []
        title, desc = await self._title(m), _desc(m)
        info = m.offlinePushInfo
        conversation = group_conversation_id(m.groupID) if m.groupID else c2c_conversation_id(m.sender)
        result = []
        for r in notified:
            badge = await self._conversations.unread_total(r)
            result.append(
                PushContent(
                    userID=r,
                    msgID=m.msgID,
                    sender=m.sender,
                    conversationID=conversation,
                    title=(info.title if info and info.title else title),
                    desc=desc,
                    ext=info.ext if info else "",
                    badge=0 if info and info.ignoreIOSBadge else badge,
                    options=info,
                )
            )
        return result

    async def _title(self, m: StoredMessage) -> str:
        if m.groupID:
            name = await self._redis.hget(self._keys.group_info(topic_parent(m.groupID) or m.groupID), "groupName")
            return str(name or m.groupID)
        return m.nickName or m.sender


def _desc(m: StoredMessage) -> str:
    info = m.offlinePushInfo
    if info is not None and info.desc:
        return info.desc
    return content_abstract(m.content, DESC_MAX_CHARS)
