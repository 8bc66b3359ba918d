"""One background loop of a gateway process, started with the app and cancelled at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError, ResponseError

from gateway.keys import Keys
from gateway.metrics import Metrics

log = logging.getLogger("imql")

# Entries kept per dead-letter stream (approximate trim): a record for an operator to read and
# replay, bounded like the work streams' own backlogs (a tenth of theirs), never a second queue.
DEAD_LETTER_MAX = 10_000


class BackgroundLoop(ABC):
    """Subclasses give `_run` (a loop that never returns) and a task name."""

    task_name = "imql-background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @abstractmethod
    async def _run(self) -> None:
        """The loop itself; runs until cancelled."""


Handle = Callable[[dict[Any, Any]], Awaitable[None]]  # one stream entry's fields


class StreamConsumer(BackgroundLoop):
    """A worker on every replica over one Redis stream, in a consumer group shared by all of them:
    each entry is handled by one replica, and entries a crashed replica had taken (or a handler
    left pending) are claimed by another once idle for `claim_idle_seconds`. Handled entries are
    acknowledged and deleted, so the stream holds only what is still to do. Subclasses give the
    stream, the group and `_process` (a batch; the IDs it is done with), usually through
    `_one_by_one` or `_together`.

    An entry delivered `max_deliveries` times without being done (its handler raises each time, or
    `_process` never reports it) is poison: instead of being claimed again it is moved, in one
    transaction, to the stream's dead-letter stream (`Keys.dead_letters`, in the stream's hash slot,
    trimmed to about DEAD_LETTER_MAX entries) with its fields as they were, acknowledged and deleted,
    logged once and counted (`imql_stream_entries_dead_lettered_total`). Redis counts the deliveries:
    the group's read is the first, each claim one more."""

    group = "workers"
    batch = 20  # entries taken per read
    linger_seconds = 0.0  # a read that finds fewer than `batch` waits this long for more, then reads once more
    block_milliseconds = 1000  # how long a read waits for new entries
    # None: a read blocks (up to block_milliseconds) while the stream is empty, holding its
    # connection meanwhile, so the consumer needs a client of its own. A number: reads never block;
    # the consumer is woken (`wake`) by whoever appends to its stream, and reads again at least this
    # often on its own (entries appended while no process listened, a wake-up lost with a pub/sub
    # link, pending entries of a dead consumer to claim). Each read then holds a connection for one
    # quick round trip: such a consumer shares the request pool.
    poll_seconds: float | None = None
    claim_idle_seconds = 60.0
    # Deliveries of one entry to `_process` without its being done; the claim that would deliver it
    # once more moves it to the dead-letter stream instead. Enough to outlast a replica dying with it
    # or a dependency down for a few claims; few enough that a poison entry costs a handful of tries,
    # not one every claim_idle_seconds for ever.
    max_deliveries = 5
    error_pause_seconds = 1.0

    def __init__(self, redis: Any, stream: str, consumer: str) -> None:
        super().__init__()
        self._redis = redis
        self._stream = stream
        self._dead_letters = Keys.dead_letters(stream)
        self._consumer = consumer
        self._group_made = False  # made once (and again after an error: a stream deleted takes its group)
        self._woken = asyncio.Event()  # set by `wake`: the stream has new entries (poll_seconds set)
        self._deliveries: dict[Any, int] = {}  # of the batch in hand, when claimed (else each is 1)
        self._in_hand: set[Any] = set()  # the batch's entries not yet done (`_holding`)
        # set by the composition root (gateway.services): dead-lettered entries are counted there
        self.metrics: Metrics | None = None

    @abstractmethod
    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        """Handle a batch (new entries, or pending ones claimed again); returns the IDs
        that are done with (acknowledged and deleted); the rest stay pending for a later claim.
        Raising leaves the whole batch pending, each entry one delivery nearer to the dead-letter
        stream: a failure of one entry should leave only that one pending (as `_one_by_one` and
        `_together` do), so that a poison entry is dead-lettered alone."""

    def report_to(self, metrics: Metrics) -> None:
        """Count the entries given up on in `metrics`, whose series starts at 0 now (an alert on its
        increase sees the first one)."""
        self.metrics = metrics
        metrics.stream_entries_dead_lettered.labels(stream=self._stream)

    def deliveries(self, entry_id: Any) -> int:
        """How many times an entry of the batch in hand has been delivered, this time included."""
        return self._deliveries.get(entry_id, 1)

    async def _one_by_one(self, entries: list[tuple[Any, dict[Any, Any]]], handle: Handle) -> list[Any]:
        """In order, each acknowledged as soon as it is handled (a crash repeats at most one). One
        whose handler raises stays pending and the next go on: a poison entry holds none back."""
        for entry_id, fields in entries:
            if await self._attempt(entry_id, fields, handle):
                await self._done([entry_id])
        return []

    async def _together(self, entries: list[tuple[Any, dict[Any, Any]]], handle: Handle) -> list[Any]:
        """All at once: one slow entry does not hold the others back, nor does one that fails."""
        handled = await asyncio.gather(*(self._attempt(entry_id, fields, handle) for entry_id, fields in entries))
        return [entry_id for (entry_id, _), ok in zip(entries, handled, strict=True) if ok]

    async def _attempt(self, entry_id: Any, fields: dict[Any, Any], handle: Handle) -> bool:
        """Whether the entry was handled; a handler's failure is logged and leaves it pending."""
        try:
            await handle(fields)
        except Exception:
            log.warning(
                "%s: entry %s of stream %s failed (delivery %d of %d)",
                self.task_name,
                entry_id,
                self._stream,
                self.deliveries(entry_id),
                self.max_deliveries,
                exc_info=True,
            )
            return False
        return True

    def wake(self) -> None:
        """New entries were appended to the stream (a consumer with poll_seconds reads it now)."""
        self._woken.set()

    async def _run(self) -> None:
        while True:
            try:
                if not self._group_made:
                    await self._ensure_group()
                    self._group_made = True
                self._woken.clear()  # before the read: a wake-up during it is for entries it may miss
                entries = await self._take()
                if entries:
                    done = await self._holding(entries)
                    if done:
                        await self._done(done)
                elif self.poll_seconds is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._woken.wait(), timeout=self.poll_seconds)
            except (RedisError, OSError) as exc:
                self._group_made = False
                log.warning("%s: stream %s unreadable: %s", self.task_name, self._stream, exc)
                await asyncio.sleep(self.error_pause_seconds)
            except Exception:
                # a fault of ours in one batch must not end the worker for the process's life: its
                # entries stay pending, and are claimed again once idle
                log.exception("%s: a batch of stream %s failed; going on", self.task_name, self._stream)
                await asyncio.sleep(self.error_pause_seconds)

    async def _take(self) -> list[tuple[Any, dict[Any, Any]]]:
        """Idle pending entries first, else new ones (waiting up to block_milliseconds, unless the
        consumer polls)."""
        self._deliveries = {}
        claimed = await self._claim()
        if claimed:
            return claimed
        block = self.block_milliseconds if self.poll_seconds is None else None
        reply = await self._redis.xreadgroup(
            self.group, self._consumer, {self._stream: ">"}, count=self.batch, block=block
        )
        entries = [e for _, stream_entries in reply or [] for e in stream_entries]
        if entries and len(entries) < self.batch and self.linger_seconds:
            await asyncio.sleep(self.linger_seconds)
            more = self.batch - len(entries)
            reply = await self._redis.xreadgroup(self.group, self._consumer, {self._stream: ">"}, count=more)
            entries += [e for _, stream_entries in reply or [] for e in stream_entries]
        return entries

    async def _claim(self) -> list[tuple[Any, dict[Any, Any]]]:
        """Pending entries idle for claim_idle_seconds, taken over; those delivered max_deliveries
        times already are dead-lettered instead of returned. XPENDING names the idle entries with
        their delivery counts (the only round trip while none is idle, as an XAUTOCLAIM was, whose
        reply has no counts), then one XCLAIM takes them all: its minimum idle time skips any that
        another replica claimed in between."""
        idle_ms = int(self.claim_idle_seconds * 1000)
        pending = await self._redis.xpending_range(self._stream, self.group, "-", "+", self.batch, idle=idle_ms)
        if not pending:
            return []
        delivered = {row["message_id"]: int(row["times_delivered"]) for row in pending}
        taken = await self._redis.xclaim(self._stream, self.group, self._consumer, idle_ms, list(delivered))
        # an entry deleted while pending (trimmed) leaves the pending list with the claim: Redis 7
        # omits it, 6.2 answers it as nil
        claimed = [(entry_id, fields) for entry_id, fields in taken if entry_id is not None]
        poison = [(entry_id, fields) for entry_id, fields in claimed if delivered[entry_id] >= self.max_deliveries]
        if poison:
            await self._dead_letter(poison, delivered)
        kept = [(entry_id, fields) for entry_id, fields in claimed if delivered[entry_id] < self.max_deliveries]
        self._deliveries = {entry_id: delivered[entry_id] + 1 for entry_id, _ in kept}  # this claim is one more
        return kept

    async def _dead_letter(self, poison: list[tuple[Any, dict[Any, Any]]], delivered: dict[Any, int]) -> None:
        """Entries given up on, copied to the dead-letter stream (their fields as they were: XADD them
        to the stream again to replay them) and acknowledged and deleted, in one transaction: both
        keys are in the stream's hash slot, and an entry is never lost between them nor left in both."""
        ids = [entry_id for entry_id, _ in poison]
        pipe = self._redis.pipeline(transaction=True)
        for _, fields in poison:
            pipe.xadd(self._dead_letters, fields, maxlen=DEAD_LETTER_MAX, approximate=True)
        pipe.xack(self._stream, self.group, *ids)
        pipe.xdel(self._stream, *ids)
        replies = await pipe.execute()
        for entry_id, dead_letter_id in zip(ids, replies[: len(ids)], strict=True):
            log.error(
                "%s: entry %s of stream %s given up after %d deliveries; moved to %s as %s",
                self.task_name,
                entry_id,
                self._stream,
                delivered[entry_id],
                self._dead_letters,
                dead_letter_id,
            )
        if self.metrics is not None:
            self.metrics.stream_entries_dead_lettered.labels(stream=self._stream).inc(len(ids))

    async def _holding(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        """`_process`, the batch's entries kept this consumer's meanwhile: a slow batch (a push sink
        retrying, a conversation's webhooks in turn) would otherwise go idle past
        claim_idle_seconds, be claimed by another replica while still in hand, handled twice, and
        each such claim counted as a delivery toward the dead-letter stream."""
        self._in_hand = {entry_id for entry_id, _ in entries}
        finished = asyncio.Event()
        keeper = asyncio.create_task(self._keep_in_hand(finished), name=f"{self.task_name}-keep")
        try:
            return await self._process(entries)
        finally:
            # the keeper is told to stop, not cancelled: a claim under way finishes (a command cut
            # off mid-reply costs its connection), and a cancellation of this task while it waits
            # still reaches this task (gather passes it on)
            finished.set()
            await asyncio.gather(keeper, return_exceptions=True)
            self._in_hand = set()

    async def _keep_in_hand(self, finished: asyncio.Event) -> None:
        """Every third of claim_idle_seconds until the batch is `finished`, the entries still in
        hand claimed again by this consumer (XCLAIM JUSTID: their idle time reset, no delivery
        counted)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=self.claim_idle_seconds / 3)
            if finished.is_set():
                return
            ids = list(self._in_hand)
            if not ids:
                continue
            try:
                await self._redis.xclaim(self._stream, self.group, self._consumer, 0, ids, justid=True)
            except (RedisError, OSError) as exc:  # the next turn tries again; a claim by another may follow
                log.warning("%s: entries in hand of stream %s not kept: %s", self.task_name, self._stream, exc)

    async def _done(self, ids: list[Any]) -> None:
        self._in_hand.difference_update(ids)
        pipe = self._redis.pipeline(transaction=False)
        pipe.xack(self._stream, self.group, *ids)
        pipe.xdel(self._stream, *ids)
        await pipe.execute()

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
