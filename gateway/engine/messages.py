"""C2C messages: sending, history, reads, clearing, local imports and receive options.

One part of the message manager (gateway.engine.message_manager): it stores and reads through
the MessageCore (storage and views) it is built with.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.codec import STORED_DEC, STORED_ENC, require_body_fits
from gateway.engine.friendship import Friendship
from gateway.engine.message_core import RECEIVE_OPT_USERS_MAX, InlineSend, MessageCore
from gateway.engine.message_ids import c2c_msg_id, parse_msg_id
from gateway.engine.message_views import LocalData
from gateway.engine.profiles import Profiles
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import CONVERSATION_NEW, EventBus
from gateway.ids import c2c_conversation_id, group_conversation_id, peer_ids_of
from gateway.im.enums import ElemType, GetType, MessageOpt
from gateway.im.events import OnRecvC2CReadReceipt, OnRecvNewMessage
from gateway.im.messages import Content, Message, MessageReceipt, ReceiveOpt, SendOptions, StoredMessage
from gateway.keys import Keys
from gateway.store import ordered_pipeline
from gateway.upstream import Upstream, active
from gateway.v4.callbacks import C2C_BEFORE_SEND

# the content of a message's outline, before its draft is read (nothing reads it)
_NO_CONTENT = Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT)


# messages looked at for a conversation's newest time (its last seqs: refused sends leave gaps)
_NEWEST_LOOKBACK = 5


# a send's hold on its claim while the upstream sends it: past the upstream client's tries
UPSTREAM_HOLD_SECONDS = 60


class ServerSend(msgspec.Struct, frozen=True, kw_only=True):
    """How a send by the app's servers (REST v4) differs from an SDK user's."""

    content: Content
    random: int | None = None  # the request's MsgRandom (None: a random one)
    timestamp: int | None = None  # importmsg: the message's original time (None: now)
    to_sender: bool = True  # SyncOtherMachine 1: also in the sender's history, devices and conversation list
    live: bool = True  # False (an imported history message): stored, nobody hears of it but their lists


class C2CMessaging:
    """The C2C part of the message manager, and the app admin's global mutes."""

    def __init__(
        self,
        core: MessageCore,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        friendship: Friendship,
        callbacks: Callbacks,
        upstream: Upstream | None,
        *,
        friends_only: bool = False,
    ) -> None:
        self._core = core
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._profiles = profiles
        self._friendship = friendship
        self._callbacks = callbacks
        self._upstream = upstream  # the IM server sends go through first (gateway.upstream); None: none
        self._friends_only = friends_only
        # the C2C conversations that may hold unread (UnreadMsgNum): kept by the sends and reads here
        self.unread_index = core.unread_index

    def _queue_c2c_checks(self, pipe: Any, sender: str, receiver: str) -> None:
        """The replies for `_check_c2c`: the receiver exists, has blocked the sender, is a friend
        (read only in a friends-only app: else a reply of None, no command)."""
        pipe.exists(self._keys.profile(receiver))
        self._friendship.queue_is_blocked_by(pipe, sender, receiver)
        if self._friends_only:
            self._friendship.queue_has_friend(pipe, sender, receiver)

    def _check_c2c(self, sender: str, receiver: str, exists: Any, blocked: Any, friends: Any) -> None:
        """The relation-chain rules for a C2C message (20003, 20007, 20009)."""
        if not exists:
            raise IMError(Code.ERR_RECEIVER_NOT_FOUND, f"receiver: no user {receiver!r}")
        if receiver == sender:
            return
        if blocked:
            raise IMError(Code.ERR_SENDER_BLOCKED, f"{receiver!r} has blocked you")
        if self._friends_only and not friends:
            raise IMError(Code.ERR_NOT_FRIENDS, f"this app lets only friends chat; {receiver!r} is not your friend")

    async def send_c2c_message(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        receiver: str,
        options: SendOptions,
        *,
        server: ServerSend | None = None,
        inline: InlineSend | None = None,
    ) -> Message:
        """Three round trips: every read the checks and both users' views need, with the
        conversation's next seq; the claim of the created id; the write with both events. The
        events carry the conversation notices, derived by the users' conversationListener
        subscriptions (docs/events.md).

        `inline`: a one-request send (sendTextMessage / sendCustomMessage) by an SDK user: every
        rule of a created message's send, with the content given (`created_id` unused). Without an
        idempotency key it is two round trips: no draft read, no claim, no claim's end; with one,
        the key's claim is kept as a REST send's is. Its answer's createdID is empty.

        `server`: a send by the app's servers (REST v4 `sendmsg`, `importmsg`): the content comes
        with it (`created_id` is then only the claim that makes a retry return the first result),
        and the relation-chain and global-mute checks are skipped, as Tencent skips them for the
        admin; the receiver must still exist."""
        if inline is not None:
            created_id = inline.claim_id or ""
        drafted = server is None and inline is None  # a create*Message result: its draft is read and deleted
        claimed = inline is None or inline.claim_id is not None  # a created id or key's claim is kept
        shown_id = created_id if inline is None else ""  # the answer's createdID
        key = self._keys.created_message(user_id, created_id)
        timeline = self._keys.c2c_timeline(user_id, receiver)
        convs = {user_id: c2c_conversation_id(receiver), receiver: c2c_conversation_id(user_id)}
        # what the views' reads depend on (who sent it to whom); the rest is known after them
        outline = StoredMessage(
            msgID="", sender=user_id, receiver=receiver, seq=0, random=0, timestamp=0, content=_NO_CONTENT
        )
        if server is None:  # the receiver's blacklist is checked: in a mirror, it is imported once first
            await self._friendship.ensure_relations([receiver])
        pipe = self._redis.pipeline(transaction=False)
        if claimed:
            pipe.hmget(key, ["draft", "msgID"])
        self._queue_c2c_checks(pipe, user_id, receiver)
        pipe.hget(self._keys.receive_options(receiver), Keys.c2c_receive_option_field(user_id))
        pipe.hget(self._keys.global_mute(user_id), "c2c")
        sender_profile_of = self._profiles.queue_get(pipe, user_id)
        # taken before the checks pass: a refused send leaves a gap in the seqs, as an online-only
        # message does (history skips gaps)
        pipe.incr(self._keys.timeline_seq(timeline))
        for owner, conv in convs.items():
            pipe.hexists(self._core.announced(owner), conv)
        # the receiver's read mark of the conversation, read once for both views: whether the
        # sender sees the message peer-read, and the receiver read (a mark at the message's very
        # millisecond covers it)
        read_mark_at = len(pipe)
        pipe.hget(self._keys.conversation_state(receiver, "c2c-read-ms"), convs[receiver])
        sent_local = LocalData(data=options.localCustomData or "")
        my_view = self._core.queue_views(
            pipe, user_id, [outline], local_data=lambda _: sent_local, read_mark_at=read_mark_at
        )
        their_view = None
        if receiver != user_id:
            their_view = self._core.queue_views(
                pipe, receiver, [outline], local_data=lambda _: LocalData(), read_mark_at=read_mark_at
            )
        replies = await pipe.execute()
        # (the views read `replies` by the positions they were queued at: left as they are)
        raw_draft, already = replies[0] if claimed else (None, None)
        receiver_exists, blocked, *rest = replies[1:] if claimed else replies
        friends = rest.pop(0) if self._friends_only else None
        raw_opt, muted_until, sender_row, next_seq, *rest = rest
        announced = dict(zip(convs, rest[: len(convs)], strict=True))
        lost = await self._core.lost_claim(user_id, created_id, already) if already else None
        if lost is not None and (lost.is_group or sorted((user_id, receiver)) != [lost.first, lost.second]):
            lost = None  # claimed for another conversation: not this send's to finish
        if already and lost is None:
            return await self._core.sent_result(user_id, created_id, already, shown_id=shown_id)
        if drafted and raw_draft is None:  # sent already (or never created)
            return await self._core.first_result(user_id, created_id)
        if server is not None:
            content = server.content
        elif inline is not None:
            content = inline.content
        else:
            draft = self._core.draft_from(raw_draft, created_id)
            if draft.groupAtUserList or draft.targets:
                raise invalid("id: an @ or targeted message can only be sent to a group")
            content = draft.content
        require_body_fits(content, options.cloudCustomData or "")
        up = active(self._upstream)
        if up is not None and not receiver_exists:  # an account made upstream that the mirror has not seen
            receiver_exists = bool(await self._profiles.import_from(up, [receiver], self._core.now()))
        if server is None:
            self._check_c2c(user_id, receiver, receiver_exists, blocked, friends)
            if int(muted_until or 0) > self._core.now():
                raise IMError(Code.ERR_SENDER_MUTED, "the app's admin has muted you for one-to-one messages")
        elif not receiver_exists:
            raise IMError(Code.ERR_RECEIVER_NOT_FOUND, f"receiver: no user {receiver!r}")
        if lost is not None:  # finishing a send whose claim outlived its write
            seq, random = lost.seq, lost.random
            msg_id = c2c_msg_id(user_id, receiver, seq, random)
        else:
            seq = int(next_seq)
            random = secrets.randbelow(2**31) if server is None or server.random is None else server.random
            msg_id = c2c_msg_id(user_id, receiver, seq, random)
            # claim the created id: a concurrent retry of the same send returns this message instead
            if claimed and not await self._core.claim(key, msg_id, drafted=drafted):
                return await self._core.first_result(user_id, created_id, shown_id=shown_id)
        sender_profile = sender_profile_of(sender_row)
        sent_ms = int(self._clock.now() * 1000)  # the one clock read: its time and its unread score
        stored = StoredMessage(
            msgID=msg_id,
            sender=user_id,
            receiver=receiver,
            seq=seq,
            random=random,
            timestamp=sent_ms // 1000 if server is None or server.timestamp is None else server.timestamp,
            ms=sent_ms % 1000 if server is None or server.timestamp is None else 0,
            content=content,
            nickName=sender_profile.nickName if sender_profile else "",
            faceUrl=sender_profile.faceUrl if sender_profile else "",
            **self._core.option_fields(options),
        )
        held = key if claimed and lost is None else None  # this request's claim, held over slow steps
        if up is not None:  # sent upstream first: a refusal there leaves nothing here, claim included
            try:
                async with self._core.holding(held, UPSTREAM_HOLD_SECONDS):
                    sent = await up.messages.send_c2c(
                        stored, online_only=options.onlineUserOnly, to_sender=server is None or server.to_sender
                    )
            except BaseException:
                if claimed:
                    await self._redis.hdel(key, "msgID")
                raise
            stored = msgspec.structs.replace(stored, timestamp=sent.timestamp, ms=0)
        if self._callbacks.gates(C2C_BEFORE_SEND):  # the app's moderation may refuse, drop or rewrite it
            async with self._core.holding(held, self._callbacks.longest_decision_seconds):
                stored, dropped = await self._callbacks.before_c2c_send(
                    stored, options.onlineUserOnly, key if claimed else None
                )
            if dropped:
                return msgspec.structs.replace(my_view(replies, [stored])[0], id=shown_id)
        mine = msgspec.structs.replace(my_view(replies, [stored])[0], id=shown_id)
        delivered = Keys.receive_option(raw_opt) != MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
        to_receiver = delivered and receiver != user_id
        # whose history and conversation list the message enters (SyncOtherMachine 2: not the sender's)
        owners = list(convs) if server is None or server.to_sender or receiver == user_id else [receiver]
        # who hears of it live (an imported history message: nobody)
        live = server is None or server.live
        # Whose conversation notice their subscriptions derive from the message's event (a mark on
        # its stream entry): every user the event goes to, unless the message leaves the
        # conversation's order alone. The rest are told here, as other changes are.
        notices: dict[str, tuple[str, str]] = {}
        if live and not options.onlineUserOnly and not stored.isExcludedFromLastMessage:
            for owner in (user_id, receiver) if to_receiver else (user_id,):
                if owner in owners:
                    notices[owner] = self._core.notice(convs[owner], announced[owner])
        # One ordered write (docs/scaling.md): the message in the timeline first (its commit point),
        # then each user's part (conversation list, announcement, event), the receiver's before the
        # sender's, then the app's callback queue, and last the claim's completion mark. On a Redis
        # Cluster these are separate slots written in turn; a gateway dying between them leaves the
        # mark unset, and a retry of the send (same created id) writes it all again (MessageCore.lost_claim).
        pipe = ordered_pipeline(self._redis, durable=True)
        stored_here = not options.onlineUserOnly
        if stored_here:
            pipe.hset(self._keys.timeline_messages(timeline), str(seq), STORED_ENC.encode(stored))
            if to_receiver and not stored.isExcludedFromUnreadCount:
                pipe.zadd(self._keys.timeline_countable_for(timeline, receiver), {str(seq): sent_ms})

        def queue_user(owner: str, event: OnRecvNewMessage | None, except_session: str | None) -> None:
            if stored_here:
                if owner == user_id and user_id not in owners:  # stored once for both: kept out of the sender's view
                    pipe.sadd(self._keys.hidden_messages(user_id, convs[user_id]), seq)
                if owner in owners and not stored.isExcludedFromLastMessage:
                    pipe.zadd(self._keys.conversations(owner), {convs[owner]: sent_ms})
                    if not announced[owner]:  # a message brings a deleted conversation back
                        # (deleting one unmarks its announcement in the same transaction, so an
                        # announced one has no deletion mark to lift; a deletion racing this send
                        # marks the order before it, which the message's newer order outranks)
                        pipe.hdel(self._keys.conversation_state(owner, "deleted"), convs[owner])
            notice = notices.get(owner)
            if notice is not None and notice[0] == CONVERSATION_NEW:  # marked once; a changed one already is
                pipe.hset(self._core.announced(owner), notice[1], 1)
            if event is not None:  # the event after the writes it reports, by reference when stored
                self._bus.queue_publish(
                    pipe,
                    [owner],
                    event,
                    except_session=except_session,
                    conversation=notices.get(owner),
                    reference=self._core.reference(stored, event.message, owner, options),
                )

        if receiver != user_id:
            if stored_here and to_receiver and not stored.isExcludedFromUnreadCount:  # the receiver's step
                self.unread_index.queue_arrival(pipe, receiver, user_id, sent_ms)
            receiver_event = None
            if live and to_receiver and their_view is not None:
                receiver_event = OnRecvNewMessage(message=their_view(replies, [stored])[0])
            queue_user(receiver, receiver_event, None)
        sender_event = OnRecvNewMessage(message=mine) if live and user_id in owners else None
        queue_user(user_id, sender_event, session_id)
        self._callbacks.queue_c2c_sent(pipe, stored, options.onlineUserOnly)
        self._core.queue_sent_record(pipe, user_id, key, msg_id, options, drafted=drafted, claimed=claimed)
        if drafted:
            # last: a drafted send's key gone is its completion (a repeat finds the first result
            # in the sender's log); an unfinished one keeps its claim for a retry to finish
            pipe.delete(key, Keys.finishing_of(key))  # (one slot: the claim's hold goes with it)
        elif claimed:
            self._core.queue_send_done(pipe, key)
        await self._bus.execute(pipe)
        if live and to_receiver:
            await self._core.offer_push(stored, [receiver], options.onlineUserOnly)
        if not options.onlineUserOnly:
            told = {owner: [convs[owner]] for owner in owners if owner not in notices}
            if told:
                await self._core.conversations_changed(told)
        return mine

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
        """A page of a C2C conversation in the documented order: older pages newest first, newer
        pages oldest first; starting after `last_msg_id`, or at the conversation's newest message."""
        timeline = self._keys.c2c_timeline(user_id, peer)
        start_seq = None
        if last_msg_id:
            ref = parse_msg_id(last_msg_id, "lastMsgID")
            if ref.is_group or sorted((ref.first, ref.second)) != sorted((user_id, peer)):
                raise invalid("lastMsgID is not a message of this conversation")
            start_seq = ref.seq
        return await self._core.history_page(
            user_id, timeline, count, get_type, start_seq, message_types, time_begin, time_period
        )

    async def upstream_read_ms(self, user_id: str, peers: Sequence[str], now_ms: int) -> dict[str, int]:
        """With an upstream, a "read up to now" mark per C2C conversation that also covers its
        newest message: messages keep the upstream's time, and an upstream clock ahead of this one
        would otherwise leave a message just read still unread. Two round trips."""
        timelines = [self._keys.c2c_timeline(user_id, p) for p in peers]
        pipe = self._redis.pipeline(transaction=False)
        for timeline in timelines:
            pipe.get(self._keys.timeline_seq(timeline))
        last_seqs = [int(v or 0) for v in await pipe.execute()]
        pipe = self._redis.pipeline(transaction=False)
        for timeline, last in zip(timelines, last_seqs, strict=True):
            seqs = [str(q) for q in range(last, max(0, last - _NEWEST_LOOKBACK), -1)] or ["0"]
            pipe.hmget(self._keys.timeline_messages(timeline), seqs)
        marks = {}
        for peer, raws in zip(peers, await pipe.execute(), strict=True):
            newest = max((STORED_DEC.decode(r).timestamp for r in raws if r), default=0)
            marks[peer] = max(now_ms, newest * 1000 + 999)
        return marks

    async def mark_c2c_message_as_read(self, user_id: str, peer: str, *, read_time: int | None = None) -> None:
        """`read_time`: read up to that time (unix s) rather than now (REST `admin_set_msg_read` MsgReadTime)."""
        now = self._core.now() if read_time is None else read_time
        read_ms = int(self._clock.now() * 1000) if read_time is None else read_time * 1000 + 999
        conv = c2c_conversation_id(peer)
        up = active(self._upstream)
        if up is not None:  # Tencent's read position moves too, so native devices see it
            await up.messages.read_c2c(user_id, peer, now)
            if read_time is None:
                read_ms = (await self.upstream_read_ms(user_id, [peer], read_ms))[peer]
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.read_times(user_id), conv, now)
        # the read mark raised, never lowered (a `read_time` before it reads nothing more)
        self.unread_index.queue_read(pipe, user_id, {peer: read_ms})
        self._callbacks.queue_c2c_read(pipe, user_id, peer, now)
        await pipe.execute()
        await self._core.conversations_changed({user_id: [conv]})
        if peer != user_id:
            receipt = MessageReceipt(userID=user_id, timestamp=now, isPeerRead=True)
            await self._bus.publish([peer], OnRecvC2CReadReceipt(receiptList=[receipt]))

    async def clear_c2c_history_message(self, user_id: str, peer: str) -> None:
        timeline = self._keys.c2c_timeline(user_id, peer)
        last_seq = int(await self._redis.get(self._keys.timeline_seq(timeline)) or 0)
        conv = c2c_conversation_id(peer)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.cleared_before(user_id), conv, last_seq)
        read_ms = int(self._clock.now() * 1000)
        self.unread_index.queue_read(pipe, user_id, {peer: read_ms})  # the read mark, raised
        pipe.delete(self._keys.hidden_messages(user_id, conv))
        await pipe.execute()
        await self._core.conversations_changed({user_id: [conv]})

    async def insert_c2c_message_to_local_storage(
        self, user_id: str, peer: str, sender: str, content: Content
    ) -> Message:
        """A message in my view of the conversation only (status LOCAL_IMPORTED), e.g. a hint."""
        if sender not in (user_id, peer):
            raise invalid("sender must be you or the conversation's other user")
        if not (await self._profiles.exists([peer]))[0]:
            raise IMError(Code.ERR_RECEIVER_NOT_FOUND, f"userID: no user {peer!r}")
        return await self._core.insert_local(
            user_id,
            self._keys.c2c_timeline(user_id, peer),
            lambda seq, random: c2c_msg_id(user_id, peer, seq, random),
            content,
            sender=sender,
            receiver=peer if sender == user_id else user_id,
        )

    async def set_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str], opt: MessageOpt) -> None:
        if len(user_ids) > RECEIVE_OPT_USERS_MAX:
            raise invalid(f"userIDList: at most {RECEIVE_OPT_USERS_MAX} users per call")
        if user_ids:
            await self._redis.hset(
                self._keys.receive_options(user_id),
                mapping={Keys.c2c_receive_option_field(u): int(opt) for u in user_ids},
            )
            # recvOpt shows on the conversations, and decides whether they count in the totals
            await self._core.conversations_changed({user_id: [c2c_conversation_id(u) for u in user_ids]})

    async def get_c2c_receive_message_opt(self, user_id: str, user_ids: Sequence[str]) -> list[ReceiveOpt]:
        if not user_ids:
            return []
        raws = await self._redis.hmget(
            self._keys.receive_options(user_id), [Keys.c2c_receive_option_field(u) for u in user_ids]
        )
        return [
            ReceiveOpt(userID=u, c2CReceiveMessageOpt=int(Keys.receive_option(r)))
            for u, r in zip(user_ids, raws, strict=True)
        ]

    async def unread_c2c(self, user_id: str, peer: str) -> int:
        """Countable messages from `peer` that arrived after the user last read the conversation."""
        timeline = self._keys.c2c_timeline(user_id, peer)
        read_ms = await self._redis.hget(
            self._keys.conversation_state(user_id, "c2c-read-ms"), c2c_conversation_id(peer)
        )
        return int(
            await self._redis.zcount(
                self._keys.timeline_countable_for(timeline, user_id), f"({int(read_ms or 0)}", "+inf"
            )
        )

    async def mark_all_message_as_read(self, user_id: str) -> None:
        """Every C2C and group conversation read at once: two round trips to read, one to write,
        one conversation notice and one receipt for all the peers (not a call per conversation)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(self._keys.conversations(user_id), 0, -1)
        pipe.hkeys(self._keys.user_groups(user_id))
        convs, group_ids = await pipe.execute()
        peers = peer_ids_of(convs)
        up = active(self._upstream)
        if up is not None:  # Tencent has no bulk read call: one per C2C conversation
            for peer in peers:
                await up.messages.read_c2c(user_id, peer, self._core.now())
        pipe = self._redis.pipeline(transaction=False)
        for gid in group_ids:
            pipe.get(self._keys.timeline_seq(self._keys.group_timeline(gid)))
        last_seqs = await pipe.execute()
        now = self._core.now()
        pipe = self._redis.pipeline(transaction=False)
        if peers:
            pipe.hset(self._keys.read_times(user_id), mapping={c2c_conversation_id(p): now for p in peers})
            millis = int(self._clock.now() * 1000)
            marks = dict.fromkeys(peers, millis) if up is None else await self.upstream_read_ms(user_id, peers, millis)
            self.unread_index.queue_read(pipe, user_id, marks)  # the read marks, raised
        if group_ids:
            pipe.hset(
                self._keys.group_read_seqs(user_id),
                mapping={group_conversation_id(g): int(q or 0) for g, q in zip(group_ids, last_seqs, strict=True)},
            )
        await pipe.execute()
        changed = [c2c_conversation_id(p) for p in peers] + [group_conversation_id(g) for g in group_ids]
        if changed:
            await self._core.conversations_changed({user_id: changed})
        others = [p for p in peers if p != user_id]
        if others:
            receipt = MessageReceipt(userID=user_id, timestamp=now, isPeerRead=True)
            await self._bus.publish(others, OnRecvC2CReadReceipt(receiptList=[receipt]))

    async def set_global_mute(self, user_id: str, c2c_until: int | None, group_until: int | None) -> None:
        """The app admin's mute of a user for all one-to-one and/or all group messages (until when,
        unix s; 0 lifts it; None leaves it as it is). The send paths read it with their other reads."""
        changes = {field: until for field, until in (("c2c", c2c_until), ("group", group_until)) if until is not None}
        lifted = [field for field, until in changes.items() if until == 0]
        kept = {field: until for field, until in changes.items() if until}
        pipe = self._redis.pipeline(transaction=True)
        if lifted:
            pipe.hdel(self._keys.global_mute(user_id), *lifted)
        if kept:
            pipe.hset(self._keys.global_mute(user_id), mapping=kept)
        await pipe.execute()

    async def global_mute(self, user_id: str) -> tuple[int, int]:
        """(one-to-one, group): until when the user is muted app-wide (unix s; 0: not muted)."""
        c2c, group = await self._redis.hmget(self._keys.global_mute(user_id), ["c2c", "group"])
        now = self._core.now()
        c2c_until, group_until = int(c2c or 0), int(group or 0)
        return (c2c_until if c2c_until > now else 0, group_until if group_until > now else 0)
