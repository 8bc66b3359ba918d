"""The message core: storage, history pages, created messages, revoke/modify, local-only state.

Storage (DESIGN "Data on Redis"): each conversation has ONE timeline, stored once for both users
of a C2C chat: a seq counter (INCR) and a hash seq → message. A msgID encodes its timeline and seq,
so a message is found with one HGET, and a history page of n messages is an HMGET of n seqs
whatever the conversation's length. What a user does only for themselves (delete for me, clear
history, local custom data, local imports) is per-user state applied when reading
(gateway.engine.message_views, which the core reads through).

Unread (C2C): counted from the timeline's sorted set of the seqs that count as unread for each
user (Keys.timeline_countable_for), past that user's read position.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import msgspec
from redis.exceptions import WatchError

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.claims import CLAIM_HOLD_SECONDS, CLAIM_POLL_SECONDS, CLAIM_WAIT_SECONDS
from gateway.engine.codec import STORED_DEC, STORED_ENC, require_body_fits
from gateway.engine.friendship import Friendship
from gateway.engine.groups.store import ADMIN, OWNER, GroupStore, neutral_view
from gateway.engine.message_events import KIND_MODIFIED, KIND_NEW, MessageEvents
from gateway.engine.message_ids import MessageRef, parse_msg_id
from gateway.engine.message_views import LocalData, MessageViews, content_fields
from gateway.engine.profiles import Profiles
from gateway.engine.scripts import PipelinedScript, run_pipeline
from gateway.engine.unread_index import UnreadIndex
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import CONVERSATION_CHANGED, CONVERSATION_NEW, EventBus
from gateway.events.entries import Reference
from gateway.ids import c2c_conversation_id, group_conversation_id, topic_parent
from gateway.im.enums import ElemType, GetType, MsgStatus
from gateway.im.events import (
    IMEvent,
    OnRecvMessageModified,
    OnRecvMessageRevoked,
)
from gateway.im.messages import (
    Content,
    CreatedMessage,
    Message,
    SendOptions,
    StoredMessage,
)
from gateway.keys import Keys
from gateway.upstream import Upstream, active

AT_ALL = "__kImSDK_MesssageAtALL__"  # the SDK's kImSDK_MesssageAtALL: @ everyone


def at_sets(timeline: str, message: StoredMessage) -> list[str]:
    """The @ sets of a group timeline that hold the message's seq: one per user it @s ("*": @ALL)."""
    return [Keys.timeline_at(timeline, "*" if who == AT_ALL else who) for who in dict.fromkeys(message.groupAtUserList)]


AT_USERS_MAX = 30  # @ marks per message, @ALL included
CREATED_MESSAGE_TTL_SECONDS = 24 * 3600  # created messages wait this long to be sent (CONTRACT §5)
SENT_RECORD_TTL_SECONDS = 24 * 3600  # a repeated send of the same id returns the first result this long
REVOKE_WINDOW_SECONDS = 120  # senders may revoke for 2 minutes (20016 after)
HISTORY_COUNT_MAX = 100  # messages per history page
RECEIVE_OPT_USERS_MAX = 30  # setC2CReceiveMessageOpt per call
FIND_MESSAGES_MAX = 100
SCAN_BATCH_FACTOR = 2  # fetch this many seqs per wanted message while skipping hidden ones


class Draft(msgspec.Struct, kw_only=True):
    """A created message waiting for sendMessage."""

    content: Content
    groupAtUserList: list[str] = []
    targets: list[str] = []
    createdAt: int = 0


_draft_dec = msgspec.json.Decoder(Draft)

IDEMPOTENCY_KEY_MAX = 128  # characters of a one-request send's idempotencyKey
_KEYED_PREFIX = "key:"  # a keyed one-request send's claim id (create*Message ids start "created-")


class InlineSend(msgspec.Struct, frozen=True, kw_only=True):
    """A one-request send (sendTextMessage / sendCustomMessage): the content comes with the send,
    which keeps every rule of sending a created message (checks, callbacks, events, push) but has
    no draft to write, read, claim or delete. `claim_id`: the claim of a client's idempotencyKey
    (`keyed_claim`), kept as a REST send's is, so a repeat returns the first result; None: no key,
    and no claim bookkeeping at all."""

    content: Content
    claim_id: str | None = None


def keyed_claim(idempotency_key: str | None) -> str | None:
    """The claim id of a one-request send's idempotencyKey (scoped per sender by the claim's key,
    Keys.created_message); None without a key; 6017 for an empty or over-long one."""
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        raise invalid(f"idempotencyKey must be 1-{IDEMPOTENCY_KEY_MAX} characters")
    return _KEYED_PREFIX + idempotency_key


