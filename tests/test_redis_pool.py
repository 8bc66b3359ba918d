"""The Redis pool and connection class under the gateway (gateway.lean.redis), on the real Redis."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError
from redis.typing import EncodableT

from gateway.config import Settings
from gateway.lean.redis import (
    HiredisPacking,
    LeanPipeline,
    LeanRedis,
    ReplicatedPipeline,
    ReplicationError,
    WaitingConnectionPool,
    lean_connections,
)
from gateway.store import close_redis, open_redis, ordered_pipeline


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
def test_hiredis_packing_matches_redis_py(args: tuple[EncodableT, ...]) -> None:
    """Byte for byte what redis-py's own packer sends, multi-word command names included."""
    ours = _Packed().pack_command(*args)
    theirs = Connection().pack_command(*args)
    assert b"".join(ours) == b"".join(bytes(chunk) for chunk in theirs)


def test_a_pipeline_packs_as_redis_py_packs_it() -> None:
    commands = [
        ("SET", "a", "1"),
        ("HSET", "h", "f", b"x" * 7000, "g", 2.5),
        ("CLIENT SETNAME", "imql"),
        ("GET", "a"),
        ("SET", "b", bytearray(b"ab")),  # hiredis refuses it: copied by pack_command
        ("SET", "c", memoryview(b"cd")),
        (b"GET", "a"),  # a name given as bytes
    ]
    ours = _Packed().pack_commands(commands)
    theirs = Connection().pack_commands(commands)
    assert b"".join(ours) == b"".join(bytes(chunk) for chunk in theirs)


@pytest.mark.parametrize("bad", [None, True, [1]])
def test_a_pipeline_with_an_argument_redis_py_refuses_is_refused_whole(bad: object) -> None:
    with pytest.raises(DataError):
        _Packed().pack_commands([("SET", "a", "1"), ("SET", "key", bad)])


@pytest.mark.parametrize("bad", [None, True, [1]])
def test_hiredis_packing_refuses_what_redis_py_refuses(bad: object) -> None:
    with pytest.raises(DataError):
        _Packed().pack_command("SET", "key", bad)
    with pytest.raises(DataError):
        Connection().pack_command("SET", "key", bad)  # type: ignore[arg-type]  # a value it refuses, on purpose


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


async def test_a_released_connection_goes_to_the_caller_waiting_longest_not_to_a_newcomer(settings: Settings) -> None:
    """A crowd of callers (a restart's reconnections) is served in order: a newcomer arriving as a
    connection is released queues behind those already waiting instead of taking it, so no waiter
    is passed over again and again until its wait runs out."""
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, max_connections=1, wait_seconds=0.5)
    try:
        held = await pool.get_connection()
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        await pool.release(held)
        # asks in the very moment of the release, before the waiter runs: it waits its turn, which
        # does not come before its wait runs out (the waiter holds the connection)
        with pytest.raises(RedisConnectionError, match="no Redis connection free"):
            await pool.get_connection()
        got = await asyncio.wait_for(waiting, 1)
        assert got is held
        later = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        assert not later.done()
        await pool.release(got)
        assert await asyncio.wait_for(later, 1) is held
        await pool.release(held)
        assert len(pool._in_use_connections) == 0
        assert pool._available_connections == [held]
    finally:
        await pool.disconnect()


def _clients(url: str) -> tuple[aioredis.Redis, LeanRedis]:
    plain = aioredis.Redis.from_url(url, decode_responses=True)
    lean = LeanRedis(connection_pool=WaitingConnectionPool.from_url(url, decode_responses=True, max_connections=1))
    return plain, lean


async def _close(plain: aioredis.Redis, lean: LeanRedis) -> None:
    await plain.aclose()
    await lean.aclose()
    await lean.connection_pool.disconnect()


