"""Messages as one user sees them: visibility and per-viewer views.

What a user does only for themselves (delete for me, clear history, local custom data, local
imports) is per-user state applied when reading; so are the parts of a message that depend on who
reads it (friend remark, group name card, isRead / isPeerRead). `MessageViews` reads both, pipelined,
for the message parts (through MessageCore) and for the conversations' last messages alike; it
depends on nothing that tells users of changes, so it is built before everything that does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from gateway.engine.friendship import decode_friend_record
from gateway.engine.groups.store import member_dec
from gateway.ids import c2c_conversation_id, conversation_peer_id, group_conversation_id, peer_ids_of, topic_parent
from gateway.im.enums import MsgStatus
from gateway.im.messages import Content, Message, StoredMessage
from gateway.keys import Keys


class LocalData(msgspec.Struct, kw_only=True):
    data: str = ""
    number: int = 0


_local_dec = msgspec.json.Decoder(LocalData)


class MessageViews:
    """Visibility and per-viewer views of stored messages (any conversation, any viewer)."""

    def __init__(self, redis: Any, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def visible_to(self, user_id: str, messages: list[StoredMessage]) -> list[StoredMessage]:
        """Drop what this user deleted or cleared for themselves, and others' local imports."""
        if not messages:
            return []
        convs = {self.conversation_for(user_id, m) for m in messages}
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(self._keys.cleared_before(user_id), sorted(convs))
        for conv in sorted(convs):
            pipe.smembers(self._keys.hidden_messages(user_id, conv))
        results = await pipe.execute()
        cleared = dict(zip(sorted(convs), (int(v or 0) for v in results[0]), strict=True))
        hidden = {conv: {int(s) for s in members} for conv, members in zip(sorted(convs), results[1:], strict=True)}
        return self.visible_given(user_id, messages, cleared, hidden)

    def visible_given(
        self,
        user_id: str,
        messages: list[StoredMessage],
        cleared: dict[str, int],
        hidden: dict[str, set[int]],
    ) -> list[StoredMessage]:
        """`messages` the user may see, given each conversation's cleared-before seq and the seqs
        the user deleted for themselves (read by the caller)."""
        visible = []
        for m in messages:
            conv = self.conversation_for(user_id, m)
            if m.seq <= cleared.get(conv, 0) or m.seq in hidden.get(conv, ()):
                continue
            if m.visibleTo and m.visibleTo != user_id:
                continue
            if m.targets and user_id not in m.targets and m.sender != user_id:
                continue
            visible.append(m)
        return visible

    @staticmethod
    def conversation_for(user_id: str, m: StoredMessage) -> str:
        if m.groupID:
            return group_conversation_id(m.groupID)
        return c2c_conversation_id(m.receiver if m.sender == user_id else m.sender)

    async def views(
        self, user_id: str, messages: list[StoredMessage], created_ids: dict[str, str] | None = None
    ) -> list[Message]:
        """Messages as `user_id` sees them: one pipelined round trip for the per-viewer parts."""
        if not messages:
            return []
        pipe = self._redis.pipeline(transaction=False)
        build = self.queue_views(pipe, user_id, messages, created_ids)
        return build(await pipe.execute())

    def queue_views(
        self,
        pipe: Any,
        user_id: str,
        messages: list[StoredMessage],
        created_ids: dict[str, str] | None = None,
        *,
        local_data: Callable[[StoredMessage], LocalData] | None = None,
        read_mark_at: int | None = None,
    ) -> Callable[..., list[Message]]:
        """`views` on the caller's pipeline: queues the per-viewer reads and returns what builds
        the views from that pipeline's replies (it finds its own among them).

        A send queues them with its checks, before the message has its seq and ID: it gives each
        message's local data (`local_data(message)`: only what the send itself writes, so nothing
        to read) and calls `build(replies, completed)` with the completed messages (the same
        senders and conversations). `read_mark_at`: where in the caller's pipeline it read the one
        C2C read mark these views need (messages of one conversation, all sent by the viewer or all
        by the peer): the receiver's mark of the conversation, which the sender's view (isPeerRead)
        and the receiver's (isRead) of a send both need, read once."""
        senders = sorted({m.sender for m in messages})
        # isRead of a C2C message needs the viewer's read mark only when another user sent it (their
        # own are read), isPeerRead the peer's only when the viewer sent it (others' are never
        # "peer read"): a send's two views read one mark, not four
        peers = sorted({self.conversation_for(user_id, m) for m in messages if not m.groupID and m.sender != user_id})
        own_peers = sorted(
            {self.conversation_for(user_id, m) for m in messages if not m.groupID and m.sender == user_id}
        )
        if read_mark_at is not None and len(peers) + len(own_peers) != 1:
            raise ValueError("read_mark_at: the views of one C2C conversation, one side's messages")
        groups = sorted({m.groupID for m in messages if m.groupID})
        group_convs = sorted({self.conversation_for(user_id, m) for m in messages if m.groupID})
        # where each read lands in the caller's pipeline (its replies are read by position)
        remarks_at = my_reads_at = group_reads_at = None
        locals_at = len(pipe)
        if local_data is None:
            pipe.hmget(self._keys.local_message_data(user_id), [m.msgID for m in messages])
        # friend remarks of the other senders only: nobody is their own friend (both adds refuse it)
        others = [s for s in senders if s != user_id]
        if others:
            remarks_at = len(pipe)
            pipe.hmget(self._keys.friends(user_id), others)
        # only the read marks of these messages' conversations, not the user's every conversation
        # C2C read marks in ms, the ones unread counts use (a message is read when sent at or before it)
        if peers and read_mark_at is None:
            my_reads_at = len(pipe)
            pipe.hmget(self._keys.conversation_state(user_id, "c2c-read-ms"), peers)
        if group_convs:
            group_reads_at = len(pipe)
            pipe.hmget(self._keys.group_read_seqs(user_id), group_convs)
        peer_reads_at = []
        for peer in peer_ids_of(own_peers):
            if read_mark_at is None:
                peer_reads_at.append(len(pipe))
                pipe.hget(self._keys.conversation_state(peer, "c2c-read-ms"), c2c_conversation_id(user_id))
            else:
                peer_reads_at.append(read_mark_at)
        cards_at = len(pipe)
        for gid in groups:
            pipe.hmget(self._keys.group_members(topic_parent(gid) or gid), senders)

        def build(replies: list[Any], completed: list[StoredMessage] | None = None) -> list[Message]:
            built = messages if completed is None else completed
            if local_data is not None:
                locals_ = [local_data(m) for m in built]
            else:
                locals_ = [_local_dec.decode(raw) if raw else LocalData() for raw in replies[locals_at]]
            remarks_raw = replies[remarks_at] if remarks_at is not None else []
            if my_reads_at is not None:
                my_reads = dict(zip(peers, replies[my_reads_at], strict=True))
            else:
                my_reads = dict.fromkeys(peers, replies[read_mark_at]) if read_mark_at is not None else {}
            group_reads = (
                dict(zip(group_convs, replies[group_reads_at], strict=True)) if group_reads_at is not None else {}
            )
            cards_raw = replies[cards_at : cards_at + len(groups)]
            remarks = {s: decode_friend_record(r).remark for s, r in zip(others, remarks_raw, strict=True) if r}
            peer_read = {conv: int(replies[at] or 0) for conv, at in zip(own_peers, peer_reads_at, strict=True)}
            name_cards = {
                (gid, sender): member_dec.decode(raw).nameCard
                for gid, raws in zip(groups, cards_raw, strict=True)
                for sender, raw in zip(senders, raws, strict=True)
                if raw
            }
            views = []
            for m, extra in zip(built, locals_, strict=True):
                conv = self.conversation_for(user_id, m)
                is_self = m.sender == user_id
                status = m.status
                if m.visibleTo:
                    status = MsgStatus.V2TIM_MSG_STATUS_LOCAL_IMPORTED
                views.append(
                    Message(
                        msgID=m.msgID,
                        id=(created_ids or {}).get(m.msgID, ""),
                        sender=m.sender,
                        nickName=m.nickName,
                        friendRemark=remarks.get(m.sender, ""),
                        nameCard=name_cards.get((m.groupID, m.sender), ""),
                        faceUrl=m.faceUrl,
                        groupID=m.groupID,
                        userID="" if m.groupID else conversation_peer_id(conv) or "",
                        status=status,
                        isSelf=is_self,
                        isRead=is_self
                        or (
                            m.seq <= int(group_reads.get(conv) or 0)
                            if m.groupID
                            else m.timestamp * 1000 + m.ms <= int(my_reads.get(conv) or 0)
                        ),
                        isPeerRead=is_self and not m.groupID and m.timestamp * 1000 + m.ms <= peer_read.get(conv, 0),
                        needReadReceipt=m.needReadReceipt,
                        groupAtUserList=m.groupAtUserList,
                        localCustomData=extra.data,
                        localCustomInt=extra.number,
                        cloudCustomData=m.cloudCustomData,
                        seq=m.seq,
                        random=m.random,
                        timestamp=m.timestamp,
                        priority=m.priority,
                        isExcludedFromUnreadCount=m.isExcludedFromUnreadCount,
                        isExcludedFromLastMessage=m.isExcludedFromLastMessage,
                        isSupportMessageExtension=m.isSupportMessageExtension,
                        offlinePushInfo=m.offlinePushInfo,
                        **content_fields(m.content),
                    )
                )
            return views

        return build


def content_fields(content: Content) -> dict[str, Any]:
    return {name: getattr(content, name) for name in content.__struct_fields__}
