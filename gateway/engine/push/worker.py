"""PushWorker: reads the app's push queue in a consumer group shared by every replica, so each
queued message is handled by one of them; entries a crashed replica had taken are claimed by
another after CLAIM_IDLE_SECONDS. Each notification is retried with backoff while the sink is
unavailable, then dropped with a log line (a push that arrives an hour late is worse than none):
a sink's outage never leaves an entry pending. An entry whose planning fails stays pending, to be
claimed again; counted toward the dead-letter stream unless the failure is an outage (Redis:
gateway.background.is_transient).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from gateway.background import StreamConsumer
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


class PushWorker(StreamConsumer):
    task_name = "imql-push-worker"
    group = GROUP
    batch = BATCH
    block_milliseconds = BLOCK_MILLISECONDS
    claim_idle_seconds = CLAIM_IDLE_SECONDS
    error_pause_seconds = ERROR_PAUSE_SECONDS

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
        super().__init__(redis, keys.push_queue(), consumer)
        self._planner = planner
        self._devices = devices
        self._sink = sink
        self._sdkappid = sdkappid

    async def stop(self) -> None:
        await super().stop()
        await self._sink.aclose()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        return await self._one_by_one(entries, self._handle)

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