async def test_a_lean_pipeline_answers_as_redis_pys_does(settings: Settings) -> None:
    assert settings.redis_url is not None
    plain, lean = _clients(settings.redis_url)
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        await plain.xadd(f"{key}:s", {"e": "1"})

        def queue(pipe: Any) -> None:
            pipe.hset(f"{key}:h", mapping={"a": "1", "b": "2"})
            pipe.hgetall(f"{key}:h")
            pipe.incr(f"{key}:n")
            pipe.hincrby(f"{key}:h", "a", 1)  # a reply callback turns it into an int
            pipe.xrange(f"{key}:s", count=5)
            pipe.zscore(f"{key}:z", "absent")
            pipe.incr(f"{key}:h")  # WRONGTYPE: an error reply, in its place
            pipe.exists(f"{key}:h", f"{key}:n")

        theirs_pipe = plain.pipeline(transaction=False)
        queue(theirs_pipe)
        theirs = await theirs_pipe.execute(raise_on_error=False)
        await plain.delete(f"{key}:h", f"{key}:n")
        ours_pipe = lean.pipeline(transaction=False)
        assert isinstance(ours_pipe, LeanPipeline)
        queue(ours_pipe)
        ours = await ours_pipe.execute(raise_on_error=False)
        assert [type(r) for r in ours] == [type(r) for r in theirs]
        assert [r for r in ours if not isinstance(r, Exception)] == [r for r in theirs if not isinstance(r, Exception)]
        assert str(ours[6]) == str(theirs[6])
        assert "WRONGTYPE" in str(ours[6])
        # raising: the first error, annotated as redis-py annotates it
        queue(pipe := lean.pipeline(transaction=False))
        with pytest.raises(ResponseError, match=r"Command # 7 \(INCR"):
            await pipe.execute()
        # a WATCH runs at once, and so do the commands after it until MULTI: redis-py's way
        async with lean.pipeline(transaction=True) as watched:
            await watched.watch(f"{key}:w")
            assert await watched.get(f"{key}:w") is None
            watched.multi()  # type: ignore[no-untyped-call]  # (untyped in redis-py)
            watched.set(f"{key}:w", "1")
            assert await watched.execute() == [True]
        assert await plain.get(f"{key}:w") == "1"
        # transactions keep redis-py's own path
        async with lean.pipeline(transaction=True) as tx:
            tx.incr(f"{key}:t")
            tx.incr(f"{key}:t")
            assert await tx.execute() == [1, 2]
    finally:
        await plain.delete(f"{key}:h", f"{key}:n", f"{key}:s", f"{key}:t", f"{key}:w")
        await _close(plain, lean)


async def test_a_lean_pipeline_interrupted_midway_never_hands_its_replies_to_the_next(settings: Settings) -> None:
    assert settings.redis_url is not None
    plain, lean = _clients(settings.redis_url)  # one connection: the next pipeline reuses it
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        slow = lean.pipeline(transaction=False)
        slow.set(f"{key}:a", "first")
        slow.blpop([f"{key}:never"], timeout=1)  # holds the reply back for a second
        task = asyncio.create_task(slow.execute())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pipe = lean.pipeline(transaction=False)
        pipe.set(f"{key}:b", "second")
        pipe.get(f"{key}:a")
        assert await pipe.execute() == [True, "first"]  # its own replies, not the BLPOP's
    finally:
        await plain.delete(f"{key}:a", f"{key}:b")
        await _close(plain, lean)


async def test_a_lean_pipeline_on_a_dropped_connection_retries_as_redis_py_does(settings: Settings) -> None:
    assert settings.redis_url is not None
    plain, lean = _clients(settings.redis_url)
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        await lean.client_setname(name := f"imql-lean-{secrets.token_hex(4)}")
        killed = [c for c in await plain.client_list() if c.get("name") == name]
        assert killed
        await plain.client_kill_filter(_id=killed[0]["id"])  # CLIENT KILL ID <id>
        pipe = lean.pipeline(transaction=False)
        pipe.set(f"{key}:a", "1")
        pipe.get(f"{key}:a")
        assert await pipe.execute() == [True, "1"]
    finally:
        await plain.delete(f"{key}:a")
        await _close(plain, lean)


async def test_a_connection_released_with_unread_replies_is_made_clean_before_reuse(settings: Settings) -> None:
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, decode_responses=True, max_connections=1)
    try:
        connection = await pool.get_connection()
        await connection.send_command("ECHO", "stale")  # its reply is never read
        await asyncio.sleep(0.05)
        await pool.release(connection)
        again = await pool.get_connection()
        assert again is connection  # the pool's only connection, reconnected rather than reused dirty
        await again.send_command("ECHO", "fresh")
        assert await again.read_response() == "fresh"
        await pool.release(again)
    finally:
        await pool.disconnect()


