"""Conversations as a user sees them, computed from the messages themselves.

Nothing here keeps a second copy of a count: a conversation's unread count is counted from its
timeline (C2C: countable messages for this user after the time they last read it; group: countable
seqs after their read seq, read diffusion), so the list, the total and every filter always agree
with the messages, on every device and replica.

A page of conversations costs a fixed number of pipelined round trips (not one per conversation):
user state, per-conversation state, last-message candidates, and the per-viewer message view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from gateway.engine.codec import STORED_DEC
from gateway.engine.conversations.state import (
    PAGE_MAX,
    UserState,
    UserStates,
    left_mark_fields,
    list_dec,
    order_key,
    receive_opt,
    seen_until,
)
from gateway.engine.friendship import decode_friend_record
from gateway.engine.message_views import MessageViews
from gateway.engine.scripts import PipelinedScript, run_pipeline
from gateway.errors import invalid
from gateway.ids import group_conversation_id, group_ids_of, parse_conversation_id, peer_ids_of, topic_parent
from gateway.im.conversations import Conversation, GroupAtInfo
from gateway.im.enums import AtType, ConversationType, MessageOpt
from gateway.im.messages import StoredMessage
from gateway.keys import Keys

LAST_MESSAGE_LOOKBACK = 10  # newest seqs tried for a conversation's last visible message
# A timeline's last seq and its newest ARGV[1] messages (newest first), in one call: the window
# needs the seq, and a script saves the round trip between them. ARGV[2], when given, is the
# newest seq the window may reach (a group the user left: nothing sent after leaving is theirs).
_NEWEST_MESSAGES = PipelinedScript(
    """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[2] then last = math.min(last, tonumber(ARGV[2])) end
