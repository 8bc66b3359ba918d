"""Opening the Redis that holds everything: a real one (IMQL_REDIS_URL) or an embedded one.

The embedded store is fakeredis in this process: zero set-up, nothing persisted, one process
only. With a real Redis, one bounded connection pool serves every request and the event bus
reader; the dispatcher adds one pub/sub connection.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import fakeredis

from gateway.lean.redis import LeanRedis, WaitingConnectionPool, lean_connections

# Connections in the shared pool, the dispatcher's pub/sub connection included. Requests pipeline
# their commands and a round trip takes ~0.1 ms, so 3 connections carry the ~1,200 req/s one process
# serves: measured, 4 served small queries 15% faster than 32 did (bench query-throughput), and
# 10,000 idle subscriptions hold 4 connections. A request finding all busy queues; under a burst
# (thousands of subscriptions opening at once) the queue is long but moves, so it may wait this long.
POOL_MAX_CONNECTIONS = 4
POOL_WAIT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
# Commands carry no read or write timeout: redis-py arms one per command (a timeout context per
# reply, and a task per send); without them send-to-receive's capacity rose by a third (150 → 200
# msg/s with p99 < 50 ms, on the same machine). Instead:
# - a Redis host that is gone (crashed, partitioned) is found by the kernel: TCP keepalive probes
#   an idle connection, and TCP_USER_TIMEOUT fails one whose data goes unacknowledged, in ~20 s;
# - a Redis that is up but stalls (a slow script, a paused process) bounds each HTTP request by the
#   request deadline (IMQL_REQUEST_TIMEOUT, gateway.web.view); background loops wait for it.
KEEPALIVE_IDLE_SECONDS = 10
KEEPALIVE_INTERVAL_SECONDS = 5
KEEPALIVE_PROBES = 3
UNACKNOWLEDGED_MILLISECONDS = 20_000


def _keepalive_options() -> dict[int, int]:
    """The TCP options above that this platform has (all of them on Linux)."""
    wanted = {
        "TCP_KEEPIDLE": KEEPALIVE_IDLE_SECONDS,
        "TCP_KEEPINTVL": KEEPALIVE_INTERVAL_SECONDS,
        "TCP_KEEPCNT": KEEPALIVE_PROBES,
        "TCP_USER_TIMEOUT": UNACKNOWLEDGED_MILLISECONDS,
    }
    return {getattr(socket, name): value for name, value in wanted.items() if hasattr(socket, name)}


def open_redis(
    url: str | None, *, on_round_trip: Callable[[], None] | None = None, max_connections: int = POOL_MAX_CONNECTIONS
) -> Any:
    if url is None:
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    pool = WaitingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        wait_seconds=POOL_WAIT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=None,
        health_check_interval=30,
    )
    if url.startswith(("redis://", "rediss://")):  # TCP: a Unix socket has no keepalive
        pool.connection_kwargs.update(socket_keepalive=True, socket_keepalive_options=_keepalive_options())
    lean_connections(pool, on_round_trip)
    return LeanRedis(connection_pool=pool)


WORKER_POOL_MAX_CONNECTIONS = 1  # a background stream consumer's own client: one blocking read at a time


def open_worker_redis(url: str | None, shared: Any) -> Any:
    """A client of its own for a background stream consumer (gateway.background.StreamConsumer):
    its XREADGROUP blocks while the stream is empty, and on the shared pool's few connections that
    starved requests (and other consumers) of one for as long. The embedded in-process store is
    one object: it is shared."""
    if url is None:
        return shared
    return open_redis(url, max_connections=WORKER_POOL_MAX_CONNECTIONS)
