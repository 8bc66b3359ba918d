"""The write side of the event bus: append events to durable streams, then poke readers.

Every event goes to a Redis Stream (the source of truth) and, in the same script, a PUBLISH on
that stream's poke channel wakes the dispatchers that follow the stream. The poke carries the entry
itself, with the ID of the entry before it (APPEND_SCRIPT): a dispatcher whose position is that
previous entry delivers it without reading the stream (a round trip less between a send and its
delivery); any other dispatcher reads the stream from its position, as it does for an empty poke
(written by older gateways). A lost poke delays an event (the dispatcher's sweep finds it); it
never loses one, nor reorders one. The stream's TTL is refreshed with the event only when this
process has not refreshed it within the last hour (EVENT_TTL_REFRESH_SECONDS), not per event.

Group events are stored once, in the group's stream, whatever the group's size (read diffusion):
members' subscriptions follow the streams of their groups, so a send costs the same Redis commands
for 3 members as for 100,000. Copying into each member's stream (write diffusion) was measured and
dropped: a 200-member send cost ~335 ms against ~4 ms stored once (docs/events.md).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import msgspec

from gateway.clock import Clock, SystemClock
from gateway.events.entries import (
    NOTICE_CHANGED,
    NOTICE_NEW,
    Reference,
    encode_reference,
    listener_code,
    reference_notice,
    session_tag,
)
from gateway.ids import topic_parent
from gateway.im.events import IMEvent, encode_event
from gateway.keys import Keys
from gateway.lean.cluster import ImqlCluster
from gateway.store import database_of

# At least this many events are kept per stream; trimming is approximate (`MAXLEN ~`), which only
# ever keeps more. Together with the TTL below this is the documented retention.
EVENT_RETENTION_COUNT = 10_000
# A stream with no new event for this long is dropped whole. Twice the promised 24 hours, so an
# event is always kept at least 24 hours unless 10,000 newer ones pushed it out.
EVENT_STREAM_TTL_SECONDS = 48 * 3600
# An append refreshes its stream's TTL only if this process has not refreshed it for this long
# (an EXPIRE per event was 2 of a C2C send's 21 commands). Any bound under the TTL's 24-hour
# margin keeps the promise above: an event appended at t follows a refresh at or after t - 1 h
# (this process's, confirmed, `appended`), so its stream lives until t + 47 h at least, whichever
# process appends next. An hour, not more: a stream that something outside imql deletes (an
# operator, eviction) and an append makes anew has no TTL until an append an hour after this
# process's last refresh (every process's memo has lapsed by then), and the shorter that is the
# better; an active stream still costs one EXPIRE an hour per process instead of one per event.
EVENT_TTL_REFRESH_SECONDS = 3600.0
# Streams remembered per process (~150 B each); the oldest refresh is forgotten past this, which
# only costs its next append an EXPIRE.
EVENT_TTL_MEMO_MAX = 50_000

# Stream entry field names (short: they are stored in every entry). Their values are written
# compactly (gateway.events.entries): listener codes, session tags, events without default fields.
F_LISTENER = "l"
F_EVENT = "e"
F_SESSION = "s"
F_EXCEPT_SESSION = "x"
F_EXCEPT_USER = "xu"
# On a C2C message's entry: its conversation changed for the user whose stream it is in, as
# "<kind>:<conversationID>", kind "new" when it appeared in their list with this message, else
# "changed" (written as one letter; in a reference's kind when it is about the referenced message's
# conversation, gateway.events.entries). conversationListener subscriptions derive the notice from it, so
# a send does not compute conversation views nobody may be watching, and a subscription reading
# several entries of one conversation at once derives it once (notice_of).
F_CONVERSATION = "c"
CONVERSATION_NEW = "new"
CONVERSATION_CHANGED = "changed"
_NOTICE_CODES = {CONVERSATION_NEW: NOTICE_NEW, CONVERSATION_CHANGED: NOTICE_CHANGED}
_NOTICE_KINDS = {NOTICE_NEW: CONVERSATION_NEW, NOTICE_CHANGED: CONVERSATION_CHANGED}
# Entries of this pseudo-listener steer subscriptions (group joins and leaves); never shown.
CONTROL_LISTENER = "_bus"


class ControlOp(msgspec.Struct, frozen=True):
    op: str  # "join" | "leave" a group's stream; "silence" | "receive" its messages
    group: str  # a group; for "silence" / "receive" also a topic (its messages: its community's stream)
    # the group's stream's last entry when the op was written ("" in older entries): where it takes effect
    position: str = ""


# The append: the entry (approximately trimmed to EVENT_RETENTION_COUNT) and its poke, in one atomic
# step, so pokes go out in the stream's order and each names the entry before its own. KEYS: the
# stream, its poke channel; ARGV: the publish command (SPUBLISH on a cluster: the poke stays on the
# stream's shard), the trim length, the database number (a server's channels are shared by all its
# databases: a reader on another one must not take the entry for one of its own), the poke's fields
# (JSON), then the entry's fields and values. The poke: "<database> <previous ID> <ID> <fields>".
# EVAL, not EVALSHA: it rides in write pipelines, which a NOSCRIPT (a restarted or failed-over
# Redis) must not cut in half; Redis keeps the compiled script by its digest either way.
APPEND_SCRIPT = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = '0-0'
if last[1] then previous = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 5))
redis.call(ARGV[1], KEYS[2], ARGV[3] .. ' ' .. previous .. ' ' .. id .. ' ' .. ARGV[4])
return id
"""

