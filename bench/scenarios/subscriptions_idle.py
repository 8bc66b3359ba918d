"""subscriptions-idle: 10,000 idle WebSocket subscriptions (advancedMsgListener, one per user and
connection) on one gateway process: resident memory per subscription (RSS with them minus RSS
before them, over their number) and the Redis connections the process holds with all of them
open (established TCP connections from its PID to Redis's port).

Floor, in the same run: as many idle connections to the bare WebSocket server (bench.floors
`bare-ws`: uvicorn, the same WebSocket implementation, Starlette, and a subscription acknowledged
but no GraphQL or IM state), each holding one subscription the same way."""

from __future__ import annotations

import asyncio
import gc
import time
from urllib.parse import urlparse

from bench.harness import Bench, ServerProcess, tcp_connections_to
from bench.wsclient import Subscriber, subscribe

LISTEN = "subscription { advancedMsgListener { __typename } }"
OPEN_CONCURRENCY = 200
OPEN_WAIT_SECONDS = 120.0
SETTLE_SECONDS = 3.0  # allocations settle and the process's lazy caches fill before RSS is read


async def _hold(
    server: ServerProcess, tokens: list[str], live_metric: str = ""
) -> tuple[list[Subscriber], float, int, int]:
    """Open one subscription per token on `server`: (subscribers, seconds until all are open, RSS
    before, after). A subscription is open once the server counts it in `live_metric`, or, on a
    server without one (the floor), once its subscribe message is acknowledged."""
    # warm the process: one subscription opened and closed, so first-use costs are not counted
    warm = await subscribe("127.0.0.1", server.port, tokens[0], LISTEN, lambda *_: None)
    warm.close()
    await asyncio.sleep(SETTLE_SECONDS)
    rss_before = server.rss_bytes()
    opening = time.perf_counter()
    subscribers: list[Subscriber] = []
    for i in range(0, len(tokens), OPEN_CONCURRENCY):
        subscribers += await asyncio.gather(
            *(subscribe("127.0.0.1", server.port, t, LISTEN, lambda *_: None) for t in tokens[i : i + OPEN_CONCURRENCY])
        )
    if live_metric:  # acknowledged is not yet open: wait until the process follows every stream
        deadline = time.perf_counter() + OPEN_WAIT_SECONDS
        while await server.metric(live_metric) < len(tokens):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {await server.metric(live_metric)} of {len(tokens)} subscriptions opened")
            await asyncio.sleep(0.2)
    opened_in = time.perf_counter() - opening
    gc.collect()
    await asyncio.sleep(SETTLE_SECONDS)
    rss_after = server.rss_bytes()
    alive = sum(1 for s in subscribers if not s.closed.done())
    if alive != len(tokens):
        raise RuntimeError(f"only {alive} of {len(tokens)} subscriptions stayed open")
    return subscribers, opened_in, rss_before, rss_after


async def run(bench: Bench) -> None:
    count = 100 if bench.tiny else 10_000
    async with bench.running():
        users = [f"idle{i}" for i in range(count)]
        sessions = await bench.login(users)
        tokens = [s.token for s in sessions]
        floor = await bench.start_process(["-m", "bench.floors", "bare-ws"], "bare-ws")
        held, _, floor_before, floor_after = await _hold(floor, tokens)
        for s in held:
            s.close()
        floor.stop()
        server = await bench.start_gateway()
        redis_port = urlparse(bench.redis_url).port or 6379
        subscribers, opened_in, rss_before, rss_after = await _hold(server, tokens, "imql_live_subscriptions")
        connections = tcp_connections_to(server.proc.pid, redis_port)
        per = (rss_after - rss_before) / count
        floor_per = (floor_after - floor_before) / count
        bench.emit("subscribe_time", round(opened_in, 1), "s", subscriptions=count)
        bench.emit("rss_before_mb", round(rss_before / 2**20, 1), "MB")
        bench.emit("rss_after_mb", round(rss_after / 2**20, 1), "MB", subscriptions=count)
        bench.emit("floor_bare_ws_per_connection", round(floor_per / 1024, 2), "KB", connections=count)
        bench.emit("memory_above_floor", round((per - floor_per) / 1024, 2), "KB", subscriptions=count)
        bench.emit("redis_connections", connections, "connections", subscriptions=count)
        bench.emit("memory_per_subscription", round(per / 1024, 2), "KB", subscriptions=count)
        for s in subscribers:
            s.close()