async def test_a_durable_write_waits_for_replicas_and_fails_without_them(settings: Settings) -> None:
    """IMQL_REDIS_WAIT_REPLICAS on a single Redis: the durable pipeline ends in WAIT on its own
    connection; the test Redis has no replica, so WAIT 0 passes and WAIT 1 fails (after its timeout),
    its writes made but not acknowledged."""
    key = f"imql:{{{settings.sdkappid}}}:durable"
    plain = open_redis(settings.redis_url)
    waiting = open_redis(settings.redis_url, wait_replicas=1)
    try:
        pipe = ordered_pipeline(plain, durable=True)
        assert not isinstance(pipe, ReplicatedPipeline)  # no WAIT asked for: no WAIT sent
        pipe.set(key, 1)
        assert await pipe.execute() == [True]
        pipe = ordered_pipeline(waiting, durable=True)
        assert isinstance(pipe, ReplicatedPipeline)
        pipe.set(key, 2)
        with pytest.raises(ReplicationError, match="0 of the 1 replicas"):
            await pipe.execute()
        assert await plain.get(key) == "2"
        pipe = ordered_pipeline(waiting)  # not durable: no WAIT
        pipe.set(key, 3)
        assert await pipe.execute() == [True]
    finally:
        await plain.delete(key)
        await close_redis(plain)
        await close_redis(waiting)


def _batching_client(url: str, max_connections: int = 1) -> tuple[LeanRedis, list[int]]:
    """A lean client on a pool of `max_connections`, counting its round trips (sends)."""
    sends: list[int] = []
    pool = WaitingConnectionPool.from_url(url, decode_responses=True, max_connections=max_connections, wait_seconds=5)
    lean_connections(pool, on_round_trip=lambda: sends.append(1))
    return LeanRedis(connection_pool=pool), sends


async def _until_batched(pool: WaitingConnectionPool, count: int) -> None:
    for _ in range(100):
        if pool._batch is not None and len(pool._batch) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} pipelines never waited as one batch")


async def test_pipelines_that_find_every_connection_busy_share_one_round_trip(settings: Settings) -> None:
    """Each gets its own replies (error replies and reply callbacks included) from one send."""
    assert settings.redis_url is not None
    lean, sends = _batching_client(settings.redis_url)
    pool = lean.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        held = await pool.get_connection()
        assert pool.is_exhausted()

        async def pipeline(n: int) -> list[Any]:
            pipe = lean.pipeline(transaction=False)
            pipe.hset(f"{key}:h{n}", mapping={"n": str(n)})
            pipe.hincrby(f"{key}:h{n}", "n", n)  # a reply callback makes it an int
            pipe.incr(f"{key}:h{n}")  # WRONGTYPE: an error reply, this pipeline's own
            pipe.hgetall(f"{key}:h{n}")
            return await pipe.execute(raise_on_error=False)

        tasks = [asyncio.create_task(pipeline(n)) for n in range(5)]
        await _until_batched(pool, 5)
        sends.clear()
        await pool.release(held)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert sends == [1]  # one round trip carried all five
        for n, (created, counted, wrong, row) in enumerate(results):
            assert (created, counted, row) == (1, 2 * n, {"n": str(2 * n)})
            assert isinstance(wrong, ResponseError)
            assert "WRONGTYPE" in str(wrong)
        assert pool._batch is None
        pipe = lean.pipeline(transaction=False)
        pipe.incr(f"{key}:h0")
        with pytest.raises(ResponseError, match=r"Command # 1 \(INCR"):
            await pipe.execute()  # raising as ever, on its own round trip now the pool is free
    finally:
        await lean.delete(*[f"{key}:h{n}" for n in range(5)])
        await lean.aclose()
        await pool.disconnect()


