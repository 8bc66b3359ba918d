"""Group messages: sending to groups, topics and chosen members; group history, reads, options.

Read diffusion (DESIGN "Data on Redis"): a group message is stored once in the group's timeline;
a member's unread count is the number of countable seqs after their read seq (one ZCOUNT), so a
send to a 100,000-member community costs the same Redis writes as a send to a 3-member group.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.codec import STORED_DEC, STORED_ENC, require_body_fits
from gateway.engine.groups.extras import known_topic
from gateway.engine.groups.imports import known
from gateway.engine.groups.store import AVCHATROOM, MEMBER, GroupStore, neutral_view
from gateway.engine.groups.topic_mutes import topic_mutes
from gateway.engine.message_core import (
    HISTORY_COUNT_MAX,
    Draft,
    InlineSend,
    MessageCore,
    at_sets,
)
from gateway.engine.message_ids import group_msg_id, parse_msg_id
from gateway.engine.profiles import Profiles
from gateway.engine.scripts import RAISE_FIELD, RAISE_SEQ, PipelinedScript, run_pipeline, run_script
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.ids import group_conversation_id, topic_parent
from gateway.im.enums import ElemType, GetType, GroupTipsType, MessageOpt, MsgStatus
from gateway.im.events import OnRecvNewMessage
from gateway.im.messages import Content, CreatedMessage, Message, SendOptions, StoredMessage
from gateway.keys import Keys
from gateway.store import ordered_pipeline
from gateway.upstream import Upstream, active
from gateway.v4.callbacks import GROUP_BEFORE_SEND

AT_USERS_MAX = 30  # @ marks per message, @ALL included
NEWEST_LOOKBACK = 50  # newest seqs searched for a timeline's latest message (online-only ones leave gaps)
SENDER_DELETE_WINDOW = 1000  # Tencent deletes a sender's messages among the newest 1,000
CLEAR_BATCH = 500  # seqs moved per round trip when a history is cleared for everyone
IMPORT_BAD_TIME = 10004  # Tencent's per-message result for a SendTime out of order or range
IMPORT_TOO_LARGE = 80002  # ... and for a message over the size limit
CLEARED_UPTO = "upto"  # the field of Keys.timeline_cleared holding the seq cleared up to
TIP_COPY_SCAN_BATCH = 500  # seqs read per round trip looking for a kick tip's copy (`_copy_of_tip`)
# A kick tip's move (`_clear_seq`) is Redis round trips with no upstream call: a turn left by a
# replica that died mid-move blocks the timeline's upstream sends this long, not the 30 s of a turn
# that covers an upstream call (a send waiting for it would otherwise fail after 20 s, its own send
# turn nearly lapsed, and be told twice when the echo applies it meanwhile); a live holder renews
# it (UpstreamTurns.turn), however long its move takes
KICK_TIP_TURN_TTL_SECONDS = 5
RANDOM_FIELD = "random"  # the created message's field holding its send's random (with an upstream)
# A kicked user's left mark moved with their kick tip (`_make_room`), on the user's slot: only
# while it is still the tip's old seq (ARGV[2]), since a re-join deletes it and a later leave sets
# another; the seqs from the old one up to the new one (ARGV[3]) hidden from them, as their
# conversation ended at the old seq. KEYS: the user's left marks, their hidden seqs of the group
# conversation (ARGV[1]). SADD in chunks: Lua's unpack takes a bounded number of values.
_MOVE_KICK_MARK = PipelinedScript(
    """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local last = tonumber(ARGV[3]) - 1
for first = tonumber(ARGV[2]), last, 1000 do
  local seqs = {}
  for s = first, math.min(first + 999, last) do seqs[#seqs + 1] = s end
  redis.call('SADD', KEYS[2], unpack(seqs))
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)

# A message `_make_room` moves, written at the timeline's next seq in the step that takes it, so
# that no message the upstream numbered can be stored at that seq in between (and be overwritten)
# nor find it empty: either the upstream's RAISE_SEQ came first and the seq taken is past it, or
# the copy is there when that message looks. The body is ARGV[1] .. seq .. ARGV[2]
# (`_seq_template`); it counts as unread if ARGV[3] is "1", and each @ set in KEYS[4..] gets the
# seq. ARGV[4], unless empty: the old seq, whose message and marks go in the same step (a plain
# message moved; a kick tip stays until its kicked users' marks have followed it). KEYS: the
# timeline's seq counter, its messages, its countable seqs, the message's @ sets. Returns the seq.
_COPY_TO_NEXT_SEQ = PipelinedScript(
    """
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], seq, ARGV[1] .. string.format('%d', seq) .. ARGV[2])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[3], seq, seq) end
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], seq, seq) end
if ARGV[4] ~= '' then
  redis.call('HDEL', KEYS[2], ARGV[4])
  redis.call('ZREM', KEYS[3], ARGV[4])
  for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[4]) end
end
return seq
"""
)
# `_seq_template`'s probe seqs: random, of 18 digits (nobody can write a text that defeats them),
# drawn again while the first one's digits also appear elsewhere in the body
_PROBE_LOW, _PROBE_SPAN = 10**17, 9 * 10**17
_PROBE_DRAWS = 5


def _kicked_by(message: StoredMessage) -> list[str]:
    """The users a kick tip tells of their removal, each once; none for any other message."""
    elem = message.content.groupTipsElem
    if (
        message.content.elemType != ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS
        or elem is None
        or elem.type != GroupTipsType.V2TIM_GROUP_TIPS_TYPE_KICKED
    ):
        return []
    return list(dict.fromkeys(m.userID for m in elem.memberList))


class ImportedGroupMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a REST history import (`import_group_msg`): sent by `sender` at `timestamp`."""

    sender: str
    timestamp: int
    content: Content
    random: int | None = None  # None: a random one


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    seq: int  # 0 when not imported
    timestamp: int
    code: int  # 0, IMPORT_BAD_TIME or IMPORT_TOO_LARGE


class GroupMessaging:
    """The group part of the message manager: it stores and reads through the MessageCore."""

    def __init__(
        self,
        core: MessageCore,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        profiles: Profiles,
        groups: GroupStore,
        callbacks: Callbacks,
        upstream: Upstream | None,
    ) -> None:
        self._core = core
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._profiles = profiles
        self._groups = groups
        self._callbacks = callbacks
        self._upstream = upstream  # the IM server sends go through first (gateway.upstream); None: none

    async def derive_created_message(
        self,
        user_id: str,
        created_id: str,
        *,
        at_users: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> CreatedMessage:
        """createAtSignedGroupMessage / createTargetedGroupMessage: a new created message from one."""
        draft = await self._core.draft_or_sent(user_id, created_id, "msgID")
        if at_users is not None:
            if len(at_users) > AT_USERS_MAX:
                raise invalid(f"atUserList: at most {AT_USERS_MAX} users, @ALL included")
            draft.groupAtUserList = list(dict.fromkeys(at_users))
        if targets is not None:
            if not targets:
                raise invalid("receiverList is empty")
            draft.targets = list(dict.fromkeys(targets))
        return await self._core.create_message(
            user_id, draft.content, at_users=draft.groupAtUserList, targets=draft.targets
        )

    async def _conversation_group(self, group_id: str) -> tuple[str, str]:
        """(the group whose members may take part, the timeline's group or topic ID)."""
        parent = topic_parent(group_id)
        if parent is not None:
            raw = await self._redis.hexists(self._keys.group_topics(parent), group_id)
            if not raw:
                raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no topic {group_id!r}")
            return parent, group_id
        return group_id, group_id

    async def send_group_message(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        group_id: str,
        options: SendOptions,
        receiver: str | None = None,
        *,
        draft: Draft | None = None,
        random: int | None = None,
        as_admin: bool = False,
        upstream_seq: int = 0,
        upstream_time: int = 0,
        inline: InlineSend | None = None,
    ) -> Message:
        """`inline`: a one-request send (sendTextMessage / sendCustomMessage) by an SDK user, with
        every rule of a created message's send; without an idempotency key it keeps no claim (no
        draft read, claim or claim's end), with one the key's claim as a REST send's; `created_id`
        is unused, and the answer's createdID is empty.

        `draft`, `random` and `as_admin` are the REST server's (send_group_msg): the message given
        directly (`created_id` then only names the send, so that a repeat returns the first result),
        the caller's Random, and the app admin's privileges: no mute checks, and the sender may be
        the admin account itself, which is no member (the caller checks any other sender).

        With an upstream IM server (gateway.upstream) an SDK user's message is sent there first and
        stored at the seq and time it answers; `upstream_seq` / `upstream_time` are those of a
        message the upstream reported (a native user's, applied by the mirror), stored at that seq
        once: the same message there already (the echo of the gateway's own send) is left alone.
        Either holds the send's turn (gateway.engine.upstream_turns), so the two never interleave."""
        claimed = True
        if inline is not None:
            created_id, draft, claimed = (
                inline.claim_id or "",
                Draft(content=inline.content),
                inline.claim_id is not None,
            )
        up = active(self._upstream)
        if up is None and not upstream_seq:
            return await self._send_group(
                user_id,
                session_id,
                created_id,
                group_id,
                options,
                receiver,
                draft,
                random,
                as_admin,
                None,
                0,
                0,
                inline=inline is not None,
                claimed=claimed,
            )
        if up is not None:
            # the group (a topic: its community, and the topic) imported if only the upstream has it;
            # the app admin's REST send is no member's: imported as the admin ("")
            await known_topic(self._groups, group_id, "" if as_admin else user_id)
            # (no claim to keep it in: a send without a key is never retried as the same one)
            random = await self._send_random(user_id, created_id) if claimed else secrets.randbelow(2**31)
        async with self._groups.turns.turn(f"send:{group_id}:{random}"):
            return await self._send_group(
                user_id,
                session_id,
                created_id,
                group_id,
                options,
                receiver,
                draft,
                random,
                as_admin,
                up,
                upstream_seq,
                upstream_time,
                inline=inline is not None,
                claimed=claimed,
            )

    async def _send_random(self, user_id: str, created_id: str) -> int:
        """The random of this created message's send, kept with it: a retried send repeats it, and
        the upstream drops the repeat as the same message (Tencent's Random de-duplication)."""
        key = self._keys.created_message(user_id, created_id)
        fresh = secrets.randbelow(2**31)
        if await self._redis.hsetnx(key, RANDOM_FIELD, fresh):
            return fresh
        return int(await self._redis.hget(key, RANDOM_FIELD))

    async def _send_group(
        self,
        user_id: str,
        session_id: str,
        created_id: str,
        group_id: str,
        options: SendOptions,
        receiver: str | None,
        draft: Draft | None,
        random: int | None,
        as_admin: bool,
        up: Upstream | None,
        upstream_seq: int,
        upstream_time: int,
        *,
        inline: bool = False,
        claimed: bool = True,
    ) -> Message:
        """`inline`: a one-request send (its content is `draft`); `claimed`: a claim of the send
        is kept (a created message's, a REST send's, a one-request send's idempotency key's)."""
        key = self._keys.created_message(user_id, created_id)
        drafted = draft is None  # a create*Message result (not a REST send's message)
        shown_id = "" if inline else created_id  # the answer's createdID
        if claimed:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hmget(key, ["draft", "msgID"])  # one command: two fields of one hash
            pipe.hget(self._keys.global_mute(user_id), "group")  # the admin's app-wide mute, in the same trip
            (raw_draft, already), muted_until = await pipe.execute()
        else:
            raw_draft, already = None, None
            muted_until = await self._redis.hget(self._keys.global_mute(user_id), "group")
        lost = await self._core.lost_claim(user_id, created_id, already) if already else None
        if already and lost is None:
            return await self._core.sent_result(user_id, created_id, already, shown_id=shown_id)
        if draft is None:
            if raw_draft is None:  # sent already (or never created)
                return await self._core.first_result(user_id, created_id)
            draft = self._core.draft_from(raw_draft, created_id)
        community = topic_parent(group_id)
        if community is not None:
            # a topic's own mutes read with its existence, in the round trip that checks it
            topic = await topic_mutes(self._groups, group_id, user_id)
            owner_group, conversation_group = community, group_id
        else:
            topic, owner_group, conversation_group = None, group_id, group_id
        group = await self._groups.info(owner_group)
        member = await self._groups.member(owner_group, user_id)
        if member is None and not as_admin:
            raise IMError(Code.ERR_NO_PERMISSION, f"you are not a member of {owner_group!r}")
        now = self._core.now()
        if member is not None and not as_admin:
            if member.muteUntil > now:
                raise IMError(
                    Code.ERR_GROUP_MEMBER_MUTED, f"you are muted in {owner_group!r} for {member.muteUntil - now} s"
                )
            if int(muted_until or 0) > now:
                raise IMError(Code.ERR_GROUP_MEMBER_MUTED, "the app's admin has muted you for group messages")
            if group.isAllMuted and member.role == int(MEMBER):
                raise IMError(Code.ERR_GROUP_MEMBER_MUTED, f"{owner_group!r} is muted for ordinary members")
            if topic is not None and topic.until > now:
                raise IMError(Code.ERR_GROUP_MEMBER_MUTED, f"you are muted in {group_id!r} for {topic.until - now} s")
            if topic is not None and topic.all_muted and member.role == int(MEMBER):
                raise IMError(Code.ERR_GROUP_MEMBER_MUTED, f"{group_id!r} is muted for ordinary members")
        if draft.groupAtUserList and group.groupType == AVCHATROOM:
            raise invalid("atUserList: AVChatRoom groups have no @ messages")
        targets = list(draft.targets) or ([receiver] if receiver else [])
        require_body_fits(draft.content, options.cloudCustomData or "")
        timeline = self._keys.group_timeline(conversation_group)
        finishing = lost is not None and lost.first == conversation_group  # a send whose claim outlived its write
        if finishing and lost is not None:
            seq, random = lost.seq, lost.random
        else:
            seq, random = 0, secrets.randbelow(2**31) if random is None else random
        profiles = await self._profiles.get([user_id])
        stored = StoredMessage(
            msgID="",
            sender=user_id,
            groupID=conversation_group,
            seq=seq,
            random=random,
            timestamp=now,
            content=draft.content,
            nickName=profiles[0].nickName if profiles else "",
            faceUrl=profiles[0].faceUrl if profiles else "",
            **self._core.option_fields(options),
            groupAtUserList=list(draft.groupAtUserList),
            targets=targets,
        )
        if up is not None:  # sent upstream first: its seq and time are the message's (a refusal stores nothing)
            sent = await up.groups.send_group_message(stored, online_only=options.onlineUserOnly)
            seq, stored.timestamp = int(sent.key), sent.timestamp
        elif upstream_seq:
            seq, stored.timestamp = upstream_seq, upstream_time or now
        elif not finishing:
            seq = int(await self._redis.incr(self._keys.timeline_seq(timeline)))
        msg_id = group_msg_id(conversation_group, seq, random)
        stored.seq, stored.msgID = seq, msg_id
        if not claimed:
            pass  # a one-request send without a key: nothing to claim
        elif up is not None:
            await self._redis.hset(key, "msgID", msg_id)
        elif not finishing and not await self._core.claim(key, msg_id, drafted=drafted):
            return await self._core.first_result(user_id, created_id, shown_id=shown_id)
        if up is not None or upstream_seq:
            there = await self._make_room(timeline, stored)
            if there is not None:  # the same message, stored already: nothing more to do or tell
                return (await self._core.views(user_id, [there], created_ids={msg_id: shown_id}))[0]
        if self._callbacks.gates(GROUP_BEFORE_SEND):  # the app's moderation may refuse, drop or rewrite it
            held = key if claimed and lost is None else None  # this request's claim, held while the app decides
            async with self._core.holding(held, self._callbacks.longest_decision_seconds):
                stored, dropped = await self._callbacks.before_group_send(
                    stored, group, options.onlineUserOnly, key if claimed else None
                )
            if dropped:
                return (await self._core.views(user_id, [stored], created_ids={msg_id: shown_id}))[0]
        conversation = group_conversation_id(conversation_group)
        # The sender's subscriptions derive the sender's conversation notice from the group's entry
        # (docs/events.md) when it goes to the whole group and changes the conversation's order;
        # otherwise the sender is told here. New if it was not announced to them (or not since
        # they deleted it).
        # the admin account sending as itself is no member: it has no conversation to update
        in_group = member is not None
        derived = (
            in_group
            and not targets
            and not options.onlineUserOnly
            and group.groupType != AVCHATROOM
            and not stored.isExcludedFromLastMessage
        )
        # In order (docs/scaling.md): the message in the timeline first (its commit point), then the
        # sender's part and the group's open check; the app's callback queue and the events below
        # once the check has read the group open, and last the claim's completion mark, whose
        # absence makes a retry of the send write it all again (MessageCore.lost_claim).
        pipe = ordered_pipeline(self._redis, durable=True)
        if not options.onlineUserOnly and group.groupType != AVCHATROOM:
            self._queue_store(pipe, timeline, stored, countable=not stored.isExcludedFromUnreadCount and not targets)
        announced_at = len(pipe)
        if derived:
            pipe.hexists(self._core.announced(user_id), conversation)
            pipe.hset(self._core.announced(user_id), conversation, 1)
        # sending reads the conversation for the sender: their own messages never count as unread
        if in_group:
            pipe.hset(self._keys.group_read_seqs(user_id), conversation, seq)
        self._core.queue_sent_record(pipe, user_id, key, msg_id, options, drafted=drafted, claimed=claimed)
        if in_group:
            pipe.hset(self._keys.group_last_sent(owner_group), user_id, stored.timestamp)
        # After every write a dismissal removes (the last on the group's slot, where the check reads:
        # no round trip of its own on a cluster).
        open_at = len(pipe)
        self._groups.queue_open_check(pipe, owner_group)
        if community is not None:
            # and, for a topic, whether it is still there (its community's topics: the same slot):
            # one deleted since the send looked it up is being erased up to a seq that may be below
            # this one's, or erased already, and a topic made again under its ID would show this
            pipe.hexists(self._keys.group_topics(owner_group), conversation_group)
        replies = await pipe.execute()
        if not self._groups.still_open(replies[open_at]):
            await self._take_back(timeline, stored, in_group)
            raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no group {owner_group!r}")
        if community is not None and not replies[open_at + 1]:
            # its seq counter stays: a topic made again under the ID goes on from it
            await self._take_back(timeline, stored, in_group, keep_seq=True)
            raise IMError(Code.ERR_GROUP_NOT_FOUND, f"groupID: no topic {conversation_group!r}")
        notice = self._core.notice(conversation, replies[announced_at]) if derived else None
        await self._groups.touch(owner_group)
        mine = (await self._core.views(user_id, [stored], created_ids={msg_id: shown_id}))[0]
        # a live-stream room's messages are not stored: their events are written out
        kept = options if group.groupType != AVCHATROOM else SendOptions(onlineUserOnly=True)
        pipe = self._redis.pipeline(transaction=False)
        # Group.CallbackAfterSendMsg is queued only now that the check has read the group open, in
        # the round trip of the sender's own event: a send taken back for a dismissal must not tell
        # the app of a message that does not exist. Queued in the write with the check (before the
        # answer), it could not be called back: deleting the entry in `_take_back` (XDEL) loses to
        # a worker that read it first, and a worker confirming the message before delivering it
        # reads too early (before the take-back) or too late (a dismissal's erasure removes the
        # message of a send that did succeed; an online-only or live-room message is never
        # stored). What it costs: a gateway dying between the write and this round trip loses the
        # callback as it loses the send's events, and a retry of the send (no completion mark yet)
        # queues both again; nor is it among the writes a durable send waits for replicas to have.
        # No round trip more: a member's send runs this pipeline anyway (an admin's as no member
        # runs it only for the callback).
        self._callbacks.queue_group_sent(pipe, stored, group, options.onlineUserOnly)
        if in_group:
            self._bus.queue_publish(
                pipe,
                [user_id],
                OnRecvNewMessage(message=mine),
                except_session=session_id,
                reference=self._core.reference(stored, mine, user_id, kept),
            )
        if len(pipe):
            await self._bus.execute(pipe)
        neutral = neutral_view(stored)
        event = OnRecvNewMessage(message=neutral)
        if targets:
            receivers = [t for t in targets if t != user_id]
            # every member but the sender sees a group message alike: one reference serves them all
            reference = self._core.reference(stored, neutral, receivers[0], kept) if receivers else None
            await self._bus.publish(receivers, event, reference=reference)
            await self._core.offer_push(stored, receivers, options.onlineUserOnly)
            told = [user_id, *receivers] if in_group else receivers
            await self._core.conversations_changed({u: [conversation] for u in told})
            await self._send_done(key, drafted, claimed)
            return mine
        # Stored once whatever the group's size (read diffusion): members' subscriptions follow the
        # group's stream, and derive their conversation notices from it (docs/events.md).
        await self._bus.publish_to_group(
            owner_group,
            event,
            except_user=user_id,
            conversation=notice,
            reference=self._core.reference(stored, neutral, None, kept),
        )
        if group.groupType != AVCHATROOM:  # live-stream rooms are never pushed, as in the SDK
            await self._core.offer_push(stored, None, options.onlineUserOnly)
        if notice is None and in_group:
            await self._core.conversations_changed({user_id: [conversation]})
        await self._send_done(key, drafted, claimed)
        return mine

    async def _make_room(self, timeline: str, stored: StoredMessage) -> StoredMessage | None:
        """Before a message whose seq the upstream gave is stored at it: the timeline's seq raised to
        it (the mirror's own tips and local imports take seqs after it), and the message there
        already, if any, dealt with (`_clear_seq`)."""
        seq_key = self._keys.timeline_seq(timeline)
        await run_script(self._redis, RAISE_SEQ, [seq_key], [stored.seq])
        return await self._clear_seq(timeline, stored, in_turn=False)

    async def _clear_seq(self, timeline: str, stored: StoredMessage, *, in_turn: bool) -> StoredMessage | None:
        """What `_make_room` does with the message at `stored`'s seq, read here. The same message
        (same random and sender) is answered, to be left alone; another (tips the mirror wrote
        itself, or a local import, where the upstream put its own message) moves to the timeline's
        next seq, so that both stay in the history.

        A kick tip is moved in the timeline's kick-tip turn (`in_turn`: held by this run), taken
        only when one is in the way, where it is read again, another run having maybe moved it
        meanwhile: every upstream group send passes here, and nothing else pays a round trip for
        it. Two runs of one timeline, each for its own message, could otherwise interleave their
        three steps (below): run A copies tip T from seq 10 to a seq N it just took; run B, whose
        message the upstream gave seq N, finds that copy, a kick tip, and moves it on to N2 (the
        marks are not at N yet: it moves none); then A moves the kicked users' marks from 10 to N,
        where B's message is, sent after their removal, and T is at N2 out of their view. In
        turns, B waits for A to finish, reads N again, finds T's copy with the marks at it now,
        and moves both on to N2. Any two tip moves of the timeline take turns so, whichever tips
        and seqs: their copies, mark moves and removals never interleave. Reading outside the turn
        decides only whether to take it; what is done is decided on what is read in it.

        A plain message in the way is moved in one step, without the turn: no tip move
        touches it. A tip's copy lands only at a seq its mover has just taken (INCR), and a tip's
        old seq is the upstream's for the message making room, given to that message only (whose
        runs take the same send's turn): a plain message a run finds at its seq is at neither.
        A copy takes its seq and is written there in one step (`_copy_to_next_seq`), so a message
        the upstream numbered with that seq either raised the counter past it first or finds the
        copy there; neither is overwritten. Not covered: the mirror's own writes at a seq it takes
        (its tips, a local import, a REST history import: INCR, then the write), where a message
        the upstream numbered with that seq, landing in between, finds it empty."""
        raw = await self._redis.hget(self._keys.timeline_messages(timeline), str(stored.seq))
        if raw is None:
            return None
        there = STORED_DEC.decode(raw)
        if there.random == stored.random and there.sender == stored.sender:
            return there
        kicked = bool(_kicked_by(there))
        if kicked and not in_turn:
            async with self._groups.turns.turn(f"kick-tip:{timeline}", always=True, ttl=KICK_TIP_TURN_TTL_SECONDS):
                return await self._clear_seq(timeline, stored, in_turn=True)
        countable = await self._redis.zscore(self._keys.timeline_countable(timeline), str(there.seq)) is not None
        if not kicked:  # nobody's mark names it: moved in one step
            await self._copy_to_next_seq(timeline, there, countable=countable, move=True)
            return None
        # A kick tip, whose kicked users' left marks (their slots) move with it (the timeline's
        # slot): no one atomic step holds both on a Redis Cluster. In three steps, so that a gateway
        # dying between any two leaves its kicked users their tip and a state the next run of this
        # message (the webhook's entry claimed again, the echo of the gateway's own send, a retry)
        # finishes: the tip copied to its new seq (cut here: the kicked still end at the tip they
        # were shown, the members see it twice, as a history read between the steps of any run
        # may), the marks moved to the copy (cut here: the kicked
        # end at the copy, the old seq hidden from them), the tip at its old seq removed, which
        # makes room for the upstream's message. The next run finds the tip still at its old seq,
        # and its copy (`_copy_of_tip`): it moves the marks not moved yet to that copy (the
        # script moves only a mark still at the old seq) and removes the old tip, instead of copying
        # it once more. Moved the other way round (marks first, the tip in one transaction after
        # them), a cut left the marks past a tip still at its old seq, hidden from them, and the
        # next run's marks could not follow it: the kicked lost their tip, and the seq their mark
        # named was left for the upstream's next message, sent after their removal. A gateway dying
        # holds the turn until it expires (KICK_TIP_TURN_TTL_SECONDS); one raising releases it.
        new_seq = await self._copy_of_tip(timeline, there)
        if new_seq is None:
            new_seq = (await self._copy_to_next_seq(timeline, there, countable=countable, move=False)).seq
        await self._move_kick_marks(there, new_seq)
        pipe = self._redis.pipeline(transaction=True)
        self._queue_unstore_counts(pipe, timeline, [there])
        pipe.hdel(self._keys.timeline_messages(timeline), str(there.seq))
        await pipe.execute()
        return None

    async def _copy_to_next_seq(
        self, timeline: str, there: StoredMessage, *, countable: bool, move: bool
    ) -> StoredMessage:
        """The message `_make_room` moves, copied to the timeline's next seq in the step that
        takes it (`_COPY_TO_NEXT_SEQ`), with its unread and @ marks (`move`: and gone from its old
        seq in that step); the copy as stored.

        Taken and written in two steps, a message the upstream numbered with that seq could land
        between them and be overwritten by the copy (a message its sender was told was sent, gone
        from the mirror), or find the seq empty and then be overwritten."""
        keys = [
            self._keys.timeline_seq(timeline),
            self._keys.timeline_messages(timeline),
            self._keys.timeline_countable(timeline),
            *at_sets(timeline, there),
        ]
        template = _seq_template(there)
        if template is None:  # a body no template gives: in two steps, as before (the window open)
            moved = _at_seq(there, int(await self._redis.incr(self._keys.timeline_seq(timeline))))
            pipe = self._redis.pipeline(transaction=True)
            self._queue_store(pipe, timeline, moved, countable=countable)
            if move:
                self._queue_unstore_counts(pipe, timeline, [there])
                pipe.hdel(self._keys.timeline_messages(timeline), str(there.seq))
            await pipe.execute()
            return moved
        head, tail = template
        args = [head, tail, "1" if countable else "0", str(there.seq) if move else ""]
        seq = int(await run_script(self._redis, _COPY_TO_NEXT_SEQ, keys, args))
        return _at_seq(there, seq)

    async def _copy_of_tip(self, timeline: str, tip: StoredMessage) -> int | None:
        """The seq of the copy of this kick tip that an earlier run of `_make_room` made before it
        was cut, if any: the same tip (sender, random and content) at a later seq, which only such
        a copy can be (moved on since, if the upstream gave its seq to a message too). Read only
        where a kick tip is in the way, off the hot path, TIP_COPY_SCAN_BATCH seqs a round trip:
        the seqs taken since the tip's, a few unless the next run comes late in a busy group."""
        last = int(await self._redis.get(self._keys.timeline_seq(timeline)) or 0)
        for first in range(tip.seq + 1, last + 1, TIP_COPY_SCAN_BATCH):
            fields = [str(q) for q in range(first, min(first + TIP_COPY_SCAN_BATCH, last + 1))]
            raws = await self._redis.hmget(self._keys.timeline_messages(timeline), fields)
            for field, raw in zip(fields, raws, strict=True):
                if raw is None:
                    continue
                found = STORED_DEC.decode(raw)
                if (found.random, found.sender, found.content) == (tip.random, tip.sender, tip.content):
                    return int(field)
        return None

    async def _move_kick_marks(self, tip: StoredMessage, new_seq: int) -> None:
        """When the message `_make_room` moves is a kick's tip: the kicked users' left marks follow
        it to `new_seq` (the mark is the tip's seq, `GroupStore.remove_told_members`), else their
        conversation would lose the tip they were shown and end with the upstream's message instead.

        What took the tip's old seq stays hidden from them, and so does every seq up to the new
        one, stored yet or not: their conversation stays what it was when they were kicked, the
        history before the old seq, then the tip. The mirror cannot place the upstream's message
        against the kick in Tencent's order (Tencent tells no seq of its own kick tip): it shows
        that the mirror's count and Tencent's differed at the kick. The mirror was ahead (its local
        imports, or tips Tencent does not keep, took seqs Tencent never used), and then Tencent's
        message came after the kick; or it lagged (a message Tencent had ordered before the kick
        was still on its way), and then it came before. Every seq from the old one on was filled
        after the kicked stopped hearing the group, they heard none of it live, and a message sent
        after their removal must not reach them: a late one of the second kind is the price.

        Idempotent: a mark no longer at the tip's old seq (moved already, or the user came back)
        is left alone."""
        kicked = _kicked_by(tip)
        conversation = group_conversation_id(tip.groupID)

        def build(pipe: Any) -> None:
            for user_id in kicked:  # one script per user: each user's keys are in their own slot
                marks = self._keys.conversation_state(user_id, "left")
                hidden = self._keys.hidden_messages(user_id, conversation)
                _MOVE_KICK_MARK.queue(pipe, [marks, hidden], [conversation, tip.seq, new_seq])

        if kicked:
            await run_pipeline(self._redis, build, (_MOVE_KICK_MARK,))

    async def _take_back(self, timeline: str, stored: StoredMessage, in_group: bool, *, keep_seq: bool = False) -> None:
        """A send that found its group closed or gone once written (`GroupStore.queue_open_check`,
        which says why nothing is left then), or its topic deleted (`keep_seq`: its community
        open, the topic's timeline keeps its seq counter, gateway.engine.groups.topic_erasure): its
        own writes and nothing else, the rest of the timeline being the group's eraser's. The
        sender's part first (their read seq and last-sent time in the group, the message's local
        data, kept for an online-only one too), then the message with what is kept about it, and
        the timeline's own keys if no message is left (`TimelineEraser.take_back`)."""
        owner_group = topic_parent(stored.groupID) or stored.groupID
        pipe = self._redis.pipeline(transaction=False)
        pipe.hdel(self._keys.local_message_data(stored.sender), stored.msgID)
        if in_group:
            pipe.hdel(self._keys.group_read_seqs(stored.sender), group_conversation_id(stored.groupID))
            pipe.hdel(self._keys.group_last_sent(owner_group), stored.sender)
        await pipe.execute()
        # the group's own timeline is on its info's slot, where the last step checks the group
        info = self._keys.group_info(owner_group) if stored.groupID == owner_group else None
        await self._groups.timelines.take_back(timeline, [stored], info, keep_seq=keep_seq)

    async def _send_done(self, created_key: str, drafted: bool, claimed: bool) -> None:
        """A send's last step, after its events: a drafted send's key deleted (a repeat then finds
        the first result in the sender's log), another's completion mark set; until then a retry
        finishes what is missing (MessageCore.lost_claim). An unclaimed send has nothing to end."""
        if not claimed:
            return
        if drafted:
            await self._redis.delete(created_key, Keys.finishing_of(created_key))  # its hold with it
            return
        pipe = self._redis.pipeline(transaction=False)
        self._core.queue_send_done(pipe, created_key)
        await pipe.execute()

    def _queue_store(self, pipe: Any, timeline: str, stored: StoredMessage, *, countable: bool) -> None:
        """Into a write pipeline: the message at its seq in the group's timeline, its place among
        the seqs that count as unread (`countable`), and its @ marks (what the send and the REST
        history import store alike)."""
        seq = stored.seq
        pipe.hset(self._keys.timeline_messages(timeline), str(seq), STORED_ENC.encode(stored))
        if countable:
            pipe.zadd(self._keys.timeline_countable(timeline), {str(seq): seq})
        for at in at_sets(timeline, stored):
            pipe.zadd(at, {str(seq): seq})

    def _queue_unstore_counts(self, pipe: Any, timeline: str, messages: Sequence[StoredMessage]) -> None:
        """Into a write pipeline: these messages no longer count as unread nor as @ marks (the
        counterpart of `_queue_store`'s counts, for messages removed for everyone)."""
        if not messages:
            return
        pipe.zrem(self._keys.timeline_countable(timeline), *[str(m.seq) for m in messages])
        for m in messages:
            for at in at_sets(timeline, m):
                pipe.zrem(at, str(m.seq))

    async def stored_group_messages(
        self, group_id: str, seqs: Sequence[int], *, with_cleared: bool = False
    ) -> tuple[int, dict[int, StoredMessage]]:
        """The app admin's read of a group's (or topic's) timeline (REST history, recall, modify):
        the timeline's last seq, and the messages stored at `seqs` (a seq with none was online-only,
        a local import's, or never used). `with_cleared`: also the messages cleared for everyone
        (`clear_group_messages`), which Tencent's admin history still shows. 10010 when the group
        or topic does not exist."""
        owner_group, conversation_group = await self._conversation_group(group_id)
        await self._groups.info(owner_group)
        timeline = self._keys.group_timeline(conversation_group)
        fields = [str(q) for q in seqs]
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._keys.timeline_seq(timeline))
        if fields:
            pipe.hmget(self._keys.timeline_messages(timeline), fields)
            if with_cleared:
                pipe.hmget(self._keys.timeline_cleared(timeline), fields)
        last, *raws = await pipe.execute()
        found = [STORED_DEC.decode(r) for rows in raws for r in rows if r]
        return int(last or 0), {m.seq: m for m in found if not m.visibleTo}

    async def _newest_time(self, timeline: str) -> int:
        """When the timeline's newest stored message was sent (0: none among the newest seqs)."""
        last = int(await self._redis.get(self._keys.timeline_seq(timeline)) or 0)
        seqs = [str(q) for q in range(last, max(last - NEWEST_LOOKBACK, 0), -1)]
        raws = await self._redis.hmget(self._keys.timeline_messages(timeline), seqs) if seqs else []
        return max((m.timestamp for m in (STORED_DEC.decode(r) for r in raws if r) if not m.visibleTo), default=0)

    async def import_group_messages(
        self, group_id: str, items: Sequence[ImportedGroupMessage], *, recent_contact: bool
    ) -> list[ImportResult]:
        """The app admin's history import (REST `import_group_msg`): each message stored in order,
        with its own sender and time, through the send path's storage, but heard by nobody: no
        listener event, callback or push, and it never counts as unread. Tencent's rule holds per
        message: its time must come after the group's creation, after the group's newest message
        and after the one before it in `items`, and before now (IMPORT_BAD_TIME otherwise).
        `recent_contact` (RecentContactFlag 1): the messages may become the members' conversation's
        last message and move it up the list; otherwise they stay out of the conversation
        (isExcludedFromLastMessage), as on Tencent where the import then leaves conversations alone."""
        owner_group, conversation_group = await self._conversation_group(group_id)
        group = await self._groups.info(owner_group)
        timeline = self._keys.group_timeline(conversation_group)
        floor, now = max(group.createTime, await self._newest_time(timeline)), self._core.now()
        accepted: list[ImportedGroupMessage] = []
        verdicts: list[int] = []
        for item in items:
            code = 0
            if not floor < item.timestamp < now:
                code = IMPORT_BAD_TIME
            else:
                try:
                    require_body_fits(item.content, "")
                except IMError:
                    code = IMPORT_TOO_LARGE
            verdicts.append(code)
            if code == 0:
                accepted.append(item)
                floor = item.timestamp
        if not accepted:
            return [ImportResult(seq=0, timestamp=i.timestamp, code=c) for i, c in zip(items, verdicts, strict=True)]
        first = int(await self._redis.incrby(self._keys.timeline_seq(timeline), len(accepted))) - len(accepted) + 1
        senders = await self._profiles.get(sorted({i.sender for i in accepted}))
        profile_of = {p.userID: p for p in senders}
        pipe = self._redis.pipeline(transaction=False)
        seq_of: dict[int, int] = {}
        for offset, item in enumerate(accepted):
            seq = first + offset
            random = secrets.randbelow(2**31) if item.random is None else item.random
            profile = profile_of.get(item.sender)
            stored = StoredMessage(
                msgID=group_msg_id(conversation_group, seq, random),
                sender=item.sender,
                groupID=conversation_group,
                seq=seq,
                random=random,
                timestamp=item.timestamp,
                content=item.content,
                nickName=profile.nickName if profile else "",
                faceUrl=profile.faceUrl if profile else "",
                isExcludedFromUnreadCount=True,
                isExcludedFromLastMessage=not recent_contact,
            )
            self._queue_store(pipe, timeline, stored, countable=False)
            seq_of[id(item)] = seq
        if recent_contact:  # the conversation moves to the newest imported message's time, never back
            pipe.zadd(self._keys.group_activity(), {owner_group: accepted[-1].timestamp}, gt=True)
        await pipe.execute()
        return [
            ImportResult(seq=seq_of.get(id(i), 0), timestamp=i.timestamp, code=c)
            for i, c in zip(items, verdicts, strict=True)
        ]

    async def delete_messages_by_sender(self, group_id: str, sender: str) -> int:
        """The app admin's silent recall of one sender's messages among the group's (or topic's)
        newest SENDER_DELETE_WINDOW (REST `delete_group_msg_by_sender`): each is marked recalled in
        the timeline, as a recall marks it, and stops counting as unread or as an @ mark. As on
        Tencent nobody is told: no listener event, no callback; members find the messages recalled
        when they next read the history or their conversation list. Tips are not the sender's
        messages and stay. Returns how many were recalled."""
        owner_group, conversation_group = await self._conversation_group(group_id)
        await self._groups.info(owner_group)
        timeline = self._keys.group_timeline(conversation_group)
        last = int(await self._redis.get(self._keys.timeline_seq(timeline)) or 0)
        seqs = [str(q) for q in range(last, max(last - SENDER_DELETE_WINDOW, 0), -1)]
        raws = await self._redis.hmget(self._keys.timeline_messages(timeline), seqs) if seqs else []
        doomed = [
            m
            for m in (STORED_DEC.decode(r) for r in raws if r)
            if m.sender == sender
            and not m.visibleTo
            and m.status != MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED
            and m.content.elemType != ElemType.V2TIM_ELEM_TYPE_GROUP_TIPS
        ]
        if not doomed:
            return 0
        pipe = self._redis.pipeline(transaction=False)
        for m in doomed:
            m.status = MsgStatus.V2TIM_MSG_STATUS_LOCAL_REVOKED
            m.revokedBy = sender
            pipe.hset(self._keys.timeline_messages(timeline), str(m.seq), STORED_ENC.encode(m))
        self._queue_unstore_counts(pipe, timeline, doomed)
        await pipe.execute()
        return len(doomed)

    async def clear_group_messages(self, group_id: str, up_to_seq: int | None = None) -> int:
        """The app admin's clear of a group's history for everyone (REST `clear_group_msg`): the
        messages up to `up_to_seq` (None: all) leave the timeline every member reads (history,
        conversation last message, unread counts, @ marks) and are kept aside, where only the
        admin's history read (`stored_group_messages(with_cleared=True)`) finds them, as on
        Tencent, which only marks them. Members' own local imports stay. Nobody is told (Tencent
        documents no notification): members' lists show it when next read. Returns how many
        messages were cleared."""
        owner_group, conversation_group = await self._conversation_group(group_id)
        await self._groups.info(owner_group)
        timeline = self._keys.group_timeline(conversation_group)
        cleared_key = self._keys.timeline_cleared(timeline)
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._keys.timeline_seq(timeline))
        pipe.hget(cleared_key, CLEARED_UPTO)
        last, done = await pipe.execute()
        top = min(int(last or 0) if up_to_seq is None else up_to_seq, int(last or 0))
        moved = 0
        # seqs up to the last clear's were moved already: start after them
        for start in range(int(done or 0) + 1, top + 1, CLEAR_BATCH):
            fields = [str(q) for q in range(start, min(start + CLEAR_BATCH, top + 1))]
            raws = await self._redis.hmget(self._keys.timeline_messages(timeline), fields)
            found = [(f, r, STORED_DEC.decode(r)) for f, r in zip(fields, raws, strict=True) if r]
            going = [(f, r, m) for f, r, m in found if not m.visibleTo]
            pipe = self._redis.pipeline(transaction=True)
            if going:
                pipe.hset(cleared_key, mapping={f: r for f, r, _ in going})
                pipe.hdel(self._keys.timeline_messages(timeline), *[f for f, _, _ in going])
                self._queue_unstore_counts(pipe, timeline, [m for _, _, m in going])
            pipe.hset(cleared_key, CLEARED_UPTO, fields[-1])
            await pipe.execute()
            moved += len(going)
        return moved

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
        # a topic the mirror has not met yet (made on a native device, its webhook lost) is
        # imported as a send to it is
        await known_topic(self._groups, group_id, user_id)
        owner_group, conversation_group = await self._conversation_group(group_id)
        group = await self._groups.info(owner_group)
        await self._groups.require_member(group, user_id)
        timeline = self._keys.group_timeline(conversation_group)
        if seq_list:
            if len(seq_list) > HISTORY_COUNT_MAX:
                raise invalid(f"messageSeqList: at most {HISTORY_COUNT_MAX} seqs")
            raws = await self._redis.hmget(self._keys.timeline_messages(timeline), [str(q) for q in seq_list])
            found = [STORED_DEC.decode(r) for r in raws if r]
            return await self._core.views(user_id, await self._core.visible_to(user_id, found))
        start_seq = None
        if last_msg_id:
            ref = parse_msg_id(last_msg_id, "lastMsgID")
            if not ref.is_group or ref.first != conversation_group:
                raise invalid("lastMsgID is not a message of this group")
            start_seq = ref.seq
        elif last_seq:
            start_seq = last_seq
        return await self._core.history_page(
            user_id, timeline, count, get_type, start_seq, message_types, time_begin, time_period
        )

    async def mark_group_message_as_read(self, user_id: str, group_id: str, *, until_seq: int = 0) -> None:
        """`until_seq` (cleanConversationUnreadMessageCount's cleanSequence, which reads a topic's
        conversation here): read up to that seq only, at most the newest, never moving the read
        mark back; 0: all of it, the mark set to the newest seq."""
        owner_group, conversation_group = await self._conversation_group(group_id)
        await self._groups.require_member(await self._groups.info(owner_group), user_id)
        timeline = self._keys.group_timeline(conversation_group)
        conversation = group_conversation_id(conversation_group)
        last = int(await self._redis.get(self._keys.timeline_seq(timeline)) or 0)
        marks = self._keys.group_read_seqs(user_id)
        if until_seq:  # raised, never lowered: a read of everything racing it keeps the higher mark
            await run_script(self._redis, RAISE_FIELD, [marks], [conversation, min(until_seq, last)])
        else:  # the newest, whatever the mark was: one above it (a topic the mirror's upstream made
            # again under its ID numbers from 1 again) would hide every new message
            await self._redis.hset(marks, conversation, last)
        # a topic's conversation too: its messages told the member of it, with its unread count
        await self._core.conversations_changed({user_id: [conversation]}, topics=True)

    async def group_unread(self, user_id: str, group_id: str) -> int:
        """Countable messages after the user's read seq (read diffusion: one ZCOUNT)."""
        timeline = self._keys.group_timeline(group_id)
        read = int(await self._redis.hget(self._keys.group_read_seqs(user_id), group_conversation_id(group_id)) or 0)
        return int(await self._redis.zcount(self._keys.timeline_countable(timeline), f"({read}", "+inf"))

    async def set_group_receive_message_opt(self, user_id: str, group_id: str, opt: MessageOpt) -> None:
        """With an upstream IM server (gateway.upstream) the option is the member's there too
        (Tencent's MsgFlag, which native devices obey): written there first, so a refusal leaves the
        mirror's as it was; the user's turn for the group's option holds both writes, so that two
        changes at once end with the same option on both sides."""
        up = active(self._upstream)
        if up is not None:
            if topic_parent(group_id) is not None:
                # Tencent keeps a member's MsgFlag per topic (get_topic's SelfInfo) but documents no
                # write of it: modify_group_member_info takes no TopicId (MAPPING.md #36, #89)
                raise IMError(
                    Code.ERR_SDK_INTERFACE_NOT_SUPPORT,
                    "not available on the Tencent backend: Tencent documents no REST that sets a member's "
                    "receive option in a topic",
                )
            await known(self._groups, group_id)
        owner_group, conversation_group = await self._conversation_group(group_id)
        group = await self._groups.info(owner_group)
        if up is not None and group.groupType == AVCHATROOM:
            # whoever asks: Tencent keeps no MsgFlag for live-room members, and an imql user is
            # never one (MAPPING.md #36, section 1)
            raise IMError(
                Code.ERR_SDK_INTERFACE_NOT_SUPPORT,
                "not available on the Tencent backend: AVChatRoom members have no receive option on Tencent, "
                "and imql users cannot be AVChatRoom members (membership needs a Tencent SDK connection)",
            )
        await self._groups.require_member(group, user_id)
        field = Keys.group_receive_option_field(conversation_group)
        # (no turn without an upstream: UpstreamTurns takes none there)
        async with self._groups.turns.turn(f"receive:{conversation_group}:{user_id}"):
            if up is not None:
                await up.groups.set_receive_option(owner_group, user_id, opt)
            previous = await self._redis.hget(self._keys.receive_options(user_id), field)
            was_silenced = Keys.receive_option(previous) == MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
            receiving = opt != MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
            if receiving == was_silenced:  # the option flips between receiving and not
                # a large group's messages are stored once: the user's subscriptions do the filtering,
                # from the group stream's position the entry names (kept with it, in one round trip)
                await self._bus.receive_option_changed(user_id, conversation_group, receiving, keep=(field, int(opt)))
            else:
                await self._redis.hset(self._keys.receive_options(user_id), field, int(opt))
        if was_silenced and receiving:
            # messages sent while the user received none never count as unread
            await self.mark_group_message_as_read(user_id, group_id)
        await self._core.conversations_changed({user_id: [group_conversation_id(conversation_group)]})

    async def clear_group_history_message(self, user_id: str, group_id: str) -> None:
        owner_group, conversation_group = await self._conversation_group(group_id)
        await self._groups.require_member(await self._groups.info(owner_group), user_id)
        timeline = self._keys.group_timeline(conversation_group)
        last = int(await self._redis.get(self._keys.timeline_seq(timeline)) or 0)
        conversation = group_conversation_id(conversation_group)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.cleared_before(user_id), conversation, last)
        pipe.hset(self._keys.group_read_seqs(user_id), conversation, last)
        pipe.delete(self._keys.hidden_messages(user_id, conversation))
        await pipe.execute()
        await self._core.conversations_changed({user_id: [conversation]})

    async def insert_group_message_to_local_storage(
        self, user_id: str, group_id: str, sender: str, content: Content
    ) -> Message:
        owner_group, conversation_group = await self._conversation_group(group_id)
        group = await self._groups.info(owner_group)
        await self._groups.require_member(group, user_id)
        return await self._core.insert_local(
            user_id,
            self._keys.group_timeline(conversation_group),
            lambda seq, random: group_msg_id(conversation_group, seq, random),
            content,
            sender=sender,
            group_id=conversation_group,
        )


