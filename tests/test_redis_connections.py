"""A gateway process holds at most the request pool's connections to its Redis, its background
workers included (issue 21, target 7: <= 4 per process), and still runs their work at once.

The all-member push worker (REST `all_member_push/im_push` tasks, always on) used to block on its
task stream on a client of its own, a fifth connection held for the life of the process. It now
reads the stream without blocking, on the request pool, woken by the task's enqueue through the
event bus's pub/sub connection (Dispatcher.on_appended). Counted on a Redis of the test's own,
where the gateway is the only client."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import msgspec
import pytest
import redis

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.all_member_push import AllMemberPush, AllMemberPushWorker, PushSpec, PushTask
from gateway.engine.backend import EmbeddedBackend
from gateway.im.enums import ElemType
from gateway.im.messages import Content, TextElem
from gateway.store import POOL_MAX_CONNECTIONS
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient
from tests.support.redis_server import PrivateRedis
from tests.support.servers import start_in_process

USERS = 12
# Far longer than the test may wait for the task: it can only start because the enqueue woke the worker
NEVER_SECONDS = 3600.0
WAIT_FOR_TASK_SECONDS = 20.0


def _connections(private_redis: PrivateRedis) -> int:
    """Clients connected to the private Redis, less the one asking."""
    with redis.Redis.from_url(private_redis.url) as probe:
        return len(probe.client_list()) - 1


async def test_a_busy_gateway_holds_at_most_the_pools_connections_and_runs_push_tasks_once_enqueued(
    private_redis: PrivateRedis, settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker's own poll never comes within the test: only the enqueue's wake-up runs the task
    monkeypatch.setattr(AllMemberPushWorker, "poll_seconds", NEVER_SECONDS)
    own = replace(settings, redis_url=private_redis.url, push_webhook_url=None, callback_url=None)
    running = await start_in_process(own, clock)
    client = HTTPClient(running.base_url, own.sdkappid, own.secret_key, now=clock.now)
    try:
        tokens = await asyncio.gather(*(client.login(f"user{i}") for i in range(USERS)))
        # requests at once, so the pool opens every connection it may
        answers = await asyncio.gather(*(client.gql("{ getLoginUser }", token=t) for t in tokens for _ in range(5)))
        assert all(a.ok()["getLoginUser"] for a in answers)
        pushes = running.gateway.backend
        assert isinstance(pushes, EmbeddedBackend)
        for random in (7, 8):  # the worker idle (waiting for a wake-up) before each
            await clock.advance(2)  # Tencent's pace: pushes more than 1 s apart
            body = {"From_Account": "administrator", "MsgRandom": random, "MsgBody": [_text("to everyone")]}
            task_id = (await RestClient(client).ok("all_member_push/im_push", body))["TaskId"]
            await _finished(pushes.all_member_push, task_id, "the enqueue did not wake the all-member push worker")
            assert _connections(private_redis) <= POOL_MAX_CONNECTIONS
    finally:
        await client.aclose()
        await running.stop()


async def test_a_task_queued_unannounced_is_run_once_the_event_bus_relinks(
    private_redis: PrivateRedis, settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task whose poke the process never got (a poke published while its pub/sub link is down is
    lost) is run once the link is back: the relink wakes the worker. Here the task is queued with
    no poke at all, then the link is cut."""
    monkeypatch.setattr(AllMemberPushWorker, "poll_seconds", NEVER_SECONDS)
    own = replace(settings, redis_url=private_redis.url, push_webhook_url=None, callback_url=None)
    running = await start_in_process(own, clock)
    try:
        gateway = running.gateway
        pushes = gateway.backend
        assert isinstance(pushes, EmbeddedBackend)
        spec = PushSpec(
            sender="administrator",
            random=9,
            content=Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text="missed poke")),
            offline_push=False,
        )
        task = PushTask(task_id="t-unannounced", spec=spec, created=int(time.time()))
        with redis.Redis.from_url(private_redis.url) as direct:
            # queued as AllMemberPush.start_task does, less the poke
            direct.hset(
                gateway.keys.push_task(task.task_id),
                mapping={"task": msgspec.json.encode(task), "cursor": "", "sent": 0},
            )
            direct.xadd(gateway.keys.push_tasks(), {"task": task.task_id})
            assert not (await pushes.all_member_push.progress(task.task_id))[2]
            direct.client_kill_filter(_type="pubsub")  # the dispatcher relinks
        await _finished(pushes.all_member_push, task.task_id, "the relink did not wake the all-member push worker")
    finally:
        await running.stop()


async def _finished(pushes: AllMemberPush, task_id: str, failure: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_TASK_SECONDS
    while not (await pushes.progress(task_id))[2]:
        assert loop.time() < deadline, failure
        await asyncio.sleep(0.05)


def _text(text: str) -> dict[str, object]:
    return {"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}
