"""Opening the Redis that holds everything: a real one (IMQL_REDIS_URL), a Redis Cluster
(IMQL_REDIS_CLUSTER=1 with IMQL_REDIS_URL naming any node) or an embedded one.

The embedded store is fakeredis in this process: zero set-up, nothing persisted, one process
only. With a real Redis, one bounded connection pool serves every request and the event bus
reader; the dispatcher adds one pub/sub connection. On a cluster, a process holds at most
CLUSTER_MAX_IN_FLIGHT command connections per shard plus one pub/sub connection per shard
(gateway.lean.cluster; docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import Any

import fakeredis
from redis.exceptions import RedisError

from gateway.lean.cluster import ImqlCluster, ordered_pipeline, scan_one, scan_targets
from gateway.lean.redis import LeanRedis, WaitingConnectionPool, lean_connections

# Connections in the shared pool, the dispatcher's pub/sub connection included. Requests pipeline
# their commands, and pipelines that find every connection busy share the next round trip
# (gateway.lean.redis), so a few connections carry what one process serves: with that, 4 served
# small queries faster than 32 did (bench query-throughput, ~2,200 against ~1,700 req/s), and
# 10,000 idle subscriptions hold 4 connections. A single command finding all busy queues; under a
# burst (thousands of subscriptions opening at once) the queue is long but moves, so it may wait this long.
POOL_MAX_CONNECTIONS = 4
POOL_WAIT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
# On a cluster, commands, pipelines and transactions in flight at once per process: each holds at
# most one connection per shard, so this is the bound on command connections to any one shard. Twice
# the single-Redis pool: a cross-slot pipeline holds one connection on each shard it touches, and
# the background workers' blocking reads (1 s each) hold theirs on the app's shard.
CLUSTER_MAX_IN_FLIGHT = 8
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


__all__ = [
    "close_redis",
    "database_of",
    "open_redis",
    "open_worker_redis",
    "ordered_pipeline",
    "scan_one",
    "scan_targets",
]


def open_redis(
    url: str | None,
    *,
    cluster: bool = False,
    wait_replicas: int = 0,
    on_round_trip: Callable[[], None] | None = None,
    max_connections: int = POOL_MAX_CONNECTIONS,
) -> Any:
    """The store's client. `wait_replicas` (IMQL_REDIS_WAIT_REPLICAS): acknowledged writes, the
    `ordered_pipeline(redis, durable=True)` ones, wait for that many replicas. `max_connections`:
    the single-Redis pool's size."""
    if url is None:
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    if cluster:
        client = open_cluster(url, on_round_trip=on_round_trip)
        client.wait_replicas = wait_replicas
        return client
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
    lean = LeanRedis(connection_pool=pool)
    lean.wait_replicas = wait_replicas
    return lean


def open_cluster(url: str, *, on_round_trip: Callable[[], None] | None = None) -> ImqlCluster:
    """A client of the Redis Cluster `url`'s node belongs to (it connects on first use)."""
    client: ImqlCluster = ImqlCluster.from_url(  # type: ignore[assignment]
        url,
        node_url=url,
        on_round_trip=on_round_trip,
        max_in_flight=CLUSTER_MAX_IN_FLIGHT,
        wait_seconds=POOL_WAIT_SECONDS,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=None,
        socket_keepalive=True,
        socket_keepalive_options=_keepalive_options(),
        health_check_interval=30,
    )
    return client


def database_of(redis: Any) -> int:
    """The database number a client of `open_redis` selects (0 on a cluster, which has only that
    one). A Redis server's pub/sub channels are shared by all its databases, so what a message
    says about a key holds only for subscribers on the same database (gateway.events.bus)."""
    kwargs = getattr(getattr(redis, "connection_pool", None), "connection_kwargs", None) or {}
    return int(kwargs.get("db") or 0)


async def close_redis(redis: Any) -> None:
    """Close a client `open_redis` made, and every socket of its pool or its cluster's nodes."""
    with contextlib.suppress(RedisError, OSError):
        await redis.aclose()  # a cluster client closes every node's connections
        if not isinstance(redis, ImqlCluster):
            # a pool we built ourselves is not closed by aclose(); its sockets must not outlive us
            await redis.connection_pool.disconnect()


WORKER_POOL_MAX_CONNECTIONS = 1  # a background stream consumer's own client: one blocking read at a time


def open_worker_redis(url: str | None, shared: Any, *, cluster: bool = False) -> Any:
    """A client of its own for a background stream consumer (gateway.background.StreamConsumer):
    its XREADGROUP blocks while the stream is empty, and on the shared pool's few connections that
    starved requests (and other consumers) of one for as long. The embedded in-process store is
    one object: it is shared."""
    if url is None:
        return shared
    if cluster:
        return open_cluster(url)
    return open_redis(url, max_connections=WORKER_POOL_MAX_CONNECTIONS)
