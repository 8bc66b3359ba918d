"""What is left of a group's dismissal once it has been answered: its history erased, its keys deleted.

A dismissal (`GroupLifecycle.destroy`) does at once what its members must see at once: the group
closed (gone to every reader, `GroupStore.info`), the farewell, their stream following and their
side of it (and its former members') forgotten. Its history may be millions of messages, each with
what is kept about it: more than a request may do before its deadline. So the group goes into an
app-wide queue (`Keys.groups_to_erase`, scored by when an entry may be taken) and an eraser on
every replica (`GroupEraserLoop`) erases its timelines, at most ERASE_WORK_PER_SECOND units of
work a second per replica, then deletes the group's keys and its info hash in one step. The
dismissal erases a first part itself (DISMISSAL_ERASE_BUDGET): a group with a short history is
gone, its ID free again, when its dismissal answers.

An entry is held by one eraser at a time, by a lease: taking it (or the dismissal's own hold)
pushes its score to the lease's end and names the holder (`Keys.groups_erasing`); the holder renews
it as it goes, and hands it back (due at once) or removes it when done. A holder that dies leaves
the entry to come due at the end of its lease, and another eraser takes it and starts the group's
erasure over: every step is idempotent, and what was erased stays erased. A holder may also go on
past its lease (a stall inside a step, or a dismissal's hold outlived by a recycle, which has no
request deadline) while another finishes the group, and the ID is taken by a new group: so each
batch of messages is erased only once the group reads closed still (`MessageRetention.erase_part`),
and the eraser that deletes the group's keys removes its entry and its holder, whoever holds it, so
that no renewal outlives the group. A group whose erasure fails ERASE_FAILURES_BEFORE_RETRY steps in
a row is handed back for later (`GroupEraser.step_failed`), the others going on meanwhile.

Why no closed group is left out of the queue, wherever a dismissal is cut: the dismissal holds the
entry *before* it closes the group (the queue is on the app's slot and the closing on the group's,
so no one script does both), for DISMISSAL_HOLD_SECONDS, far beyond a request's deadline
(IMQL_REQUEST_TIMEOUT, 30 s): cut before the closing, the entry comes due with the group open,
and the eraser drops it (the group lives on, as a failed dismissal leaves it); cut after, it comes
due with the group closed, and the eraser finishes the dismissal: the members' side of it first,
unless the dismissal marked it done (`FORGOTTEN_FIELD`), then the erasure. Only a dismissal
stalled between its hold and its closing for longer than the hold could see its entry dropped as
an open group's; it queues the group again when it hands the entry back, and a creation refused
the ID of a closed group queues it too (`queue_if_missing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence

from redis.exceptions import RedisError

from gateway.background import BackgroundLoop
from gateway.clock import Clock
from gateway.engine.groups.store import CLOSED_FIELD, GroupStore
from gateway.engine.retention import Erasure, MessageRetention
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.errors import IMError
from gateway.ids import group_conversation_id

log = logging.getLogger("imql.groups")

# The erasure's work per second per replica (messages erased and HSCAN calls, as the retention
# counts them: gateway.engine.retention): a few pipelined round trips a second, so that a huge
# group's history never crowds out the app's requests
ERASE_WORK_PER_SECOND = 2_000
# What the dismissing request erases itself before handing the rest to the erasers: a short
# history, the common case, is gone (and the ID free) when the dismissal answers
DISMISSAL_ERASE_BUDGET = 1_000
ERASE_LEASE_SECONDS = 60.0  # an eraser's hold on a group, renewed each second it works on it
# The dismissal's own hold, from before it closes the group until it hands it to the erasers: far
# beyond a request's deadline, which ends the dismissal if the hold does not
DISMISSAL_HOLD_SECONDS = 300.0
ERASE_POLL_SECONDS = 5.0  # how often an idle eraser looks for due groups (a dismissal here wakes it)
# A group whose erasure fails this many steps in a row (a defect, or a key of its that Redis refuses)
# is handed back, due ERASE_RETRY_SECONDS later, and the eraser goes on with the others
ERASE_FAILURES_BEFORE_RETRY = 3
ERASE_RETRY_SECONDS = 300.0
FORGET_BATCH = 500  # users per round trip when a dismissal removes the group from their side
FORGOTTEN_FIELD = "forgotten"  # info-hash field: the dismissal has forgotten its users' side

# KEYS (one slot, the app's): the queue (Keys.groups_to_erase), its holders (Keys.groups_erasing)
# A group's entry held, due at ARGV[2], by ARGV[3]: a dismissal's hold, before it closes the group
_HOLD = PipelinedScript(
    """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""
)
# The first entry due at ARGV[1], taken by ARGV[3] until ARGV[2]; answers its group, or nil
_TAKE_DUE = PipelinedScript(
    """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], due[1])
redis.call('HSET', KEYS[2], due[1], ARGV[3])
return due[1]
"""
)
# ARGV[1]'s hold renewed until ARGV[3] if ARGV[2] still holds it; answers 1, or 0 (lost: the
# lease ran out and another eraser took it, or it is done)
_RENEW = PipelinedScript(
    """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
"""
)
# ARGV[2] lets go of ARGV[1]'s entry: removed (ARGV[3] "": the group is erased, or was not to be),
# or due at ARGV[3] (handed to the erasers). Not while another holds it; an entry no one holds
# (dropped or done meanwhile) is removed, or queued again, all the same (see the module's doc).
_LET_GO = PipelinedScript(
    """
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""
)
# ARGV[1]'s entry removed with its holder, whoever holds it: its group is erased (`_ERASED` did it),
# so no eraser may renew a hold on it (one whose lease lapsed, or a dismissal's hold outlived)
_DONE = PipelinedScript(
    """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""
)
# The group's keys and its info hash deleted in one step, if it is still the closed group being
# erased (not one made again under its ID since another eraser finished). KEYS: its info first,
# then its other keys (one slot). Answers 1, or 0 when it is not closed (open, or gone).
_ERASED = PipelinedScript(
    f"""
if redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 0 then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
"""
)
# The dismissal's users' side noted as forgotten, on a group still closed (never a field written
# into a hash deleted meanwhile, which would be a group of one field). KEYS: its info.
_MARK_FORGOTTEN = PipelinedScript(
    f"""
if redis.call('HEXISTS', KEYS[1], '{CLOSED_FIELD}') == 0 then return 0 end
return redis.call('HSET', KEYS[1], '{FORGOTTEN_FIELD}', 1)
"""
)


