"""Opening the Redis that holds everything: a real one (IMQL_REDIS_URL) or an embedded one.

The embedded store is fakeredis in this process: zero set-up, nothing persisted, one process
only. With a real Redis, one bounded connection pool serves every request and the event bus
reader; the dispatcher adds one pub/sub connection.
"""

from __future__ import annotations

from typing import Any

import fakeredis
import redis.asyncio as aioredis

# Connections in the shared pool. Requests pipeline their commands, so a few dozen carry thousands
# of requests per second; a request that finds all busy waits up to POOL_WAIT_SECONDS.
POOL_MAX_CONNECTIONS = 32
POOL_WAIT_SECONDS = 5.0
SOCKET_TIMEOUT_SECONDS = 10.0  # a Redis that stops answering fails the request instead of hanging it


def open_redis(url: str | None) -> Any:
    if url is None:
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=POOL_MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    return aioredis.Redis(connection_pool=pool)
