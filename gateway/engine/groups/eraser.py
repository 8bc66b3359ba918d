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
due with the group closed, and the eraser finishes the dismissal: its farewell first, unless the
dismissal told it, then the members' side of it, unless the dismissal marked it done
(`FORGOTTEN_FIELD`), then the erasure. Only a dismissal stalled between its hold and its closing
for longer than the hold could see its entry dropped as an open group's; it queues the group again
when it hands the entry back, and a creation refused the ID of a closed group queues it too
(`queue_if_missing`).

Why no closed group goes without its farewell (the members' onGroupDismissed or onGroupRecycled,
their streams left, the app's Group.CallbackAfterGroupDestroyed): the closing script writes what the
dismissal is to tell (`Farewell`: the event, and the origin its callback names) into the group's
info hash in the same step as the `closed` mark (`FAREWELL_FIELD`), and the dismissal removes it
once it has told (`announce`). An eraser that finds it there tells it first, from the group as it
was closed (its profile, its members: no member is added or removed once it is closed, and its
members hash is deleted only with its info hash, at the very end), then goes on. At least once: a
cut between the telling and the removal has it told again by the eraser (the callback and the event
twice), never not at all. A replica stopping hands its group back, due at once (`hand_back`), so
that another takes it without waiting for the lease to run out.

A deleted topic's history goes the same way, under the same leases, as an entry of its own
(gateway.engine.groups.topic_erasure, which `erase` hands such an entry to). A community dismissed
meanwhile has its erasure take the timelines of its deleted topics still marked as being erased (in
its deleted-topics hash, `Keys.group_deleted_topics`, which goes with its keys) whole, with its
topics', and forgets its members' side of those with its topics'. Those recorded as erased left
neither timeline nor seq counter (their last seq is the record's value): only the hash's field.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
from collections.abc import Callable, Sequence

import msgspec
from redis.exceptions import RedisError

from gateway.background import BackgroundLoop
from gateway.clock import Clock
from gateway.engine.groups import erasure_queue
from gateway.engine.groups.erasure_queue import FORGET_BATCH, Hold
from gateway.engine.groups.store import CLOSED_FIELD, FAREWELL_FIELD, GroupStore
from gateway.engine.groups.topic_erasure import TOPIC_ENTRY, erase_deleted_topic, topics_being_erased
from gateway.engine.retention import Erasure, MessageRetention
from gateway.engine.scripts import PipelinedScript, run_script
from gateway.errors import IMError
from gateway.ids import group_conversation_id
from gateway.im.events import OnGroupDismissed, OnGroupRecycled
from gateway.im.groups import GroupInfo
from gateway.metrics import Metrics
from gateway.origin import act_as, current_origin, forbid_callbacks
from gateway.waits import first_of

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
FORGOTTEN_FIELD = "forgotten"  # info-hash field: the dismissal has forgotten its users' side
# A stopping replica's hand-back of its group (`GroupEraserLoop.stop`): bounded, as a shutdown must
# end with Redis stalled too (the lease then runs out as a dead replica's does)
HAND_BACK_SECONDS = 5.0


class Farewell(msgspec.Struct, kw_only=True):
    """What a dismissal tells, kept with the group's closing (`FAREWELL_FIELD`) for an eraser to tell
    if the dismissal is cut before it does: the members' event, and the origin of the request (or
    recycle) that dismissed the group, which the app's callback names (OptPlatform, ClientIP)."""

    event: OnGroupDismissed | OnGroupRecycled
    platform: str = ""
    clientIP: str = ""
    operator: str = ""
    forbidden: list[str] = []

    @classmethod
    def of(cls, event: OnGroupDismissed | OnGroupRecycled) -> Farewell:
        """The event, told from the origin being served now."""
        origin = current_origin()
        return cls(
            event=event,
            platform=origin.platform,
            clientIP=origin.client_ip,
            operator=origin.operator,
            forbidden=sorted(origin.forbidden),
        )

    def encode(self) -> str:
        return _farewell_enc.encode(self).decode()


_farewell_enc = msgspec.json.Encoder()
_farewell_dec = msgspec.json.Decoder(Farewell)

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


class GroupEraser:
    """The queue of dismissed groups and their erasure, shared by the dismissal (which erases a
    first part) and this replica's `GroupEraserLoop` (the rest)."""

    def __init__(
        self,
        store: GroupStore,
        timelines: MessageRetention,
        *,
        lease_seconds: float = ERASE_LEASE_SECONDS,
        on_erased: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.timelines = timelines
        self.lease_seconds = lease_seconds
        self.dismissal_budget = DISMISSAL_ERASE_BUDGET  # what a dismissal erases itself
        self.woken = asyncio.Event()  # a group was handed to the erasers here: the loop looks now
        self._current: Hold | None = None  # the loop's group under way
        self._failures = 0  # the loop's steps failed in a row on `_current`
        # told how many messages each batch erased (imql_group_messages_erased): the dismissals',
        # the topic deletions' and the loop's alike, as they share this eraser
        self.on_erased = on_erased

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

    async def announce(self, group: GroupInfo, farewell: Farewell, members: Sequence[str]) -> None:
        """The dismissal's telling, once the group is closed: the app's callback, the members'
        farewell, their streams left (FORGET_BATCH users a round trip), then the farewell kept with
        the closing removed, as the mark that it was told (a plain HDEL: it writes no field into a
        hash deleted meanwhile). A cut before that mark has it told again by the group's eraser
        (`erase`): the callback and the event at least once, maybe twice, never lost."""
        s = self.store
        await s.callbacks.group_destroyed(group, members)
        await s.emit(group, farewell.event)
        for start in range(0, len(members), FORGET_BATCH):
            await s.bus.leave_group_stream(members[start : start + FORGET_BATCH], group.groupID)
        await s.redis.hdel(s.keys.group_info(group.groupID), FAREWELL_FIELD)

    async def _tell_left_over(self, group_id: str, raw: str) -> list[str] | None:
        """A cut dismissal's farewell (`FAREWELL_FIELD` still there), told as the dismissal would
        have: to its members as they were at the closing, the callback from the dismissal's origin
        (set in a context of the telling's own, not this eraser's task). Answers the members told
        (None: none, the group not closed any more, or its farewell unreadable)."""
        s = self.store
        try:
            farewell = _farewell_dec.decode(raw)
        except msgspec.DecodeError:
            # a defect, not weather: the erasure goes on without it rather than fail for ever
            log.error("group %s: its farewell cannot be read, not told: %r", group_id, raw)
            await s.redis.hdel(s.keys.group_info(group_id), FAREWELL_FIELD)
            return None
        group = await s.closed_info(group_id)
        if group is None:
            return None
        members = await s.member_ids(group_id)
        context = contextvars.copy_context()
        context.run(act_as, farewell.platform, farewell.clientIP, farewell.operator)
        context.run(forbid_callbacks, farewell.forbidden)
        await asyncio.create_task(self.announce(group, farewell, members), context=context)
        return members

    async def forget(self, group_id: str, members: Sequence[str] | None = None) -> None:
        """The users' side of a closed group forgotten, and noted so (`FORGOTTEN_FIELD`): its members
        (`members`, as the dismissal read them, their streams left by `announce`; None: read here)
        stop following its stream and lose it from their lists, then its former members (who keep
        its conversations) lose it too."""
        s = self.store
        if members is None:
            members = await s.member_ids(group_id)
            for start in range(0, len(members), FORGET_BATCH):
                await s.bus.leave_group_stream(members[start : start + FORGET_BATCH], group_id)
        # its topics', and those of its deleted topics whose erasure (which forgets them first) may
        # not have begun
        being_erased = topics_being_erased(await s.redis.hkeys(s.keys.group_deleted_topics(group_id)))
        topics = await s.redis.hkeys(s.keys.group_topics(group_id))
        conversations = list(dict.fromkeys([group_id, *topics, *being_erased]))
        conversation_ids = [group_conversation_id(c) for c in conversations]
        for start in range(0, len(members), FORGET_BATCH):
            await self.forget_users(group_id, members[start : start + FORGET_BATCH], conversation_ids)
        await self._forget_former_members(group_id, conversation_ids)
        await run_script(s.redis, _MARK_FORGOTTEN, [s.keys.group_info(group_id)], [])

    async def _forget_former_members(
        self, group_id: str, conversation_ids: Sequence[str], *, as_group: str | None = None
    ) -> None:
        """`forget_users` for the users who left the group before (quit or kicked), who keep its
        conversations and their marks in them: read FORGET_BATCH or so at a time (SSCAN), as a
        group's former members may be many more than its members. `as_group`: the ID their
        joined-group lists lose, if not the group's (`forget_conversation`)."""
        s = self.store
        cursor = 0
        while True:
            cursor, users = await s.redis.sscan(s.keys.group_former_members(group_id), cursor, count=FORGET_BATCH)
            if users:
                await self.forget_users(as_group or group_id, users, conversation_ids)
            if not int(cursor):
                return

    async def forget_conversation(self, community: str, topic_id: str, held: Hold, budget: int) -> tuple[bool, int]:
        """A deleted topic's conversation forgotten on the side of its community's members, then its
        former members (`forget_users`), FORGET_BATCH a round trip (a community's members may be
        many), for about `budget` units of work (a read, a user forgotten): where it is stays in
        `held.forgetting`, for the next call to go on from. Answers whether all of it is done, and
        the units used. Their joined-group lists keep the community: what `queue_forgotten` removes
        from them is the topic's ID, which none holds.

        The members are read from the roster (their IDs only, not their records), a page of
        FORGET_BATCH by join order after the last one read (the cursor): pages of a set of any size
        and encoding, a member joining meanwhile read last (a new member has nothing of the topic
        to forget, harmlessly). The former members by SSCAN. FORGET_BATCH is read from
        gateway.engine.groups.erasure_queue at each call (tests make it small)."""
        s = self.store
        batch = erasure_queue.FORGET_BATCH
        conversation_ids = [group_conversation_id(topic_id)]
        phase, cursor = held.forgetting
        used = 0
        while used < budget:
            users: list[str]
            if phase == 0:
                page = await s.redis.zrangebyscore(
                    s.keys.group_roster(community), f"({cursor}", "+inf", start=0, num=batch, withscores=True
                )
                users = [user for user, _ in page]
                cursor = int(page[-1][1]) if len(page) == batch else 0
            else:
                cursor, users = await s.redis.sscan(s.keys.group_former_members(community), cursor, count=batch)
            used += 1
            if users:
                await self.forget_users(topic_id, users, conversation_ids)
                used += len(users)
            cursor = int(cursor)
            if not cursor:
                if phase == 1:
                    held.forgetting = (0, 0)
                    return True, used
                phase = 1
            held.forgetting = (phase, cursor)
        return False, used

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
        one whose dismissal was cut before it told its farewell has it told first (`announce`),
        then, if it was cut before it forgot its users' side, that done. Then its
        timelines, the group's and each topic's (their IDs in its topics hash, which goes last),
        then its keys and its info hash in one DEL, then its entry."""
        if held.group_id.startswith(TOPIC_ENTRY):
            return await erase_deleted_topic(self, held, budget)
        s = self.store
        gid = held.group_id
        used = 0
        if held.erasures is None:
            kind, closed, forgotten, farewell = await s.redis.hmget(
                s.keys.group_info(gid), ["groupType", CLOSED_FIELD, FORGOTTEN_FIELD, FAREWELL_FIELD]
            )
            used += 1
            if closed is None:
                if kind is None:  # gone (erased before a cut kept its entry): nothing is active in it
                    await s.redis.zrem(s.keys.group_activity(), gid)
                    await s.redis.hdel(s.keys.tencent_groups_synced(), gid)  # `dequeue_erased` says why
                await self.let_go(held)
                return True, used
            # told before forgotten, as the dismissal does: the members hash read for the telling
            # is the one the forgetting goes by, and both go only with the info hash
            members = await self._tell_left_over(gid, farewell) if farewell is not None else None
            if forgotten is None:
                await self.forget(gid, members)
            # its topics, and its deleted ones still being erased (marked in its deleted-topics
            # hash): whole, as the community goes (one made again under a deleted one's ID is in
            # both). Those recorded as erased have neither timeline nor seq counter left: their
            # records go with the hash (`_group_keys`)
            deleted = topics_being_erased(await s.redis.hkeys(s.keys.group_deleted_topics(gid)))
            topics = list(dict.fromkeys([*await s.redis.hkeys(s.keys.group_topics(gid)), *deleted]))
            held.topics = list(topics)
            held.erasures = [
                Erasure(s.keys.group_timeline(gid), s.keys.group_info(gid)),
                *(Erasure(s.keys.group_timeline(t), closed_in=s.keys.group_info(gid)) for t in topics),
            ]
        while held.erasures and used < budget:
            erasure = held.erasures[0]
            before = erasure.erased
            used += await self.timelines.erase_part(erasure, budget - used)
            if self.on_erased is not None and erasure.erased > before:
                self.on_erased(erasure.erased - before)
            if erasure.lost:
                # finished by another eraser (and maybe made again under the ID): nothing more of
                # it is this one's; its entry goes if this one still holds it (or no one does)
                await self.let_go(held)
                return True, used + 1
            if erasure.done:
                held.erasures.pop(0)
        if held.erasures:
            return False, used
        # with its keys, its members' mutes in its topics (gateway.engine.groups.topic_mutes)
        mutes = [s.keys.group_topic_mutes(gid, t) for t in held.topics]
        if int(await run_script(s.redis, _ERASED, [*self._group_keys(gid), *mutes], [])):
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
            k.group_deleted_topics(group_id),
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

    async def hand_back(self) -> None:
        """The loop's group under way, if any, handed back due at once (this replica stopping): the
        next eraser to look takes it, without waiting for this one's lease to run out. Whatever
        the step cut by the stop had done stays done (every step of the erasure is idempotent)."""
        held, self._current, self._failures = self._current, None, 0
        if held is not None:
            await self.let_go(held, due=self.store.clock.now())

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

    def __init__(
        self,
        eraser: GroupEraser,
        clock: Clock,
        work_per_second: int = ERASE_WORK_PER_SECOND,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__()
        self._eraser = eraser
        self._clock = clock
        self._work_per_second = work_per_second
        self._metrics = metrics

    async def stop(self) -> None:
        """Cancelled, then its group under way handed back due at once (`GroupEraser.hand_back`):
        a replica shutting down does not keep it for the rest of its lease. Best effort, within
        HAND_BACK_SECONDS: with Redis down or stalled, the lease runs out as a dead replica's."""
        await super().stop()
        try:
            async with asyncio.timeout(HAND_BACK_SECONDS):
                await self._eraser.hand_back()
        except (IMError, RedisError, OSError, TimeoutError) as exc:
            log.warning("group erasure could not hand its group back at shutdown: %s", exc)

    async def _run(self) -> None:
        while True:
            started = self._clock.now()
            self._eraser.woken.clear()  # before the step: a wake-up during it is for a group it may miss
            if await self.turn():
                await self._clock.sleep_until(started + 1.0)
            else:
                await self._idle(started + ERASE_POLL_SECONDS)

    async def turn(self) -> bool:
        """One step (`GroupEraser.step`), then the queue's length reported (imql_groups_to_erase);
        answers whether there is more to do now."""
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
        await self._report()
        return more

    async def _report(self) -> None:
        """The erasure queue's length (app-wide: every replica reports the same), read once a step:
        a step a second while there is work, every ERASE_POLL_SECONDS (or dismissal) otherwise.
        Read here rather than at scrape time, as the registry's collection cannot wait on Redis."""
        if self._metrics is None:
            return
        store = self._eraser.store
        try:
            waiting = await store.redis.zcard(store.keys.groups_to_erase())
        except (RedisError, OSError) as exc:
            log.warning("group erasure queue not measured: %s", exc)  # the last figure stays
            return
        self._metrics.groups_to_erase.set(int(waiting))

    async def _failed(self) -> None:
        try:
            await self._eraser.step_failed()
        except (IMError, RedisError, OSError) as exc:
            # Redis down as well: the group stays this replica's, handed back at a later failure
            log.warning("group erasure could not hand its group back: %s", exc)

    async def _idle(self, until: float) -> None:
        """Until woken (`GroupEraser.woken`) or `until` by the clock."""
        await first_of(self._eraser.woken.wait(), self._clock.sleep_until(until))
