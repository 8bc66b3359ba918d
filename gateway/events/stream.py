"""One subscription's ordered view of the log: replay from a cursor, then live, with no seam.

Opening: follow every stream the user reads (its own, plus each of its groups') through the
dispatcher FIRST, then replay from the cursor; live entries that arrive meanwhile wait in the
mailbox and are dropped by position if the replay already gave them. Each event handed out carries
the cursor that resumes right after it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import msgspec
from redis.exceptions import ResponseError

from gateway.batching import SharedPipelines
from gateway.errors import Code, IMError
from gateway.events import positions
from gateway.events.bus import (
    CONTROL_LISTENER,
    CONVERSATION_NEW,
    EVENT_STREAM_TTL_SECONDS,
    F_EVENT,
    F_EXCEPT_SESSION,
    F_EXCEPT_USER,
    F_LISTENER,
    F_SESSION,
    ControlOp,
    control_decoder,
    notice_of,
)
from gateway.events.cursor import BASE_ID_LENGTH, Cursor
from gateway.events.delivery import TERMINAL_EVENTS, Delivery
from gateway.events.dispatcher import Dispatcher
from gateway.events.entries import is_reference, listener_of, names_session, session_tag
from gateway.events.fanout import Fanout, TakingMailbox, plain_entry
from gateway.events.mailbox import LocalEvent, LogEntry
from gateway.ids import topic_parent
from gateway.im.enums import MessageOpt
from gateway.im.events import IMEvent, OnRecvNewMessage, decode_event
from gateway.keys import Keys

log = logging.getLogger("imql.events")

# Derives this listener's events from another listener's (conversation changes from messages: a
# large group's, whose events are stored once for all, and C2C ones whose entry carries a notice).
# Called with the event, whether it came from a group's stream rather than the user's own, and the
# entry's conversation notice (bus.CONVERSATION_NEW / _CHANGED, or "").
Observer = Callable[[IMEvent, bool, str], Awaitable[list[IMEvent]]]

NONE_SILENCED: frozenset[str] = frozenset()  # shared by every subscription with nothing silenced
REPLAY_PAGE = 500  # entries read per stream per round trip while replaying
# A subscription's base (the group positions its cursors leave out) lives as long as the streams it
# points into; a subscription open longer than half that writes a fresh one, so its cursors stay valid.
BASE_TTL_SECONDS = EVENT_STREAM_TTL_SECONDS
BASE_REFRESH_SECONDS = EVENT_STREAM_TTL_SECONDS / 2


class EventStream:
    def __init__(
        self,
        *,
        redis: Any,
        keys: Keys,
        dispatcher: Dispatcher,
        user_id: str,
        session_id: str,
        listener: str,
        now: Callable[[], float],
        observe: Observer | None = None,
    ) -> None:
        self._observe = observe
        self._redis = redis
        self._keys = keys
        self._dispatcher = dispatcher
        self._user_id = user_id
        self._session_id = session_id
        self._session_tag = session_tag(session_id)
        self._listener = listener
        self._now = now
        self._user_stream = keys.user_events(user_id)
        self._group_of: dict[str, str] = {}  # group stream key → group ID
        self._positions: dict[str, str] = {}
        # Every group stream whose position may differ from the base (and so be in a cursor): each
        # position written goes through `_move`, which adds its stream here, and a new base keeps
        # only those it does not cover. A cursor looks at these, not at every group of a user who
        # may be in hundreds.
        self._touched: set[str] = set()
        # groups (or topics) whose messages the user refuses; frozen, so the usual none costs nothing
        self._silenced: frozenset[str] = NONE_SILENCED
        # silenced group (or topic) → the group stream's position up to which this subscription
        # showed its messages after the silence's own position, having read them before the
        # silence (_apply_receive_option); only after such a race, and until the next change
        self._shown_until: dict[str, str] = {}
        # entries whose conversation notice a batch read changed (_coalesce_notices): "" = skip it
        self._notices: dict[tuple[str, str], str] = {}
        self._base_id = ""
        self._base: dict[str, str] = {}  # group → position that cursors leave out
        self._base_written = 0.0
        # events of this stream's reference entries, resolved for a batch at once (_resolve_batch)
        self._resolved: dict[str, IMEvent | None] = {}
        self.mailbox = TakingMailbox(
            user_id=user_id, session_id=session_id, wants_link_events=listener == "sdkListener"
        )

    # ---- cursor ------------------------------------------------------------------------------
    def cursor(self) -> str:
        base, group_of, at = self._base, self._group_of, self._positions
        groups = {}
        for key in self._touched:
            gid = group_of.get(key)
            pos = at.get(key)
            if gid is not None and pos is not None and base.get(gid) != pos:
                groups[gid] = pos
        user = at.get(self._user_stream, positions.ORIGIN)
        return Cursor(user=user, groups=groups, base=self._base_id).encode()

    def _move(self, stream: str, entry_id: str) -> None:
        """The subscription's position in `stream` is `entry_id` now: every position written after
        opening goes through here, so `_touched` (what a cursor looks at) misses no stream."""
        self._positions[stream] = entry_id
        self._touched.add(stream)

    async def _write_base(self) -> None:
        """Keep the current group positions in Redis, so cursors need to list only later moves."""
        current = {gid: self._positions[key] for key, gid in self._group_of.items() if key in self._positions}
        if not current:
            self._base_id, self._base = "", {}
            return
        base_id = secrets.token_hex(BASE_ID_LENGTH // 2)
        key = self._keys.resume_base(self._user_id, base_id)
        pipe = self._dispatcher.shared.pipeline()
        pipe.hset(key, mapping=current)
        pipe.expire(key, BASE_TTL_SECONDS)
        await pipe.execute()
        self._base_id, self._base, self._base_written = base_id, current, self._now()
        # (nothing moves a position while the base is written today, a drain waits for it; what
        # would have moved is still in `_touched`, and stays: filtered, not cleared)
        self._keep_uncovered()

    def _keep_uncovered(self) -> None:
        """`_touched` down to the group streams whose position the base does not cover."""
        base, group_of, at = self._base, self._group_of, self._positions
        self._touched = {k for k in self._touched if (g := group_of.get(k)) is not None and at.get(k) != base.get(g)}

    # ---- opening -----------------------------------------------------------------------------
    async def open(self, since: Cursor | None) -> list[LogEntry]:
        """Start following; returns the entries to replay (empty without `since`).

        Round trips: one for the user's groups, receive options and the cursor's base; the
        dispatcher's follow of the streams (none for streams this process already follows, else
        shared with the other opens of the moment); one for every stream's retention check and
        first page of replay, skipped for a stream whose position is its end (nothing to replay);
        one to write a base, for a user in groups opening without a base."""
        self._dispatcher.register(self.mailbox)
        user_state = self._dispatcher.shared.pipeline()  # with the other opens of the moment
        user_state.hgetall(self._keys.user_followed_groups(self._user_id))
        user_state.hgetall(self._keys.receive_options(self._user_id))
        base_key = self._keys.resume_base(self._user_id, since.base) if since is not None and since.base else ""
        if base_key:
            user_state.hgetall(base_key)
            user_state.expire(base_key, BASE_TTL_SECONDS)  # a cursor naming it keeps it alive
        joined, options, *kept = await user_state.execute()
        if base_key and not kept[0]:
            raise _not_retained()  # the base expired with the streams it pointed into
        silenced = {
            group
            for field, value in options.items()
            if (group := Keys.receive_option_group(field)) is not None
            and Keys.receive_option(value) == MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE
        }
        self._silenced = frozenset(silenced) if silenced else NONE_SILENCED
        for group_id in joined:
            self._group_of[self._keys.group_events(group_id)] = group_id
        tails = await self._dispatcher.follow_many(self.mailbox, [self._user_stream, *self._group_of])
        replay: list[LogEntry] = []
        self._touched = set(self._group_of)  # until a base covers them
        if since is None:
            self._positions = tails
        else:
            base: dict[str, str] = dict(kept[0]) if base_key else {}
            if base_key:
                self._base_id, self._base, self._base_written = since.base, base, self._now()
            self._positions = {self._user_stream: since.user}
            for key, group_id in self._group_of.items():
                # a group joined after the cursor's base was written resumes from its join position
                self._positions[key] = since.groups.get(group_id) or base.get(group_id) or str(joined[group_id])
            replay = await self._catch_up(tails)
            self._silenced = self._silenced_before(replay)
        self._keep_uncovered()  # a resume's base (or none yet) covers what did not move since it
        if not self._base_id:
            await self._write_base()
        self._dispatcher.streaming(self.mailbox)
        return replay

    async def _catch_up(self, tails: dict[str, str]) -> list[LogEntry]:
        """Every retained entry after the positions, merged across streams in log order; IMError
        6017 for a cursor whose next events were trimmed away (the client must re-fetch state).

        A stream whose position is the end the dispatcher follows it from needs nothing: what comes
        after reaches the mailbox. The others are read from their position itself (inclusive), so
        one command per stream both checks that the cursor's entry is still there (everything after
        it then is too) and reads the first page; all of them in one pipeline."""
        # read from each position inclusive on the first page, after the last entry read on the next
        starts = {key: pos for key, pos in self._positions.items() if tails.get(key) != pos}
        runs: list[list[LogEntry]] = []
        whole: list[str] = []  # streams resumed from their start: checked for trimming together
        first_page = True
        while starts:
            pipe = self._dispatcher.shared.pipeline()
            for key, start in starts.items():
                low = start if first_page else f"({start}"
                pipe.xrange(key, min=low, max="+", count=REPLAY_PAGE + 1 if first_page else REPLAY_PAGE)
            pages = await pipe.execute()
            more: dict[str, str] = {}
            for (key, start), rows in zip(starts.items(), pages, strict=True):
                full = len(rows) == (REPLAY_PAGE + 1 if first_page else REPLAY_PAGE)
                if first_page:
                    if rows and str(rows[0][0]) == start:
                        rows = rows[1:]  # the cursor's own entry: retained, and already delivered
                    elif start != positions.ORIGIN:
                        await self._refuse_unless_empty(key, start, bool(rows))
                    elif rows:  # from the start of the stream: whole unless something was trimmed
                        whole.append(key)
                if rows:
                    runs.append([LogEntry(key, str(i), f) for i, f in rows])
                if full:
                    more[key] = str(rows[-1][0])
            if whole:
                await self._refuse_if_trimmed(whole)
                whole = []
            starts, first_page = more, False
        if len(runs) == 1:
            return runs[0]
        merged = [entry for run in runs for entry in run]
        merged.sort(key=lambda e: positions.parse(e.entry_id))  # stable: equal IDs keep stream order
        return merged

    async def _refuse_if_trimmed(self, keys: list[str]) -> None:
        await refuse_if_trimmed(self._dispatcher.shared, keys)

    async def _refuse_unless_empty(self, key: str, pos: str, later: bool) -> None:
        """The cursor's entry in `key` is gone: 6017 if the stream still holds anything (trimmed past
        it, or not this user's cursor) or if it is older than the stream's life; a stream that is
        empty and younger than that (emptied by retention) has lost nothing after the cursor."""
        too_old = (self._now() * 1000 - positions.millis(pos)) > EVENT_STREAM_TTL_SECONDS * 1000
        if later or too_old or await self._redis.xrange(key, min="-", max="+", count=1):
            raise _not_retained()

    # ---- reading -----------------------------------------------------------------------------
    async def _consume(self, entry: LogEntry) -> list[tuple[IMEvent, bool]]:
        """Advance past `entry`; return what this subscription should see of it: its event if it is
        this listener's, or whatever the observer derives from another listener's event."""
        # a conversation notice matters only to a subscription that derives; taken before any
        # early return, so no batch override is left behind
        notice = self._notice_of(entry) if self._observe is not None else ""
        last = self._positions.get(entry.stream)
        if last is None or not positions.after(entry.entry_id, last):
            return []  # already replayed, or a stream we stopped following
        self._move(entry.stream, entry.entry_id)
        return await self._events_in(entry, notice)

    async def _events_in(
        self, entry: LogEntry, notice: str, only_group: str | None = None
    ) -> list[tuple[IMEvent, bool]]:
        """What this subscription should see of `entry` (consumed: its position passed). With
        `only_group`, only if it is that group's (or topic's) message."""
        fields = entry.fields
        listener = listener_of(fields.get(F_LISTENER), fields.get(F_EVENT, ""))
        if listener == CONTROL_LISTENER:
            return []  # never shown; applied by _control_deliveries
        target = fields.get(F_SESSION)
        if target is not None and not names_session(target, self._session_id, self._session_tag):
            return []
        mine = listener == self._listener
        if (
            names_session(fields.get(F_EXCEPT_SESSION), self._session_id, self._session_tag)
            or fields.get(F_EXCEPT_USER) == self._user_id
        ):
            if not notice:
                return []
            mine = False  # not shown to this session, but its conversation list changed too
        elif entry.stream != self._user_stream:
            notice = ""  # a group entry's notice is its sender's; members derive theirs from the message
        if not mine and target is None and self._observe is None:
            return []  # not ours, not a session notice, nobody derives from it: skip decoding
        event = await self._event_of(entry)
        if event is None:
            log.error("skipping undecodable (or unresolvable) event %s in %s", entry.entry_id, entry.stream)
            return []
        if only_group is not None and not (isinstance(event, OnRecvNewMessage) and event.message.groupID == only_group):
            return []
        if (
            isinstance(event, OnRecvNewMessage)
            and entry.stream != self._user_stream
            and event.message.groupID in self._silenced
        ):
            return []  # a large group's message to a member who set NOT_RECEIVE for it
        if isinstance(event, TERMINAL_EVENTS) and target is not None:
            self.mailbox.end(event.__class__.__name__)  # delivered, then every listener of the session ends
        if mine:
            return [(event, True)]
        if self._observe is not None:
            from_group = entry.stream != self._user_stream
            return [(derived, False) for derived in await self._observe(event, from_group, notice)]
        return []

    def _plain_group_delivery(self, entry: LogEntry, cursors: bool = True) -> Delivery | None:
        """The delivery of a group entry that is plainly this listener's event for this member
        (no session named or spared, not the member's own message, nothing derived from it, not
        silenced) and that the dispatcher has decoded already for all its followers: what
        `_deliveries_of` would give, decided without its awaits, for each of a large group's
        members. None: not such an entry (or not decoded yet), `_deliveries_of` decides."""
        stream = entry.stream
        if self._observe is not None or stream == self._user_stream:
            return None
        last = self._positions.get(stream)
        if last is None or not positions.after(entry.entry_id, last):
            return None
        one = plain_entry(entry, self._dispatcher.decoded)
        if one is None or not one.is_for(self._listener, self._user_id, self._silenced):
            return None
        self._move(stream, entry.entry_id)
        return Delivery(one.bare.event, self.cursor(), one.bare.shared) if cursors else one.bare

    async def _event_of(self, entry: LogEntry) -> IMEvent | None:
        """The entry's event: decoded, or resolved if it is a reference; None if neither works."""
        raw = entry.fields.get(F_EVENT, "")
        if entry.stream != self._user_stream:
            return await self._dispatcher.decoded.get(entry, raw)  # once for all of the group's followers
        if is_reference(raw):
            if entry.entry_id in self._resolved:
                return self._resolved.pop(entry.entry_id)
            (event,) = await self._dispatcher.resolve(self._user_id, [raw])
            return event
        try:
            return decode_event(raw)
        except msgspec.DecodeError:
            return None

    async def _resolve_batch(self, entries: Iterable[LogEntry | LocalEvent], *, replay: bool = False) -> None:
        """Resolve the reference entries about to be read in one round trip (a replay of a day of
        messages, a burst), rather than one each: the user's own in `_resolved`, groups' in the
        dispatcher's shared cache. `replay`: a subscription opening, whose own references (even a
        single one) are read in the pipeline shared with the other subscriptions opening at this
        moment (Dispatcher.resolve(together=True)): after a restart each of thousands of resuming
        clients replays a message or two of its own, and they were a round trip each."""
        own: list[LogEntry] = []
        shared: list[tuple[LogEntry, str]] = []
        for entry in entries:
            if not isinstance(entry, LogEntry):
                continue
            raw = entry.fields.get(F_EVENT, "")
            if not is_reference(raw):
                continue
            if self._observe is None and listener_of(entry.fields.get(F_LISTENER), raw) != self._listener:
                continue  # not one this subscription will read
            if entry.stream == self._user_stream:
                own.append(entry)
            else:
                shared.append((entry, raw))
        if len(own) > 1 or (replay and own):
            raws = [e.fields[F_EVENT] for e in own]
            events = await self._dispatcher.resolve(self._user_id, raws, together=replay)
            self._resolved.update((e.entry_id, event) for e, event in zip(own, events, strict=True))
        if len(shared) > 1:
            await self._dispatcher.decoded.prefetch(shared)

    async def _control_deliveries(self, entry: LogEntry) -> list[Delivery]:
        """Apply a control entry of the user's stream (a group's join or leave, a change of a
        group's receive option); returns what it makes this subscription deliver.

        A leave or an option change names the group stream's position when it was written, and
        takes effect there, not where this subscription happens to read it: the group's entries
        up to that position come before it. Those this subscription has not read yet (their read
        still to come, or merged after it within a millisecond) it reads from the log first and
        delivers under the state before, each with its own cursor, this entry not yet passed (a
        resume from one of them reads the rest the same way). Older entries name no position and
        take effect where they are read."""
        last = self._positions.get(entry.stream)
        if last is None or not positions.after(entry.entry_id, last):
            return []  # already replayed
        try:
            op = control_decoder.decode(entry.fields.get(F_EVENT, ""))
        except msgspec.DecodeError:
            self._move(entry.stream, entry.entry_id)
            return []
        key = self._keys.group_events(topic_parent(op.group) or op.group)
        out: list[Delivery] = []
        if op.op == "join":
            self._move(entry.stream, entry.entry_id)
            if key not in self._group_of:
                await self._join(key, op)
            return out
        receive_option = op.op in ("silence", "receive")
        if op.position:
            if receive_option:
                # the option's messages before its position, under the option they were sent with:
                # the other one (the engine writes a change only when the option flips)
                self._set_silenced(op.group, op.op == "receive")
            out += await self._read_up_to(key, op.position)
        if receive_option:
            out += await self._apply_receive_option(key, op)
        elif op.op == "leave" and key in self._group_of:
            del self._group_of[key]
            self._positions.pop(key, None)
            self._touched.discard(key)
            self._dispatcher.unfollow(self.mailbox, key)
            for group in [g for g in self._shown_until if (topic_parent(g) or g) == op.group]:
                del self._shown_until[group]
        self._move(entry.stream, entry.entry_id)
        if out:  # the last delivery resumes after this entry, not before it (_apply_receive_option)
            last_one = out[-1]
            out[-1] = Delivery(last_one.event, self.cursor(), last_one.shared)
        return out

    async def _join(self, key: str, op: ControlOp) -> None:
        self._group_of[key] = op.group
        self._move(key, op.position or positions.ORIGIN)
        await self._dispatcher.follow(self.mailbox, key)
        # entries between the join position and now were not offered to us: replay them
        for entry in await self._replay_one(key):
            self.mailbox.items.appendleft(entry)

    async def _read_up_to(self, key: str, position: str) -> list[Delivery]:
        """The deliveries of the group stream's entries up to `position` that this subscription
        has not read yet (none if it does not follow the stream, or has read that far)."""
        last = self._positions.get(key)
        if last is None or not positions.after(position, last):
            return []
        out: list[Delivery] = []
        async for entry in self._log_between(key, last, position):
            out += await self._deliveries_of(entry)
        return out

    async def _log_between(self, key: str, low: str, high: str) -> AsyncIterator[LogEntry]:
        """The entries of stream `key` after position `low`, up to `high` (included), in order,
        read a page (REPLAY_PAGE) per round trip."""
        while positions.after(high, low):
            rows = await self._redis.xrange(key, min=f"({low}", max=high, count=REPLAY_PAGE)
            for entry_id, fields in rows:
                yield LogEntry(key, str(entry_id), fields)
            if len(rows) < REPLAY_PAGE:
                return
            low = str(rows[-1][0])

    async def _apply_receive_option(self, key: str, op: ControlOp) -> list[Delivery]:
        """From here on the group's (or topic's) messages are judged by the new option. Those
        after its position that this subscription read before it (the group's entry came first,
        the control's poke was lost or late) were judged by the old one: shown, after a silence
        (they cannot be taken back; `_shown_until` remembers how far), hidden after a receive,
        so they are read again from the log and delivered now, late rather than lost."""
        group = op.group
        silencing = op.op == "silence"
        self._set_silenced(group, silencing)
        read = self._positions.get(key)
        passed = bool(op.position) and read is not None and positions.after(read, op.position)
        shown_until = self._shown_until.pop(group, "")
        if silencing:
            if passed and read is not None:
                self._shown_until[group] = read
            return []
        if not passed or read is None:
            return []
        low = op.position if not shown_until or positions.after(op.position, shown_until) else shown_until
        out: list[Delivery] = []
        async for entry in self._log_between(key, low, read):
            notice = notice_of(entry.fields)[0] if self._observe is not None else ""
            for event, own in await self._events_in(entry, notice, only_group=group):
                out.append(Delivery(event, self.cursor(), f"{key}#{entry.entry_id}" if own else ""))
        return out

    def _set_silenced(self, group: str, silenced: bool) -> None:
        if silenced:
            self._silenced = self._silenced | {group}
        elif group in self._silenced:
            self._silenced = self._silenced - {group} or NONE_SILENCED

    def _silenced_before(self, replay: list[LogEntry]) -> frozenset[str]:
        """The silenced groups as of a resume's cursor. Those loaded at opening are as of now; a
        group whose option the replay changes had the other option before its first change there
        (the engine writes a change only when the option flips)."""
        silenced = set(self._silenced)
        changed: set[str] = set()
        for entry in replay:
            fields = entry.fields
            if entry.stream != self._user_stream or listener_of(fields.get(F_LISTENER)) != CONTROL_LISTENER:
                continue
            try:
                op = control_decoder.decode(fields.get(F_EVENT, ""))
            except msgspec.DecodeError:
                continue
            if op.op in ("silence", "receive") and op.group not in changed:
                changed.add(op.group)
                (silenced.discard if op.op == "silence" else silenced.add)(op.group)
        return frozenset(silenced) if silenced else NONE_SILENCED

    async def _replay_one(self, key: str) -> list[LogEntry]:
        rows = await self._redis.xrange(key, min=f"({self._positions[key]}", max="+", count=REPLAY_PAGE)
        return [LogEntry(key, str(i), f) for i, f in reversed(rows)]

    async def _deliveries_of(self, entry: LogEntry) -> list[Delivery]:
        """What `entry` gives this subscription. A group stream's own event (not one derived from
        it) is the same for every member: its entry names it, so it can be rendered once for all
        (Delivery.shared)."""
        if entry.stream == self._user_stream:
            if listener_of(entry.fields.get(F_LISTENER)) == CONTROL_LISTENER:
                return await self._control_deliveries(entry)
            group_entry = ""
        else:
            group_entry = f"{entry.stream}#{entry.entry_id}"
        return [Delivery(event, self.cursor(), group_entry if own else "") for event, own in await self._consume(entry)]

    def close(self) -> None:
        """Stop following; safe to call more than once, and after a failed `open`."""
        self._dispatcher.unregister(self.mailbox)

    def _notice_of(self, entry: LogEntry) -> str:
        """The entry's notice kind, as a batch read left it (_coalesce_notices) or as written."""
        override = self._notices.pop((entry.stream, entry.entry_id), None) if self._notices else None
        return override if override is not None else notice_of(entry.fields)[0]

    def _coalesce_notices(self, entries: Iterable[LogEntry | LocalEvent]) -> None:
        """Of several entries of one conversation about to be read together, only the last one's
        notice is derived (new if any of them was): a derived notice reports the conversation's
        state when it is derived, so one is as good as many, and a replay of a day of messages
        costs one conversation read per conversation instead of one per message."""
        if self._observe is None:
            return
        last: dict[str, tuple[str, str]] = {}
        fresh: set[str] = set()
        for entry in entries:
            if not isinstance(entry, LogEntry) or entry.stream != self._user_stream:
                continue
            kind, conversation = notice_of(entry.fields)
            if not kind:
                continue
            if conversation in last:
                self._notices[last[conversation]] = ""  # superseded by this later entry
            last[conversation] = (entry.stream, entry.entry_id)
            if kind == CONVERSATION_NEW:
                fresh.add(conversation)
        for conversation in fresh:
            self._notices[last[conversation]] = CONVERSATION_NEW

    async def replayed(self, replay: list[LogEntry]) -> list[Delivery]:
        """The deliveries of the entries `open` returned."""
        self._coalesce_notices(replay)
        await self._resolve_batch(replay, replay=True)
        out: list[Delivery] = []
        for entry in replay:
            out += await self._deliveries_of(entry)
        self._resolved.clear()  # those of entries it skipped (already delivered live)
        return out

    def _base_due(self) -> bool:
        """The base is old enough to be written again (before cursors naming it are made)."""
        return bool(self._base_id) and self._now() - self._base_written > BASE_REFRESH_SECONDS

    def drain_now(self, *, cursors: bool = True) -> list[Delivery]:
        """The deliveries of the plain group entries at the head of the mailbox (`_plain_group_delivery`),
        taken without awaiting anything: a large group's message to each of its members. Stops at
        the first entry that is not one, or was not decoded yet; [] whenever `drain` has
        something to do first (an overflow to report, a base to refresh). What is left, `drain` takes.
        `cursors=False`: for a document that renders no cursor, the deliveries carry none ("");
        encoding each member's is a measurable part of a large group's fan-out."""
        mailbox = self.mailbox
        if mailbox.overflowed or not mailbox.pending:
            return []
        if self._base_due():
            return []
        items = mailbox.items
        out: list[Delivery] = []
        while items:
            item = items[0]
            if isinstance(item, LocalEvent):
                break
            plain = self._plain_group_delivery(item, cursors)
            if plain is None:
                break
            items.popleft()
            out.append(plain)
        mailbox.shrink()
        return out

    def take_plain(self, fanout: Fanout, *, cursors: bool = True) -> list[Delivery] | None:
        """The deliveries of a group's new entries handed out to all its local followers at once
        (gateway.events.fanout), taken without passing through the mailbox, when they are what
        `drain_now` would take from it: every one a plain group event for this member, nothing
        waiting ahead of them, no overflow, no base to refresh. None, having changed nothing,
        otherwise: the dispatcher then offers them to the mailbox as always."""
        mailbox = self.mailbox
        entries = fanout.entries
        if (
            self._observe is not None
            or mailbox.has_news
            or len(entries) > mailbox.capacity  # the mailbox's offer overflows
            or fanout.stream == self._user_stream
        ):
            return None
        plain = fanout.plain()
        stream = fanout.stream
        last = self._positions.get(stream)
        if plain is None or last is None or self._base_due():
            return None
        # a stream's entries come in order: all of them are new if the first one is
        if not positions.after(plain[0].entry_id, last):
            return None
        listener, user, silenced = self._listener, self._user_id, self._silenced
        for one in plain:
            if not one.is_for(listener, user, silenced):
                return None
        if not cursors:
            self._move(stream, plain[-1].entry_id)
            return fanout.bare  # the same for every member without cursors: one list, not one each
        out: list[Delivery] = []
        for one in plain:
            self._move(stream, one.entry_id)
            out.append(Delivery(one.bare.event, self.cursor(), one.bare.shared))
        return out

    @property
    def finished(self) -> bool:
        """Ended (session over, gateway stopping) with nothing left to hand out."""
        return self.mailbox.ended is not None and not self.mailbox.pending

    async def drain(self) -> list[Delivery]:
        """Everything that has arrived since the last drain, in log order ([] if nothing has).

        Raises IMError 7008 once the mailbox overflowed. That is checked before anything is
        consumed, so the cursor in the error is the one after the last delivery handed out: a
        drain whose mailbox overflows midway returns what it consumed, and the next one raises.
        """
        mailbox = self.mailbox
        if mailbox.overflowed:
            raise IMError(
                Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                "subscription fell too far behind and was closed; subscribe again with "
                f"since: {self.cursor()!r} to receive the rest",
            )
        if not mailbox.pending:
            return []
        if self._base_due():
            await self._write_base()  # before cursors are made, so they name a live base
        if len(mailbox.items) > 1:  # both look at several entries read together; one alone needs neither
            self._coalesce_notices(mailbox.items)
            await self._resolve_batch(mailbox.items)
        out: list[Delivery] = []
        while mailbox.items:
            item = mailbox.items.popleft()
            if isinstance(item, LocalEvent):
                out.append(Delivery(item.event, self.cursor()))
                continue
            plain = self._plain_group_delivery(item)
            if plain is not None:
                out.append(plain)
                continue
            out += await self._deliveries_of(item)
        self._resolved.clear()  # those of entries it skipped (already replayed)
        mailbox.shrink()
        return out


