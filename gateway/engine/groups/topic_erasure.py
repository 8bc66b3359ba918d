"""What is left of a community topic's deletion once it has been answered: its history erased, its
users' side forgotten.

A deleted topic's history may be as long as a group's, so it goes the way of a dismissed group's
(gateway.engine.groups.eraser, whose queue, leases and erasers it shares): its deletion
(`delete_topic`) erases up to TOPIC_DELETION_ERASE_BUDGET itself and queues the rest, as an entry
of its own (TOPIC_ENTRY and the topic's ID). The deletion holds the entry, then, in one step on the
community's slot, removes the topic and marks its timeline as being erased (`ERASING_TOPIC_FIELD`
in the community's deleted-topics hash, `Keys.group_deleted_topics`), the mark PENDING; then it
reads the timeline's seq counter and writes that seq into the mark (if still PENDING): the bound up
to which the erasure goes. Read after the commit, not before: a send or tip checks that its topic
is there in the same round trip as its write, after its INCR, so every one that read the topic
there has written by then, at a seq the counter had reached, and every later one reads the topic
gone and takes itself back (gateway.engine.group_messages, `GroupStore.tips`). Cut before the
commit, the topic lives on and its entry, once due, finds no mark and is dropped; cut after, an
eraser finishes it, reading the counter itself if the mark is still PENDING. The commit is the
deletion's effect (`commit_topic_deletion`): its caller tells of the topic's deletion from then on,
whatever follows, and what follows (`finish_topic_deletion`: the bound, the inline part) raises no
error: one failing there (Redis, the request's deadline) is logged and hands the entry back due now,
for the erasers to finish, and the deletion answers success for the topic. A deletion that finds
no such topic holds nothing (the entry may be an earlier deletion's of the same ID, still under
way), and one whose commit fails all the same hands the entry back due at once rather than remove
it: whoever takes it then finds the mark, or drops it.

The topic's ID stays taken while the mark is there: a topic made under it is refused (10021,
"still being erased; retry shortly", gateway.engine.groups.extras), as a dismissed group's ID is
while its info hash is there. So nothing but the deleted topic's sends and tips writes into the
timeline until the erasure is done, and nothing that erasure does (its bound, its forgetting) can
touch a new topic's messages or its users' state. The erasure (`erase_deleted_topic`) first forgets
the deleted topic's conversation on its community's members' and former members' side (receive
option, read and cleared seqs, hidden messages, pin, draft, custom data, marks...,
`GroupStore.queue_forgotten`; the members read from the roster a page at a time, the former
members by SSCAN), within its budget (a step goes on from where the last one left its `Hold`; a new
holder starts over, idempotently), and notes that in the mark
(`FORGOTTEN_SUFFIX`); then it takes only seqs up to the mark's, while the mark still names it
(`Erasure.up_to`, `Erasure.still`), the timeline's other keys going once no message is left in it
(noted, `ERASED_SUFFIX`); then it forgets the users' side once more, as the first time (the cursor
started over; a cut redoes this pass), since a write of a user's side (receive option, read mark,
draft, pin, marks) checks the topic is there before it writes, not after, and one that checked
before the commit may land after the first pass went past its user, the timeline's erasure between
the two passes taking minutes for a long history; then it notes the seq counter's value in the mark
(`LAST_SUFFIX`), deletes the counter, and turns the mark into an `ERASED_TOPIC_FIELD` record valued
as the counter was, which frees the ID. The counter goes while the mark holds the ID, so no topic
made under the ID can start from a counter about to go. A topic made again under the ID raises its
new counter to the record's value before it is written (its members' read marks may name the old
seqs), then removes the record (gateway.engine.groups.extras): of a deleted topic, only a hash field
is kept, and only while its ID is not reused. The community's dismissal erases the timelines of its
topics and of those marked, and deletes the deleted-topics hash (its records) with its keys.

The deletion does the forgetting and the first part of the erasure inline only for a community of
at most FORGET_BATCH members: a larger one's deletion commits, bounds the mark and hands the entry
to the erasers (due now, this replica's loop woken), so that a request never forgets 100k members'
side before its deadline.

Left within a window, as with a dismissal (docs/scaling.md): a send or tip whose gateway dies
between its write and its check, the write landing (at a seq up to the bound) after the erasure's
last pass: nobody takes it back, and a topic made again under the ID shows it. A community
dismissed meanwhile has its erasure take the marked timelines whole, with its topics'. On a mirror
(an upstream), whose messages keep the upstream's seqs (a topic made again there starts them over),
the deletion erases it all itself, before the topic goes, and marks nothing
(gateway.engine.groups.extras).
"""

