"""CallbackWorker: delivers queued after-callbacks. Every replica runs one, in a consumer group
over the app's callback stream, so each callback is sent by one of them; entries a crashed replica
had taken are claimed by another after CLAIM_IDLE_SECONDS.

A batch (up to BATCH entries; a read that finds fewer waits LINGER_SECONDS for more) is delivered
concurrently, its C2C callbacks' UnreadMsgNum counted for the whole batch at once (two Redis round
trips, gateway.engine.unread_index). A callback whose endpoint is unavailable (network error,
timeout, 5xx, 429) is retried with backoff, then dropped with a log line; one the endpoint answers
otherwise is done (Tencent ignores the answers of after-callbacks). The queue is trimmed to
hooks.QUEUE_MAX, so a dead endpoint costs a bounded backlog and never a send's time.

A batch whose UnreadMsgNum cannot be counted (Redis failing) is held, not sent without it: it
stays pending and is tried again after CLAIM_IDLE_SECONDS, its deliveries not counted toward the
dead-letter stream (a Redis error is an outage: gateway.background.is_transient).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from gateway.background import StreamConsumer
from gateway.engine.callbacks.hooks import CallbackJob, decode_job
from gateway.engine.callbacks.sender import CallbackRejected, CallbackSender, CallbackUnavailable
from gateway.keys import Keys

log = logging.getLogger("imql.callbacks")

GROUP = "callbackers"
# Entries taken per read, delivered concurrently (as many as the sender's connections). Their
# UnreadMsgNum is two round trips for the batch on the worker's own Redis client, not reads per
# delivery on the request pool's connections (with 50 deliveries each recounting on those, sends at
# 200 msg/s to a live endpoint waited for connections: p99 272 ms beside 5.9 ms with no callbacks).
BATCH = 16
# A read that finds fewer waits this long for more: batches fill under load (fewer reads, counts
# and acknowledgements per callback) at the cost of a callback's delay, never a send's.
LINGER_SECONDS = 0.02
BLOCK_MILLISECONDS = 1000  # how long a read waits for new entries
CLAIM_IDLE_SECONDS = 600  # longer than a callback's every retry: an entry idle this long was a dead replica's
RETRY_BACKOFF_SECONDS: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)  # waits between attempts
ERROR_PAUSE_SECONDS = 1.0

# users' total one-to-one unread (Tencent's UnreadMsgNum: "including all one-to-one conversations")
UnreadTotals = Callable[[Sequence[str]], Awaitable[dict[str, int]]]


class CallbackWorker(StreamConsumer):
    task_name = "imql-callback-worker"
    group = GROUP
    batch = BATCH
    linger_seconds = LINGER_SECONDS
    block_milliseconds = BLOCK_MILLISECONDS
    claim_idle_seconds: float = CLAIM_IDLE_SECONDS  # a float as the base class's (tests shorten it)
    error_pause_seconds = ERROR_PAUSE_SECONDS

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        sender: CallbackSender,
        unread: UnreadTotals,
        *,
        consumer: str,
        backoff: Sequence[float] = RETRY_BACKOFF_SECONDS,
    ) -> None:
        super().__init__(redis, keys.callback_queue(), consumer)
        self._sender = sender
        self._unread = unread
        self._backoff = tuple(backoff)

    async def stop(self) -> None:
        await super().stop()
        await self._sender.aclose()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        jobs = [job for _, fields in entries if (job := _decoded(fields)) is not None]
        # whose unread count each body carries (the receiver, or the reader), counted at once. A
        # failure here (Redis) fails the batch: held until Redis answers, its deliveries given back
        # (StreamConsumer._holding), rather than sent without UnreadMsgNum, which Tencent's bodies
        # always carry (an endpoint keeping badges would read a missing count as wrong or as 0).
        totals = await self._unread([job.unreadOf[0] for job in jobs if job.unreadOf])
        for job in jobs:
            if job.unreadOf:
                job.body["UnreadMsgNum"] = totals[job.unreadOf[0]]
        await asyncio.gather(*(self._deliver(job) for job in jobs))
        return [entry_id for entry_id, _ in entries]

    async def _deliver(self, job: CallbackJob) -> None:
        for attempt, wait in enumerate((0.0, *self._backoff)):
            if wait:
                await asyncio.sleep(wait)
            try:
                await self._sender.post(job.command, job.body, job.platform, job.clientIP)
                return
            except CallbackRejected as exc:
                log.warning("%s answered badly, not retried: %s", job.command, exc)
                return
            except CallbackUnavailable as exc:
                log.info("%s failed (attempt %d): %s", job.command, attempt + 1, exc)
        log.warning("%s dropped after %d attempts", job.command, len(self._backoff) + 1)


def _decoded(fields: dict[Any, Any]) -> CallbackJob | None:
    raw = fields.get("job") or fields.get(b"job")
    try:
        return decode_job(raw or b"")
    except msgspec.DecodeError as exc:
        log.warning("callback job dropped: %s", exc)
        return None
