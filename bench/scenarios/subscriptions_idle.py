"""subscriptions-idle: 10,000 idle WebSocket subscriptions (advancedMsgListener, one per user and
connection) on one gateway process: resident memory per subscription (RSS with them minus RSS
before them, over their number), the server CPU time spent opening each (the WebSocket handshake,
connection_init and the subscription, /proc/<pid>/stat from before the first until all are open,
over their number: what a reconnecting crowd costs) and the Redis connections the process holds
with all of them open (established TCP connections from its PID to Redis's port).

Floor, in the same run: as many idle connections to the bare WebSocket server (bench.floors
`bare-ws`: uvicorn, the same WebSocket implementation, Starlette, and a subscription acknowledged
but no GraphQL or IM state), each holding one subscription the same way: its memory per connection
and its server CPU per open (`floor_bare_ws_subscribe_cpu_ms`, opened the same way and paced the same).

Peer, in the same run: as many `newMessages` subscriptions on yoga-chat (bench/peer.py). Rounds
alternate imql, peer, imql, ... each on a fresh process; the median round is quoted. A
subscription counts as open once the server follows it: imql's `imql_live_subscriptions`, the
peer's Redis channel for its user (`PUBSUB CHANNELS`)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlparse

from bench.harness import Bench, ServerProcess, median, tcp_connections_to
from bench.peer import NEW_MESSAGES, PEER_NAME
from bench.wsclient import Subscriber, subscribe

LISTEN = "subscription { advancedMsgListener { __typename } }"
OPEN_CONCURRENCY = 200
MAX_OPENING = 1_000  # acknowledged, not yet followed by the server: no more before opening others
OPEN_WAIT_SECONDS = 120.0
SETTLE_SECONDS = 3.0  # allocations settle and the process's lazy caches fill before RSS is read
TINY_SETTLE_SECONDS = 0.3  # --tiny proves the scenario runs; its memory figure means little anyway
ROUNDS = 3


@dataclass
class Held:
    """One server holding one subscription per token: what it took and what it costs."""

    subscribers: list[Subscriber]
    opened_in: float  # seconds until every subscription was open
    cpu: float  # server CPU seconds spent opening them
    rss_before: int
    rss_after: int

    def per_subscription_kb(self) -> float:
        return (self.rss_after - self.rss_before) / len(self.subscribers) / 1024

    def cpu_ms(self) -> float:
        return self.cpu / len(self.subscribers) * 1000

    def close(self) -> None:
        for s in self.subscribers:
            s.close()


async def _hold(
    server: ServerProcess,
    tokens: list[str],
    query: str,
    live: Callable[[], Awaitable[float]] | None = None,
    settle: float = SETTLE_SECONDS,
) -> Held:
    """Open one subscription per token on `server`. A subscription is open once `live()` counts
    it, or, on a server that cannot tell (the floor), once its connection is acknowledged."""
    # warm the process: one subscription opened and closed, so first-use costs are not counted
    warm = await subscribe("127.0.0.1", server.port, tokens[0], query, lambda *_: None)
    warm.close()
    await asyncio.sleep(settle)
    rss_before = server.rss_bytes()
    cpu_before = server.cpu_seconds()
    opening = time.perf_counter()
    subscribers: list[Subscriber] = []
    for i in range(0, len(tokens), OPEN_CONCURRENCY):
        subscribers += await asyncio.gather(
            *(subscribe("127.0.0.1", server.port, t, query, lambda *_: None) for t in tokens[i : i + OPEN_CONCURRENCY])
        )
        # acknowledged is not open: pace the opens (a flood waits on the server's Redis pool, and one
        # that waits 30 s fails with 7012: reconnect-storm is the scenario for floods)
        while live is not None and len(subscribers) - await live() > MAX_OPENING:
            await asyncio.sleep(0.05)
    if live is not None:  # acknowledged is not yet open: wait until the process follows every stream
        deadline = time.perf_counter() + OPEN_WAIT_SECONDS
        while await live() < len(tokens):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {await live()} of {len(tokens)} subscriptions opened")
            await asyncio.sleep(0.05)
    opened_in = time.perf_counter() - opening
    cpu = server.cpu_seconds() - cpu_before
    gc.collect()
    await asyncio.sleep(settle)
    rss_after = server.rss_bytes()
    alive = sum(1 for s in subscribers if not s.closed.done())
    if alive != len(tokens):
        raise RuntimeError(f"only {alive} of {len(tokens)} subscriptions stayed open")
    return Held(subscribers, opened_in, cpu, rss_before, rss_after)


async def run(bench: Bench) -> None:
    count = 100 if bench.tiny else 10_000
    rounds = 1 if bench.tiny else ROUNDS
    settle = TINY_SETTLE_SECONDS if bench.tiny else SETTLE_SECONDS
    async with bench.running():
        users = [f"idle{i}" for i in range(count)]
        sessions = await bench.login(users)
        tokens = [s.token for s in sessions]
        floor = await bench.start_process(["-m", "bench.floors", "bare-ws"], "bare-ws")
        held = await _hold(floor, tokens, LISTEN, settle=settle)
        held.close()
        floor.stop()
        floor_per = held.per_subscription_kb()
        floor_cpu = held.cpu_ms()
        redis_port = urlparse(bench.redis_url).port or 6379
        results: dict[str, list[Held]] = {"imql": [], PEER_NAME: []}
        connections: dict[str, int] = {}
        peer_tokens: list[str] | None = None
        for _ in range(rounds):
            server = await bench.start_gateway()
            held = await _hold(server, tokens, LISTEN, partial(server.metric, "imql_live_subscriptions"), settle)
            results["imql"].append(held)
            connections["imql"] = tcp_connections_to(server.proc.pid, redis_port)
            held.close()
            server.stop()
            peer = await bench.start_peer()
            if peer is not None:
                peer_tokens = peer_tokens or await peer.login(users)
                live = partial(peer.live_user_channels, bench.engine.redis)
                held = await _hold(peer.server, peer_tokens, NEW_MESSAGES, live, settle)
                results[PEER_NAME].append(held)
                connections[PEER_NAME] = tcp_connections_to(peer.server.proc.pid, redis_port)
                held.close()
                peer.server.stop()
        ours, theirs = results["imql"], results[PEER_NAME]

        def figure(runs: list[Held], value: Callable[[Held], float], digits: int = 2) -> float | None:
            return round(median([value(h) for h in runs]), digits) if runs else None

        per = figure(ours, Held.per_subscription_kb)
        assert per is not None
        extra: dict[str, Any] = {"subscriptions": count, "rounds": rounds}
        bench.emit("rss_before_mb", figure(ours, lambda h: h.rss_before / 2**20, 1) or 0.0, "MB")
        bench.emit("rss_after_mb", figure(ours, lambda h: h.rss_after / 2**20, 1) or 0.0, "MB", subscriptions=count)
        bench.emit("floor_bare_ws_per_connection", round(floor_per, 2), "KB", connections=count)
        bench.emit("memory_above_floor", round(per - floor_per, 2), "KB", subscriptions=count)
        # what opening costs the bare stack (handshake, connection_init, an acknowledged subscription):
        # the part of subscribe_cpu_ms that no change to imql's own code can remove
        bench.emit("floor_bare_ws_subscribe_cpu_ms", round(floor_cpu, 3), "ms", connections=count)
        for name, unit, value, digits in (
            ("subscribe_time", "s", lambda h: h.opened_in, 1),
            ("subscribe_cpu_ms", "ms", Held.cpu_ms, 3),
        ):
            mine = figure(ours, value, digits)
            assert mine is not None
            bench.emit_compared(name, mine, figure(theirs, value, digits), unit, **extra)
        peer_connections = connections.get(PEER_NAME)
        bench.emit_compared("redis_connections", connections["imql"], peer_connections, "connections", **extra)
        peer_per = figure(theirs, Held.per_subscription_kb)
        peer_each = {"each": [round(h.per_subscription_kb(), 2) for h in theirs], **extra}
        each = [round(h.per_subscription_kb(), 2) for h in ours]
        bench.emit_compared("memory_per_subscription", per, peer_per, "KB", peer_extra=peer_each, each=each, **extra)
