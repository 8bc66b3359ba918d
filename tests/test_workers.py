"""`imql serve --workers N`: N processes share the port, and one user's HTTP requests and
WebSocket subscriptions, spread over them, behave as on one process (they share only Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from gateway.config import ConfigError, load_settings
from tests.conftest import SECRET
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import GatewayProcess, spawn_gateway

pytestmark = pytest.mark.e2e

MESSAGES = (
    "subscription($since: String) { advancedMsgListener(since: $since) "
    "{ ... on RecvNewMessageEvent { message { textElem { text } } } } }"
)
SENDS = 12
SCRAPES = 200  # fresh connections tried until each worker has answered one (the kernel picks)


def _env(sdkappid: int, redis_url: str, redis_is_cluster: bool) -> dict[str, str]:
    """`imql serve`'s environment for a test's app on the suite's Redis (or cluster)."""
    return {
        "IMQL_REDIS_URL": redis_url,
        "IMQL_SDKAPPID": str(sdkappid),
        "IMQL_SECRET_KEY": SECRET,
        "IMQL_REDIS_CLUSTER": "1" if redis_is_cluster else "0",
    }


def _workers(process: GatewayProcess) -> set[int]:
    """The worker processes `imql serve` started (not multiprocessing's resource tracker)."""
    pid = process.proc.pid
    children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return {c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


async def _send(process: GatewayProcess, sdkappid: int, token: str, text: str) -> None:
    """One message over a connection of its own, so the sends land on either worker."""
    client = HTTPClient(process.base_url, sdkappid, SECRET)
    try:
        created = await client.gql(f'mutation {{ createTextMessage(text: "{text}") {{ id }} }}', token=token)
        cid = created.ok()["createTextMessage"]["id"]
        sent = await client.gql(f'mutation {{ sendMessage(id: "{cid}", receiver: "bob") {{ msgID }} }}', token=token)
        sent.ok()
    finally:
        await client.aclose()


async def test_two_workers_serve_one_users_http_and_websocket_traffic(
    sdkappid: int, redis_url: str, redis_is_cluster: bool
) -> None:
    env = _env(sdkappid, redis_url, redis_is_cluster)
    process = await spawn_gateway(env, args=["--workers", "2"])
    try:
        workers = _workers(process)
        assert len(workers) == 2
        client = HTTPClient(process.base_url, sdkappid, SECRET)
        alice, bob = await client.login("alice"), await client.login("bob")
        # subscribed from a cursor read first (docs/events.md, "Subscribing without a gap"): a
        # subscription without `since` starts when its worker opens it, after the sends may have begun
        cursor = (await client.gql("query { eventCursor }", token=bob)).ok()["eventCursor"]
        await client.aclose()
        # two devices of bob's, each on its own connection (on either worker)
        phones = [await WSClient.connect(process.ws_url, bob) for _ in range(2)]
        ops = [await ws.subscribe(MESSAGES, {"since": cursor}) for ws in phones]
        for n in range(SENDS):
            await _send(process, sdkappid, alice, f"m{n}")
        for ws, op in zip(phones, ops, strict=True):
            received = [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(SENDS)]
            assert received == [f"m{n}" for n in range(SENDS)]
            await ws.close()
        # every worker answered some connection: their scrapes name their own process
        answered: set[int] = set()
        for _ in range(SCRAPES):
            async with httpx.AsyncClient() as http:
                found = re.search(r'imql_worker\{pid="(\d+)"\}', (await http.get(f"{process.base_url}/metrics")).text)
            assert found is not None
            answered.add(int(found.group(1)))
            if answered == workers:
                break
        assert answered == workers
    finally:
        process.terminate()


async def test_more_than_one_worker_needs_redis() -> None:
    """The embedded store lives inside one process: several workers would each have their own."""
    with pytest.raises(RuntimeError, match="--workers above 1 needs IMQL_REDIS_URL"):
        await spawn_gateway({"IMQL_REDIS_URL": ""}, args=["--workers", "2"])


async def _frozen(process: GatewayProcess, seconds: float) -> tuple[int, set[int]]:
    """Stop one worker (SIGSTOP, as a host too loaded to schedule it does) for `seconds`, then let
    it go on: the worker stopped, and the workers there are afterwards."""
    frozen = min(_workers(process))
    os.kill(frozen, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        with contextlib.suppress(ProcessLookupError):  # killed meanwhile
            os.kill(frozen, signal.SIGCONT)
    await asyncio.sleep(1)  # the supervisor checks every 0.5 s
    return frozen, _workers(process)


async def test_a_worker_slow_to_answer_the_supervisor_is_not_killed(
    sdkappid: int, redis_url: str, redis_is_cluster: bool
) -> None:
    """Longer than uvicorn's own 5 s health check: the worker and its connections live on."""
    env = _env(sdkappid, redis_url, redis_is_cluster)
    process = await spawn_gateway(env, args=["--workers", "2"])
    try:
        frozen, after = await _frozen(process, 7)
        assert frozen in after
        assert len(after) == 2
    finally:
        process.terminate()


async def test_a_worker_that_stays_silent_past_the_health_check_is_replaced(
    sdkappid: int, redis_url: str, redis_is_cluster: bool
) -> None:
    env = {**_env(sdkappid, redis_url, redis_is_cluster), "IMQL_WORKER_HEALTHCHECK_SECONDS": "1"}
    process = await spawn_gateway(env, args=["--workers", "2"])
    try:
        frozen, after = await _frozen(process, 4)
        assert frozen not in after
        for _ in range(150):  # its replacement starts
            if len(_workers(process)) == 2:
                break
            await asyncio.sleep(0.2)
        assert len(_workers(process)) == 2
        async with httpx.AsyncClient() as http:  # and the port is served again
            assert (await http.get(f"{process.base_url}/healthz", timeout=5)).status_code == 200
    finally:
        process.terminate()


def test_the_health_check_is_whole_seconds_one_or_more() -> None:
    assert load_settings({}).worker_healthcheck_seconds == 30
    assert load_settings({"IMQL_WORKER_HEALTHCHECK_SECONDS": "12"}).worker_healthcheck_seconds == 12
    for bad in ("0", "-5", "2.5", "soon"):
        with pytest.raises(ConfigError, match="IMQL_WORKER_HEALTHCHECK_SECONDS"):
            load_settings({"IMQL_WORKER_HEALTHCHECK_SECONDS": bad})