_fields_encoder = msgspec.json.Encoder()
_control_encoder = msgspec.json.Encoder()
control_decoder = msgspec.json.Decoder(ControlOp)


class EventBus:
    def __init__(self, redis: Any, keys: Keys, clock: Clock | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock or SystemClock()
        # a cluster's pokes stay on their stream's shard (a plain PUBLISH is copied to every node)
        self._publish_command = "SPUBLISH" if isinstance(redis, ImqlCluster) else "PUBLISH"
        self._database = str(database_of(redis))
        # stream -> when this process last refreshed its TTL (confirmed: the pipeline succeeded),
        # oldest first. An OrderedDict, not a dict: evicting a dict's first key again and again
        # leaves a growing run of deleted slots that each next(iter()) scans past (quadratic once
        # full: an all-member push to 1M users spent 35 s evicting, 0.3 s with popitem)
        self._ttl_refreshed: OrderedDict[str, float] = OrderedDict()
        # pipeline -> the streams whose TTL it refreshes, confirmed by `appended` once it succeeded
        self._ttl_queued: weakref.WeakKeyDictionary[Any, dict[str, float]] = weakref.WeakKeyDictionary()

    def _append(self, pipe: Any, stream: str, fields: dict[str, str]) -> None:
        flat = [part for pair in fields.items() for part in pair]
        poked = _fields_encoder.encode(fields)
        channel = Keys.poke_channel(stream)
        command, database = self._publish_command, self._database
        pipe.eval(APPEND_SCRIPT, 2, stream, channel, command, EVENT_RETENTION_COUNT, database, poked, *flat)
        now = self._clock.now()
        refreshed = self._ttl_refreshed.get(stream)
        # (a clock set back refreshes at once: the memo's age is unknown then)
        if refreshed is None or not 0 <= now - refreshed < EVENT_TTL_REFRESH_SECONDS:
            queued = self._ttl_queued.setdefault(pipe, {})
            if stream not in queued:  # once per pipeline
                pipe.expire(stream, EVENT_STREAM_TTL_SECONDS)
                queued[stream] = now

    def appended(self, pipe: Any) -> None:
        """`pipe`, which events were queued on (`queue_publish`), has executed without error
        (`execute` runs and confirms it): its TTL refreshes took effect, so the next appends to
        those streams may skip theirs. A caller that never says so (or whose pipeline failed,
        maybe between an XADD and its EXPIRE) leaves the refresh unconfirmed, and the stream's
        next append refreshes it again."""
        queued = self._ttl_queued.pop(pipe, None)
        if not queued:
            return
        memo = self._ttl_refreshed
        for stream, at in queued.items():
            memo[stream] = at
            memo.move_to_end(stream)  # the memo stays in refresh order
        while len(memo) > EVENT_TTL_MEMO_MAX:
            memo.popitem(last=False)

    async def execute(self, pipe: Any) -> None:
        """Run `pipe`, which events were queued on, and confirm its TTL refreshes (`appended`): how
        every writer of events runs its pipeline, so none can forget the confirmation."""
        await pipe.execute()
        self.appended(pipe)

    async def publish(
        self,
        user_ids: Iterable[str],
        event: IMEvent,
        *,
        session_id: str | None = None,
        except_session: str | None = None,
        reference: Reference | None = None,
    ) -> None:
        """Append `event` to each user's log; `session_id` limits it to that one session, and
        `except_session` spares the session that caused it (the SDK's "other devices").
        `reference`: what is stored instead of the event, a reference its resolver turns back into
        exactly this event for each of these users (gateway.events.entries)."""
        pipe = self._redis.pipeline(transaction=False)
        if self.queue_publish(
            pipe, user_ids, event, session_id=session_id, except_session=except_session, reference=reference
        ):
            await self.execute(pipe)

    def queue_publish(
        self,
        pipe: Any,
        user_ids: Iterable[str],
        event: IMEvent,
        *,
        session_id: str | None = None,
        except_session: str | None = None,
        conversation: tuple[str, str] | None = None,
        reference: Reference | None = None,
    ) -> int:
        """`publish` queued on the caller's pipeline (after the writes it reports, in the same round
        trip); returns how many users it addresses. `conversation` (CONVERSATION_NEW / _CHANGED, and
        the conversation's ID) marks a message event whose conversation notice the users'
        subscriptions derive; it reaches them even in the session `except_session` spares, whose
        conversation list changed too."""
        fields = _event_fields(event, conversation, reference)
        if session_id is not None:
            fields[F_SESSION] = session_tag(session_id)
        if except_session is not None:
            fields[F_EXCEPT_SESSION] = session_tag(except_session)
        count = 0
        for user_id in dict.fromkeys(user_ids):
            self._append(pipe, self._keys.user_events(user_id), fields)
            count += 1
        return count

    async def publish_to_group(
        self,
        group_id: str,
        event: IMEvent,
        *,
        except_user: str | None = None,
        conversation: tuple[str, str] | None = None,
        reference: Reference | None = None,
    ) -> None:
        """An event for every member of a group but `except_user`: stored once in the group's
        stream, which its members' subscriptions follow. `conversation` is the notice that
        `except_user`'s own subscriptions derive from it (the sender's conversation changed too);
        the other members derive theirs from the message itself. `reference`: as in `publish`,
        resolved with no viewer (the same event for every member)."""
        fields = _event_fields(event, conversation, reference)
        if except_user is not None:
            fields[F_EXCEPT_USER] = except_user
        pipe = self._redis.pipeline(transaction=False)
        self._append(pipe, self._keys.group_events(group_id), fields)
        await self.execute(pipe)

    async def group_position(self, group_id: str) -> str:
        """The current end of a group's stream ("0-0" when it has none yet)."""
        last = await self._redis.xrevrange(self._keys.group_events(group_id), "+", "-", count=1)
        return str(last[0][0]) if last else "0-0"

    async def join_group_stream(self, user_ids: Iterable[str], group_id: str) -> None:
        """From now on these users' subscriptions follow the group's stream (from this point)."""
        position = await self.group_position(group_id)
        op = _control_encoder.encode(ControlOp(op="join", group=group_id, position=position)).decode()
        pipe = self._redis.pipeline(transaction=False)
        for user_id in dict.fromkeys(user_ids):
            pipe.hset(self._keys.user_followed_groups(user_id), group_id, position)
            self._append(pipe, self._keys.user_events(user_id), {F_LISTENER: CONTROL_LISTENER, F_EVENT: op})
        await self.execute(pipe)

    async def receive_option_changed(
        self, user_id: str, group_id: str, receiving: bool, *, keep: tuple[str, int] | None = None
    ) -> None:
        """The user's subscriptions drop (or pass again) the group's messages: its receive option
        V2TIM_NOT_RECEIVE_MESSAGE, applied where the group's stream is read. `group_id` may be a
        topic, whose messages are in its community's stream. The entry names that stream's
        position now: its messages up to there are judged by the option before, later ones by
        this one, in whatever order a subscription reads the two streams (stream.EventStream).
        `keep`: the option's field and value in the user's receive-options hash, written in the
        same round trip as the entry, so that a subscription opening meanwhile (it loads the
        options) is unlikely to find the one without the other."""
        position = await self.group_position(topic_parent(group_id) or group_id)
        control = ControlOp(op="receive" if receiving else "silence", group=group_id, position=position)
        op = _control_encoder.encode(control).decode()
        pipe = self._redis.pipeline(transaction=False)
        if keep is not None:
            pipe.hset(self._keys.receive_options(user_id), keep[0], keep[1])
        self._append(pipe, self._keys.user_events(user_id), {F_LISTENER: CONTROL_LISTENER, F_EVENT: op})
        await self.execute(pipe)

    async def leave_group_stream(self, user_ids: Iterable[str], group_id: str) -> None:
        """From now on these users' subscriptions stop following the group's stream, after its
        entries up to this point: a subscription that reads the leave before one of them (a read
        still under way, the same millisecond in both streams) reads it from the log first."""
        position = await self.group_position(group_id)
        op = _control_encoder.encode(ControlOp(op="leave", group=group_id, position=position)).decode()
        pipe = self._redis.pipeline(transaction=False)
        for user_id in dict.fromkeys(user_ids):
            pipe.hdel(self._keys.user_followed_groups(user_id), group_id)
            self._append(pipe, self._keys.user_events(user_id), {F_LISTENER: CONTROL_LISTENER, F_EVENT: op})
        await self.execute(pipe)


def notice_of(fields: dict[str, str]) -> tuple[str, str]:
    """An entry's conversation notice: (kind, conversationID), or ("", "") when it has none."""
    stored = fields.get(F_CONVERSATION)
    if stored:
        kind, _, conversation = stored.partition(":")
    else:  # none, or in the reference's kind, about the referenced message's conversation
        kind, conversation = reference_notice(fields.get(F_EVENT, ""))
    return (_NOTICE_KINDS.get(kind, kind), conversation) if kind else ("", "")


def _event_fields(
    event: IMEvent, conversation: tuple[str, str] | None = None, reference: Reference | None = None
) -> dict[str, str]:
    """A stream entry's fields for an event (or the reference stored for it) and its conversation
    notice, if it carries one (read back by `notice_of`); callers add who it is (not) for."""
    code = _NOTICE_CODES[conversation[0]] if conversation is not None else ""
    if reference is not None:
        same = conversation is not None and conversation[1] == reference.conversation
        fields: dict[str, str] = {F_EVENT: encode_reference(reference, code if same else "")}
        if conversation is not None and not same:
            fields[F_CONVERSATION] = f"{code}:{conversation[1]}"
        return fields
    fields = {F_LISTENER: listener_code(event.LISTENER), F_EVENT: encode_event(event).decode()}
    if conversation is not None:
        fields[F_CONVERSATION] = f"{code}:{conversation[1]}"
    return fields