def _at_seq(message: StoredMessage, seq: int) -> StoredMessage:
    """The message as it is at another seq of its timeline (its msgID follows its seq)."""
    return msgspec.structs.replace(message, seq=seq, msgID=group_msg_id(message.groupID, seq, message.random))


def _probe_seq() -> int:
    return _PROBE_LOW + secrets.randbelow(_PROBE_SPAN)


def _seq_template(message: StoredMessage) -> tuple[bytes, bytes] | None:
    """The message's stored body around its seq: `head + str(seq).encode() + tail` is the body of
    `_at_seq(message, seq)`, for a script that takes the seq and writes the body in one step. The
    body is encoded at a random probe seq and split at its digits, the split checked against
    another probe's body. None when the body also depends on its seq elsewhere (its msgID, in the
    codec's object form), or when no probe's digits were found once only."""
    for _ in range(_PROBE_DRAWS):
        probe, check = _probe_seq(), _probe_seq()
        first = STORED_ENC.encode(_at_seq(message, probe))
        digits = str(probe).encode()
        if first.count(digits) != 1:
            continue  # (its digits in the text too: odds of 1e-14 for a 10 KB body)
        at = first.find(digits)
        head, tail = first[:at], first[at + len(digits) :]
        if STORED_ENC.encode(_at_seq(message, check)) == head + str(check).encode() + tail:
            return head, tail
        return None
    return None
