"""Callers that arrive together share one call: a crowd's round trips become a few.

A restart's reconnections open thousands of subscriptions at once, each with the same few Redis
round trips (its presence lease, for one). Batches runs them as one call per batch: the items
submitted while a batch runs wait for the next one, which takes them all (up to `limit`), and one
batch runs at a time, so a batch's round trip carries as many callers as arrived meanwhile. A
lone caller waits for nothing but its own call. Items run in the order they were submitted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Batch(Generic[Item, Result]):
    __slots__ = ("done", "error", "items", "results")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.results: list[Result] = []
        self.error: BaseException | None = None
        self.done = asyncio.Event()


class Batches(Generic[Item, Result]):
    """`run(items)` returns one result per item, in order; `submit(item)` returns that item's."""

    def __init__(self, run: Callable[[list[Item]], Awaitable[list[Result]]], limit: int) -> None:
        self._run = run
        self._limit = limit
        self._waiting: deque[_Batch[Item, Result]] = deque()
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        if not self._waiting or len(self._waiting[-1].items) >= self._limit:
            self._waiting.append(_Batch())
        batch = self._waiting[-1]
        index = len(batch.items)
        batch.items.append(item)
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run_all())
        # an Event, not a shared future: a cancelled caller stops waiting, the others do not
        await batch.done.wait()
        if batch.error is not None:
            raise batch.error.with_traceback(None)  # raised in every caller: its traceback would pile up
        return batch.results[index]

    async def _run_all(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting.popleft()
                try:
                    batch.results = await self._run(batch.items)
                except Exception as exc:  # each of the batch's callers raises it
                    batch.error = exc
                except BaseException:
                    batch.error = _stopped()
                    raise
                finally:
                    batch.done.set()
        finally:
            self._runner = None
            for batch in self._waiting:  # cancelled (the process is stopping): nobody is left waiting
                batch.error = _stopped()
                batch.done.set()
            self._waiting.clear()

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)


def _stopped() -> RuntimeError:
    return RuntimeError("the process is stopping: this call was not made")


Command = tuple[str, tuple[Any, ...], dict[str, Any]]  # a pipeline method's name and its arguments
# Reads that callers of one batch may share when they ask the very same thing (a command without
# effects, whose reply its callers only read): after a restart every member of a group resumes from
# the same position in the group's stream, and a thousand identical XRANGEs became one.
READ_ONCE = frozenset({"xrange", "xinfo_stream"})


class SharedPipeline:
    """Commands queued as on a redis-py pipeline (`pipe.hgetall(key)`, ...), sent with those of the
    other callers of the moment in one pipeline (SharedPipelines); `execute` returns this caller's
    replies and raises its first error, as a pipeline does."""

    def __init__(self, owner: SharedPipelines) -> None:
        self._owner = owner
        self._commands: list[Command] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def queue(*args: Any, **kwargs: Any) -> None:
            self._commands.append((name, args, kwargs))

        return queue

    def __len__(self) -> int:
        return len(self._commands)

    async def execute(self) -> list[Any]:
        if not self._commands:
            return []
        replies = await self._owner.batches.submit(self._commands)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies


class SharedPipelines:
    """Where SharedPipelines are sent: one Redis pipeline per batch of callers (gateway.batching)."""

    def __init__(self, redis: Any, callers_per_batch: int) -> None:
        self._redis = redis
        self.batches: Batches[list[Command], list[Any]] = Batches(self._run, callers_per_batch)

    def pipeline(self) -> SharedPipeline:
        return SharedPipeline(self)

    async def _run(self, callers: list[list[Command]]) -> list[list[Any]]:
        pipe = self._redis.pipeline(transaction=False)
        sent: dict[Hashable, int] = {}  # a READ_ONCE command already in the pipeline → its reply's index
        where: list[list[int]] = []  # each caller's commands → their replies' indexes
        queued = 0
        for commands in callers:
            mine = []
            for name, args, kwargs in commands:
                same = (name, args, tuple(sorted(kwargs.items()))) if name in READ_ONCE else None
                if same is not None and same in sent:
                    mine.append(sent[same])
                    continue
                mine.append(queued)
                if same is not None:
                    sent[same] = queued
                getattr(pipe, name)(*args, **kwargs)
                queued += 1
            where.append(mine)
        replies = list(await pipe.execute(raise_on_error=False))
        return [[replies[i] for i in mine] for mine in where]

    async def close(self) -> None:
        await self.batches.close()