if last <= 0 then return {0} end
local fields = {}
for seq = last, math.max(last - tonumber(ARGV[1]) + 1, 1), -1 do fields[#fields + 1] = tostring(seq) end
local rows = redis.call('HMGET', KEYS[2], unpack(fields))
table.insert(rows, 1, last)
return rows
"""
)


class ConversationViews:
    """Views, unread counts and recent messages of users' conversations."""

    def __init__(self, redis: Any, keys: Keys, states: UserStates, messages: MessageViews) -> None:
        self._redis = redis
        self._keys = keys
        self._states = states
        self._messages = messages  # views and visibility of messages

    def queue_state_of(self, pipe: Any, user_id: str, convs: list[str]) -> Callable[[list[Any]], UserState]:
        """Into a pipeline: the user's state of these conversations only (`UserStates.queue_state_of`),
        for `views` of them that read none of the user's other conversations; returns what builds it
        from the pipeline's replies."""
        return self._states.queue_state_of(pipe, user_id, convs)

    async def views(self, user_id: str, convs: Sequence[str], state: UserState | None = None) -> list[Conversation]:
        """Conversations as the user sees them. Round trips: the user's state (unless given), one
        pipeline with everything per conversation (unread, names, the newest messages through a
        script), and the last messages' per-viewer parts: 3 for a page of 100."""
        if not convs:
            return []
        state = state or await self._states.user_state(user_id)
        return (await self.views_of_users([(user_id, convs, state)]))[0]

    async def views_of_users(self, asks: Sequence[tuple[str, Sequence[str], UserState]]) -> list[list[Conversation]]:
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

    async def unread(self, user_id: str, state: UserState, convs: Sequence[str]) -> dict[str, int]:
        """Unread counts recounted from the timelines (one or two pipelined round trips)."""
        pipe = self._redis.pipeline(transaction=False)
        self._queue_unread(pipe, user_id, state, convs)
        return await self._finish_unread(state, convs, list(await pipe.execute()))

    def _queue_unread(self, pipe: Any, user_id: str, state: UserState, convs: Sequence[str]) -> None:
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
                # a member who left counts nothing sent after (of a community's topics: nothing)
                left = seen_until([conv], state.left).get(conv)
                pipe.zcount(self._keys.timeline_countable(timeline), f"({read}", "+inf" if left is None else left)
                pipe.smembers(self._keys.hidden_messages(user_id, conv))

    async def _finish_unread(self, state: UserState, convs: Sequence[str], raw: list[Any]) -> dict[str, int]:
        counts: dict[str, int] = {}
        pipe = self._redis.pipeline(transaction=False)
        pending: list[tuple[str, list[str]]] = []
        for i, conv in enumerate(convs):
            count, hidden = int(raw[2 * i]), raw[2 * i + 1]
            kind, target = parse_conversation_id(conv)
            if kind == ConversationType.V2TIM_GROUP:
                read = int(state.group_reads.get(conv, 0))
                if receive_opt(state, conv) == MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE:
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

    async def _left_marks(self, user_id: str, convs: Sequence[str]) -> dict[str, int]:
        """The group conversations among `convs` the user is no longer a member of, each with the
        newest seq they may still see (`seen_until`): one read, none without group conversations."""
        asked = left_mark_fields(convs)
        if not asked:
            return {}
        left = await self._redis.hmget(self._keys.conversation_state(user_id, "left"), asked)
        return seen_until(convs, dict(zip(asked, left, strict=True)))

    def _timeline(self, user_id: str, conv: str) -> str:
        kind, target = parse_conversation_id(conv)
        if kind == ConversationType.V2TIM_C2C:
            return self._keys.c2c_timeline(user_id, target)
        return self._keys.group_timeline(target)

    async def _newest_visible(
        self, user_id: str, convs: Sequence[str], timelines: Sequence[str], window: int
    ) -> list[tuple[str, StoredMessage]]:
        """The messages among the newest `window` seqs of each timeline that the user may see (of a
        group they left, up to their leaving), as (conversation, message) pairs, each
        conversation's newest first: three round trips for all (two without group conversations)."""
        until = await self._left_marks(user_id, convs)

        def build(pipe: Any) -> None:
            for conv, timeline in zip(convs, timelines, strict=True):
                keys = [self._keys.timeline_seq(timeline), self._keys.timeline_messages(timeline)]
                _NEWEST_MESSAGES.queue(pipe, keys, window_args(window, until.get(conv)))

        windows = await run_pipeline(self._redis, build, (_NEWEST_MESSAGES,))
        found = [
            (conv, STORED_DEC.decode(raw)) for conv, rows in zip(convs, windows, strict=True) for raw in rows[1:] if raw
        ]
        visible = {id(m) for m in await self._messages.visible_to(user_id, [m for _, m in found])}
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
        views = iter(await self._messages.views(user_id, flat))
        return {conv: [next(views) for _ in picked[conv]] for conv in convs}


def window_args(window: int, until: int | None) -> list[int]:
    """_NEWEST_MESSAGES' ARGV: the window, and the newest seq it may reach when there is one."""
    return [window] if until is None else [window, until]


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


class _ViewRead:
    """One user's part of `ConversationViews.views_of_users`: what it queues in the shared pipeline,
    what it takes from the replies, and the views it builds once its last messages are read."""

    def __init__(self, owner: ConversationViews, user_id: str, convs: list[str], state: UserState) -> None:
        self._owner = owner
        self._user_id = user_id
        self._convs = convs
        self._state = state
        self._peers = peer_ids_of(convs)
        self._group_ids = group_ids_of(convs)
        # a community's topics have no info hash of their own (their info is in their community's
        # topics hash) and no place in the groups' activity (a send there moves the community's):
        # nothing of either is read for them, whose views read as those absent reads would
        self._topics = {g for g in self._group_ids if topic_parent(g) is not None}
        self._active_ids = [g for g in self._group_ids if g not in self._topics]
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
        until = seen_until(self._convs, state.left)
        for gid in self._group_ids:
            if gid not in self._topics:
                pipe.hgetall(keys.group_info(gid))
            timeline = keys.group_timeline(gid)
            read = int(state.group_reads.get(group_conversation_id(gid), 0))
            last = until.get(group_conversation_id(gid), "+inf")  # a member who left: @s until then
            pipe.zrangebyscore(keys.timeline_at(timeline, user_id), f"({read}", last)
            pipe.zrangebyscore(keys.timeline_at(timeline, "*"), f"({read}", last)
        for conv, timeline in zip(self._convs, self._timelines, strict=True):
            _NEWEST_MESSAGES.queue(
                pipe,
                [keys.timeline_seq(timeline), keys.timeline_messages(timeline)],
                window_args(LAST_MESSAGE_LOOKBACK, until.get(conv)),
            )
        if self._active_ids:
            pipe.zmscore(keys.group_activity(), self._active_ids)
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
            info = {} if gid in self._topics else raw.pop(0)
            self._group_rows[gid] = (info, raw.pop(0), raw.pop(0))
        newest = [raw.pop(0) for _ in self._timelines]
        self._activity = dict(zip(self._active_ids, raw.pop(0), strict=True)) if self._active_ids else {}
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
        build_views = self._owner._messages.queue_views(pipe, self._user_id, list(best.values())) if best else None

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
            conversationGroupList=sorted(n for n, ids in state.groups.items() if conv in list_dec.decode(ids)),
            lastMessage=last_message,
        )
        if kind == ConversationType.V2TIM_C2C:
            profile = self._profiles[target] or {}
            view.userID = target
            view.showName = self._remark_of.get(target) or profile.get("nickName") or target
            view.faceUrl = profile.get("faceUrl", "")
            view.recvOpt = receive_opt(state, conv)
            view.orderKey = order
        else:
            info, at_me, at_all = self._group_rows[target]
            view.groupID = target
            view.showName = info.get("groupName") or target
            view.faceUrl = info.get("faceUrl", "")
            view.groupType = info.get("groupType", "")
            view.recvOpt = receive_opt(state, conv)
            view.orderKey = order_key(conv, state, int((self._activity.get(target) or 0) * 1000))
            view.groupAtInfoList = _at_infos(at_me, at_all)
        return view