async def current_cursor(redis: Any, keys: Keys, user_id: str) -> str:
    """A cursor at the current end of every stream `user_id` reads (its own, each of its groups'):
    `since` it replays every event appended after this moment. Read BEFORE loading state, then
    passed to a subscription, it closes the gap between "load" and "subscribe" (docs/events.md).

    Two round trips (the groups, then every stream's last entry in one pipeline), and a third for
    a user in groups: the group positions are kept as a base (as a subscription's are), so the
    cursor stays small however many groups the user is in."""
    user_stream = keys.user_events(user_id)
    joined = await redis.hgetall(keys.user_followed_groups(user_id))
    group_ids = [str(g) for g in joined]
    pipe = redis.pipeline(transaction=False)
    pipe.xrevrange(user_stream, "+", "-", count=1)
    for group_id in group_ids:
        pipe.xrevrange(keys.group_events(group_id), "+", "-", count=1)
    ends = await pipe.execute()
    user = str(ends[0][0][0]) if ends[0] else positions.ORIGIN
    # a group with no retained entry resumes from where the user joined it, as a subscription would
    groups = {
        group_id: str(end[0][0]) if end else str(joined[group_id]) or positions.ORIGIN
        for group_id, end in zip(group_ids, ends[1:], strict=True)
    }
    if not groups:
        return Cursor(user=user).encode()
    base_id = secrets.token_hex(BASE_ID_LENGTH // 2)
    key = keys.resume_base(user_id, base_id)
    pipe = redis.pipeline(transaction=False)
    pipe.hset(key, mapping=groups)
    pipe.expire(key, BASE_TTL_SECONDS)
    await pipe.execute()
    return Cursor(user=user, base=base_id).encode()


async def refuse_if_trimmed(shared: SharedPipelines, keys: list[str]) -> None:
    """A cursor from before a stream's first entry (a user's, or a group's as they joined it, with
    no event yet) resumes the whole stream: 6017 once Redis has deleted any of its entries
    (trimmed to its length, or by the retention), which the client would otherwise never see; 6017
    too for a stream gone since its entries were read (the retention deletes a log it empties).
    One round trip for all of `keys`, shared with the other opens of the moment."""
    pipe = shared.pipeline()
    for key in keys:
        pipe.xinfo_stream(key)
    try:
        infos = await pipe.execute()
    except ResponseError as exc:
        if "no such key" in str(exc).lower():
            raise _not_retained() from None
        raise
    for info in infos:
        deleted = info.get("max-deleted-entry-id") or positions.ORIGIN
        deleted = deleted.decode() if isinstance(deleted, bytes) else str(deleted)
        added = info.get("entries-added")
        if deleted != positions.ORIGIN or (added is not None and int(added) > int(info["length"])):
            raise _not_retained()


def _not_retained() -> IMError:
    return IMError(
        Code.ERR_INVALID_PARAMETERS,
        "since: events after this cursor are no longer retained (or it is not one of this user's "
        "cursors); re-fetch state with the queries, then subscribe without since",
    )