from __future__ import annotations

import asyncio
import logging

from gateway.engine.groups import erasure_queue
from gateway.engine.groups.erasure_queue import ErasureQueue, Hold
from gateway.engine.groups.store import CLOSED_FIELD
from gateway.engine.retention import Erasure
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.ids import topic_parent
from gateway.keys import Keys

log = logging.getLogger("imql.groups")

# A deleted topic's timeline: its queue entry is this and its ID (no group ID has a control
# character), and the community's deleted-topics hash's field marking it as being erased is
# ERASING_TOPIC_FIELD and its ID, whose value is PENDING (committed, its bound not read yet) or the
# seq up to which it is the deleted topic's (FORGOTTEN_SUFFIX added once its users' side is
# forgotten, ERASED_SUFFIX once its timeline is erased, LAST_SUFFIX and the seq counter's value once
# its users' side is forgotten again)
TOPIC_ENTRY = "\x1ftopic\x1f"
ERASING_TOPIC_FIELD = "erasingTopic:"
PENDING = "pending"
FORGOTTEN_SUFFIX = "/forgotten"
ERASED_SUFFIX = "/erased"  # added once the timeline is erased up to the bound
LAST_SUFFIX = "/last="  # added, with the seq counter's value, once the users' side is forgotten again
# The record a finished erasure leaves in the community's deleted-topics hash (the field and the
# topic's ID), valued as the timeline's seq counter was (the counter itself deleted): a topic made
# again under the ID raises its new counter to it first, then removes the record
# (gateway.engine.groups.extras); a community's dismissal deletes the hash
ERASED_TOPIC_FIELD = "erasedTopic:"
TOPIC_DELETION_ERASE_BUDGET = 1_000  # what a topic's deletion erases itself (as a dismissal)

# A topic's deletion committed (`delete_topic`): gone from its community's topics and its timeline
# marked PENDING, in one step, the community still open, its members' mutes in it gone with it
# (gateway.engine.groups.topic_mutes). KEYS: the community's info, its topics, the topic's mutes,
# its deleted topics (one slot); ARGV: the topic, the mark's field. Answers 1, 0 (no such topic) or
# -1 (the community is closed or gone).
_COMMIT_TOPIC_DELETION = PipelinedScript(
    f"""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 1 then return -1 end
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[4], ARGV[2], '{PENDING}')
return 1
"""
)
# The mark's value ARGV[2] changed to ARGV[3] if it still is ARGV[2] (a plain HSET would write the
# field into a hash deleted meanwhile with its community). KEYS: the community's deleted topics.
_REMARK_TOPIC = PipelinedScript(
    """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)
# The mark turned into the erased record (ARGV[3], valued ARGV[4]: the seq counter's last value)
# once the erasure is done, if it still is ARGV[2]. KEYS: the community's deleted topics. Answers 1,
# or 0.
_UNMARK_TOPIC = PipelinedScript(
    """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
return 1
"""
)


def topics_being_erased(fields: list[str]) -> list[str]:
    """The IDs of a community's deleted topics marked as being erased, from its deleted-topics hash's
    fields."""
    return [f[len(ERASING_TOPIC_FIELD) :] for f in fields if f.startswith(ERASING_TOPIC_FIELD)]


async def delete_topic(eraser: ErasureQueue, community: str, topic_id: str) -> bool:
    """A community's topic deleted (in the community's turn): `commit_topic_deletion`, then
    `finish_topic_deletion`. Answers whether the topic was there (and is gone now)."""
    held = await commit_topic_deletion(eraser, community, topic_id)
    if held is None:
        return False
    await finish_topic_deletion(eraser, community, topic_id, held)
    return True


async def commit_topic_deletion(eraser: ErasureQueue, community: str, topic_id: str) -> Hold | None:
    """A community's topic deleted (in the community's turn), up to its commit: the entry held, the
    topic gone and its timeline marked. Answers the hold once committed (the topic is gone for good
    then, whatever fails after: its caller tells of it), None when the topic was not there. A
    topic's ID names its community (`topic_parent`), which its entry goes by: one of another
    community's is not this one's."""
    s = eraser.store
    if topic_parent(topic_id) != community:
        return None
    if not await s.redis.hexists(s.keys.group_topics(community), topic_id):
        # no hold: the entry may be an earlier deletion's of this ID, its erasure still under way,
        # which a hold would take over and the failed commit below would hand back
        return None
    # held before the commit, as a dismissal's entry is before the closing: no cut leaves a
    # deleted topic's timeline out of the queue
    held = await eraser.hold(TOPIC_ENTRY + topic_id)
    field = ERASING_TOPIC_FIELD + topic_id
    keys = [
        s.keys.group_info(community),
        s.keys.group_topics(community),
        s.keys.group_topic_mutes(community, topic_id),
        s.keys.group_deleted_topics(community),
    ]
    committed = await run_script(s.redis, _COMMIT_TOPIC_DELETION, keys, [topic_id, field])
    if int(committed) != 1:
        # gone meanwhile (another replica's deletion, its community's dismissal): handed back due
        # now, not removed, as the entry may be an earlier deletion's taken over by the hold; whoever
        # takes it finds that deletion's mark and goes on, or finds none and drops it
        await eraser.let_go(held, due=s.clock.now())
        eraser.woken.set()
        return None
    return held


async def finish_topic_deletion(eraser: ErasureQueue, community: str, topic_id: str, held: Hold) -> None:
    """A committed deletion's own part: its bound, then its history erased up to
    TOPIC_DELETION_ERASE_BUDGET here (for a community of at most FORGET_BATCH members), the rest
    handed to the erasers (the module says how). Raises no error: the deletion took effect at its
    commit, and the held entry has the erasers finish whatever fails here (logged, the entry handed
    back due now, this replica's eraser woken). A cancellation (the request's deadline) hands the
    entry back too, then goes on."""
    s = eraser.store
    try:
        await _bound(eraser, community, topic_id)
        # a large community's side is the erasers' to forget, within their budget: not the request's
        inline = await s.redis.hlen(s.keys.group_members(community)) <= erasure_queue.FORGET_BATCH
        if inline and (await eraser.erase(held, TOPIC_DELETION_ERASE_BUDGET))[0]:
            return
    except Exception:
        log.warning("topic %s deleted; its erasure is left to the erasers", topic_id, exc_info=True)
    except asyncio.CancelledError:
        await _hand_on(eraser, held)
        raise
    await _hand_on(eraser, held)


async def _hand_on(eraser: ErasureQueue, held: Hold) -> None:
    """The entry handed to the erasers, due now, this replica's woken. Best effort: failing, the
    hold's lease runs out and the erasers take the entry then."""
    try:
        await eraser.let_go(held, due=eraser.store.clock.now())
    except Exception:
        log.warning("topic erasure of %s not handed on: its hold runs out first", held.group_id, exc_info=True)
    eraser.woken.set()  # after the hand-back: a loop woken before it would find nothing due