class Hold:
    """One holder's work on one group's erasure: its token, and the timelines still to erase
    (None: the group not looked at yet)."""

    def __init__(self, group_id: str, token: str) -> None:
        self.group_id = group_id
        self.token = token
        self.erasures: list[Erasure] | None = None
        self.topics: list[str] = []  # its topics' IDs, read with its timelines


class GroupEraser:
    """The queue of dismissed groups and their erasure, shared by the dismissal (which erases a
    first part) and this replica's `GroupEraserLoop` (the rest)."""

    def __init__(
        self, store: GroupStore, timelines: MessageRetention, *, lease_seconds: float = ERASE_LEASE_SECONDS
    ) -> None:
        self.store = store
        self.timelines = timelines
        self.lease_seconds = lease_seconds
        self.dismissal_budget = DISMISSAL_ERASE_BUDGET  # what a dismissal erases itself
        self.woken = asyncio.Event()  # a group was handed to the erasers here: the loop looks now
        self._current: Hold | None = None  # the loop's group under way
        self._failures = 0  # the loop's steps failed in a row on `_current`

    def _queue_keys(self) -> list[str]:
        return [self.store.keys.groups_to_erase(), self.store.keys.groups_erasing()]

    # ---- the dismissal's part ---------------------------------------------------------------------
    async def hold(self, group_id: str) -> Hold:
        """The dismissal's hold on the group's entry, taken before it closes the group."""
        held = Hold(group_id, secrets.token_hex(8))
        until = self.store.clock.now() + DISMISSAL_HOLD_SECONDS
        await run_script(self.store.redis, _HOLD, self._queue_keys(), [group_id, until, held.token])
        return held

    async def erase_or_hand_on(self, held: Hold) -> bool:
        """The dismissal's last step: the group erased if `dismissal_budget` does it, else handed to
        the erasers (due now, this replica's woken). Answers whether it is erased."""
        erased, _ = await self.erase(held, self.dismissal_budget)
        if not erased:
            await self.let_go(held, due=self.store.clock.now())
            self.woken.set()
        return erased

    async def let_go(self, held: Hold, *, due: float | None = None) -> None:
        """Hand the entry back, due at `due`, or (None) remove it."""
        score = "" if due is None else repr(due)
        await run_script(self.store.redis, _LET_GO, self._queue_keys(), [held.group_id, held.token, score])

    async def queue_if_missing(self, group_id: str) -> None:
        """A closed group found not queued (its dismissal stalled past its hold, then cut): due now."""
        await self.store.redis.zadd(self.store.keys.groups_to_erase(), {group_id: self.store.clock.now()}, nx=True)
        self.woken.set()

    async def forget(self, group_id: str, members: Sequence[str] | None = None) -> None:
        """The users' side of a closed group forgotten, and noted so (`FORGOTTEN_FIELD`): its members
        (`members`, as the dismissal read them; None: read here) stop following its stream and lose
        it from their lists, then its former members (who keep its conversations) lose it too."""
        s = self.store
        if members is None:
            members = await s.member_ids(group_id)
            for start in range(0, len(members), FORGET_BATCH):
                await s.bus.leave_group_stream(members[start : start + FORGET_BATCH], group_id)
        conversations = [group_id, *await s.redis.hkeys(s.keys.group_topics(group_id))]
        conversation_ids = [group_conversation_id(c) for c in conversations]
        for start in range(0, len(members), FORGET_BATCH):
            await self.forget_users(group_id, members[start : start + FORGET_BATCH], conversation_ids)
        await self._forget_former_members(group_id, conversation_ids)
        await run_script(s.redis, _MARK_FORGOTTEN, [s.keys.group_info(group_id)], [])

    async def _forget_former_members(self, group_id: str, conversation_ids: Sequence[str]) -> None:
        """`forget_users` for the users who left the group before (quit or kicked), who keep its
        conversations and their marks in them: read FORGET_BATCH or so at a time (SSCAN), as a
        group's former members may be many more than its members."""
        s = self.store
        cursor = 0
        while True:
            cursor, users = await s.redis.sscan(s.keys.group_former_members(group_id), cursor, count=FORGET_BATCH)
            if users:
                await self.forget_users(group_id, users, conversation_ids)
            if not int(cursor):
                return

    async def forget_users(self, group_id: str, users: Sequence[str], conversation_ids: Sequence[str]) -> None:
        """These users' side of a group going away, in one round trip (`GroupStore.queue_forgotten`):
        its entry in their joined-group lists, its conversations (the group's and its topics') and
        what they keep by seq in them (a group made again under the same ID must not hide its new
        messages' seqs)."""
        pipe = self.store.redis.pipeline(transaction=False)
        for user in users:
            self.store.queue_forgotten(pipe, user, group_id, conversation_ids)
        await pipe.execute()

    # ---- the erasure --------------------------------------------------------------------------------
    async def erase(self, held: Hold, budget: int) -> tuple[bool, int]:
        """Erase more of the held group, for about `budget` units of work; answers whether it is
        done with (erased and dequeued, or not to be erased: an open group's entry is dropped) and
        the units used.

        Looked at first: a group that is not closed is not to be erased (a dismissal cut before
        closing it, or a group made again under the ID once the erasure it was queued for ended);
        one whose dismissal was cut before it forgot its users' side has that done first. Then its
        timelines, the group's and each topic's (their IDs in its topics hash, which goes last),
        then its keys and its info hash in one DEL, then its entry."""
        s = self.store
        gid = held.group_id
        used = 0
        if held.erasures is None:
            kind, closed, forgotten = await s.redis.hmget(
                s.keys.group_info(gid), ["groupType", CLOSED_FIELD, FORGOTTEN_FIELD]
            )
            used += 1
            if closed is None:
                if kind is None:  # gone (erased before a cut kept its entry): nothing is active in it
                    await s.redis.zrem(s.keys.group_activity(), gid)
                    await s.redis.hdel(s.keys.tencent_groups_synced(), gid)  # `dequeue_erased` says why
                await self.let_go(held)
                return True, used
            if forgotten is None:
                await self.forget(gid)
            topics = await s.redis.hkeys(s.keys.group_topics(gid))
            held.topics = list(topics)
            held.erasures = [
                Erasure(s.keys.group_timeline(gid), s.keys.group_info(gid)),
                *(Erasure(s.keys.group_timeline(t), closed_in=s.keys.group_info(gid)) for t in topics),
            ]
        while held.erasures and used < budget:
            erasure = held.erasures[0]
            used += await self.timelines.erase_part(erasure, budget - used)
            if erasure.lost:
                # finished by another eraser (and maybe made again under the ID): nothing more of
                # it is this one's; its entry goes if this one still holds it (or no one does)
                await self.let_go(held)
                return True, used + 1
            if erasure.done:
                held.erasures.pop(0)
        if held.erasures:
            return False, used
        if int(await run_script(s.redis, _ERASED, self._group_keys(gid), [])):
            await s.redis.zrem(s.keys.group_activity(), gid)
            await self.dequeue_erased(gid, held.topics)
        else:
            await self.let_go(held)
        return True, used + 3

    async def dequeue_erased(self, group_id: str, topic_ids: Sequence[str]) -> None:
        """The last of an erasure, once the group's keys are deleted (`_ERASED`): how far the mirror
        read the group's and its topics' messages back from Tencent (gateway.tencent.reconcile_groups:
        a group made again there under the ID starts its seqs over, and must be read from its
        start), then its entry and its holder, whoever holds it (`_DONE`). A cut between the two
        leaves the entry, and the eraser that takes it finds the group gone and drops the group's
        own mark then (its topics' IDs went with its keys)."""
        s = self.store
        await s.redis.hdel(s.keys.tencent_groups_synced(), group_id, *topic_ids)
        await run_script(s.redis, _DONE, self._queue_keys(), [group_id])

    def _group_keys(self, group_id: str) -> list[str]:
        """The group's own keys, its info hash first (`_ERASED`); its timelines' go before them, and
        its event stream stays for subscriptions still to read the farewell (it expires)."""
        k = self.store.keys
        return [
            k.group_info(group_id),
            k.group_former_members(group_id),
            k.group_members(group_id),
            k.group_roster(group_id),
            k.group_admins(group_id),
            k.group_join_counter(group_id),
            k.group_attributes(group_id),
            k.group_counters(group_id),
            k.group_last_sent(group_id),
            k.group_applications(group_id),
            k.group_topics(group_id),
            k.group_online(group_id),
        ]

    async def step(self, budget: int) -> bool:
        """The loop's work for one second: the group under way, then due ones, for about `budget`
        units; answers whether there is more to do now (else the loop waits for a wake or a poll)."""
        more = await self._step(budget)
        self._failures = 0
        return more

    async def step_failed(self) -> None:
        """The loop's step failed (`step` raised): the group under way stays this eraser's, for the
        next step to go on with (every step of the erasure is idempotent), unless it has failed
        ERASE_FAILURES_BEFORE_RETRY steps in a row: then it is handed back, due ERASE_RETRY_SECONDS
        later, so that one group failing does not hold the others back (another eraser, or this
        one, tries it again then)."""
        held = self._current
        if held is None:
            self._failures = 0
            return
        self._failures += 1
        if self._failures < ERASE_FAILURES_BEFORE_RETRY:
            return
        log.warning("group erasure of %s failed %d times in a row: tried again later", held.group_id, self._failures)
        self._current = None
        self._failures = 0
        await self.let_go(held, due=self.store.clock.now() + ERASE_RETRY_SECONDS)

    async def _step(self, budget: int) -> bool:
        s = self.store
        held = self._current
        if held is not None:
            until = s.clock.now() + self.lease_seconds
            renewed = await run_script(s.redis, _RENEW, self._queue_keys(), [held.group_id, held.token, until])
            if not int(renewed):
                self._current = held = None  # another eraser has it now
        while budget > 0:
            if held is None:
                now = s.clock.now()
                token = secrets.token_hex(8)
                args = [now, now + self.lease_seconds, token]
                group_id = await run_script(s.redis, _TAKE_DUE, self._queue_keys(), args)
                if group_id is None:
                    return False
                self._current = held = Hold(str(group_id), token)
                self._failures = 0
            done, used = await self.erase(held, budget)
            budget -= used
            if done:
                self._current = held = None
        return True


