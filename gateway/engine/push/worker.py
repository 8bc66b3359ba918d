"""PushWorker: reads the app's push queue in a consumer group shared by every replica, so each
queued message is handled by one of them; entries a crashed replica had taken are claimed by
another after CLAIM_IDLE_SECONDS. Each notification is retried with backoff while the sink is
unavailable, then dropped with a log line (a push that arrives an hour late is worse than none).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from redis.exceptions import RedisError, ResponseError

from gateway.background import BackgroundLoop
from gateway.engine.push.planner import PushPlanner, decode_job
from gateway.engine.push.sink import PushNotification, PushRejected, PushSink, PushUnavailable
from gateway.errors import IMError
from gateway.keys import Keys
from gateway.push.devices import PushDevice, PushDevices

log = logging.getLogger("imql.push")

GROUP = "pushers"
BATCH = 20  # queue entries taken per read
BLOCK_MILLISECONDS = 1000  # how long a read waits for new entries
CLAIM_IDLE_SECONDS = 60  # a taken entry untouched this long is a dead replica's: take it over
RETRY_BACKOFF_SECONDS: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)  # waits between attempts
ERROR_PAUSE_SECONDS = 1.0


class PushWorker(BackgroundLoop):
    task_name = "imql-push-worker"

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        planner: PushPlanner,
        devices: PushDevices,
        sink: PushSink,
        *,
        sdkappid: int,
        consumer: str,
    ) -> None:
        super().__init__()
        self._redis = redis
        self._keys = keys
        self._planner = planner
        self._devices = devices
        self._sink = sink
        self._sdkappid = sdkappid
        self._consumer = consumer

    async def stop(self) -> None:
        await super().stop()
        await self._sink.aclose()

    async def _run(self) -> None:
        queue = self._keys.push_queue()
        while True:
            try:
                await self._ensure_group(queue)
                _, claimed, *_ = await self._redis.xautoclaim(
                    queue, GROUP, self._consumer, int(CLAIM_IDLE_SECONDS * 1000), "0-0", count=BATCH
                )
                entries = list(claimed)
                if not entries:
                    reply = await self._redis.xreadgroup(
                        GROUP, self._consumer, {queue: ">"}, count=BATCH, block=BLOCK_MILLISECONDS
                    )
                    entries = [e for _, stream_entries in reply or [] for e in stream_entries]
                for entry_id, fields in entries:
                    await self._handle(fields)
                    pipe = self._redis.pipeline(transaction=False)
                    pipe.xack(queue, GROUP, entry_id)
                    pipe.xdel(queue, entry_id)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                log.warning("push queue unreadable: %s", exc)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def _ensure_group(self, queue: str) -> None:
        try:
            await self._redis.xgroup_create(queue, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _handle(self, fields: dict[Any, Any]) -> None:
        raw = fields.get("job") or fields.get(b"job")
        devices: dict[str, list[PushDevice]] = {}

        async def reachable(user_ids: list[str]) -> list[str]:
            devices.update(await self._devices.reachable(user_ids))
            return list(devices)

        try:
            contents = await self._planner.plan(decode_job(raw or b""), reachable)
        except (msgspec.DecodeError, IMError) as exc:
            log.warning("push job dropped: %s", exc)
            return
        await asyncio.gather(
            *(
                self._deliver(
                    PushNotification(sdkAppID=self._sdkappid, toUserID=c.userID, devices=devices[c.userID], content=c)
                )
                for c in contents
            )
        )

    async def _deliver(self, notification: PushNotification) -> None:
        for attempt, wait in enumerate((0.0, *RETRY_BACKOFF_SECONDS)):
            if wait:
                await asyncio.sleep(wait)
            try:
                await self._sink.deliver(notification)
                return
            except PushRejected as exc:
                log.warning("push to %s refused: %s", notification.toUserID, exc)
                return
            except PushUnavailable as exc:
                log.info("push to %s failed (attempt %d): %s", notification.toUserID, attempt + 1, exc)
        log.warning("push to %s dropped after %d attempts", notification.toUserID, len(RETRY_BACKOFF_SECONDS) + 1)
