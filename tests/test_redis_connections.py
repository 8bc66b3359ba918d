"""A gateway process holds at most the request pool's connections to its Redis, its background
workers included (issue 21, target 7: <= 4 per process), and still runs their work.

The all-member push worker (REST `all_member_push/im_push` tasks, always on) used to block on its
task stream on a client of its own, a fifth connection held for the life of the process: it now
polls the stream on the request pool (AllMemberPushWorker.poll_seconds), holding a connection for
one quick round trip at a time. Counted on a Redis of the test's own, where the gateway is the only
client."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import redis

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.all_member_push import POLL_SECONDS
from gateway.engine.backend import EmbeddedBackend
from gateway.store import POOL_MAX_CONNECTIONS
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient
from tests.support.redis_server import PrivateRedis
from tests.support.servers import start_in_process

USERS = 12


def _connections(private_redis: PrivateRedis) -> int:
    """Clients connected to the private Redis, less the one asking."""
    with redis.Redis.from_url(private_redis.url) as probe:
        return len(probe.client_list()) - 1


async def test_a_busy_gateway_holds_at_most_the_pools_connections_and_still_runs_push_tasks(
    private_redis: PrivateRedis, settings: Settings, clock: ManualClock
) -> None:
    own = replace(settings, redis_url=private_redis.url, push_webhook_url=None, callback_url=None)
    running = await start_in_process(own, clock)
    client = HTTPClient(running.base_url, own.sdkappid, own.secret_key, now=clock.now)
    try:
        tokens = await asyncio.gather(*(client.login(f"user{i}") for i in range(USERS)))
        # requests at once, so the pool opens every connection it may
        answers = await asyncio.gather(*(client.gql("{ getLoginUser }", token=t) for t in tokens for _ in range(5)))
        assert all(a.ok()["getLoginUser"] for a in answers)
        # an all-member push task, run by the worker
        pushes = running.gateway.backend
        assert isinstance(pushes, EmbeddedBackend)
        body = {"From_Account": "administrator", "MsgRandom": 7, "MsgBody": [_text("to everyone")]}
        task_id = (await RestClient(client).ok("all_member_push/im_push", body))["TaskId"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20 + POLL_SECONDS
        while not (await pushes.all_member_push.progress(task_id))[2]:
            assert loop.time() < deadline, "the all-member push worker never ran the task"
            await asyncio.sleep(0.05)
        await asyncio.sleep(2 * POLL_SECONDS)  # the worker idle again, between polls
        assert _connections(private_redis) <= POOL_MAX_CONNECTIONS
    finally:
        await client.aclose()
        await running.stop()


def _text(text: str) -> dict[str, object]:
    return {"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}
