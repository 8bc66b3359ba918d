"""One background loop of a gateway process, started with the app and cancelled at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError, ResponseError

log = logging.getLogger("imql")


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
    `_one_by_one` or `_together`."""

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
    error_pause_seconds = 1.0

    def __init__(self, redis: Any, stream: str, consumer: str) -> None:
        super().__init__()
        self._redis = redis
        self._stream = stream
        self._consumer = consumer
        self._group_made = False  # made once (and again after an error: a stream deleted takes its group)
        self._woken = asyncio.Event()  # set by `wake`: the stream has new entries (poll_seconds set)

    @abstractmethod
    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]], claimed: bool) -> list[Any]:
        """Handle a batch (`claimed`: taken over from another consumer, or retried); returns the IDs
        that are done with (acknowledged and deleted); the rest stay pending for a later claim."""

    async def _one_by_one(self, entries: list[tuple[Any, dict[Any, Any]]], handle: Handle) -> list[Any]:
        """In order, each acknowledged as soon as it is handled (a crash repeats at most one)."""
        for entry_id, fields in entries:
            await handle(fields)
            await self._done([entry_id])
        return []

    async def _together(self, entries: list[tuple[Any, dict[Any, Any]]], handle: Handle) -> list[Any]:
        """All at once: one slow entry does not hold the others back."""
        await asyncio.gather(*(handle(fields) for _, fields in entries))
        return [entry_id for entry_id, _ in entries]

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
                entries, claimed = await self._take()
                if entries:
                    done = await self._process(entries, claimed)
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

    async def _take(self) -> tuple[list[tuple[Any, dict[Any, Any]]], bool]:
        """Idle pending entries first (claimed: True), else new ones (waiting up to block_milliseconds,
        unless the consumer polls)."""
        _, claimed, *_ = await self._redis.xautoclaim(
            self._stream, self.group, self._consumer, int(self.claim_idle_seconds * 1000), "0-0", count=self.batch
        )
        if claimed:
            return list(claimed), True
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
        return entries, False

    async def _done(self, ids: list[Any]) -> None:
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