class PushFeed(Protocol):
    """Where sent messages go for offline push (gateway.engine.push.planner.PushQueue)."""

    async def message_sent(self, stored: StoredMessage, receivers: Sequence[str] | None, online_only: bool) -> None: ...


class MessageCore:
    """What every part of the message manager shares (gateway.engine.message_manager): storage,
    per-viewer views and visibility, created messages and their claims, history pages, revoke and
    modify. The parts hold it and call it; it knows none of them."""

    async def conversations_changed(self, changed: dict[str, list[str]], *, topics: bool = False) -> None:
        """Tell users their conversations changed (onNewConversation / onConversationChanged);
        Conversations does it through the Announcer. Messages only say which ones (`topics`: a
        community topic's too, ConversationAnnouncer.announce)."""
        await self._announcer.announce(changed, topics=topics)

    async def offer_push(self, stored: StoredMessage, receivers: Sequence[str] | None, online_only: bool) -> None:
        """Each sent message with the users it was sent to (None: all of a large group's members)
        and whether it was online-only, for offline push (gateway.engine.push; off: a no-op)."""
        await self._push_queue.message_sent(stored, receivers, online_only)

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        profiles: Profiles,
        friendship: Friendship,
        groups: GroupStore,
        viewer: MessageViews,
        announcer: Announcer,
        push_queue: PushFeed,
        *,
        friends_only: bool = False,
        callbacks: Callbacks | None = None,
        upstream: Upstream | None = None,
        message_events: MessageEvents | None = None,
    ) -> None:
        self._callbacks = callbacks or Callbacks()  # the app's third-party callbacks (off: Callbacks())
        self._upstream = upstream  # the IM server sends go through first (gateway.upstream); None: none
        # message events stored by reference in the event logs (and resolved for subscriptions)
        self._message_events = message_events or MessageEvents(redis, keys)
        self._groups = groups
        self._viewer = viewer  # visibility and per-viewer views (built before the announcer)
        self._announcer = announcer
        self._push_queue = push_queue
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._profiles = profiles
        self._friendship = friendship
        self._friends_only = friends_only
        self.unread_index = UnreadIndex(redis, keys, clock)  # C2C conversations that may hold unread (UnreadMsgNum)

    def now(self) -> int:
        return int(self._clock.now())

    def announced(self, owner: str) -> str:
        """The conversations `owner` has been told of (ConversationAnnouncer.announce keeps it too)."""
        return self._keys.conversation_state(owner, "announced")

    @staticmethod
    def notice(conversation: str, was_announced: Any) -> tuple[str, str]:
        """A message's conversation notice for one user, derived by their subscriptions: new when
        they had not been told of the conversation (or not since deleting it), else changed."""
        return (CONVERSATION_CHANGED if was_announced else CONVERSATION_NEW, conversation)

    def reference(
        self, stored: StoredMessage, view: Message, viewer: str | None, options: SendOptions
    ) -> Reference | None:
        """What a log keeps for a new message's event (its view as `viewer` sees it; None: a
        group's stream): a reference when the message is stored, else None (the event itself)."""
        if options.onlineUserOnly:
            return None
        return self._message_events.reference(KIND_NEW, stored, view, viewer)

    async def create_message(
        self, user_id: str, content: Content, *, at_users: Sequence[str] = (), targets: Sequence[str] = ()
    ) -> CreatedMessage:
        created_id = f"created-{secrets.token_urlsafe(12)}"
        draft = Draft(content=content, groupAtUserList=list(at_users), targets=list(targets), createdAt=self.now())
        key = self._keys.created_message(user_id, created_id)
        encoded = STORED_ENC.encode(draft)

        # a script, not MULTI/EXEC: as atomic (never a draft without its expiry), two commands
        # fewer, and on the client's short pipeline path (a transaction took redis-py's general
        # path, most of a create's CPU)
        def build(pipe: Any) -> None:
            _CREATE_DRAFT.queue(pipe, [key], [encoded, CREATED_MESSAGE_TTL_SECONDS])

        await run_pipeline(self._redis, build, (_CREATE_DRAFT,))
        return CreatedMessage(id=created_id, messageInfo=self._draft_view(user_id, created_id, draft))

    @staticmethod
    def option_fields(options: SendOptions) -> dict[str, Any]:
        """The StoredMessage fields a sendMessage call's options decide (C2C and group alike)."""
        return {
            "priority": options.priority,
            "cloudCustomData": options.cloudCustomData or "",
            "needReadReceipt": options.needReadReceipt,
            # an online-only message is never unread and never a conversation's last message
            "isExcludedFromUnreadCount": options.isExcludedFromUnreadCount or options.onlineUserOnly,
            "isExcludedFromLastMessage": options.isExcludedFromLastMessage or options.onlineUserOnly,
            "isSupportMessageExtension": options.isSupportMessageExtension,
            "offlinePushInfo": options.offlinePushInfo,
        }

    def queue_sent_record(
        self,
        pipe: Any,
        user_id: str,
        created_key: str,
        msg_id: str,
        options: SendOptions,
        *,
        drafted: bool = False,
        claimed: bool = True,
    ) -> None:
        """Into a send's write pipeline: the sender's localCustomData, and how long the created id's
        claim (created id -> msgID, what makes a repeat return the first result) is kept: a REST
        send's (named by its request) SENT_RECORD_TTL_SECONDS. A `drafted` one (a create*Message
        result) is the caller's to delete, in the round trip that writes the sender's event of the
        message or after it: a repeat then finds the first result in that log (`first_result`),
        so a sent message leaves nothing behind here. A one-request send without a key was not
        `claimed`: it has no claim to keep."""
        if options.localCustomData:
            pipe.hset(
                self._keys.local_message_data(user_id),
                msg_id,
                STORED_ENC.encode(LocalData(data=options.localCustomData)),
            )
        if claimed and not drafted:
            pipe.expire(created_key, SENT_RECORD_TTL_SECONDS)

    async def claim(self, created_key: str, msg_id: str, *, drafted: bool) -> bool:
        """Claim a created id for `msg_id` (a concurrent repeat of the send then returns this
        message instead). `drafted`: only while its draft is there, since a sent one's key is
        deleted and a claim would otherwise make it anew."""
        script = _CLAIM_DRAFT if drafted else _CLAIM_KEYED

        def build(pipe: Any) -> None:
            script.queue(pipe, [created_key, Keys.finishing_of(created_key)], [msg_id, CLAIM_HOLD_SECONDS])

        (claimed,) = await run_pipeline(self._redis, build, (script,))
        return int(claimed) == 1

    @asynccontextmanager
    async def holding(self, created_key: str | None, seconds: float) -> AsyncIterator[None]:
        """Around a slow step of a send (the app's before-send callback, the upstream's send), the
        send that took `created_key`'s claim holds it `seconds` (then CLAIM_HOLD_SECONDS again, if
        the claim was not given back meanwhile): a repeat of the send waits for it (`lost_claim`)
        rather than take it for one whose sender died. None: no claim of this request's to hold
        (none taken, or a retry finishing a send under a lock of its own)."""
        if created_key is None:
            yield
            return
        hold = Keys.finishing_of(created_key)
        await self._redis.set(hold, 1, ex=max(1, round(seconds)) + CLAIM_HOLD_SECONDS)
        try:
            yield
        finally:
            await self._redis.set(hold, 1, ex=CLAIM_HOLD_SECONDS, xx=True)

    async def first_result(self, user_id: str, created_id: str, *, shown_id: str | None = None) -> Message:
        """The first result of a send repeated after its created message was sent (its key gone
        or going): the message it became, found by its claim or else in the sender's log; 6017
        when neither knows it (never created, or sent longer ago than the log keeps)."""
        msg_id = await self._redis.hget(self._keys.created_message(user_id, created_id), "msgID")
        if msg_id is None:
            msg_id = await self._message_events.find_sent(user_id, created_id)
        if msg_id is None:
            raise _no_created_message(created_id, "id")
        return await self.sent_result(user_id, created_id, str(msg_id), shown_id=shown_id)

    async def draft_or_sent(self, user_id: str, created_id: str, arg: str = "id") -> Draft:
        """A created message's draft; once sent, the message it became (what an at-signed or
        targeted copy of it is made from)."""
        raw = await self._redis.hget(self._keys.created_message(user_id, created_id), "draft")
        if raw is not None:
            return self.draft_from(raw, created_id, arg)
        msg_id = await self._message_events.find_sent(user_id, created_id)
        stored = await self._load(parse_msg_id(msg_id)) if msg_id is not None else None
        if stored is None:
            raise _no_created_message(created_id, arg)
        return Draft(content=stored.content, groupAtUserList=list(stored.groupAtUserList), targets=list(stored.targets))

    async def insert_local(
        self,
        user_id: str,
        timeline: str,
        msg_id_of: Callable[[int, int], str],
        content: Content,
        *,
        sender: str,
        receiver: str = "",
        group_id: str = "",
    ) -> Message:
        """A message in this user's view of a timeline only (status LOCAL_IMPORTED), e.g. a hint: it
        takes the timeline's next seq but stays out of everyone else's history and of unread counts."""
        require_body_fits(content, "")
        seq = int(await self._redis.incr(self._keys.timeline_seq(timeline)))
        random = secrets.randbelow(2**31)
        stored = StoredMessage(
            msgID=msg_id_of(seq, random),
            sender=sender,
            receiver=receiver,
            groupID=group_id,
            seq=seq,
            random=random,
            timestamp=self.now(),
            content=content,
            visibleTo=user_id,
            status=MsgStatus.V2TIM_MSG_STATUS_LOCAL_IMPORTED,
            isExcludedFromUnreadCount=True,
        )
        await self._redis.hset(self._keys.timeline_messages(timeline), str(seq), STORED_ENC.encode(stored))
        return (await self.views(user_id, [stored]))[0]

    async def draft(self, user_id: str, created_id: str, arg: str = "id") -> Draft:
        raw = await self._redis.hget(self._keys.created_message(user_id, created_id), "draft")
        return self.draft_from(raw, created_id, arg)

    @staticmethod
    def draft_from(raw: str | bytes | None, created_id: str, arg: str = "id") -> Draft:
        """A created message's draft from its stored field (read by the caller), 6017 if gone."""
        if raw is None:
            raise _no_created_message(created_id, arg)
        return _draft_dec.decode(raw)

    def _draft_view(self, user_id: str, created_id: str, draft: Draft) -> Message:
        return Message(
            msgID="",
            id=created_id,
            sender=user_id,
            status=MsgStatus.V2TIM_MSG_STATUS_SENDING,
            isSelf=True,
            isRead=True,
            groupAtUserList=draft.groupAtUserList,
            timestamp=draft.createdAt,
            **content_fields(draft.content),
        )

    async def lost_claim(self, user_id: str, created_id: str, msg_id: str) -> MessageRef | None:
        """The claim of a send that never finished its writes, for this retry to finish it; None when
        they are all there (an ordinary repeat: `sent_result` answers it).

        A send claims its created id (created id -> msgID) one round trip before it writes. A request
        that dies in between (its deadline passed while Redis stalled) leaves a claim with no
        message, and every retry used to answer 7012 for good. The retry now writes the message
        under the claimed seq and random instead; a short lock lets one concurrent retry do it.
        The same holds for a send that died after storing the message but before its last write
        (on a Redis Cluster, the users' slots are written one after another): the claim's
        completion mark (`queue_send_done`) is missing, and the retry writes everything again, so
        a receiver may hear of the message twice (the same msgID) but never not at all.

        A send under way is not a lost one: the request that claimed holds the claim's lock while it
        lives (`claim`, `holding`), and a repeat meanwhile (an SDK resending an unanswered send)
        waits up to CLAIM_WAIT_SECONDS for it to end, then answers its result; it would otherwise
        write and tell the message a second time."""
        ref = parse_msg_id(msg_id)
        lock = self._keys.created_message_finishing(user_id, created_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLAIM_WAIT_SECONDS
        locked = False
        while True:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hget(self._keys.timeline_messages(self.timeline_of(ref)), str(ref.seq))
            pipe.hmget(self._keys.created_message(user_id, created_id), [SEND_DONE_FIELD, "msgID"])
            raw, (done, claim) = await pipe.execute()
            stored = STORED_DEC.decode(raw) if raw is not None else None
            there = stored is not None and stored.msgID and stored.random == ref.random
            finished = there and (done or claim is None)  # (a drafted send's key goes at its end)
            if finished or claim is None:
                if locked:
                    await self._redis.delete(lock)
                if finished:
                    return None
                # let go of: the send was refused or dropped (a send now is a new one)
                raise IMError(Code.ERR_SDK_INTERNAL_ERROR, "this message's send ended unsent; retry it")
            if locked:  # read again under the lock: still unfinished, so its sender is gone
                return ref
            # the claim's hold is the sending request's while it lives (claim), a finisher's after;
            # once taken, the state is read again: the send may have ended between the two
            locked = bool(await self._redis.set(lock, 1, nx=True, ex=FINISHING_LOCK_SECONDS))
            if locked:
                continue
            if loop.time() > deadline:
                raise IMError(Code.ERR_SDK_INTERNAL_ERROR, "this message's send is under way; retry shortly")
            await asyncio.sleep(CLAIM_POLL_SECONDS)  # a send under way: its answer is this repeat's

    def queue_send_done(self, pipe: Any, created_key: str) -> None:
        """A send's last write: the claim's completion mark (see `lost_claim`), and its hold gone."""
        pipe.hset(created_key, SEND_DONE_FIELD, 1)
        pipe.delete(Keys.finishing_of(created_key))

    async def sent_result(self, user_id: str, created_id: str, msg_id: str, *, shown_id: str | None = None) -> Message:
        """The first result of a send repeated with the same created id; `shown_id`: the createdID
        the answer shows, when not the created id (a one-request send's: "")."""
        ref = parse_msg_id(msg_id)
        stored = await self._load(ref)
        if stored is None:
            raise IMError(Code.ERR_SDK_INTERNAL_ERROR, "the first send of this id did not complete; create it again")
        shown = created_id if shown_id is None else shown_id
        return (await self.views(user_id, [stored], created_ids={msg_id: shown}))[0]

    def timeline_of(self, ref: MessageRef) -> str:
        if ref.is_group:
            return self._keys.group_timeline(ref.first)
        return self._keys.c2c_timeline(ref.first, ref.second)

    async def _load(self, ref: MessageRef) -> StoredMessage | None:
        raw = await self._redis.hget(self._keys.timeline_messages(self.timeline_of(ref)), str(ref.seq))
        if raw is None:
            return None
        stored = STORED_DEC.decode(raw)
        return stored if stored.msgID and stored.random == ref.random else None

    async def load_visible(self, user_id: str, msg_id: str, arg: str = "msgID") -> StoredMessage:
        """A message this user may see, or 6017 (unknown) / 6004 (another conversation's: a C2C
        conversation of others, or a group or topic the user is not a member of now, whether or not
        the message exists)."""
        ref = parse_msg_id(msg_id, arg)
        if not (await self._in_conversations(user_id, [ref]))[0]:
            raise IMError(Code.ERR_INVALID_CONVERSATION, f"{arg}: not a message of your conversations")
        stored = await self._load(ref)
        if stored is None or not await self.visible_to(user_id, [stored]):
            raise invalid(f"{arg}: no such message")
        return stored

    async def _in_conversations(self, user_id: str, refs: Sequence[MessageRef]) -> list[bool]:
        """Whether each message ID is of one of the user's conversations: a C2C conversation of
        theirs, or a group (a topic: its community) they are a member of now. Group history is its
        current members' (as getGroupHistoryMessageList), so membership is checked now, not at the
        message's time; one round trip for all the groups."""
        groups = sorted({topic_parent(r.first) or r.first for r in refs if r.is_group})
        member: dict[str, bool] = {}
        if groups:
            pipe = self._redis.pipeline(transaction=False)
            for gid in groups:
                pipe.hexists(self._keys.group_members(gid), user_id)
            member = dict(zip(groups, (bool(v) for v in await pipe.execute()), strict=True))
        return [
            member[topic_parent(r.first) or r.first] if r.is_group else user_id in (r.first, r.second) for r in refs
        ]

    # ---- views (gateway.engine.message_views), for the parts that read through the core ----------------
    async def visible_to(self, user_id: str, messages: list[StoredMessage]) -> list[StoredMessage]:
        return await self._viewer.visible_to(user_id, messages)

    def visible_given(
        self,
        user_id: str,
        messages: list[StoredMessage],
        cleared: dict[str, int],
        hidden: dict[str, set[int]],
    ) -> list[StoredMessage]:
        return self._viewer.visible_given(user_id, messages, cleared, hidden)

    @staticmethod
    def conversation_for(user_id: str, m: StoredMessage) -> str:
        return MessageViews.conversation_for(user_id, m)

    async def views(
        self, user_id: str, messages: list[StoredMessage], created_ids: dict[str, str] | None = None
    ) -> list[Message]:
        return await self._viewer.views(user_id, messages, created_ids)

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
        return self._viewer.queue_views(
            pipe, user_id, messages, created_ids, local_data=local_data, read_mark_at=read_mark_at
        )

    async def find_messages(self, user_id: str, msg_ids: Sequence[str]) -> list[Message]:
        if len(msg_ids) > FIND_MESSAGES_MAX:
            raise invalid(f"messageIDList: at most {FIND_MESSAGES_MAX} IDs")
        refs = [parse_msg_id(msg_id, f"messageIDList[{i}]") for i, msg_id in enumerate(msg_ids)]
        found = []
        for ref, mine in zip(refs, await self._in_conversations(user_id, refs), strict=True):
            if not mine:  # another conversation's (or a group's the user is not in): not found
                continue
            stored = await self._load(ref)
            if stored is not None:
                found.append(stored)
        return await self.views(user_id, await self.visible_to(user_id, found))

    async def history_page(
        self,
        user_id: str,
        timeline: str,
        count: int,
        get_type: GetType,
        start_seq: int | None,
        message_types: Sequence[ElemType],
        time_begin: int,
        time_period: int,
    ) -> list[Message]:
        """One page of a timeline: HMGETs of seq ranges, skipping what this user cannot see."""
        if not 1 <= count <= HISTORY_COUNT_MAX:
            raise invalid(f"count must be 1-{HISTORY_COUNT_MAX}")
        older = get_type in (GetType.V2TIM_GET_CLOUD_OLDER_MSG, GetType.V2TIM_GET_LOCAL_OLDER_MSG)
        # seqs at or below the floor were trimmed by the message retention: the history ends there
        last_raw, floor_raw = await self._redis.mget(
            self._keys.timeline_seq(timeline), self._keys.timeline_floor(timeline)
        )
        last_seq, floor = int(last_raw or 0), int(floor_raw or 0)
        if start_seq is not None:
            start = start_seq - 1 if older else start_seq + 1
        else:
            start = last_seq if older else 1
        wanted_types = set(message_types)
        page: list[StoredMessage] = []
        cursor = start
        while len(page) < count and floor < cursor <= last_seq:
            batch = max(count - len(page), 1) * SCAN_BATCH_FACTOR
            if older:
                seqs = list(range(cursor, max(cursor - batch, floor), -1))
                cursor = seqs[-1] - 1
            else:
                seqs = list(range(cursor, min(cursor + batch, last_seq + 1)))
                cursor = seqs[-1] + 1
            raws = await self._redis.hmget(self._keys.timeline_messages(timeline), [str(q) for q in seqs])
            candidates = [STORED_DEC.decode(r) for r in raws if r]
            for m in await self.visible_to(user_id, candidates):
                if wanted_types and m.content.elemType not in wanted_types:
                    continue
                if time_begin and not _in_period(m.timestamp, time_begin, time_period):
                    continue
                page.append(m)
                if len(page) == count:
                    break
        return await self.views(user_id, page)

    async def _load_any(self, msg_id: str, arg: str) -> StoredMessage:
        """A message whoever may see it (the app admin's view), or 6017."""
        stored = await self._load(parse_msg_id(msg_id, arg))
        if stored is None:
            raise invalid(f"{arg}: no such message")
        return stored

    async def revoke_message(self, user_id: str, session_id: str, msg_id: str, *, as_admin: bool = False) -> None:
        """`as_admin`: the app admin recalls for `user_id` (REST admin_msgwithdraw, group_msg_recall),
        with no role or time checks, as Tencent's admin recall has none; the events are those of
        `user_id`'s recall."""
        if as_admin:
            stored = await self._load_any(msg_id, "msgID")
        else:
            stored = await self.load_visible(user_id, msg_id, "lastMsgID")
        manager = as_admin
        if stored.groupID and not as_admin:
            owner_group = topic_parent(stored.groupID) or stored.groupID
            member = await self._groups.member(owner_group, user_id)
            manager = member is not None and member.role in (int(OWNER), int(ADMIN))
        if stored.sender != user_id and not manager:
            raise IMError(
                Code.ERR_NO_PERMISSION, "only the sender (or a group's owner or admins) may revoke this message"
            )
        if not manager and self.now() - stored.timestamp > REVOKE_WINDOW_SECONDS:
            raise IMError(Code.ERR_REVOKE_TIME_LIMIT, f"messages can be revoked for {REVOKE_WINDOW_SECONDS} s")
        if stored.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED:
            return
        up = active(self._upstream)
        if up is not None and not stored.visibleTo:  # recalled upstream first (a local import is the mirror's)
            if stored.groupID:
                await up.groups.recall_group_message(stored.groupID, stored.seq)
            else:
                await up.messages.recall_c2c(stored, user_id)
        revoked = await self._write_revoked(parse_msg_id(msg_id), stored.seq, user_id)
        if revoked is None:
            return  # revoked meanwhile, by another request
        stored = revoked
        event = OnRecvMessageRevoked(msgID=msg_id)
        await self._bus.publish([user_id], event, except_session=session_id)
        await self._tell_conversation(user_id, stored, event)
        await self._callbacks.message_recalled(stored, user_id)

    async def _write_revoked(self, ref: MessageRef, seq: int, user_id: str) -> StoredMessage | None:
        """The message marked revoked, as it is now (a modification that committed meanwhile kept),
        or None when it already was. Under the WATCH a modification takes, and touching its
        version key: a modification racing it fails ("modified meanwhile"), and finds it revoked
        on its retry, rather than writing the message back unrevoked."""
        timeline = self.timeline_of(ref)
        version_key = self._keys.message_version(timeline, seq)
        messages = self._keys.timeline_messages(timeline)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(version_key)
                    version = await pipe.get(version_key)
                    raw = await pipe.hget(messages, str(seq))
                    if raw is None:  # gone meanwhile (the retention, a clearing for everyone)
                        raise invalid("lastMsgID: no such message")
                    current = STORED_DEC.decode(raw)
                    if current.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED:
                        return None
                    current.status = MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED
                    current.revokedBy = user_id
                    pipe.multi()
                    pipe.set(version_key, version or 0)  # unchanged, but a write: a watcher's WATCH fails
                    pipe.hset(messages, str(seq), STORED_ENC.encode(current))
                    await pipe.execute()
                    return current
                except WatchError:
                    continue  # a modification came first: read the message again

    async def modify_message(
        self,
        user_id: str,
        session_id: str,
        msg_id: str,
        content: Content | None,
        cloud_custom_data: str | None,
        *,
        as_admin: bool = False,
    ) -> Message:
        """`as_admin`: the app admin modifies `user_id`'s message (REST modify_group_msg); the
        events are those of the sender's modification."""
        if as_admin:
            stored = await self._load_any(msg_id, "message.msgID")
        else:
            stored = await self.load_visible(user_id, msg_id, "message.msgID")
        if stored.sender != user_id:
            raise IMError(Code.ERR_NO_PERMISSION, "only the sender may modify this message")
        if stored.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED:
            raise invalid("message: a revoked message cannot be modified")
        if content is not None and content.elemType != stored.content.elemType:
            raise invalid("message: a modification keeps the message's elemType")
        up = active(self._upstream)
        if up is not None and not stored.visibleTo:  # modified upstream first (a local import is the mirror's)
            if stored.groupID:
                if content is not None or cloud_custom_data is not None:
                    require_body_fits(
                        content or stored.content,
                        stored.cloudCustomData if cloud_custom_data is None else cloud_custom_data,
                    )
                await up.groups.modify_group_message(stored.groupID, stored.seq, content, cloud_custom_data)
            else:
                # outside the WATCH below (the upstream's own Redis reads would wait for the
                # connection the WATCH holds); Tencent has no version check, so two racing
                # modifications both reach it and the mirror keeps the one its WATCH lets win
                changed = msgspec.structs.replace(
                    stored,
                    content=stored.content if content is None else content,
                    cloudCustomData=stored.cloudCustomData if cloud_custom_data is None else cloud_custom_data,
                )
                require_body_fits(changed.content, changed.cloudCustomData)
                await up.messages.modify_c2c(changed, user_id)
        ref = parse_msg_id(msg_id)
        timeline = self.timeline_of(ref)
        version_key = self._keys.message_version(timeline, stored.seq)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(version_key)
            version = int(await pipe.get(version_key) or 0)
            raw = await pipe.hget(self._keys.timeline_messages(timeline), str(stored.seq))
            current = STORED_DEC.decode(raw)
            if current.version != version:
                raise IMError(Code.ERR_MSG_MODIFY_CONFLICT, "the message was modified meanwhile; fetch it and retry")
            if current.status == MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED:  # revoked since it was read
                raise invalid("message: a revoked message cannot be modified")
            if content is not None:
                current.content = content
            if cloud_custom_data is not None:
                current.cloudCustomData = cloud_custom_data
            require_body_fits(current.content, current.cloudCustomData)
            current.version = version + 1
            pipe.multi()
            pipe.set(version_key, current.version)
            # the version replaced is kept: event logs refer to it (gateway.engine.message_events)
            pipe.hset(self._keys.message_revisions(timeline), f"{stored.seq}:{version}", raw)
            pipe.hset(self._keys.timeline_messages(timeline), str(stored.seq), STORED_ENC.encode(current))
            try:
                await pipe.execute()
            except WatchError as exc:
                raise IMError(
                    Code.ERR_MSG_MODIFY_CONFLICT, "another modification of this message won; fetch it and retry"
                ) from exc
        # the app's after-callback once the change is made: the callback queue is app-wide, another
        # slot than the message's on a Redis Cluster, so it is not in the transaction (docs/scaling.md)
        after = self._redis.pipeline(transaction=False)
        self._callbacks.queue_message_modified(after, current, user_id)
        if len(after):
            await after.execute()
        mine = (await self.views(user_id, [current]))[0]
        refer = self._message_events.reference
        await self._bus.publish(
            [user_id],
            OnRecvMessageModified(message=mine),
            except_session=session_id,
            reference=refer(KIND_MODIFIED, current, mine, user_id),
        )
        if current.groupID:
            await self._tell_conversation(user_id, current, OnRecvMessageModified(message=neutral_view(current)))
        elif current.receiver and current.receiver != user_id:
            theirs = (await self.views(current.receiver, [current]))[0]
            await self._bus.publish(
                [current.receiver],
                OnRecvMessageModified(message=theirs),
                reference=refer(KIND_MODIFIED, current, theirs, current.receiver),
            )
        return mine

    async def _tell_conversation(self, user_id: str, stored: StoredMessage, event: IMEvent) -> None:
        """An event about a message to the conversation's other party (C2C) or other members, and
        the conversation-changed notice (its lastMessage may have changed). A modification's event
        (the message as every member but its sender sees it) is kept by reference."""
        modified = event.message if isinstance(event, OnRecvMessageModified) else None
        if not stored.groupID:
            other = stored.receiver if stored.sender == user_id else stored.sender
            if other and other != user_id:
                await self._bus.publish([other], event)
            await self.conversations_changed(
                {
                    user_id: [c2c_conversation_id(other)],
                    **({other: [c2c_conversation_id(user_id)]} if other != user_id else {}),
                }
            )
            return
        if stored.targets:
            told = [t for t in [*stored.targets, stored.sender] if t != user_id]
            reference = None
            if modified is not None and told and stored.sender not in told:
                # every member but the sender sees it alike: one reference serves them all
                reference = self._message_events.reference(KIND_MODIFIED, stored, modified, told[0])
            await self._bus.publish(told, event, reference=reference)
            return
        await self._bus.publish_to_group(
            topic_parent(stored.groupID) or stored.groupID,
            event,
            except_user=user_id,
            reference=self._message_events.reference(KIND_MODIFIED, stored, modified, None) if modified else None,
        )
        # the other members' conversation notices are derived by their subscriptions
        await self.conversations_changed({user_id: [group_conversation_id(stored.groupID)]})

    async def delete_message_from_local_storage(self, user_id: str, msg_id: str) -> None:
        stored = await self.load_visible(user_id, msg_id)
        conv = self.conversation_for(user_id, stored)
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(self._keys.hidden_messages(user_id, conv), stored.seq)
        if not stored.groupID:  # a C2C unread message deleted unread no longer counts
            timeline = self._keys.c2c_timeline(stored.sender, stored.receiver)
            pipe.zrem(self._keys.timeline_countable_for(timeline, user_id), str(stored.seq))
        await pipe.execute()
        await self.conversations_changed({user_id: [conv]})


SEND_DONE_FIELD = "done"  # on a created message's claim: every write of its send was made
FINISHING_LOCK_SECONDS = 10  # longer than a send's own writes take, short enough to retry after


# A created message's draft with its expiry, at once.
_CREATE_DRAFT = PipelinedScript(
    """
redis.call('HSET', KEYS[1], 'draft', ARGV[1])
return redis.call('EXPIRE', KEYS[1], ARGV[2])
"""
)

# A created message's claim, taken only while its draft is there: a send deletes the key once its
# message is written, and a late claim must not make the key anew (1: claimed, 0: claimed before,
# -1: sent already).
_CLAIM_DRAFT = PipelinedScript(
    """
if redis.call('HEXISTS', KEYS[1], 'draft') == 0 then return -1 end
if redis.call('HSETNX', KEYS[1], 'msgID', ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], 1, 'EX', ARGV[2])
return 1
"""
)
# A key's claim (a REST send's, a one-request send's idempotency key's): 1 claimed, 0 claimed before.
# Both claims take the send's hold (KEYS[2], ARGV[2] s): the claim's finishing lock, which tells a
# repeat arriving meanwhile that the send is under way (MessageCore.lost_claim).
_CLAIM_KEYED = PipelinedScript(
    """
if redis.call('HSETNX', KEYS[1], 'msgID', ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], 1, 'EX', ARGV[2])
return 1
"""
)


def _no_created_message(created_id: str, arg: str) -> IMError:
    return invalid(f"{arg}: no created message {created_id!r} (create*Message results last 24 hours)")


def _in_period(timestamp: int, begin: int, period: int) -> bool:
    return timestamp >= begin and (period <= 0 or timestamp <= begin + period)