async def test_a_batched_pipeline_with_a_bad_argument_or_cancelled_in_time_fails_alone(settings: Settings) -> None:
    assert settings.redis_url is not None
    lean, sends = _batching_client(settings.redis_url)
    pool = lean.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        held = await pool.get_connection()

        def pipeline(name: str, value: Any) -> Any:
            pipe = lean.pipeline(transaction=False)
            pipe.set(f"{key}:{name}", value)
            pipe.get(f"{key}:{name}")
            return asyncio.create_task(pipe.execute())

        good, bad, cancelled = pipeline("good", "1"), pipeline("bad", None), pipeline("cancelled", "3")
        await _until_batched(pool, 3)
        cancelled.cancel()
        await asyncio.sleep(0)
        after = pipeline("after", "4")
        await _until_batched(pool, 4)
        sends.clear()
        await pool.release(held)
        assert await asyncio.wait_for(good, 5) == [True, "1"]
        assert await asyncio.wait_for(after, 5) == [True, "4"]
        assert sends == [1]  # the two left, together
        with pytest.raises(DataError):
            await bad
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert await lean.exists(f"{key}:bad", f"{key}:cancelled") == 0  # neither was sent
    finally:
        await lean.delete(f"{key}:good", f"{key}:after")
        await lean.aclose()
        await pool.disconnect()


async def test_a_batch_on_a_dropped_connection_retries_each_pipeline_as_redis_py_does(settings: Settings) -> None:
    assert settings.redis_url is not None
    lean, _ = _batching_client(settings.redis_url)
    plain = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    pool = lean.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        held = await pool.get_connection()
        await held.send_command("CLIENT", "SETNAME", name := f"imql-lean-{secrets.token_hex(4)}")
        assert await held.read_response() == "OK"
        tasks = []
        for n in range(3):
            pipe = lean.pipeline(transaction=False)
            pipe.set(f"{key}:{n}", n)
            pipe.get(f"{key}:{n}")
            tasks.append(asyncio.create_task(pipe.execute()))
        await _until_batched(pool, 3)
        killed = [c for c in await plain.client_list() if c.get("name") == name]
        await plain.client_kill_filter(_id=killed[0]["id"])
        await pool.release(held)  # the batch gets the dead connection
        assert await asyncio.wait_for(asyncio.gather(*tasks), 5) == [[True, str(n)] for n in range(3)]
    finally:
        await plain.delete(*[f"{key}:{n}" for n in range(3)])
        await plain.aclose()
        await lean.aclose()
        await pool.disconnect()


async def test_a_durable_pipeline_never_waits_in_a_batch(settings: Settings) -> None:
    """Its WAIT holds the connection until replicas answer: it takes a connection of its own."""
    assert settings.redis_url is not None
    lean, sends = _batching_client(settings.redis_url)
    pool = lean.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    key = f"imql-test:lean:{secrets.token_hex(4)}"
    try:
        held = await pool.get_connection()
        plain = lean.pipeline(transaction=False)
        plain.set(f"{key}:a", "1")
        batched = asyncio.create_task(plain.execute())
        await _until_batched(pool, 1)
        durable = ReplicatedPipeline(pool, lean.response_callbacks, 0)
        durable.set(f"{key}:b", "2")
        replicated = asyncio.create_task(durable.execute())
        await asyncio.sleep(0.05)
        assert pool._batch is not None
        assert len(pool._batch) == 1  # the plain pipeline alone
        sends.clear()
        await pool.release(held)
        assert await asyncio.wait_for(batched, 5) == [True]
        assert await asyncio.wait_for(replicated, 5) == [True]
        assert sends == [1, 1]
    finally:
        await lean.delete(f"{key}:a", f"{key}:b")
        await lean.aclose()
        await pool.disconnect()


async def test_pipelines_waiting_in_a_batch_fail_when_the_pool_closes(settings: Settings) -> None:
    assert settings.redis_url is not None
    lean, _ = _batching_client(settings.redis_url)
    pool = lean.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    held = await pool.get_connection()
    pipe = lean.pipeline(transaction=False)
    pipe.ping()
    waiting = asyncio.create_task(pipe.execute())
    await _until_batched(pool, 1)
    await pool.disconnect()
    with pytest.raises(RedisConnectionError, match="closing"):
        await asyncio.wait_for(waiting, 5)
    await pool.release(held)
    await lean.aclose()


