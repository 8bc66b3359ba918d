"""Message retention (IMQL_MESSAGE_RETENTION_DAYS): messages older than the retention leave their
timelines, indexes and event logs, a little at a time.

Like Tencent's roaming days: once a message is older than the retention, history no longer has it.
A pass walks the app's keys (SCAN, on every primary of a cluster) and, for each timeline, deletes
its oldest messages up to the first one still within the retention: with its unread and @ marks,
its read receipts, extensions and kept versions, its "deleted for me" marks and its users' local
data (C2C). A timeline remembers how far it was trimmed (`Keys.timeline_floor`), so the next pass
starts there and history paging stops there. Event logs (users' and groups') lose their entries
older than the retention, by the clock that stamped them (Redis's).

Seqs follow time, so a timeline is trimmed from its lowest seq up; a message that a REST import
gave an older time than the one before it goes when the trim reaches its seq. Messages are kept
EVENT_MARGIN_SECONDS longer than log entries, so a log entry never outlives the message it refers
to (gateway.engine.message_events). What is kept about a message is known here only: a dismissed
group's timelines are erased whole with it (`erase_timeline`).

Work is bounded: each `step` does at most its budget of SCAN calls, keys and messages (the
background loop, gateway.housekeeping.MessageRetention, runs one step a second). One replica runs
a pass at a time (`Keys.retention_lock`); a second one would only repeat idempotent deletes.
"""

from __future__ import annotations

import secrets
from typing import Any

from gateway.engine.codec import STORED_DEC
from gateway.engine.message_core import AT_ALL
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.engine.unread_index import UnreadIndex
from gateway.ids import c2c_conversation_id
from gateway.im.messages import StoredMessage
from gateway.keys import Keys
from gateway.store import scan_one, scan_targets

TRIM_BATCH = 200  # seqs read per round trip while trimming a timeline
SCAN_COUNT = 200  # keys asked of SCAN per call
SCAN_COST = 20  # a SCAN call in units of the budget (it looks at SCAN_COUNT keys, most of them not ours)
EVENT_MARGIN_SECONDS = 60  # messages are kept this much longer than the log entries about them
# A log's entries older than ARGV[1] (ms) trimmed, and a log left empty deleted, in one step (an
# append between the two would otherwise go with it). A log that does not exist is one that never
# had an entry to a cursor taken on it ("0-0"), which resumes from its start; an empty one that
# stayed would read as having had entries trimmed after such a cursor (EventStream refuses it).
_TRIM_EVENTS = PipelinedScript(
    """
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[1])
if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
"""
)
PASS_LOCK_SECONDS = 1800  # one replica's pass at a time; another takes over if it dies


class _Pass:
    """Where a pass is: the SCANs still to make (timelines, then logs; on a cluster, each on every
    primary), the cursor of the current one, the keys it found still to do, and a timeline left
    half trimmed by the budget."""

    def __init__(self, patterns: list[str], targets: list[Any]) -> None:
        self.scans = [(pattern, target) for pattern in patterns for target in targets]
        self.cursor = 0
        self.keys: list[str] = []
        self.timeline: str | None = None


