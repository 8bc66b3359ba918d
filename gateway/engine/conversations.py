"""Conversations (V2TIMConversationManager) on Redis, computed from the messages themselves.

Nothing here keeps a second copy of a count: a conversation's unread count is counted from its
timeline (C2C: countable messages for this user after the time they last read it; group: countable
seqs after their read seq, read diffusion), so the list, the total and every filter always agree
with the messages, on every device and replica. Per-user settings (drafts, pins, marks, custom
data, conversation groups) are small hashes under the user's hash tag.

A page of conversations costs a fixed number of pipelined round trips (not one per conversation):
user state, per-conversation state, last-message candidates, and the per-viewer message view.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import msgspec

from gateway.clock import Clock
from gateway.engine.announcer import Announcer
from gateway.engine.codec import STORED_DEC
from gateway.engine.errors import maps_store_errors
from gateway.engine.friendship import decode_friend_record
from gateway.engine.groups.store import GroupStore
from gateway.engine.messages import Messages
from gateway.engine.notices import ConversationWatch
from gateway.engine.scripts import PipelinedScript, run_pipeline
from gateway.errors import Code, IMError, invalid
from gateway.events.bus import EventBus
from gateway.ids import conversation_peer_id, group_conversation_id, group_ids_of, parse_conversation_id, peer_ids_of
from gateway.im.conversations import (
    Conversation,
    ConversationFilter,
    ConversationOperationResult,
    ConversationPage,
    GroupAtInfo,
)
from gateway.im.enums import AtType, ConversationType, MessageOpt
from gateway.im.events import (
    OnConversationChanged,
    OnConversationDeleted,
    OnConversationGroupCreated,
    OnConversationGroupDeleted,
    OnConversationGroupNameChanged,
    OnConversationsAddedToGroup,
    OnConversationsDeletedFromGroup,
    OnNewConversation,
)
from gateway.im.messages import StoredMessage
from gateway.keys import Keys
from gateway.upstream import Upstream, active

PAGE_MAX = 100  # conversations per page
PER_CALL_MAX = 100  # conversation IDs per call (51006 beyond, for marks)
MARKED_MAX = 1_000  # marked conversations in all (51008 beyond)
CONVERSATION_GROUPS_MAX = 20  # (51010 beyond)
CONVERSATION_GROUP_NAME_MAX_BYTES = 32  # (51011 beyond)
DRAFT_MAX_BYTES = 10 * 1024
CUSTOM_DATA_MAX_BYTES = 1024
ANNOUNCE_BATCH = 64  # users whose changed conversations' views are read in the same round trips
# where the named conversation groups and the receive options sit in `_state_hashes`
_GROUPS_AT, _OPTIONS_AT = 5, 6
LAST_MESSAGE_LOOKBACK = 10  # newest seqs tried for a conversation's last visible message
# A timeline's last seq and its newest ARGV[1] messages (newest first), in one call: the window
# needs the seq, and a script saves the round trip between them.
_NEWEST_MESSAGES = PipelinedScript(
    """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if last <= 0 then return {0} end
