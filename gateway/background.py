"""One background loop of a gateway process, started with the app and cancelled at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from redis.exceptions import ClusterError, OutOfMemoryError, ReadOnlyError, RedisError, ResponseError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.keys import Keys
from gateway.lean.redis import ReplicationError
from gateway.metrics import Metrics

log = logging.getLogger("imql")

# Entries kept per dead-letter stream (approximate trim): a record for an operator to read and
# replay, bounded like the work streams' own backlogs (a tenth of theirs), never a second queue.
DEAD_LETTER_MAX = 10_000

# Failures of a dependency, not of the entry being handled: the same entry succeeds once the
# dependency is back, so they must not bring it nearer the dead-letter stream (`is_transient`).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    # Redis unreachable, reset, loading, out of pool connections, or a Redis Cluster without a
    # master for a slot (gateway.lean.cluster.ClusterUnavailableError is one of these)
    RedisConnectionError,
    RedisTimeoutError,
    ClusterError,  # CLUSTERDOWN, MASTERDOWN answered by a node
    TryAgainError,  # a slot being migrated
    ReadOnlyError,  # a failover under way: the node written to is a replica now
    OutOfMemoryError,  # Redis at maxmemory refuses writes until memory is freed
    ReplicationError,  # IMQL_REDIS_WAIT_REPLICAS not met in time: a replica lagging or gone
    # a peer that refused, reset or dropped the connection, or did not answer in time (including a
    # handler's own deadline passing while it waited on one), or whose name did not resolve; not
    # every OSError: a missing file or a refused permission is the same on the next try
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    # an HTTP peer unreachable, silent, hanging up mid-answer, or a proxy failing; not httpx's
    # refusals of the request itself (UnsupportedProtocol, LocalProtocolError), which are ours
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
# An entry queued longer ago than this gets no delivery back: an "outage" that long is no outage
# (a handler that always overruns its deadline, a peer that never comes back), and the entry goes
# the poison's way, to the dead-letter stream after max_deliveries more tries, rather than being
# tried every claim period for ever. Longer than any outage worth waiting out.
GIVE_BACK_FOR_SECONDS = 6 * 3600


def is_transient(exc: BaseException, extra: tuple[type[BaseException], ...] = ()) -> bool:
    """Whether `exc` is a dependency's outage (TRANSIENT_ERRORS, or `extra`: a consumer's own
    `transient_errors`) rather than a fault of the entry being handled."""
    return isinstance(exc, TRANSIENT_ERRORS + extra)


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
    the group's read is the first, each claim one more.

    Only failures of the entry count. A delivery whose handling failed for a dependency's outage
    (`is_transient`: Redis, a socket, an HTTP peer, or what a consumer's `is_transient` adds, such
    as Tencent's REST unreachable or failing inside for the webhook worker), for one entry or for
    the batch as a whole, is given back once the batch is over (`_give_back`): the entry stays
    pending, is claimed again every claim_idle_seconds however long the outage lasts, and reaches
    the dead-letter stream only after max_deliveries failures of its own."""

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
    give_back_for_seconds: float = GIVE_BACK_FOR_SECONDS
    # a consumer's own failures that are a dependency's outage, besides `TRANSIENT_ERRORS` (and
    # Tencent's), which every consumer knows
    transient_errors: tuple[type[BaseException], ...] = ()

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
        self._transient: set[Any] = set()  # the batch's entries whose handling failed transiently
        self._faulted: set[Any] = set()  # and those whose handling failed of their own
        # set by the composition root (gateway.services): dead-lettered entries are counted there
        self.metrics: Metrics | None = None

    @abstractmethod
    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        """Handle a batch (new entries, or pending ones claimed again); returns the IDs
        that are done with (acknowledged and deleted); the rest stay pending for a later claim.
        Raising leaves the whole batch pending, each entry one delivery nearer to the dead-letter
        stream unless the failure `is_transient`: a failure of one entry should leave only that one
        pending (as `_one_by_one` and `_together` do, through `_failed`), so that a poison entry is
        dead-lettered alone."""

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
        except Exception as exc:
            self._failed(entry_id, exc)
            return False
        return True

    def is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` is a dependency's outage for this consumer (`is_transient`)."""
        return is_transient(exc, self.transient_errors)

    def _failed(self, entry_id: Any, exc: Exception, what: str = "") -> None:
        """An entry of the batch in hand failed (it stays pending): logged, and, when the failure is
        transient, its delivery is given back once the batch is over. An outage logs one line per
        entry and retry (its trace is the same every time); a fault of the entry logs its trace.
        `what`: the entry as the consumer names it (e.g. a callback's command) for the log."""
        name = f"{what} (entry {entry_id})" if what else f"entry {entry_id}"
        if self.is_transient(exc):
            self._transient.add(entry_id)
            log.warning(
                "%s: %s of stream %s failed for now, retried after its claim time (not counted): %s: %s",
                self.task_name,
                name,
                self._stream,
                type(exc).__name__,
                exc,
            )
            return
        self._faulted.add(entry_id)
        log.warning(
            "%s: %s of stream %s failed (delivery %d of %d)",
            self.task_name,
            name,
            self._stream,
            self.deliveries(entry_id),
            self.max_deliveries,
            exc_info=exc,
        )

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
                    await self._holding(entries)
                elif self.poll_seconds is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._woken.wait(), timeout=self.poll_seconds)
            except Exception as exc:
                if isinstance(exc, RedisError) or self.is_transient(exc):
                    # a stream deleted takes its group (NOGROUP): made again on the next turn
                    self._group_made = False
                    log.warning(
                        "%s: stream %s failed for now: %s: %s", self.task_name, self._stream, type(exc).__name__, exc
                    )
                else:
                    # a fault of ours in one batch must not end the worker for the process's life:
                    # its entries stay pending, and are claimed again once idle
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

    async def _holding(self, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        """`_process` and the acknowledgement of what it is done with, the batch's entries kept
        this consumer's meanwhile: a slow batch (a push sink retrying, a conversation's webhooks in
        turn) would otherwise go idle past claim_idle_seconds, be claimed by another replica while
        still in hand, handled twice, and each such claim counted as a delivery toward the
        dead-letter stream. Then the deliveries that failed transiently are given back: those of
        the entries whose handling failed so, or, when the batch as a whole failed so (a Redis read
        for all of it, the acknowledgement), of every entry left in hand but those that had failed
        of their own. The batch's failure is raised again, for `_run` to log and pause on."""
        self._in_hand = {entry_id for entry_id, _ in entries}
        self._transient, self._faulted = set(), set()
        finished = asyncio.Event()
        keeper = asyncio.create_task(self._keep_in_hand(finished), name=f"{self.task_name}-keep")
        failure: Exception | None = None
        try:
            done = await self._process(entries)
            if done:
                await self._done(done)
        except Exception as exc:
            failure = exc
        finally:
            # the keeper is told to stop, not cancelled: a claim under way finishes (a command cut
            # off mid-reply costs its connection), and a cancellation of this task while it waits
            # still reaches this task (gather passes it on)
            finished.set()
            await asyncio.gather(keeper, return_exceptions=True)
            left, transient, faulted = self._in_hand, self._transient, self._faulted
            self._in_hand, self._transient, self._faulted = set(), set(), set()
        # (a cancellation, at shutdown, does not get here: an entry cut off is taken over, counted,
        # as a dead replica's is)
        if failure is not None and self.is_transient(failure):
            transient |= left - faulted
        if transient & left:
            await self._give_back(transient & left)
        if failure is not None:
            raise failure

    async def _give_back(self, ids: set[Any]) -> None:
        """The deliveries of entries still pending that failed transiently taken back: XCLAIM
        JUSTID (which counts no delivery) with RETRYCOUNT one less than the entry's deliveries
        (which sets the count). The claim also makes them idle afresh: the next try is a claim
        period away, as for any failed entry. Not those queued over give_back_for_seconds ago
        (GIVE_BACK_FOR_SECONDS says why). One round trip for the batch (one XCLAIM per count it
        holds, in one pipeline); best-effort: with Redis down this fails too, and the deliveries
        stay counted."""
        oldest_ms = int(time.time() * 1000) - int(self.give_back_for_seconds * 1000)
        by_count: dict[int, list[Any]] = {}
        for entry_id in ids:
            if _queued_at_ms(entry_id) >= oldest_ms:
                by_count.setdefault(self.deliveries(entry_id) - 1, []).append(entry_id)
        if not by_count:
            return
        pipe = self._redis.pipeline(transaction=False)
        for retries, same in sorted(by_count.items()):
            pipe.xclaim(self._stream, self.group, self._consumer, 0, same, retrycount=retries, justid=True)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning(
                "%s: %d deliveries of stream %s not given back (they count): %s",
                self.task_name,
                len(ids),
                self._stream,
                exc,
            )

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
        pipe = self._redis.pipeline(transaction=False)
        pipe.xack(self._stream, self.group, *ids)
        pipe.xdel(self._stream, *ids)
        await pipe.execute()
        # out of hand once acknowledged: until then they are kept, and given back if this failed
        self._in_hand.difference_update(ids)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def _queued_at_ms(entry_id: Any) -> int:
    """When a stream entry was appended (unix ms): the first part of its ID (Redis's clock)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0])