class MessageRetention:
    def __init__(self, redis: Any, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._unread_index = UnreadIndex(redis, keys)
        self._token = secrets.token_hex(8)
        self._pass: _Pass | None = None  # the pass under way, if any

    async def step(self, now: float, retention_seconds: float, budget: int) -> bool:
        """Trim what is older than `retention_seconds` at `now` (unix s), for at most `budget` units
        of work (a key handled, a message read, SCAN_COST a SCAN); returns whether the pass goes on
        (False: it is done, or it is another replica's turn)."""
        if self._pass is None:
            if not await self._redis.set(self._keys.retention_lock(), self._token, nx=True, ex=PASS_LOCK_SECONDS):
                return False
            app = self._keys.app
            patterns = [f"imql:{{{app}:*:messages", f"imql:{{{app}:*:events"]
            self._pass = _Pass(patterns, scan_targets(self._redis))
        work = self._pass
        cutoff = now - retention_seconds - EVENT_MARGIN_SECONDS
        seconds, micros = await self._redis.time()  # the clock that stamped the log entries
        events_cutoff_ms = int(seconds) * 1000 + int(micros) // 1000 - int(retention_seconds * 1000)
        while budget > 0:
            if work.timeline is not None:
                finished, used = await self.trim_timeline(work.timeline, cutoff, budget)
                budget -= used
                if not finished:
                    return True
                work.timeline = None
            elif work.keys:
                key = work.keys.pop()
                budget -= 1
                if key.endswith(":events"):
                    await run_script(self._redis, _TRIM_EVENTS, [key], [events_cutoff_ms])
                else:
                    work.timeline = key[: -len(":messages")]
            elif work.scans:
                pattern, target = work.scans[0]
                work.cursor, work.keys = await scan_one(self._redis, target, work.cursor, pattern, SCAN_COUNT)
                budget -= SCAN_COST
                if not work.cursor:
                    work.scans.pop(0)
            else:
                self._pass = None
                await self._redis.delete(self._keys.retention_lock())
                return False
        return True

    async def trim_timeline(self, timeline: str, cutoff: float, budget: int) -> tuple[bool, int]:
        """Delete the timeline's messages sent before `cutoff`, from its floor up to the first one
        kept; returns (whether it got there, the messages it read)."""
        floor_key = Keys.timeline_floor(timeline)
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(floor_key)
        pipe.get(Keys.timeline_seq(timeline))
        floor_raw, last_raw = await pipe.execute()
        floor, last = int(floor_raw or 0), int(last_raw or 0)
        used = 0
        read_up_to = floor  # the seqs read so far; the floor only moves up to a message deleted
        while read_up_to < last and used < budget:
            seqs = [str(q) for q in range(read_up_to + 1, min(read_up_to + min(TRIM_BATCH, budget - used), last) + 1)]
            pipe = self._redis.pipeline(transaction=False)
            pipe.hmget(Keys.timeline_messages(timeline), seqs)
            pipe.hmget(Keys.timeline_cleared(timeline), seqs)
            kept, cleared = await pipe.execute()
            used += len(seqs)
            doomed: list[StoredMessage] = []
            reached = floor
            for seq, raw, raw_cleared in zip(seqs, kept, cleared, strict=True):
                body = raw or raw_cleared
                if not body:
                    # No message at this seq: one that was never used, or one a send has taken
                    # but not written yet. The floor passes it only on the way to an older
                    # message after it, never on its own, or a message being sent right now
                    # would land under the floor and never be seen.
                    continue
                message = STORED_DEC.decode(body)
                if message.timestamp >= cutoff:
                    await self._delete(timeline, doomed, floor, reached)
                    return True, used  # the first message kept: everything after it is newer
                doomed.append(message)
                reached = int(seq)
            await self._delete(timeline, doomed, floor, reached)
            floor = reached
            read_up_to = int(seqs[-1])
        return read_up_to >= last, used

    async def _delete(self, timeline: str, messages: list[StoredMessage], floor: int, reached: int) -> None:
        """Delete these messages and everything kept about them; the timeline's floor moves to
        `reached` (seqs up to it are gone, or were never used)."""
        if reached <= floor:
            return
        pipe = self._redis.pipeline(transaction=False)
        self.queue_removal(pipe, timeline, messages)
        pipe.set(Keys.timeline_floor(timeline), reached)
        await pipe.execute()

    async def erase_timeline(self, timeline: str) -> None:
        """Delete a whole timeline (its group's dismissal): every message, kept or cleared for
        everyone, with everything kept about it, TRIM_BATCH at a time (HSCAN: a group's history
        may be long, and most seqs of a live room's have no message), then the timeline's own keys.
        A cut leaves the rest of the timeline as it was: running it again finishes it."""
        for stored in (Keys.timeline_messages(timeline), Keys.timeline_cleared(timeline)):
            cursor = 0
            while True:
                cursor, found = await self._redis.hscan(stored, cursor, count=TRIM_BATCH)
                # the cleared hash also holds how far it was cleared (a field that is no seq)
                messages = [STORED_DEC.decode(raw) for seq, raw in found.items() if seq.isdigit()]
                if messages:
                    pipe = self._redis.pipeline(transaction=False)
                    self.queue_removal(pipe, timeline, messages)
                    await pipe.execute()
                if not int(cursor):
                    break
        await self._redis.delete(
            Keys.timeline_seq(timeline),
            Keys.timeline_floor(timeline),
            Keys.timeline_countable(timeline),
            Keys.message_revisions(timeline),
            Keys.timeline_messages(timeline),
            Keys.timeline_cleared(timeline),
        )

    def queue_removal(self, pipe: Any, timeline: str, messages: list[StoredMessage]) -> None:
        """Into a write pipeline: these messages of `timeline` deleted, what is kept about them
        first and their bodies last, so that a cut leaves a message to find again, never marks or
        keys of a message no longer there."""
        for m in messages:
            self._queue_marks(pipe, timeline, m)
        self._unread_index.queue_trimmed(pipe, messages)
        if messages:
            seqs = [str(m.seq) for m in messages]
            pipe.hdel(Keys.timeline_messages(timeline), *seqs)
            pipe.hdel(Keys.timeline_cleared(timeline), *seqs)

    def _queue_marks(self, pipe: Any, timeline: str, m: StoredMessage) -> None:
        """What is kept about one message besides its body."""
        seq = str(m.seq)
        if m.groupID:
            pipe.zrem(Keys.timeline_countable(timeline), seq)
            for who in dict.fromkeys(m.groupAtUserList):
                pipe.zrem(Keys.timeline_at(timeline, "*" if who == AT_ALL else who), seq)
            pipe.hdel(self._keys.local_message_data(m.sender), m.msgID)
        else:
            for user, other in ((m.sender, m.receiver), (m.receiver, m.sender)):
                pipe.zrem(Keys.timeline_countable_for(timeline, user), seq)
                pipe.srem(self._keys.hidden_messages(user, c2c_conversation_id(other)), seq)
                pipe.hdel(self._keys.local_message_data(user), m.msgID)
        # whatever the message's flags: a revocation writes the version of a message never
        # modified, and with an upstream any message takes receipts and extensions
        pipe.delete(*self._keys.message_side_keys(timeline, m.seq))
        if m.version:
            pipe.hdel(Keys.message_revisions(timeline), *(f"{m.seq}:{v}" for v in range(m.version)))
