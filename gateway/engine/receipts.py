"""Message read receipts: sendMessageReadReceipts, getMessageReadReceipts, getGroupMessageReadMemberList.

Only messages sent with needReadReceipt take receipts. Each such message keeps a sorted set of its
readers (user → when), so a receipt is recorded once however often it is sent, the counts are one
ZCARD, and "who has read" pages are score ranges. Unread members are the group's roster minus the
readers and the sender, walked in roster order. Conversation unread counts are not touched (the
SDK's rule: receipts and marking a conversation read are separate).

With an upstream IM server (gateway.upstream) a receipt the mirror has not recorded yet is sent
upstream first; the upstream's own receipts are recorded through the same path (from_upstream).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.groups.store import GroupStore
from gateway.engine.message_core import MessageCore
from gateway.engine.message_ids import parse_msg_id
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.ids import topic_parent
from gateway.im.events import OnRecvMessageReadReceipts
from gateway.im.groups import GroupMemberInfo
from gateway.im.messages import GroupMessageReadMembers, MessageReceipt, StoredMessage
from gateway.keys import Keys
from gateway.upstream import Upstream, active

RECEIPTS_PER_CALL_MAX = 100
READ_MEMBERS_PAGE_MAX = 100
# the furthest roster position a read-member page may start at (a group holds far fewer members)
READ_MEMBERS_POSITION_MAX = 2**31 - 1
READ_FILTER, UNREAD_FILTER = 0, 1  # the SDK's V2TIM_GROUP_MESSAGE_READ_MEMBERS_FILTER_READ / _UNREAD
_ROSTER_CHUNK = 500  # roster entries read per round trip while collecting unread members


class ReadReceipts:
    """The receipts part of the message manager: it reads messages through the MessageCore."""

    def __init__(
        self,
        core: MessageCore,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        groups: GroupStore,
        callbacks: Callbacks,
        upstream: Upstream | None,
    ) -> None:
        self._core = core
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._groups = groups
        self._callbacks = callbacks
        self._upstream = upstream  # the IM server receipts go to first (gateway.upstream); None: none

    def _readers_key(self, stored: StoredMessage) -> str:
        return self._keys.message_readers(self._core.timeline_of(parse_msg_id(stored.msgID)), stored.seq)

    async def _same_conversation(self, user_id: str, msg_ids: Sequence[str]) -> list[StoredMessage]:
        if not msg_ids:
            raise invalid("msgIDList is empty")
        if len(msg_ids) > RECEIPTS_PER_CALL_MAX:
            raise invalid(f"msgIDList: at most {RECEIPTS_PER_CALL_MAX} messages per call")
        found = [await self._core.load_visible(user_id, m, "msgIDList") for m in dict.fromkeys(msg_ids)]
        if len({self._core.conversation_for(user_id, m) for m in found}) > 1:
            raise invalid("msgIDList: all messages must be of one conversation")
        return found

    async def send_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> None:
        """Record that the user read these messages; each sender hears of their messages' new
        receipts (onRecvMessageReadReceipts, on every device) once per reader."""
        # with an upstream, a native user's message in the mirror does not say whether it asked for
        # receipts (Tencent's webhooks do not): the upstream decides
        asking = [m for m in await self._same_conversation(user_id, msg_ids) if m.sender != user_id]
        messages = [m for m in asking if m.needReadReceipt or self._upstream is not None]
        if not messages:
            return
        up = active(self._upstream)
        if up is not None:
            pipe = self._redis.pipeline(transaction=False)
            for m in messages:
                pipe.zscore(self._readers_key(m), user_id)
            pending = [m for m, at in zip(messages, await pipe.execute(), strict=True) if at is None]
            if pending:  # upstream first; refused there, nothing is recorded here
                await up.receipts.send_receipts(user_id, pending)
        millis = int(self._clock.now() * 1000)
        pipe = self._redis.pipeline(transaction=False)
        for m in messages:
            pipe.zadd(self._readers_key(m), {user_id: millis}, nx=True)
        added = await pipe.execute()
        fresh = [m for m, new in zip(messages, added, strict=True) if new]
        if not fresh:
            return
        by_sender: dict[str, list[MessageReceipt]] = defaultdict(list)
        counted = await self._receipts(fresh, reader=user_id)
        for m, receipt in zip(fresh, counted, strict=True):
            by_sender[m.sender].append(receipt)
        for sender, receipts in by_sender.items():
            await self._bus.publish([sender], OnRecvMessageReadReceipts(receiptList=receipts))
        if fresh[0].groupID:  # one conversation: all of one group (or topic)
            read = [(m.seq, r.readCount, r.unreadCount) for m, r in zip(fresh, counted, strict=True)]
            await self._callbacks.group_read_receipts(fresh[0].groupID, user_id, read)

    async def get_message_read_receipts(self, user_id: str, msg_ids: Sequence[str]) -> list[MessageReceipt]:
        """The receipts of the user's own messages (C2C: read by the peer or not; group: counts)."""
        messages = await self._same_conversation(user_id, msg_ids)
        if any(m.sender != user_id for m in messages):
            raise invalid("msgIDList: read receipts are for your own messages")
        return await self._receipts(messages)

    async def receipts_of(self, messages: list[StoredMessage]) -> list[MessageReceipt]:
        """The receipts of stored messages, whoever asks (the app admin's view: REST get_group_msg_receipt)."""
        return await self._receipts(messages) if messages else []

    async def _receipts(self, messages: list[StoredMessage], reader: str = "") -> list[MessageReceipt]:
        pipe = self._redis.pipeline(transaction=False)
        for m in messages:
            pipe.zcard(self._readers_key(m))
            pipe.zrange(self._readers_key(m), 0, 0, withscores=True)
        rows = await pipe.execute()
        audience: dict[str, int] = {}
        for m in messages:
            if m.groupID and not m.targets and m.groupID not in audience:
                owner = topic_parent(m.groupID) or m.groupID
                audience[m.groupID] = (await self._groups.info(owner)).memberCount
        receipts = []
        for i, m in enumerate(messages):
            count, first = int(rows[2 * i]), rows[2 * i + 1]
            if m.groupID:
                others = len(m.targets) if m.targets else max(0, audience[m.groupID] - 1)
                receipts.append(
                    MessageReceipt(
                        msgID=m.msgID,
                        groupID=m.groupID,
                        userID=reader,
                        readCount=count,
                        unreadCount=max(0, others - count),
                    )
                )
            else:
                read_at = int(first[0][1]) // 1000 if first else 0
                receipts.append(
                    MessageReceipt(
                        msgID=m.msgID, userID=m.receiver, timestamp=read_at, isPeerRead=bool(count), readCount=count
                    )
                )
        return receipts

    async def get_group_message_read_member_list(
        self, user_id: str, msg_id: str, read_filter: int, next_seq: int, count: int
    ) -> GroupMessageReadMembers:
        """Members who have read (filter 0) or not yet read (filter 1) the user's group message,
        a page of `count` from `next_seq` (0 first, then the nextSeq returned)."""
        if read_filter not in (READ_FILTER, UNREAD_FILTER):
            raise invalid("filter: 0 (read) or 1 (unread)")
        # (nextSeq is a position in the group's roster: past any roster, it cannot be one we gave)
        if not 1 <= count <= READ_MEMBERS_PAGE_MAX or not 0 <= next_seq <= READ_MEMBERS_POSITION_MAX:
            raise invalid(f"count must be 1-{READ_MEMBERS_PAGE_MAX} and nextSeq 0-{READ_MEMBERS_POSITION_MAX}")
        stored = await self._core.load_visible(user_id, msg_id)
        if not stored.groupID:
            raise invalid("msgID: not a group message")
        if stored.sender != user_id:
            raise IMError(Code.ERR_NO_PERMISSION, "only the sender sees who has read a message")
        owner = topic_parent(stored.groupID) or stored.groupID
        readers_key = self._readers_key(stored)
        if read_filter == READ_FILTER:
            page = list(await self._redis.zrange(readers_key, next_seq, next_seq + count - 1))
            done = len(page) < count
            return await self._members_page(owner, page, 0 if done else next_seq + len(page), done)
        # unread: walk the roster (join order) from next_seq, skipping readers and the sender
        roster = self._keys.group_roster(owner) if not stored.targets else ""
        page, position, done = [], next_seq, False
        while len(page) < count and not done:
            if stored.targets:
                chunk = stored.targets[position : position + _ROSTER_CHUNK]
            else:
                chunk = list(await self._redis.zrange(roster, position, position + _ROSTER_CHUNK - 1))
            done = len(chunk) < _ROSTER_CHUNK
            scores = await self._redis.zmscore(readers_key, chunk) if chunk else []
            for offset, (uid, read_at) in enumerate(zip(chunk, scores, strict=True)):
                if read_at is None and uid != stored.sender:
                    page.append(uid)
                    if len(page) == count:
                        position += offset + 1
                        done = done and offset + 1 == len(chunk)
                        break
            else:
                position += len(chunk)
        return await self._members_page(owner, page, 0 if done else position, done)

    async def _members_page(
        self, group_id: str, user_ids: list[str], next_seq: int, done: bool
    ) -> GroupMessageReadMembers:
        infos: list[GroupMemberInfo] = await self._groups.member_infos(group_id, user_ids)
        return GroupMessageReadMembers(nextSeq=next_seq, isFinished=done, memberInfoList=infos)
