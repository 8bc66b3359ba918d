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
group's timelines are erased whole by its erasers, a budget at a time (`erase_part`, driven by
gateway.engine.groups.eraser), a write racing the dismissal takes back its own (`take_back`), and a
deleted topic's timeline is erased by its deletion up to a budget, the rest by the same erasers
(`erase_part` with `Erasure.up_to`, gateway.engine.groups.topic_erasure), or whole by its deletion
on a mirror (`erase_timeline`).

Work is bounded: each `step` does at most its budget of SCAN calls, keys and messages (the
background loop, gateway.housekeeping.MessageRetention, runs one step a second). One replica runs
a pass at a time (`Keys.retention_lock`); a second one would only repeat idempotent deletes.
"""

from __future__ import annotations

import secrets
from typing import Any

from gateway.engine.codec import STORED_DEC
from gateway.engine.groups.store import CLOSED_FIELD
from gateway.engine.message_core import at_sets
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.engine.unread_index import UnreadIndex
from gateway.ids import c2c_conversation_id
from gateway.im.messages import StoredMessage
from gateway.keys import Keys
from gateway.store import scan_one, scan_targets

# the field of the cleared-messages hash that holds how far it was cleared, not a message
# (gateway.engine.group_messages.CLEARED_UPTO; that module imports this one, through groups.extras)
CLEARED_UPTO = "upto"
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
# A timeline's own keys deleted once it holds no message (`erase_part`, `take_back`). KEYS: its seq
# counter, floor, countable seqs, kept revisions, messages and cleared messages, and for a group's
# own timeline its group's info (one slot; a topic's timeline has a tag of its own, so none).
# Answers 1 (deleted, or nothing there), 0 (messages are left: what a write during the last scan
# put there) or -1 (the group is open: a group made again under the ID, whose timeline this is
# now). A message's marks and side keys go before its body (`queue_removal`), so a timeline with no
# message body has nothing of any message left but what a writer taking back its own is removing.
# ARGV[1] 'keep-seq': the seq counter stays (a deleted topic's timeline, `Erasure.up_to`: its
# erasure's bound may still be read from it, and the erasure records its last value before it
# deletes it, gateway.engine.groups.topic_erasure).
_DROP_IF_EMPTY = PipelinedScript(
    f"""
if KEYS[7] and redis.call('EXISTS', KEYS[7]) == 1 and redis.call('HEXISTS', KEYS[7], '{CLOSED_FIELD}') == 0 then
  return -1