local fields = {}
for seq = last, math.max(last - tonumber(ARGV[1]) + 1, 1), -1 do fields[#fields + 1] = tostring(seq) end
local rows = redis.call('HMGET', KEYS[2], unpack(fields))
table.insert(rows, 1, last)
return rows
"""
)

_list_enc = msgspec.json.Encoder()
_list_dec = msgspec.json.Decoder(list[str])
_filter_enc = msgspec.json.Encoder()
_filter_dec = msgspec.json.Decoder(ConversationFilter)


class _UserState(msgspec.Struct):
    order: dict[str, float]
    deleted: dict[str, str]
    drafts: dict[str, str]
    custom: dict[str, str]
    pinned: dict[str, str]
    marks: dict[str, str]
    groups: dict[str, str]
    options: dict[str, str]
    group_reads: dict[str, str]
    c2c_reads: dict[str, str]
    cleared: dict[str, str]
    left: dict[str, str]


class ContactMarks(msgspec.Struct, kw_only=True):
    """A user's marks, custom data and conversation groups, as Tencent's server API reads them
    (`recentcontact/get_contact_group`): per conversation, and each group with a numeric ID."""

    marks: dict[str, int]  # conversation -> its mark bits (V2TIM markType values OR-ed)
    custom: dict[str, str]  # conversation -> its customData
    groups: dict[str, list[str]]  # conversation group name -> its conversations
    group_ids: dict[str, int]  # conversation group name -> its ID (stable across renames)
    changed_at: dict[str, int]  # conversation -> when its marks, custom data or groups last changed (s)


@maps_store_errors
class Conversations:
    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        messages: Messages,
        groups: GroupStore,
        announcer: Announcer,
        upstream: Upstream | None = None,
    ) -> None:
        announcer.serve(self.announce, self.announce_new)
        self._upstream = upstream  # the IM server a user's list changes go to first (gateway.upstream)
        self._redis = redis
        self._keys = keys
        self._bus = bus
        self._clock = clock
        self._messages = messages
        self._groups = groups

    def _ms(self) -> int:
        return int(self._clock.now() * 1000)

    def _state(self, user_id: str, family: str) -> str:
        return self._keys.conversation_state(user_id, family)

    # ---- reading ---------------------------------------------------------------------------------
    async def _user_state(self, user_id: str) -> _UserState:
        pipe = self._redis.pipeline(transaction=False)
        self._queue_state(pipe, user_id)
        return self._state_from(list(await pipe.execute()))

    def _state_hashes(self, user_id: str) -> list[str]:
        """The hashes of a user's conversation state, after the order zset and in _UserState's
        field order. Each is keyed by conversation ID, but for the named conversation groups
        (_GROUPS_AT, by name) and the receive options (_OPTIONS_AT, by `Keys.receive_option_field`)."""
        return [
            *(self._state(user_id, family) for family in ("deleted", "draft", "custom-data", "pinned", "marks")),
            self._keys.conversation_groups(user_id),
            self._keys.receive_options(user_id),
            self._keys.group_read_seqs(user_id),
            self._state(user_id, "c2c-read-ms"),
            self._keys.cleared_before(user_id),
            self._state(user_id, "left"),
        ]

    def _queue_state(self, pipe: Any, user_id: str) -> None:
        """The 12 reads of a user's conversation state (`_state_from` turns them into one)."""
        pipe.zrange(self._keys.conversations(user_id), 0, -1, withscores=True)
        for key in self._state_hashes(user_id):
            pipe.hgetall(key)

    def _queue_state_of(self, pipe: Any, user_id: str, convs: list[str]) -> Callable[[list[Any]], _UserState]:
        """The state of these conversations only, in 12 reads whose cost does not grow with the
        user's other conversations (what announcing a change needs; `_queue_state` reads it all).
        Returns what builds it from the pipeline's replies (it finds its own among them)."""
        options = [Keys.receive_option_field(c) for c in convs]

        def fields_of(at: int) -> list[str]:
            return options if at == _OPTIONS_AT else convs

        first = len(pipe)
        pipe.zmscore(self._keys.conversations(user_id), convs)
        for at, key in enumerate(self._state_hashes(user_id)):
            if at == _GROUPS_AT:
                pipe.hgetall(key)  # a few named groups, each listing its conversations
            else:
                pipe.hmget(key, fields_of(at))

        def present(fields: list[str], values: list[Any]) -> dict[str, Any]:
            return {k: v for k, v in zip(fields, values, strict=True) if v is not None}

        def build(replies: list[Any]) -> _UserState:
            order, *hashes = replies[first : first + 12]
            found = [values if at == _GROUPS_AT else present(fields_of(at), values) for at, values in enumerate(hashes)]
            return self._state_from([present(convs, order), *found])

        return build

    @staticmethod
    def _state_from(raw: list[Any]) -> _UserState:
        order, deleted, drafts, custom, pinned, marks, groups, options, group_reads, c2c_reads, cleared, left = raw
        return _UserState(
            order=dict(order), deleted=deleted, drafts=drafts, custom=custom, pinned=pinned, marks=marks,
            groups=groups, options=options, group_reads=group_reads, c2c_reads=c2c_reads, cleared=cleared,
            left=left,
        )  # fmt: skip

    async def _ordered(self, user_id: str, state: _UserState) -> list[tuple[bool, int, str]]:
        """Every live conversation as (pinned, orderKey, ID); a group's order is also moved by the
        group's own activity (large groups are ordered that way only)."""
        convs = list(state.order)
        group_ids = group_ids_of(convs)
        activity = await self._redis.zmscore(self._keys.group_activity(), group_ids) if group_ids else []
        active = {group_conversation_id(g): int((a or 0) * 1000) for g, a in zip(group_ids, activity, strict=True)}
        ordered = [
            (conv in state.pinned, _order_key(conv, state, active.get(conv, 0)), conv)
            for conv in convs
            if self._is_live(conv, state, active.get(conv, 0))
        ]
        ordered.sort(reverse=True)
        return ordered

    async def _unread(self, user_id: str, state: _UserState, convs: Sequence[str]) -> dict[str, int]:
        """Unread counts recounted from the timelines (one or two pipelined round trips)."""
        pipe = self._redis.pipeline(transaction=False)
        self._queue_unread(pipe, user_id, state, convs)
        return await self._finish_unread(state, convs, list(await pipe.execute()))

    def _queue_unread(self, pipe: Any, user_id: str, state: _UserState, convs: Sequence[str]) -> None:
        """Two commands per conversation: its countable messages after the read mark, and the
        messages the user deleted for themselves (also what hides them from the last message)."""
        for conv in convs:
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_C2C:
                timeline = self._keys.c2c_timeline(user_id, target)
                read = int(state.c2c_reads.get(conv, 0))
                pipe.zcount(self._keys.timeline_countable_for(timeline, user_id), f"({read}", "+inf")
                pipe.smembers(self._keys.hidden_messages(user_id, conv))  # already removed from the set
            else:
                timeline = self._keys.group_timeline(target)
                read = int(state.group_reads.get(conv, 0))
                left = state.left.get(conv)  # a member who left counts nothing sent after
                pipe.zcount(self._keys.timeline_countable(timeline), f"({read}", left or "+inf")
                pipe.smembers(self._keys.hidden_messages(user_id, conv))

    async def _finish_unread(self, state: _UserState, convs: Sequence[str], raw: list[Any]) -> dict[str, int]:
        counts: dict[str, int] = {}
        pipe = self._redis.pipeline(transaction=False)
        pending: list[tuple[str, list[str]]] = []
        for i, conv in enumerate(convs):
            count, hidden = int(raw[2 * i]), raw[2 * i + 1]
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_GROUP:
                read = int(state.group_reads.get(conv, 0))
                if _receive_opt(state, conv) == MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE:
                    count = 0
                later_hidden = [h for h in hidden if int(h) > read]
                if later_hidden and count:
                    pipe.zmscore(self._keys.timeline_countable(self._keys.group_timeline(target)), later_hidden)
                    pending.append((conv, later_hidden))
            counts[conv] = count
        if pending:  # a group message deleted for me, unread: one more round trip, only then
            for (conv, _), scores in zip(pending, await pipe.execute(), strict=True):
                counts[conv] -= sum(1 for s in scores if s is not None)
        return counts

    async def views(self, user_id: str, convs: Sequence[str], state: _UserState | None = None) -> list[Conversation]:
        """Conversations as the user sees them. Round trips: the user's state (unless given), one
        pipeline with everything per conversation (unread, names, the newest messages through a
        script), and the last messages' per-viewer parts: 3 for a page of 100."""
        if not convs:
            return []
        state = state or await self._user_state(user_id)
        return (await self.views_of_users([(user_id, convs, state)]))[0]

    async def views_of_users(self, asks: Sequence[tuple[str, Sequence[str], _UserState]]) -> list[list[Conversation]]:
        """`views` for several users (each with its state) in the same two round trips."""
        parts = [_ViewRead(self, user_id, list(convs), state) for user_id, convs, state in asks]

        def build(pipe: Any) -> None:
            for part in parts:
                part.queue(pipe)

        raw = await run_pipeline(self._redis, build, (_NEWEST_MESSAGES,))
        for part in parts:
            await part.take(raw)
        pipe = self._redis.pipeline(transaction=False)
        finishers = [part.queue_last_messages(pipe) for part in parts]
        replies = await pipe.execute() if len(pipe) else []
        return [finish(replies) for finish in finishers]

    def _timeline(self, user_id: str, conv: str) -> str:
        kind, target = parse_conversation_id(conv)
        if kind == ConversationType.V2TIM_C2C:
            return self._keys.c2c_timeline(user_id, target)
        return self._keys.group_timeline(target)

    async def _newest_visible(
        self, user_id: str, convs: Sequence[str], timelines: Sequence[str], window: int
    ) -> list[tuple[str, StoredMessage]]:
        """The messages among the newest `window` seqs of each timeline that the user may see, as
        (conversation, message) pairs, each conversation's newest first: two round trips for all."""

        def build(pipe: Any) -> None:
            for timeline in timelines:
                keys = [self._keys.timeline_seq(timeline), self._keys.timeline_messages(timeline)]
                _NEWEST_MESSAGES.queue(pipe, keys, [window])

        windows = await run_pipeline(self._redis, build, (_NEWEST_MESSAGES,))
        found = [
            (conv, STORED_DEC.decode(raw)) for conv, rows in zip(convs, windows, strict=True) for raw in rows[1:] if raw
        ]
        visible = {id(m) for m in await self._messages._visible_to(user_id, [m for _, m in found])}
        return [(conv, m) for conv, m in found if id(m) in visible]

    async def recent_messages(self, user_id: str, convs: Sequence[str], count: int) -> dict[str, list[Any]]:
        """The newest `count` visible messages of each conversation, newest first: the
        Conversation.messages edge for a whole page at once, in a fixed number of round trips."""
        if not 1 <= count <= PAGE_MAX:
            raise invalid(f"count must be 1-{PAGE_MAX}")
        timelines = [self._timeline(user_id, c) for c in convs]
        picked: dict[str, list[StoredMessage]] = {c: [] for c in convs}
        for conv, m in await self._newest_visible(user_id, convs, timelines, 2 * count):
            if len(picked[conv]) < count:
                picked[conv].append(m)
        flat = [m for conv in convs for m in picked[conv]]
        views = iter(await self._messages._views(user_id, flat))
        return {conv: [next(views) for _ in picked[conv]] for conv in convs}

    async def _known(self, user_id: str, conversation_id: str, state: _UserState) -> None:
        parse_conversation_id(conversation_id)
        deleted_at = state.deleted.get(conversation_id)
        gone = deleted_at is not None and int(state.order.get(conversation_id, 0)) <= int(deleted_at)
        if conversation_id not in state.order or gone:
            raise IMError(Code.ERR_INVALID_CONVERSATION, f"{conversation_id!r} is not one of your conversations")

    # ---- queries -----------------------------------------------------------------------------------
    async def get_conversation_list(self, user_id: str, next_seq: str, count: int) -> ConversationPage:
        return await self.get_conversation_list_by_filter(user_id, ConversationFilter(), next_seq, count)

    async def get_conversation_list_by_filter(
        self, user_id: str, conversation_filter: ConversationFilter, next_seq: str, count: int
    ) -> ConversationPage:
        if not 1 <= count <= PAGE_MAX:
            raise invalid(f"count must be 1-{PAGE_MAX}")
        state = await self._user_state(user_id)
        ordered = await self._ordered(user_id, state)
        cursor = _parse_cursor(next_seq)
        if cursor is not None:
            ordered = [o for o in ordered if (o[0], o[1], o[2]) < cursor]
        ordered = self._prefilter(ordered, state, conversation_filter)
        page: list[Conversation] = []
        taken = 0
        # filters on unread or @ need the counts and may drop candidates: read ahead in slices
        # until the page fills; otherwise read exactly what is asked
        step = count * 2 if conversation_filter.hasUnreadCount or conversation_filter.hasGroupAtInfo else count
        while ordered and len(page) < count:
            batch, ordered = ordered[:step], ordered[step:]
            views = await self.views(user_id, [o[2] for o in batch], state)
            for o, view in zip(batch, views, strict=True):
                taken += 1
                if _matches_counts(view, conversation_filter):
                    page.append(view)
                    last = o
                    if len(page) == count:
                        ordered = batch[batch.index(o) + 1 :] + ordered
                        break
        finished = not ordered
        next_cursor = "" if finished or not page else _cursor(last)
        return ConversationPage(nextSeq=next_cursor, isFinished=finished, conversationList=page)

    def _prefilter(
        self, ordered: list[tuple[bool, int, str]], state: _UserState, f: ConversationFilter
    ) -> list[tuple[bool, int, str]]:
        if f.groupName and f.groupName not in state.groups:
            raise IMError(Code.ERR_CONVERSATION_GROUP_NOT_FOUND, f"no conversation group {f.groupName!r}")
        members = set(_list_dec.decode(state.groups[f.groupName])) if f.groupName else None
        kept = []
        for o in ordered:
            conv = o[2]
            if f.conversationType and int(parse_conversation_id(conv)[0]) != f.conversationType:
                continue
            if f.markType and not int(state.marks.get(conv, 0)) & f.markType:
                continue
            if members is not None and conv not in members:
                continue
            kept.append(o)
        return kept

    async def get_conversation_list_by_ids(self, user_id: str, conversation_ids: Sequence[str]) -> ConversationPage:
        if len(conversation_ids) > PAGE_MAX:
            raise invalid(f"conversationIDList: at most {PAGE_MAX} IDs")
        state = await self._user_state(user_id)
        wanted = [c for c in dict.fromkeys(conversation_ids) if parse_conversation_id(c) and c in state.order]
        return ConversationPage(nextSeq="", isFinished=True, conversationList=await self.views(user_id, wanted, state))

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        state = await self._user_state(user_id)
        await self._known(user_id, conversation_id, state)
        return (await self.views(user_id, [conversation_id], state))[0]

    async def recent_contacts(self, user_id: str) -> list[tuple[str, int, bool]]:
        """Every conversation in the user's list as (ID, orderKey in ms, pinned), in the list's
        order: what Tencent's server API pages through (`recentcontact/get_list`). No events."""
        state = await self._user_state(user_id)
        return [(conv, order, pinned) for pinned, order, conv in await self._ordered(user_id, state)]

    async def contact_marks(self, user_id: str) -> ContactMarks:
        """The user's marks, custom data and conversation groups with their IDs. No events."""
        state = await self._user_state(user_id)
        groups = {name: _list_dec.decode(raw) for name, raw in state.groups.items()}
        changed_at = await self._redis.hgetall(self._state(user_id, "marked-at"))
        return ContactMarks(
            marks={conv: int(bits) for conv, bits in state.marks.items()},
            custom=dict(state.custom),
            groups=groups,
            group_ids=await self.conversation_group_ids(user_id, sorted(groups)),
            changed_at={conv: int(at) for conv, at in changed_at.items()},
        )

    async def conversation_group_ids(self, user_id: str, names: Sequence[str]) -> dict[str, int]:
        """The numeric IDs Tencent's server API gives conversation groups (1, 2, ... per user),
        given to each name the first time it is asked for; a rename keeps it, a deletion drops it."""
        if not names:
            return {}
        key = self._state(user_id, "group-ids")
        found = dict(zip(names, await self._redis.hmget(key, list(names)), strict=True))
        for name, known in found.items():
            if known is None:  # HSETNX: of two concurrent first reads, one ID wins
                await self._redis.hsetnx(key, name, await self._redis.incr(self._state(user_id, "group-id-seq")))
                found[name] = await self._redis.hget(key, name)
        return {name: int(value) for name, value in found.items()}

    def _queue_touch(self, pipe: Any, user_id: str, convs: Sequence[str]) -> None:
        """Record when these conversations' marks, custom data or groups changed (the server API's
        `Timestamp`)."""
        if convs:
            pipe.hset(self._state(user_id, "marked-at"), mapping=dict.fromkeys(convs, int(self._clock.now())))

    async def _touch(self, user_id: str, convs: Sequence[str]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        self._queue_touch(pipe, user_id, convs)
        if len(pipe):
            await pipe.execute()

    def observer(self, user_id: str) -> ConversationWatch:
        return ConversationWatch(self, user_id)

    async def get_total_unread_message_count(self, user_id: str) -> int:
        return await self.unread_total(user_id)

    async def get_unread_message_count_by_filter(self, user_id: str, conversation_filter: ConversationFilter) -> int:
        return await self.unread_total(user_id, conversation_filter)

    async def unread_total(self, user_id: str, conversation_filter: ConversationFilter | None = None) -> int:
        """The total unread count (of a filter), leaving out conversations not set to RECEIVE."""
        return (await self.unread_totals(user_id, [conversation_filter or ConversationFilter()]))[0]

    async def unread_totals(self, user_id: str, filters: Sequence[ConversationFilter]) -> list[int]:
        """unread_total for several filters from one read of the user's state and one recount: a
        conversationListener recomputes the overall total and every subscribed filter's after each
        conversation event, so this runs once per event per listening device."""
        state = await self._user_state(user_id)
        ordered = await self._ordered(user_id, state)
        counted_by = [
            [
                o[2]
                for o in self._prefilter(ordered, state, f)
                if _receive_opt(state, o[2]) == MessageOpt.V2TIM_RECEIVE_MESSAGE
            ]
            for f in filters
        ]
        unread = await self._unread(user_id, state, list(dict.fromkeys(c for counted in counted_by for c in counted)))
        totals = []
        for f, counted in zip(filters, counted_by, strict=True):
            if f.hasGroupAtInfo:
                views = await self.views(user_id, counted, state)
                counted = [v.conversationID for v in views if v.groupAtInfoList]
            totals.append(sum(max(0, unread[c]) for c in counted))
        return totals

    # ---- changes -----------------------------------------------------------------------------------
    async def announce(self, changed: dict[str, list[str]]) -> None:
        """Tell each user, as they see them, of conversations that changed (one batched
        onConversationChanged) or that appeared or came back after a deletion (onNewConversation).

        Every user's part of it is batched: one round trip reads the state of the changed
        conversations (not the users' whole lists) and what each was already told, then each
        user's views (two round trips for up to ANNOUNCE_BATCH users), then one round trip writes
        every user's events and marks. A C2C send tells its two users in 4 round trips."""
        changed = {user_id: convs for user_id, convs in changed.items() if convs}
        if not changed:
            return  # nothing to tell (Redis refuses the empty reads below)
        wanted_of: dict[str, list[str]] = {}
        states: dict[str, _UserState] = {}
        seen_of: dict[str, set[str]] = {}
        pipe = self._redis.pipeline(transaction=False)
        pending = []
        for user_id, convs in changed.items():
            convs = list(dict.fromkeys(convs))
            state_of = self._queue_state_of(pipe, user_id, convs)
            pipe.hmget(self._state(user_id, "announced"), convs)
            pending.append((user_id, convs, state_of, len(pipe) - 1))
        group_ids = sorted({g for convs in changed.values() for g in group_ids_of(convs)})
        if group_ids:
            pipe.zmscore(self._keys.group_activity(), group_ids)
        if not pending:
            return
        raw = list(await pipe.execute())
        activity = (
            {group_conversation_id(g): int((a or 0) * 1000) for g, a in zip(group_ids, raw[-1], strict=True)}
            if group_ids
            else {}
        )
        for user_id, convs, state_of, announced_at in pending:
            state = states[user_id] = state_of(raw)
            seen_of[user_id] = {c for c, mark in zip(convs, raw[announced_at], strict=True) if mark is not None}
            wanted = [c for c in convs if self._is_live(c, state, activity.get(c, 0))]
            if wanted:
                wanted_of[user_id] = wanted
        if not wanted_of:
            return
        all_views: list[list[Conversation]] = []
        users = list(wanted_of)
        for start in range(0, len(users), ANNOUNCE_BATCH):
            batch = users[start : start + ANNOUNCE_BATCH]
            all_views += await self.views_of_users([(u, wanted_of[u], states[u]) for u in batch])
        pipe = self._redis.pipeline(transaction=False)
        for (user_id, wanted), views in zip(wanted_of.items(), all_views, strict=True):
            by_conv = dict(zip(wanted, views, strict=True))
            fresh = [c for c in wanted if c not in seen_of[user_id]]
            if fresh:
                pipe.hset(self._state(user_id, "announced"), mapping=dict.fromkeys(fresh, 1))
                self._bus.queue_publish(
                    pipe, [user_id], OnNewConversation(conversationList=[by_conv[c] for c in fresh])
                )
            rest = [by_conv[c] for c in wanted if c not in fresh]
            if rest:
                self._bus.queue_publish(pipe, [user_id], OnConversationChanged(conversationList=rest))
        await pipe.execute()

    @staticmethod
    def _is_live(conv: str, state: _UserState, activity_ms: int) -> bool:
        """Whether the conversation is in the user's list: not deleted, or active since."""
        if conv not in state.order:
            return False
        return not (conv in state.deleted and _order_key(conv, state, activity_ms) <= int(state.deleted[conv]))

    async def announce_new(self, appeared: dict[str, list[str]]) -> None:
        """onNewConversation: conversations that (re)appeared in users' lists, e.g. a joined group."""
        for user_id, convs in appeared.items():
            await self._redis.hdel(self._state(user_id, "announced"), *convs)
        await self.announce(appeared)

    async def delete_conversation_list(
        self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool, *, strict: bool = False
    ) -> None:
        if len(conversation_ids) > PER_CALL_MAX:
            raise invalid(f"conversationIDList: at most {PER_CALL_MAX} per call")
        state = await self._user_state(user_id)
        ordered = {o[2]: o[1] for o in await self._ordered(user_id, state)}
        doomed = []
        for conv in dict.fromkeys(conversation_ids):
            parse_conversation_id(conv)
            if conv in ordered:
                doomed.append(conv)
            elif strict:  # another's, unknown or already deleted: refused, nothing deleted
                raise IMError(Code.ERR_INVALID_CONVERSATION, f"{conv!r} is not one of your conversations")
        if not doomed:
            return
        up = active(self._upstream)
        if up is not None:
            await up.conversations.delete(user_id, doomed, clear_messages)
        pipe = self._redis.pipeline(transaction=False)
        for conv in doomed:
            pipe.hset(self._state(user_id, "deleted"), conv, ordered[conv])
            pipe.hdel(self._state(user_id, "draft"), conv)
            pipe.hdel(self._state(user_id, "announced"), conv)  # if it comes back, it is new again
        await pipe.execute()
        for conv in doomed:  # a deleted conversation's messages are no longer unread
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_C2C:
                if clear_messages:
                    await self._messages.clear_c2c_history_message(user_id, target)
                read_ms = self._ms()
                await self._messages.unread_index.read(user_id, {target: read_ms})
                await self._redis.hset(self._state(user_id, "c2c-read-ms"), conv, read_ms)
            else:
                last = int(await self._redis.get(self._keys.timeline_seq(self._keys.group_timeline(target))) or 0)
                if clear_messages:
                    await self._redis.hset(self._keys.cleared_before(user_id), conv, last)
                await self._redis.hset(self._keys.group_read_seqs(user_id), conv, last)
        await self._bus.publish([user_id], OnConversationDeleted(conversationIDList=doomed))

    async def set_conversation_draft(self, user_id: str, conversation_id: str, draft_text: str) -> None:
        state = await self._user_state(user_id)
        await self._known(user_id, conversation_id, state)
        if len(draft_text.encode("utf-8")) > DRAFT_MAX_BYTES:
            raise invalid(f"draftText is over {DRAFT_MAX_BYTES} bytes")
        if draft_text:
            await self._redis.hset(
                self._state(user_id, "draft"), conversation_id, f"{int(self._clock.now())}:{draft_text}"
            )
        else:
            await self._redis.hdel(self._state(user_id, "draft"), conversation_id)
        await self.announce({user_id: [conversation_id]})

    async def set_conversation_custom_data(
        self, user_id: str, conversation_ids: Sequence[str], custom_data: str
    ) -> list[ConversationOperationResult]:
        if len(custom_data.encode("utf-8")) > CUSTOM_DATA_MAX_BYTES:
            raise invalid(f"customData is over {CUSTOM_DATA_MAX_BYTES} bytes")
        return await self._per_conversation(user_id, conversation_ids, "custom-data", lambda _old: custom_data)

    async def _per_conversation(
        self,
        user_id: str,
        conversation_ids: Sequence[str],
        family: str,
        value: Any,
        before_write: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> list[ConversationOperationResult]:
        """`before_write`: told the conversations about to change, before anything is written (an
        upstream's refusal then leaves them as they were)."""
        if len(conversation_ids) > PER_CALL_MAX:
            raise IMError(Code.ERR_CONVERSATION_MARK_PER_CALL, f"conversationIDList: at most {PER_CALL_MAX} per call")
        state = await self._user_state(user_id)
        results, changed = [], []
        current = {"custom-data": state.custom, "marks": state.marks}[family]
        key = self._state(user_id, family)
        pipe = self._redis.pipeline(transaction=False)  # every conversation's write in one round trip
        for conv in dict.fromkeys(conversation_ids):
            try:
                await self._known(user_id, conv, state)
            except IMError as exc:
                results.append(
                    ConversationOperationResult(conversationID=conv, resultCode=exc.code, resultInfo=exc.desc)
                )
                continue
            new = value(current.get(conv))
            if new in ("", 0):
                pipe.hdel(key, conv)
            else:
                pipe.hset(key, conv, new)
            changed.append(conv)
            results.append(ConversationOperationResult(conversationID=conv))
        self._queue_touch(pipe, user_id, changed)
        if changed and before_write is not None:
            await before_write(changed)
        if changed:
            await pipe.execute()
        await self.announce({user_id: changed})
        return results

    async def pin_conversation(self, user_id: str, conversation_id: str, pinned: bool) -> None:
        state = await self._user_state(user_id)
        await self._known(user_id, conversation_id, state)
        if pinned:
            await self._redis.hset(self._state(user_id, "pinned"), conversation_id, self._ms())
        else:
            await self._redis.hdel(self._state(user_id, "pinned"), conversation_id)
        await self.announce({user_id: [conversation_id]})

    async def mark_conversation(
        self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]:
        if mark_type <= 0:
            raise invalid("markType must be a V2TIM_ConversationMarkType bit (or a custom bit)")
        state = await self._user_state(user_id)
        if enable and len(set(state.marks) | set(conversation_ids)) > MARKED_MAX:
            raise IMError(Code.ERR_CONVERSATION_MARK_TOTAL, f"at most {MARKED_MAX} marked conversations")
        up = active(self._upstream)

        async def mark_upstream(changed: list[str]) -> None:
            if up is not None:
                await up.conversations.mark(user_id, changed, enable, mark_type)

        return await self._per_conversation(
            user_id,
            conversation_ids,
            "marks",
            lambda old: (int(old or 0) | mark_type) if enable else (int(old or 0) & ~mark_type),
            mark_upstream,
        )

    async def clean_conversation_unread_message_count(
        self, user_id: str, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None:
        """cleanConversationUnreadMessageCount: one conversation, "c2c", "group", or "" for all."""
        state = await self._user_state(user_id)
        if conversation_id in ("", "c2c", "group"):
            targets = [c for c in state.order if not conversation_id or c.startswith(conversation_id + "_")]
        else:
            await self._known(user_id, conversation_id, state)
            targets = [conversation_id]
        up = active(self._upstream)
        if up is not None:  # Tencent's read positions move too (one call per conversation: no bulk call)
            for conv in targets:
                kind, target = parse_conversation_id(conv)
                if kind == ConversationType.V2TIM_C2C:
                    await up.messages.read_c2c(user_id, target, clean_timestamp or int(self._clock.now()))
        upstream_marks: dict[str, int] = {}
        if up is not None and not clean_timestamp:
            peers = [p for p in (conversation_peer_id(c) for c in targets) if p is not None]
            upstream_marks = await self._messages.upstream_read_ms(user_id, peers, self._ms())
        pipe = self._redis.pipeline(transaction=False)
        for conv in targets:
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_C2C:
                until = clean_timestamp * 1000 if clean_timestamp else upstream_marks.get(target, self._ms())
                until = max(until, int(state.c2c_reads.get(conv, 0)))
                self._messages.unread_index.queue_read(pipe, user_id, {target: until})
                pipe.hset(self._state(user_id, "c2c-read-ms"), conv, until)
            else:
                last = int(await self._redis.get(self._keys.timeline_seq(self._keys.group_timeline(target))) or 0)
                until_seq = min(clean_sequence, last) if clean_sequence else last
                pipe.hset(
                    self._keys.group_read_seqs(user_id), conv, max(until_seq, int(state.group_reads.get(conv, 0)))
                )
        await pipe.execute()
        await self.announce({user_id: targets})

    # ---- conversation groups ------------------------------------------------------------------------
    def _check_group_name(self, name: str, arg: str = "groupName") -> str:
        if not name or len(name.encode("utf-8")) > CONVERSATION_GROUP_NAME_MAX_BYTES:
            raise IMError(
                Code.ERR_CONVERSATION_GROUP_NAME, f"{arg} must be 1-{CONVERSATION_GROUP_NAME_MAX_BYTES} bytes"
            )
        return name

    async def create_conversation_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        self._check_group_name(name)
        state = await self._user_state(user_id)
        if name in state.groups:
            raise IMError(Code.ERR_CONVERSATION_GROUP_EXISTS, f"a conversation group {name!r} exists already")
        if len(state.groups) >= CONVERSATION_GROUPS_MAX:
            raise IMError(Code.ERR_CONVERSATION_GROUPS_FULL, f"at most {CONVERSATION_GROUPS_MAX} conversation groups")
        members, results = await self._valid(user_id, conversation_ids, state)
        up = active(self._upstream)
        if up is not None:
            await up.conversations.create_group(user_id, name, members)
        await self._redis.hset(self._keys.conversation_groups(user_id), name, _list_enc.encode(members))
        await self._touch(user_id, members)
        views = await self.views(user_id, members)
        await self._bus.publish([user_id], OnConversationGroupCreated(groupName=name, conversationList=views))
        await self.announce({user_id: members})
        return results

    async def _valid(
        self, user_id: str, conversation_ids: Sequence[str], state: _UserState
    ) -> tuple[list[str], list[ConversationOperationResult]]:
        if len(conversation_ids) > PER_CALL_MAX:
            raise IMError(Code.ERR_CONVERSATION_MARK_PER_CALL, f"conversationIDList: at most {PER_CALL_MAX} per call")
        members, results = [], []
        for conv in dict.fromkeys(conversation_ids):
            try:
                await self._known(user_id, conv, state)
            except IMError as exc:
                results.append(
                    ConversationOperationResult(conversationID=conv, resultCode=exc.code, resultInfo=exc.desc)
                )
                continue
            members.append(conv)
            results.append(ConversationOperationResult(conversationID=conv))
        return members, results

    async def get_conversation_group_list(self, user_id: str) -> list[str]:
        return sorted(await self._redis.hkeys(self._keys.conversation_groups(user_id)))

    async def _group(self, user_id: str, name: str) -> list[str]:
        raw = await self._redis.hget(self._keys.conversation_groups(user_id), name)
        if raw is None:
            raise IMError(Code.ERR_CONVERSATION_GROUP_NOT_FOUND, f"no conversation group {name!r}")
        return _list_dec.decode(raw)

    async def delete_conversation_group(self, user_id: str, name: str) -> None:
        members = await self._group(user_id, name)
        up = active(self._upstream)
        if up is not None:
            await up.conversations.delete_group(user_id, name)
        await self._redis.hdel(self._keys.conversation_groups(user_id), name)
        await self._redis.hdel(self._state(user_id, "group-ids"), name)
        await self._touch(user_id, members)
        await self._bus.publish([user_id], OnConversationGroupDeleted(groupName=name))
        await self.announce({user_id: members})

    async def rename_conversation_group(self, user_id: str, old: str, new: str) -> None:
        members = await self._group(user_id, old)
        self._check_group_name(new, "newName")
        if old == new:
            return
        if await self._redis.hexists(self._keys.conversation_groups(user_id), new):
            raise IMError(Code.ERR_CONVERSATION_GROUP_EXISTS, f"a conversation group {new!r} exists already")
        up = active(self._upstream)
        if up is not None:
            await up.conversations.rename_group(user_id, old, new)
        if not await self._redis.hsetnx(self._keys.conversation_groups(user_id), new, _list_enc.encode(members)):
            raise IMError(Code.ERR_CONVERSATION_GROUP_EXISTS, f"a conversation group {new!r} exists already")
        await self._redis.hdel(self._keys.conversation_groups(user_id), old)
        ids = self._state(user_id, "group-ids")
        if (group_id := await self._redis.hget(ids, old)) is not None:  # the server API's ID stays
            await self._redis.hset(ids, new, group_id)
            await self._redis.hdel(ids, old)
        await self._bus.publish([user_id], OnConversationGroupNameChanged(oldName=old, newName=new))
        await self.announce({user_id: members})

    async def add_conversations_to_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        members = await self._group(user_id, name)
        added, results = await self._valid(user_id, conversation_ids, await self._user_state(user_id))
        fresh = [c for c in added if c not in members]
        up = active(self._upstream)
        if up is not None and fresh:
            await up.conversations.change_group(user_id, name, fresh, [])
        await self._redis.hset(self._keys.conversation_groups(user_id), name, _list_enc.encode([*members, *fresh]))
        if fresh:
            await self._touch(user_id, fresh)
            views = await self.views(user_id, fresh)
            await self._bus.publish([user_id], OnConversationsAddedToGroup(groupName=name, conversationList=views))
            await self.announce({user_id: fresh})
        return results

    async def delete_conversations_from_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        members = await self._group(user_id, name)
        gone = [c for c in dict.fromkeys(conversation_ids) if c in members]
        results = [
            ConversationOperationResult(conversationID=c)
            if c in gone
            else ConversationOperationResult(
                conversationID=c, resultCode=Code.ERR_INVALID_CONVERSATION, resultInfo="not in this conversation group"
            )
            for c in dict.fromkeys(conversation_ids)
        ]
        up = active(self._upstream)
        if up is not None and gone:
            await up.conversations.change_group(user_id, name, [], gone)
        await self._redis.hset(
            self._keys.conversation_groups(user_id), name, _list_enc.encode([c for c in members if c not in gone])
        )
        if gone:
            await self._touch(user_id, gone)
            views = await self.views(user_id, gone)
            await self._bus.publish([user_id], OnConversationsDeletedFromGroup(groupName=name, conversationList=views))
            await self.announce({user_id: gone})
        return results

    # ---- unread-count filters ----------------------------------------------------------------------
    async def subscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        """Kept with its total now: a subscription that first meets the filter at a later change
        reports the change since this moment (not only changes after that one)."""
        [total] = await self.unread_totals(user_id, [f])
        await self._redis.hset(self._keys.unread_filters(user_id), _filter_enc.encode(f), total)

    async def unsubscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        await self._redis.hdel(self._keys.unread_filters(user_id), _filter_enc.encode(f))

    async def subscribed_filters(self, user_id: str) -> dict[ConversationFilter, int]:
        rows = await self._redis.hgetall(self._keys.unread_filters(user_id))
        return {_filter_dec.decode(raw): int(total) for raw, total in rows.items()}


def _receive_opt(state: _UserState, conv: str) -> int:
    return int(state.options.get(Keys.receive_option_field(conv), 0))


def _order_key(conv: str, state: _UserState, activity_ms: int) -> int:
    """A conversation's orderKey: its own last activity, or its group's if that is later."""
    return max(int(state.order.get(conv, 0)), activity_ms)


def _matches_counts(view: Conversation, f: ConversationFilter) -> bool:
    if f.hasUnreadCount and view.unreadCount <= 0:
        return False
    return not (f.hasGroupAtInfo and not view.groupAtInfoList)


def _at_infos(at_me: Iterable[str], at_all: Iterable[str]) -> list[GroupAtInfo]:
    me, everyone = {int(s) for s in at_me}, {int(s) for s in at_all}
    infos = []
    for seq in sorted(me | everyone):
        kind = (
            AtType.TIM_AT_ALL_AT_ME
            if seq in me and seq in everyone
            else AtType.TIM_AT_ME
            if seq in me
            else AtType.TIM_AT_ALL
        )
        infos.append(GroupAtInfo(seq=seq, atType=kind))
    return infos


def _cursor(o: tuple[bool, int, str]) -> str:
    return f"{int(o[0])}:{o[1]}:{o[2]}"


def _parse_cursor(text: str) -> tuple[bool, int, str] | None:
    if not text or text == "0":
        return None
    pinned, _, rest = text.partition(":")
    order, _, conv = rest.partition(":")
    if pinned not in ("0", "1") or not order.isdigit() or not conv:
        raise invalid("nextSeq is not one a conversation page returned")
    return (pinned == "1", int(order), conv)


class _ViewRead:
    """One user's part of `Conversations.views_of_users`: what it queues in the shared pipeline,
    what it takes from the replies, and the views it builds once its last messages are read."""

    def __init__(self, owner: Conversations, user_id: str, convs: list[str], state: _UserState) -> None:
        self._owner = owner
        self._user_id = user_id
        self._convs = convs
        self._state = state
        self._peers = peer_ids_of(convs)
        self._group_ids = group_ids_of(convs)
        self._timelines = [owner._timeline(user_id, c) for c in convs]
        self._span = (0, 0)
        self._unread: dict[str, int] = {}
        self._profiles: dict[str, Any] = {}
        self._remark_of: dict[str, str] = {}
        self._group_rows: dict[str, tuple[Any, Any, Any]] = {}
        self._activity: dict[str, Any] = {}
        self._best: dict[str, StoredMessage] = {}

    def queue(self, pipe: Any) -> None:
        owner, keys, user_id, state = self._owner, self._owner._keys, self._user_id, self._state
        first = len(pipe)
        owner._queue_unread(pipe, user_id, state, self._convs)
        for peer in self._peers:
            pipe.hgetall(keys.profile(peer))
        pipe.hmget(keys.friends(user_id), self._peers or ["-"])
        for gid in self._group_ids:
            pipe.hgetall(keys.group_info(gid))
            timeline = keys.group_timeline(gid)
            read = int(state.group_reads.get(group_conversation_id(gid), 0))
            pipe.zrangebyscore(keys.timeline_at(timeline, user_id), f"({read}", "+inf")
            pipe.zrangebyscore(keys.timeline_at(timeline, "*"), f"({read}", "+inf")
        for timeline in self._timelines:
            _NEWEST_MESSAGES.queue(
                pipe, [keys.timeline_seq(timeline), keys.timeline_messages(timeline)], [LAST_MESSAGE_LOOKBACK]
            )
        if self._group_ids:
            pipe.zmscore(keys.group_activity(), self._group_ids)
        self._span = (first, len(pipe))

    async def take(self, replies: list[Any]) -> None:
        convs, state = self._convs, self._state
        raw = replies[self._span[0] : self._span[1]]
        unread_raw, raw = raw[: 2 * len(convs)], raw[2 * len(convs) :]
        self._unread = await self._owner._finish_unread(state, convs, unread_raw)
        hidden = {conv: {int(h) for h in unread_raw[2 * i + 1]} for i, conv in enumerate(convs)}
        self._profiles = {p: raw.pop(0) for p in self._peers}
        remarks = raw.pop(0)
        self._remark_of = {p: decode_friend_record(r).remark for p, r in zip(self._peers, remarks, strict=False) if r}
        for gid in self._group_ids:
            self._group_rows[gid] = (raw.pop(0), raw.pop(0), raw.pop(0))
        newest = [raw.pop(0) for _ in self._timelines]
        self._activity = dict(zip(self._group_ids, raw.pop(0), strict=True)) if self._group_ids else {}
        # each conversation's last message the user may see, from the newest-messages window
        # (what was cleared or deleted for the user is skipped)
        cleared = {conv: int(state.cleared.get(conv, 0)) for conv in convs}
        for conv, window in zip(convs, newest, strict=True):
            found = [STORED_DEC.decode(r) for r in window[1:] if r]
            for m in self._owner._messages.visible_given(self._user_id, found, cleared, hidden):
                if not m.isExcludedFromLastMessage:
                    self._best[conv] = m
                    break

    def queue_last_messages(self, pipe: Any) -> Callable[[list[Any]], list[Conversation]]:
        """Queues the last messages' per-viewer reads; returns what builds the views from them."""
        best = self._best
        build_views = self._owner._messages._queue_views(pipe, self._user_id, list(best.values())) if best else None

        def finish(replies: list[Any]) -> list[Conversation]:
            last = dict(zip(best, build_views(replies), strict=True)) if build_views is not None else {}
            return [self._view(conv, last.get(conv)) for conv in self._convs]

        return finish

    def _view(self, conv: str, last_message: Any) -> Conversation:
        state = self._state
        kind, target = parse_conversation_id(conv)
        order = int(state.order.get(conv, 0))
        draft = state.drafts.get(conv)
        draft_text, draft_time = ("", 0)
        if draft:
            draft_time_text, _, draft_text = draft.partition(":")
            draft_time = int(draft_time_text)
        marks_value = int(state.marks.get(conv, 0))
        view = Conversation(
            conversationID=conv,
            type=kind,
            unreadCount=max(0, self._unread.get(conv, 0)),
            draftText=draft_text,
            draftTimestamp=draft_time,
            isPinned=conv in state.pinned,
            markList=[bit for bit in (1, 2, 4, 8) if marks_value & bit],
            customData=state.custom.get(conv, ""),
            conversationGroupList=sorted(n for n, ids in state.groups.items() if conv in _list_dec.decode(ids)),
            lastMessage=last_message,
        )
        if kind == ConversationType.V2TIM_C2C:
            profile = self._profiles[target] or {}
            view.userID = target
            view.showName = self._remark_of.get(target) or profile.get("nickName") or target
            view.faceUrl = profile.get("faceUrl", "")
            view.recvOpt = _receive_opt(state, conv)
            view.orderKey = order
        else:
            info, at_me, at_all = self._group_rows[target]
            view.groupID = target
            view.showName = info.get("groupName") or target
            view.faceUrl = info.get("faceUrl", "")
            view.groupType = info.get("groupType", "")
            view.recvOpt = _receive_opt(state, conv)
            view.orderKey = _order_key(conv, state, int((self._activity.get(target) or 0) * 1000))
            view.groupAtInfoList = _at_infos(at_me, at_all)
        return view
