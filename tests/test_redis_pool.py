"""The Redis pool and connection class under the gateway (gateway.redis_pool), on the real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError

from gateway.config import Settings
from gateway.redis_pool import HiredisPacking, WaitingConnectionPool


class _Packed(HiredisPacking, Connection):
    pass


@pytest.mark.parametrize(
    "args",
    [
        ("SET", "key", "value"),
        ("HSET", "h", "f", b"\x00\xffraw", "é ✓", 7, -3, 2.5, 1e20, 0.1),
        ("CLIENT SETNAME", "imql"),
        (b"CONFIG GET", "maxmemory"),
        ("XADD", "s", "MAXLEN", "~", 10_000, "*", "e", bytearray(b"ab"), "m", memoryview(b"cd")),
    ],
)
def test_hiredis_packing_matches_redis_py(args: tuple[object, ...]) -> None:
    """Byte for byte what redis-py's own packer sends, multi-word command names included."""
    ours = _Packed().pack_command(*args)
    theirs = Connection().pack_command(*args)
    assert b"".join(ours) == b"".join(bytes(chunk) for chunk in theirs)


def test_a_pipeline_packs_as_redis_py_packs_it() -> None:
    commands = [("SET", "a", "1"), ("HSET", "h", "f", b"x" * 7000, "g", 2.5), ("CLIENT SETNAME", "imql"), ("GET", "a")]
    ours = _Packed().pack_commands(commands)
    theirs = Connection().pack_commands(commands)
    assert b"".join(ours) == b"".join(bytes(chunk) for chunk in theirs)


@pytest.mark.parametrize("bad", [None, True, [1]])
def test_hiredis_packing_refuses_what_redis_py_refuses(bad: object) -> None:
    with pytest.raises(DataError):
        _Packed().pack_command("SET", "key", bad)
    with pytest.raises(DataError):
        Connection().pack_command("SET", "key", bad)


async def test_an_exhausted_pool_makes_callers_wait_for_a_release(settings: Settings) -> None:
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, max_connections=2, wait_seconds=5)
    try:
        first, second = await pool.get_connection(), await pool.get_connection()
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # both are in use: the third caller waits
        await pool.release(first)
        third = await asyncio.wait_for(waiting, 1)
        assert third is first  # the released connection, not a new one past the bound
        await third.send_command("PING")
        assert await third.read_response() in (b"PONG", "PONG")
        await pool.release(third)
        await pool.release(second)
    finally:
        await pool.disconnect()


async def test_a_caller_gives_up_after_the_wait_and_a_cancelled_one_leaves_the_queue(settings: Settings) -> None:
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, max_connections=1, wait_seconds=0.2)
    try:
        held = await pool.get_connection()
        with pytest.raises(RedisConnectionError, match="no Redis connection free"):
            await pool.get_connection()
        cancelled = asyncio.create_task(pool.get_connection())
        patient = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        cancelled.cancel()
        await asyncio.sleep(0)
        await pool.release(held)  # must reach the caller still waiting, not the one that left
        got = await asyncio.wait_for(patient, 1)
        assert got is held
        assert cancelled.cancelled()
        await pool.release(got)
    finally:
        await pool.disconnect()