class GroupEraserLoop(BackgroundLoop):
    """This replica's eraser: a step a second while there is work (`GroupEraser.step`, at most
    `work_per_second`), else waiting for a dismissal here to wake it, or ERASE_POLL_SECONDS for one
    queued by another replica or come due (a cut dismissal's, a dead eraser's)."""

    task_name = "imql-group-eraser"

    def __init__(self, eraser: GroupEraser, clock: Clock, work_per_second: int = ERASE_WORK_PER_SECOND) -> None:
        super().__init__()
        self._eraser = eraser
        self._clock = clock
        self._work_per_second = work_per_second

    async def _run(self) -> None:
        while True:
            started = self._clock.now()
            self._eraser.woken.clear()  # before the step: a wake-up during it is for a group it may miss
            try:
                more = await self._eraser.step(self._work_per_second)
            except (IMError, RedisError, OSError) as exc:
                # the group under way stays this replica's: the next step goes on from where this
                # one was (every step of the erasure is idempotent), or its lease runs out; after a
                # few failures in a row it is handed back for later (`step_failed`)
                log.warning("group erasure failed: %s", exc)
                await self._failed()
                more = False
            except Exception:
                # a defect, not weather: said loudly, and the loop lives on to try again
                log.exception("group erasure failed unexpectedly")
                await self._failed()
                more = False
            if more:
                await self._clock.sleep_until(started + 1.0)
            else:
                await self._idle(started + ERASE_POLL_SECONDS)

    async def _failed(self) -> None:
        try:
            await self._eraser.step_failed()
        except (IMError, RedisError, OSError) as exc:
            # Redis down as well: the group stays this replica's, handed back at a later failure
            log.warning("group erasure could not hand its group back: %s", exc)

    async def _idle(self, until: float) -> None:
        """Until woken (`GroupEraser.woken`) or `until` by the clock."""
        waits = [
            asyncio.ensure_future(self._eraser.woken.wait()),
            asyncio.ensure_future(self._clock.sleep_until(until)),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            for wait in waits:
                with contextlib.suppress(asyncio.CancelledError):
                    await wait