async def test_replies_already_buffered_are_taken_from_hiredis_as_redis_py_would_answer(settings: Settings) -> None:
    """HiredisReplies: a pipeline's replies after the first come from hiredis's buffer, not through
    read_response (its coroutines); error replies, callbacks and a reply larger than one socket
    read (NOT_BUFFERED: redis-py's way) answer as redis-py's pipeline answers."""
    assert settings.redis_url is not None
    plain = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    pool = WaitingConnectionPool.from_url(settings.redis_url, decode_responses=True, max_connections=1)
    lean_connections(pool)
    reads: list[str] = []

    class Counted(pool.connection_class):  # type: ignore[name-defined,misc]
        async def read_response(self, *args: Any, **kwargs: Any) -> Any:
            reads.append("read_response")
            return await super().read_response(*args, **kwargs)

    pool.connection_class = Counted
    lean = LeanRedis(connection_pool=pool)
    key = f"imql-test:buffered:{secrets.token_hex(4)}"
    big = "x" * 300_000  # several socket reads
    try:
        await plain.set(f"{key}:big", big)

        def queue(pipe: Any) -> None:
            pipe.hset(f"{key}:h", mapping={"a": "1", "b": "2"})
            pipe.hgetall(f"{key}:h")
            pipe.incr(f"{key}:n")
            pipe.hincrby(f"{key}:h", "a", 1)
            pipe.zscore(f"{key}:z", "absent")
            pipe.incr(f"{key}:h")  # WRONGTYPE: an error reply, in its place
            pipe.get(f"{key}:big")
            pipe.exists(f"{key}:h", f"{key}:n")
            pipe.hmget(f"{key}:h", ["a", "b", "c"])

        theirs_pipe = plain.pipeline(transaction=False)
        queue(theirs_pipe)
        theirs = await theirs_pipe.execute(raise_on_error=False)
        await plain.delete(f"{key}:h", f"{key}:n")
        await lean.ping()  # the connection is made (its handshake's replies are read_response's)
        reads.clear()
        ours_pipe = lean.pipeline(transaction=False)
        queue(ours_pipe)
        ours = await ours_pipe.execute(raise_on_error=False)
        assert [type(r) for r in ours] == [type(r) for r in theirs]
        assert [r for r in ours if not isinstance(r, Exception)] == [r for r in theirs if not isinstance(r, Exception)]
        assert str(ours[5]) == str(theirs[5])
        assert ours[6] == big
        # the first reply and the big one needed the socket; the other seven were buffered
        assert len(reads) <= 3, reads
        queue(pipe := lean.pipeline(transaction=False))
        with pytest.raises(ResponseError, match=r"Command # 6 \(INCR"):
            await pipe.execute()
        assert await lean.get(f"{key}:n") == "2"  # the connection is still in step
    finally:
        await plain.delete(f"{key}:h", f"{key}:n", f"{key}:big")
        await plain.aclose()
        await lean.aclose()
        await pool.disconnect()


async def test_a_lean_pipeline_moves_the_next_health_check_on_once_its_replies_are_read(settings: Settings) -> None:
    """read_response counts the connection's next health check (a PING before the next command)
    from each reply; the replies HiredisReplies takes from the buffer do not, but they came in the
    read of the pipeline's first reply, which read_response reads: a pipeline still counts, so a
    busy connection is never pinged."""
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, max_connections=1, health_check_interval=30)
    lean_connections(pool)
    lean = LeanRedis(connection_pool=pool)
    try:
        await lean.ping()
        (connection,) = pool._available_connections
        connection.next_health_check = 0.0  # as if the last reply were long ago
        pipe = lean.pipeline(transaction=False)
        for n in range(5):
            pipe.echo(str(n))
        assert await pipe.execute() == [str(n).encode() for n in range(5)]
        now = asyncio.get_running_loop().time()
        assert now + 29 <= connection.next_health_check <= now + 31
    finally:
        await lean.aclose()
        await pool.disconnect()


async def test_a_reply_callback_set_after_the_first_pipeline_applies_to_the_next(settings: Settings) -> None:
    """LeanPipeline learns each command's reply callback once per client; a callback the client is
    given later (set_response_callback) must still be the one its pipelines apply."""
    assert settings.redis_url is not None
    pool = WaitingConnectionPool.from_url(settings.redis_url, max_connections=1)
    lean_connections(pool)
    lean = LeanRedis(connection_pool=pool)
    try:
        pipe = lean.pipeline(transaction=False)
        pipe.echo("x")
        assert await pipe.execute() == [b"x"]
        lean.set_response_callback("ECHO", lambda reply, **_: ("echoed", reply))
        pipe = lean.pipeline(transaction=False)
        pipe.echo("y")
        assert await pipe.execute() == [("echoed", b"y")]
    finally:
        await lean.aclose()
        await pool.disconnect()