async def _bound(eraser: ErasureQueue, community: str, topic_id: str) -> str | None:
    """The PENDING mark given its bound: the timeline's seq counter, read now that the commit is in
    (the module says why not before). Answers the mark as it is now (None: gone, the community
    erased meanwhile), whoever wrote the bound (the deletion, or an eraser after a cut)."""
    s = eraser.store
    deleted, field = s.keys.group_deleted_topics(community), ERASING_TOPIC_FIELD + topic_id
    last = await s.redis.get(Keys.timeline_seq(s.keys.group_timeline(topic_id)))
    await run_script(s.redis, _REMARK_TOPIC, [deleted], [field, PENDING, str(int(last or 0))])
    mark: str | None = await s.redis.hget(deleted, field)
    return mark


def _bound_of(mark: str) -> int:
    """The seq a mark names (its suffixes aside)."""
    return int(mark.split("/", 1)[0])


async def erase_deleted_topic(eraser: ErasureQueue, held: Hold, budget: int) -> tuple[bool, int]:
    """`GroupEraser.erase` for a deleted topic's entry: its bound read if the deletion was cut
    before it did, its users' side forgotten unless the mark says so (within the budget, resumed
    by the next step), then its timeline erased up to the seq the mark names, while it names it
    (noted in the mark, `ERASED_SUFFIX`); then its users' side forgotten once more (what a write
    that checked the topic before the commit put there after the first pass), the seq counter's
    value noted in the mark (`LAST_SUFFIX`) and the counter deleted; then the mark turned into the
    erased record, valued as the counter was, and the entry removed. Each note lets a later holder
    skip what is done, and a cut before it redoes that part only. No mark: the deletion was cut
    before its commit (the topic lives on), or the erasure is done (by another eraser, or by its
    community's dismissal): the entry is dropped."""
    s = eraser.store
    topic_id = held.group_id[len(TOPIC_ENTRY) :]
    community = topic_parent(topic_id) or ""
    deleted, field = s.keys.group_deleted_topics(community), ERASING_TOPIC_FIELD + topic_id
    seq_key = Keys.timeline_seq(s.keys.group_timeline(topic_id))
    used = 0
    if held.erasures is None:
        mark = await s.redis.hget(deleted, field)
        used += 1
        if mark == PENDING:
            # the deletion cut between its commit and its bound: read here, as late as the
            # deletion's own read, and as safe (the topic is gone since the commit)
            mark = await _bound(eraser, community, topic_id)
            used += 3
        if mark is None:
            return True, used + await _drop(eraser, held, deleted, field)
        if FORGOTTEN_SUFFIX not in mark:
            # before the erasure: a cut after it leaves nothing to redo but this
            forgotten, forgetting = await eraser.forget_conversation(community, topic_id, held, budget - used)
            used += forgetting
            if not forgotten:
                return False, used
            if not await _remark(eraser, held, deleted, field, mark, mark + FORGOTTEN_SUFFIX):
                return True, used + 2
            mark += FORGOTTEN_SUFFIX
        held.mark = mark
        timeline = s.keys.group_timeline(topic_id)
        # [] once the mark says the timeline is erased: the erasure is not done again
        held.erasures = (
            [] if ERASED_SUFFIX in mark else [Erasure(timeline, up_to=_bound_of(mark), still=(deleted, field, mark))]
        )
    if held.erasures:
        erasure = held.erasures[0]
        before = erasure.erased
        used += await eraser.timelines.erase_part(erasure, budget - used)
        if eraser.on_erased is not None and erasure.erased > before:
            eraser.on_erased(erasure.erased - before)
        if not erasure.done:
            return False, used
        if erasure.lost or not await _remark(eraser, held, deleted, field, held.mark, held.mark + ERASED_SUFFIX):
            # the mark changed under the erasure (its community erased): the next holder reads it as
            # it is now. Handed back rather than removed: a removal could take another deletion's
            # entry
            if erasure.lost:
                await eraser.let_go(held, due=s.clock.now())
            return True, used + 2
        held.mark += ERASED_SUFFIX
        held.erasures = []
        held.forgetting = (0, 0)  # the second pass starts over, as a new holder's would
        used += 1
    if LAST_SUFFIX not in held.mark:
        # Once more, after the erasure (which may take minutes): a write of a user's side (receive
        # option, read mark, draft, pin...) checks the topic is there before it writes, not after,
        # so one that checked before the commit may land after the first pass went past that user.
        # A cut during this pass redoes it (the mark notes only its end).
        forgotten, forgetting = await eraser.forget_conversation(community, topic_id, held, budget - used)
        used += forgetting
        if not forgotten:
            return False, used
        last = await s.redis.get(seq_key)
        noted = held.mark + LAST_SUFFIX + str(int(last or 0))
        if not await _remark(eraser, held, deleted, field, held.mark, noted):
            return True, used + 3
        held.mark = noted
        used += 2
    # The counter goes before the mark turns into the record (the mark keeps its value meanwhile):
    # while the mark is there no topic is made under the ID, so none can start from a counter
    # deleted after the record let one be made; a topic made under the ID later raises its counter
    # to the record's value first (gateway.engine.groups.extras)
    # (unguarded: it would take a stall of this holder between its last read of the mark and here
    # long enough for the community to be dismissed, erased, made again and the topic with it)
    await s.redis.delete(seq_key)
    erased, value = ERASED_TOPIC_FIELD + topic_id, held.mark.rsplit(LAST_SUFFIX, 1)[1]
    if not int(await run_script(s.redis, _UNMARK_TOPIC, [deleted], [field, held.mark, erased, value])):
        # the mark changed (its community erased): the next holder reads it as it is now. Handed
        # back rather than removed: a removal could take another deletion's entry
        await eraser.let_go(held, due=s.clock.now())
        return True, used + 3
    return True, used + 2 + await _drop(eraser, held, deleted, field)


async def _remark(eraser: ErasureQueue, held: Hold, deleted: str, field: str, mark: str, noted: str) -> bool:
    """The mark changed from `mark` to `noted`, if it still is `mark`; else (gone or changed
    meanwhile: its community erased) the entry handed back due now, for the next holder to read the
    mark as it is now. Answers whether it was changed."""
    if int(await run_script(eraser.store.redis, _REMARK_TOPIC, [deleted], [field, mark, noted])):
        return True
    await eraser.let_go(held, due=eraser.store.clock.now())
    return False


async def _drop(eraser: ErasureQueue, held: Hold, deleted: str, field: str) -> int:
    """The entry removed, if this one still holds it (or no one does), then queued again if a mark
    is there by then (a deletion under the same ID may have marked the timeline and let go of the
    entry in between, which the removal took with it). Answers the round trips made."""
    await eraser.let_go(held)
    if not await eraser.store.redis.hexists(deleted, field):
        return 2
    await eraser.queue_if_missing(held.group_id)
    return 3