end
if redis.call('HLEN', KEYS[5]) > 0 then return 0 end
if redis.call('HLEN', KEYS[6]) > redis.call('HEXISTS', KEYS[6], '{CLEARED_UPTO}') then return 0 end
if ARGV[1] == 'keep-seq' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
else
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
end
return 1
"""
)


class _Pass:
    """Where a pass is: the SCANs still to make (timelines, then logs; on a cluster, each on every
    primary), the cursor of the current one, the keys it found still to do, and a timeline left
    half trimmed by the budget."""

    def __init__(self, patterns: list[str], targets: list[Any]) -> None:
        self.scans = [(pattern, target) for pattern in patterns for target in targets]
        self.cursor = 0
        self.keys: list[str] = []
        self.timeline: str | None = None


class Erasure:
    """Where the erasure of one timeline is (`MessageRetention.erase_part`): the hash being scanned
    (its messages, then its cleared messages), the HSCAN cursor in it, and whether it is done
    (`lost`: given up, the timeline being a new group's). `info`: the group's info when the
    timeline is the group's own (`take_back` says why). `closed_in`: the info hash of the group
    being erased (the community's, for a topic's timeline), which must still read closed before
    each batch of messages is erased: once it does not, the group was finished by another eraser
    (and maybe made again under its ID), and the timeline is no longer this erasure's.

    A deleted topic's timeline (`up_to`, `still`) is erased up to the seq its counter had once the
    topic's deletion committed, and only while its community still marks it so (`still`: a hash, a
    field and its value, read before each batch): no topic is made under the ID while the mark is
    there, so nothing above that seq is the deleted topic's but what a racing send writes and takes
    back itself. The passes end with one that finds no message up to the seq; the timeline's own
    keys go then only if it holds no message at all, and its seq counter not here: the topic's
    erasure records its last value (a topic made again under the ID goes on from it: its members'
    read marks may still name the old seqs) and deletes it at its end
    (gateway.engine.groups.topic_erasure)."""

    def __init__(
        self,
        timeline: str,
        info: str | None = None,
        *,
        closed_in: str | None = None,
        up_to: int | None = None,
        still: tuple[str, str, str] | None = None,
    ) -> None:
        self.timeline = timeline
        self.info = info
        self.closed_in = closed_in if closed_in is not None else info
        self.up_to = up_to
        self.still = still
        self.hashes = (Keys.timeline_messages(timeline), Keys.timeline_cleared(timeline))
        self.at = 0
        self.cursor = 0
        self.done = False
        self.lost = False
        self.erased = 0  # messages erased so far (imql_group_messages_erased)
        self.erased_in_pass = False  # `up_to`: whether this pass found any, so another one follows


def timeline_own_keys(timeline: str) -> list[str]:
    """A timeline's own keys, which go once its messages (and what is kept about each) are erased:
    its seq counter, its floor, its unread index, its kept revisions, its messages and those
    cleared for everyone. In `_DROP_IF_EMPTY`'s order: it reads the messages fifth and the cleared
    ones sixth."""
    return [
        Keys.timeline_seq(timeline),
        Keys.timeline_floor(timeline),
        Keys.timeline_countable(timeline),
        Keys.message_revisions(timeline),
        Keys.timeline_messages(timeline),
        Keys.timeline_cleared(timeline),
    ]


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
        """Delete a whole timeline (a deleted topic's): every message, kept or cleared for
        everyone, with everything kept about it, TRIM_BATCH at a time (HSCAN: a group's history
        may be long, and most seqs of a live room's have no message), then the timeline's own keys.
        A cut leaves the rest of the timeline as it was: running it again finishes it."""
        for stored in (Keys.timeline_messages(timeline), Keys.timeline_cleared(timeline)):
            cursor = 0
            while True:
                cursor, found = await self._redis.hscan(stored, cursor, count=TRIM_BATCH)
                await self._erase_scanned(timeline, found)
                if not int(cursor):
                    break
        await self._redis.delete(*timeline_own_keys(timeline))

    async def erase_part(self, erasure: Erasure, budget: int) -> int:
        """Erase more of a timeline (a dismissed group's, gateway.engine.groups.eraser), for about
        `budget` units of work (a message erased, an HSCAN call); returns the units used.
        `erasure.done` once the timeline is gone.

        Passes over its messages and cleared messages (HSCAN, each message with what is kept about
        it, `queue_removal`) until a pass ends with no message left, then its own keys
        (`_DROP_IF_EMPTY`, which checks that in the same step). A pass may miss a message written
        while it ran (HSCAN returns only what was there from its start to its end), so the check
        sends the erasure round again rather than drop such a message's body without its marks;
        only writes that read the group closed land then, and each writer takes its own back
        (`take_back`), so passes end. A cut leaves the rest as it was: an erasure of the same
        timeline started again finishes it."""
        used = 0
        while not erasure.done and used < budget:
            stored = erasure.hashes[erasure.at]
            cursor, found = await self._redis.hscan(stored, erasure.cursor, count=min(TRIM_BATCH, budget - used))
            used += 1
            if erasure.up_to is not None:
                bound = erasure.up_to
                found = {seq: raw for seq, raw in found.items() if seq.isdigit() and int(seq) <= bound}
            if found and not await self._still_erasing(erasure):
                # the group is no longer the closed one (or the topic no longer the deleted one):
                # another eraser finished it (this one's lease lapsed, or its holder was not this
                # one), and what is in the timeline now may be a group's made again under the ID
                erasure.lost = erasure.done = True
                return used + 1
            erased = await self._erase_scanned(erasure.timeline, found)
            erasure.erased += erased
            erasure.erased_in_pass = erasure.erased_in_pass or erased > 0
            used += erased
            erasure.cursor = int(cursor)
            if erasure.cursor:
                continue
            erasure.at += 1
            if erasure.at < len(erasure.hashes):
                continue
            if erasure.up_to is not None:
                if erasure.erased_in_pass:
                    # a pass may miss a message written while it ran: one of a send whose write
                    # lands after the deletion's commit, before it reads the topic gone and takes
                    # itself back (gateway.engine.group_messages); another pass finds it, or finds
                    # it gone
                    erasure.at, erasure.erased_in_pass = 0, False
                    continue
                # kept while a new topic's messages are there; its seq counter for the topic's
                # erasure to record and delete last
                await self._drop_if_empty(erasure.timeline, None, keep_seq=True)
                used += 1
                erasure.done = True
                continue
            dropped = int(await self._drop_if_empty(erasure.timeline, erasure.info))
            used += 1
            if dropped == 0:
                erasure.at = 0  # written during the pass: another one
                continue
            # -1: a group made again under the ID owns the timeline now (the erasure's holder lost
            # its lease to an eraser that finished): nothing more of it is ours to erase
            erasure.lost = dropped < 0
            erasure.done = True
        return used

    async def _still_erasing(self, erasure: Erasure) -> bool:
        """Whether the timeline is still the erasure's (`Erasure.closed_in`, `Erasure.still`)."""
        if erasure.still is not None:
            key, field, value = erasure.still
            return bool(await self._redis.hget(key, field) == value)
        if erasure.closed_in:
            return bool(await self._redis.hexists(erasure.closed_in, CLOSED_FIELD))
        return True

    async def _erase_scanned(self, timeline: str, found: dict[str, str]) -> int:
        """The messages an HSCAN of the timeline's messages (or cleared messages) found, erased with
        what is kept about them; answers how many."""
        # the cleared hash also holds how far it was cleared (a field that is no seq)
        messages = [STORED_DEC.decode(raw) for seq, raw in found.items() if seq.isdigit()]
        if messages:
            pipe = self._redis.pipeline(transaction=False)
            self.queue_removal(pipe, timeline, messages)
            await pipe.execute()
        return len(messages)

    async def take_back(
        self, timeline: str, messages: list[StoredMessage], info: str | None, *, keep_seq: bool = False
    ) -> None:
        """What a write into a group's timeline (a send, a tip) undoes when it reads the group closed
        for its dismissal, or gone (`GroupStore.queue_open_check`): its own messages with what is kept
        about them, then the timeline's own keys if no message is left in it (its seq counter, which
        the write's INCR made again after the group's eraser had dropped the timeline). Nothing
        else: the rest of a closed group's timeline is its eraser's (`erase_part`). `info`: the
        group's info when `timeline` is the group's own (on its slot): the keys stay if the group is
        open again (made again under the ID since); a topic's timeline is on a slot of its own.
        `keep_seq`: a deleted topic's timeline, its community open, whose seq counter stays
        (`Erasure` says why)."""
        pipe = self._redis.pipeline(transaction=False)
        self.queue_removal(pipe, timeline, messages)
        await pipe.execute()
        await self._drop_if_empty(timeline, info, keep_seq=keep_seq)

    async def _drop_if_empty(self, timeline: str, info: str | None, *, keep_seq: bool = False) -> int:
        keys = [*timeline_own_keys(timeline), *([info] if info else [])]
        return int(await run_script(self._redis, _DROP_IF_EMPTY, keys, ["keep-seq" if keep_seq else ""]))

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
            for at in at_sets(timeline, m):
                pipe.zrem(at, seq)
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
