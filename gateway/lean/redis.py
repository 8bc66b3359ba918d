"""The Redis connection pool, connection and pipeline classes imql runs on: redis-py's, with less
Python per round trip.

A process makes ~4 round trips per message sent, so their fixed cost matters. CPU per 5-command
pipeline, medians of 7 interleaved rounds on 2 shared cores, in five runs: redis-py's client from
`Redis.from_url` 190-265 µs, with a BlockingConnectionPool and 5 s socket timeouts 217-319 µs; this
module's pool, connection and pipeline classes, without per-command timeouts (gateway.store says
what bounds a stalled Redis instead), 69-100 µs: 0.32-0.39 of redis-py's default client.
Pipelines that find every connection busy share one round trip (WaitingConnectionPool): bench
query-throughput, 32 clients on the pool's 4 connections, went from ~1,300 to ~2,200 req/s and
from ~480 to ~335 µs of CPU per request (medians of 4 interleaved rounds, 2 shared cores).

Every private (or undocumented) redis-py name this module relies on, checked by
tests/test_upstream_contract.py::test_redis_py (measured: redis 5.x-6.x lack
Connection.should_reconnect, 7.x lack Connection.can_read; 8.0-8.1 pass):
- redis.client.EMPTY_RESPONSE, redis.client.NEVER_DECODE: the reply-option keys of execute_command;
- redis.asyncio.ConnectionPool: `_available_connections` (list), `_in_use_connections` (set),
  `max_connections`, `connection_class`, `connection_kwargs`, `make_connection()`,
  `get_connection(...)` (overridden), `release(connection)` (overridden),
  `disconnect(inuse_connections)` (overridden), `from_url(url, **kw)`;
- redis._parsers.hiredis: `NOT_ENOUGH_DATA`, `_AsyncHiredisParser` with `_reader` (hiredis.Reader:
  `gets()`), `_connected`, `_hiredis_PushNotificationType` and `handle_push_response(push)`,
  whose read_response's checks HiredisReplies mirrors; the connection's `_parser`,
  `health_check_interval` and `next_health_check`;
- redis.asyncio.Connection: `is_connected`, `can_read()`, `should_reconnect()`, `connect()`,
  `disconnect(nowait=...)`, `send_packed_command(command, check_health)` (overridden by
  _RoundTripCounter), `read_response()`, `pack_command(*args)` and `pack_commands(commands)`
  (overridden by HiredisPacking);
- redis.asyncio.client.Pipeline: the positional constructor `(connection_pool,
  response_callbacks, transaction, shard_hint)`, `command_stack`, `is_transaction`,
  `explicit_transaction`, `watching`, `scripts`, `connection`, `connection_pool`,
  `response_callbacks`, `parse_response(connection, command_name, **options)`,
  `raise_first_error(commands, response)`, `execute(raise_on_error)`;
- redis.asyncio.Redis: `response_callbacks` (a CaseInsensitiveDict: LeanPipeline keeps its
  by-name view on it as an attribute), `connection_pool`, `pipeline(transaction, shard_hint)`.
On upgrade: read redis-py's asyncio/connection.py (ConnectionPool.get_connection/release and what
they guard) and asyncio/client.py (Pipeline.execute/_execute_pipeline) for changed behaviour, not
only changed names; then run tests/test_upstream_contract.py and tests/test_redis_pool.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from inspect import isawaitable
from typing import Any, NamedTuple

import hiredis
import redis.asyncio as aioredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, MaxConnectionsError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class WaitingConnectionPool(aioredis.ConnectionPool):
    """A bounded pool whose callers wait (up to `wait_seconds`) when every connection is busy, as
    with BlockingConnectionPool, but whose common case (a connection is free) takes redis-py's
    plain path: no Condition, no timeout context, no lock. Only a caller that finds the pool
    exhausted arms a timeout, then waits in line.

    Waiting callers are served first come, first served: a released connection is handed to the
    oldest of them directly, and a newcomer queues behind them rather than taking a connection
    as it is released. (A connection used to go back to the pool and wake one waiter, and a
    newcomer of the same moment often took it first: the waiter queued again at the back, and
    under a crowd of callers, a restart's reconnections, some waited out `wait_seconds` and failed.)

    Pipelines that find every connection busy wait together, as one batch (`batched_round_trip`):
    the next connection free carries all of their commands in one round trip, each pipeline's
    commands kept together and in order, and each gets its own replies. Under load (32 concurrent
    small queries on 4 connections, bench query-throughput) a round trip then serves several
    requests: fewer sends, reads and wake-ups for this process and for Redis, and a queue that no
    longer waits a whole round trip per request for a connection."""

    def __init__(self, *args: Any, wait_seconds: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wait_seconds = wait_seconds
        self._waiters: deque[asyncio.Future[Any]] = deque()  # each is handed a connection
        self._batch: list[_Batched] | None = None  # pipelines waiting together for a connection
        self._senders: set[asyncio.Task[None]] = set()

    def is_exhausted(self) -> bool:
        """Every connection is in use and no more may be made, or callers already wait in line: a
        newcomer would have to wait."""
        if self._waiters:
            return True
        return not self._available_connections and len(self._in_use_connections) >= self.max_connections

    @property
    def batch_open(self) -> bool:
        """Pipelines are waiting for a connection as a batch, which a new one joins."""
        return self._batch is not None

    async def batched_round_trip(self, pipeline: LeanPipeline, stack: list[Queued]) -> list[Any] | None:
        """The replies to `stack`, sent in one round trip with the other pipelines that wait for a
        connection meanwhile; None when that connection failed (the caller then retries on
        redis-py's own path, as after a failed round trip of its own). A caller cancelled before
        the batch goes out is left out of it; after, its replies are read and dropped."""
        loop = asyncio.get_running_loop()
        batch = self._batch
        if batch is None:
            batch = self._batch = []
            # a task of its own, not one of the waiting callers: a caller's cancellation (its
            # request's deadline) must not interrupt a round trip that carries others' commands
            sender = loop.create_task(self._send_batch(batch))
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        waiter: asyncio.Future[list[Any] | None] = loop.create_future()
        batch.append(_Batched(pipeline, stack, waiter))
        return await waiter

    async def _send_batch(self, batch: list[_Batched]) -> None:
        try:
            connection = await self.get_connection()
        except Exception as exc:  # none free within wait_seconds
            if self._batch is batch:
                self._batch = None
            _fail(batch, exc)
            return
        except BaseException:
            if self._batch is batch:
                self._batch = None
            _fail(batch, RedisConnectionError("the Redis client is closing"))
            raise
        if self._batch is batch:
            self._batch = None  # on its way: pipelines from now on wait as the next batch
        try:
            await _batch_round_trip(connection, [m for m in batch if not m.waiter.done()])
        finally:
            await self.release(connection)

    async def disconnect(self, inuse_connections: bool = True) -> None:
        for sender in list(self._senders):
            sender.cancel()  # its pipelines fail as on a closed client
        await super().disconnect(inuse_connections)

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if not self._waiters:
            try:
                return await self._take()
            except MaxConnectionsError:
                pass
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._wait_seconds):
                connection = await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._hand_over(waiter.result())  # handed one while leaving: it goes to the next in line
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise RedisConnectionError(f"no Redis connection free within {self._wait_seconds:g} s") from exc
            raise
        return await self._made_ready(connection)

    async def _take(self) -> Any:
        """A free connection (made if the pool is not full yet), connected and clean.

        redis-py's acquire does the same under an asyncio.Lock and adds observability records and
        a release event (five more awaits per acquire and release, for hooks imql does not use);
        the pool's lists change here with no await in between, which is all the lock guarded."""
        try:
            connection = self._available_connections.pop()
        except IndexError:
            if len(self._in_use_connections) >= self.max_connections:
                raise MaxConnectionsError("Too many connections") from None
            connection = self.make_connection()  # type: ignore[no-untyped-call]
        self._in_use_connections.add(connection)
        return await self._made_ready(connection)

    async def _made_ready(self, connection: Any) -> Any:
        """`connection` (counted in use) connected and clean, or released if that fails."""
        try:
            if connection.is_connected and await connection.can_read():
                # unread replies (or EOF) on it: never hand them to the next caller. redis-py's own
                # pool skips this check while maintenance notifications are on, its default.
                await connection.disconnect()
            if not connection.is_connected:
                await connection.connect()
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: Any) -> None:
        if connection.should_reconnect():
            await connection.disconnect()
        self._hand_over(connection)

    def _hand_over(self, connection: Any) -> None:
        """To the oldest caller still waiting (it stays counted in use), else back to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._in_use_connections.remove(connection)
        self._available_connections.append(connection)


class _Batched(NamedTuple):
    """A pipeline waiting in a batch: its commands, and where its replies go."""

    pipeline: LeanPipeline
    stack: list[Queued]
    waiter: asyncio.Future[list[Any] | None]


def _fail(members: Iterable[_Batched], exc: BaseException) -> None:
    for member in members:
        if not member.waiter.done():
            member.waiter.set_exception(exc)


async def _batch_round_trip(connection: Any, members: list[_Batched]) -> None:
    """Send every member's commands in one write, then hand each its replies as they are read."""
    chunks: list[Any] = []
    sent: list[_Batched] = []
    for member in members:
        try:
            chunks += connection.pack_commands([args for args, _ in member.stack])
        except Exception as exc:  # its own bad argument (DataError): it fails alone, unsent
            member.waiter.set_exception(exc)
            continue
        sent.append(member)
    if not sent:
        return
    if all(isinstance(chunk, bytes) for chunk in chunks):
        chunks = [b"".join(chunks)]  # one send
    reading: _Batched | None = None
    try:
        await connection.send_packed_command(chunks)
        for reading in sent:
            replies = await reading.pipeline.read_replies(connection, reading.stack)
            if not reading.waiter.done():
                reading.waiter.set_result(replies)
    except (RedisConnectionError, RedisTimeoutError, OSError):
        await connection.disconnect()
        for member in sent:
            if not member.waiter.done():
                member.waiter.set_result(None)  # each retries on redis-py's path, as a pipeline of its own would
    except Exception as exc:  # a reply its callback could not take: that pipeline's error
        await connection.disconnect(nowait=True)  # replies left unread: never reused
        if reading is not None and not reading.waiter.done():
            reading.waiter.set_exception(exc)
        _fail(
            sent,
            RedisConnectionError("an earlier reply in the round trip could not be read; the commands may have run"),
        )
    except BaseException:  # cancelled: the client is closing
        await connection.disconnect(nowait=True)
        _fail(sent, RedisConnectionError("the Redis client is closing"))
        raise


class HiredisPacking:
    """Mixed into the connection class: commands packed by hiredis's C packer, as redis-py's own
    synchronous client does when hiredis is installed (its asyncio client packs in Python)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if isinstance(first, str):  # "CLIENT KILL"-style names are several protocol arguments
            args = (*first.encode().split(), *args[1:])
        elif b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass  # hiredis takes str, bytes, int and float only: other buffers are copied first
        args = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:  # e.g. None or a bool, which redis-py refuses too
            raise DataError(str(exc)) from exc

    def pack_commands(self, commands: Iterable[Any]) -> list[bytes]:
        """A pipeline as one buffer (redis-py regroups the chunks of its Python packer). A command
        named in one word goes to hiredis as it is (it encodes the name itself), the common case
        without pack_command's checks: ~1 µs a command less, ~23 in a one-request send."""
        pack = hiredis.pack_command
        packed: list[bytes] = []
        for command in commands:
            first = command[0]
            if type(first) is str and " " not in first:
                try:
                    packed.append(pack(command))
                    continue
                except TypeError:
                    pass  # an argument hiredis does not take: pack_command copies it, or says why
            packed.append(self.pack_command(*command)[0])
        return [b"".join(packed)]


NOT_BUFFERED: Any = object()  # buffered_reply: "no whole reply buffered; read it redis-py's way"


class BrokenReply(NamedTuple):
    """A reply hiredis parsed into a connection error (read_response raises it after disconnecting)."""

    error: BaseException


class PushFirst(NamedTuple):
    """A RESP3 push notification where a reply was expected: read_response hands it to the
    parser's handler, then reads the reply."""

    push: Any


class HiredisReplies:
    """Mixed into the connection class: a pipeline's replies taken from hiredis's buffer directly.

    A pipeline's replies usually arrive in one read, so after the first, each is already parsed by
    hiredis; redis-py's read_response still goes through three coroutines per reply (its timeout
    handling, the parser's read, the socket read it does not need): ~4% of a one-request send's
    server CPU (py-spy, bench c2c-cost load) for its ~20 replies. `buffered_reply` answers what
    read_response would, without awaiting, when hiredis holds the next reply whole (the hiredis
    parser); NOT_BUFFERED, consuming nothing, otherwise; the rare replies read_response does more
    with (a connection error, a RESP3 push notification) come back marked for the caller to finish
    as read_response does (LeanPipeline.read_replies)."""

    def buffered_reply(self) -> Any:
        parser = getattr(self, "_parser", None)
        if type(parser) is not _AsyncHiredisParser or not parser._connected:
            return NOT_BUFFERED  # read_response raises, or another parser: its own way
        reader: Any = parser._reader
        reply = reader.gets()
        if reply is NOT_ENOUGH_DATA:
            return NOT_BUFFERED
        kind = type(reply)
        if kind is str or kind is int or kind is bytes or reply is None:
            return reply  # most replies: none of the checks below applies
        push_type = parser._hiredis_PushNotificationType
        if push_type is not None and isinstance(reply, push_type):
            return PushFirst(reply)
        # as _AsyncHiredisParser.read_response checks its reply
        if isinstance(reply, RedisConnectionError):
            return BrokenReply(reply)
        if isinstance(reply, list) and reply and isinstance(reply[0], RedisConnectionError):
            return BrokenReply(reply[0])
        # (read_response also moves the connection's next health check on from each reply: a
        # buffered reply came in the same read as the pipeline's first reply, which read_response
        # read, so its time is that one's; asyncio.get_running_loop() is a getpid() system call
        # on Python 3.11, ~15 of them per one-request send)
        return reply  # a ResponseError is the caller's to raise or keep, as read_response raises it


Queued = tuple[tuple[str | bytes, ...], Mapping[str, Any]]  # a pipeline's command and its reply options


class LeanPipeline(aioredis.client.Pipeline):
    """redis-py's pipeline, with a short path for the one kind imql sends on every request: no
    transaction, no WATCH, no scripts. That path packs the commands, sends them, reads the replies
    and applies redis-py's reply callbacks, without the general path's per-call machinery (retry
    wrapper, HIMPORT preparation, observability hooks, a parse per reply through several layers):
    about a third of a pipeline's CPU. A connection error on the short path hands the same stack to
    the general path, so retries behave as redis-py's do; anything else that interrupts it
    (cancellation included) leaves replies unread, so that connection is closed, not reused.
    When every connection of a WaitingConnectionPool is busy, the short path waits in that pool's
    batch (`batched` pipelines only)."""

    batched = True  # may share a round trip with other pipelines (WaitingConnectionPool)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Queued as redis-py's pipeline_execute_command queues it, a call less per command; a
        WATCH, or a command while watching, redis-py's way (run at once, or queued after MULTI)."""
        if self.watching or args[0] == "WATCH":
            return super().execute_command(*args, **options)
        self.command_stack.append((args, options))
        return self

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        if self.is_transaction or self.explicit_transaction or self.watching or self.scripts or self.connection:
            return await super().execute(raise_on_error)
        if not stack:
            return []
        pool = self.connection_pool
        if self.batched and isinstance(pool, WaitingConnectionPool) and (pool.batch_open or pool.is_exhausted()):
            try:
                replies = await pool.batched_round_trip(self, stack)
            except BaseException:
                self.command_stack = []
                raise
        else:
            replies = await self._own_round_trip(pool, stack)
        if replies is None:
            return await super().execute(raise_on_error)
        self.command_stack = []
        if raise_on_error:
            self.raise_first_error(stack, replies)
        return replies

    async def _own_round_trip(self, pool: Any, stack: list[Queued]) -> list[Any] | None:
        connection = await pool.get_connection()
        try:
            return await self._round_trip(connection, stack)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            await connection.disconnect()
            return None  # redis-py's path, with its retries, on the same stack
        except BaseException:
            await connection.disconnect(nowait=True)
            self.command_stack = []
            raise
        finally:
            await pool.release(connection)

    async def _round_trip(self, connection: Any, stack: list[Queued]) -> list[Any]:
        await connection.send_packed_command(connection.pack_commands([args for args, _ in stack]))
        return await self.read_replies(connection, stack)

    async def read_replies(self, connection: Any, stack: list[Queued]) -> list[Any]:
        """The replies to `stack`'s commands, sent on `connection`, with redis-py's reply callbacks."""
        callbacks = _callbacks_by_name(self.response_callbacks)
        read = connection.read_response
        take = getattr(connection, "buffered_reply", None)
        replies: list[Any] = []
        append = replies.append
        for args, options in stack:
            if options and (NEVER_DECODE in options or EMPTY_RESPONSE in options):
                try:  # the rare reply options: redis-py's own parse
                    append(await self.parse_response(connection, args[0], **options))
                except ResponseError as exc:
                    append(exc)
                continue
            try:
                reply = NOT_BUFFERED if take is None else take()
            except Exception:  # hiredis's protocol error: what read_response does with it
                await connection.disconnect(nowait=True)
                raise
            if reply is NOT_BUFFERED:
                try:
                    reply = await read()
                except ResponseError as exc:
                    append(exc)
                    continue
            elif type(reply) in _PLAIN_REPLIES:
                pass  # (the common case: none of the checks below applies)
            elif isinstance(reply, ResponseError):
                append(reply)
                continue
            elif isinstance(reply, BrokenReply):  # what read_response does with it: disconnect, raise
                await connection.disconnect(nowait=True)
                raise reply.error
            elif isinstance(reply, PushFirst):  # handled as read_response handles it, then the reply
                await connection._parser.handle_push_response(reply.push)
                try:
                    reply = await read()
                except ResponseError as exc:
                    append(exc)
                    continue
            callback = callbacks.get(args[0], _UNKNOWN)
            if callback is _UNKNOWN:
                callback = callbacks.learn(args[0])
            if callback is not None:
                if not options or (len(options) == 1 and "keys" in options):  # most commands: keys only
                    reply = callback(reply)
                else:
                    reply = callback(reply, **{k: v for k, v in options.items() if k != "keys"})
                if type(reply) not in _PLAIN_REPLIES and isawaitable(reply):
                    reply = await reply
            append(reply)
        return replies


# Reply types that need no further look: not an error, a broken or pushed reply, or an awaitable
_PLAIN_REPLIES = frozenset({str, bytes, int, float, bool, list, dict, type(None)})
_UNKNOWN: Any = object()


class _CallbacksByName(dict[Any, Any]):
    """A client's reply callbacks (redis-py's CaseInsensitiveDict, which upper-cases the name on
    every lookup: ~1% of a one-request send's server CPU) looked up by the command name as given,
    each name learnt once (None: no callback)."""

    def __init__(self, callbacks: Any) -> None:
        super().__init__()
        self.callbacks = callbacks

    def learn(self, name: Any) -> Any:
        found = self[name] = self.callbacks.get(name)
        return found


def _callbacks_by_name(callbacks: Any) -> _CallbacksByName:
    """The name-keyed view of a client's callbacks, kept on them (a client changing its callbacks
    after its first pipeline is not seen: imql's do not change)."""
    found: _CallbacksByName | None = getattr(callbacks, "_imql_by_name", None)
    if found is None:
        found = _CallbacksByName(callbacks)
        with contextlib.suppress(AttributeError):  # a mapping taking no attribute: a view per pipeline
            callbacks._imql_by_name = found
    return found


# How long an acknowledged write waits for its replicas (IMQL_REDIS_WAIT_REPLICAS) before the
# request fails instead: a replica that far behind is lagging or gone, and the client retries.
WAIT_TIMEOUT_MS = 2_000


class ReplicationError(RedisError):
    """A write reached its master but fewer replicas than IMQL_REDIS_WAIT_REPLICAS asks for in time."""


def check_replicated(reply: Any, wanted: int) -> None:
    """A WAIT's reply (the replicas that acknowledged), or raise."""
    if isinstance(reply, Exception):
        raise reply
    if int(reply) < wanted:
        raise ReplicationError(
            f"the write reached {int(reply)} of the {wanted} replicas asked for within {WAIT_TIMEOUT_MS} ms"
        )


class ReplicatedPipeline(LeanPipeline):
    """A pipeline ending in WAIT on its own connection (WAIT covers the writes of the connection
    that sends it): execute returns once `wait_replicas` replicas have the writes, or raises."""

    batched = False  # its WAIT blocks the connection (up to WAIT_TIMEOUT_MS): never in front of others

    def __init__(self, connection_pool: Any, response_callbacks: Any, wait_replicas: int) -> None:
        super().__init__(connection_pool, response_callbacks, False, None)
        self._wait_replicas = wait_replicas

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if not self.command_stack:
            return []
        self.execute_command("WAIT", self._wait_replicas, WAIT_TIMEOUT_MS)
        replies = await super().execute(raise_on_error)
        check_replicated(replies.pop(), self._wait_replicas)
        return replies


class LeanRedis(aioredis.Redis):
    """A client whose pipelines are LeanPipelines."""

    wait_replicas = 0  # IMQL_REDIS_WAIT_REPLICAS: what `ordered_pipeline(durable=True)` waits for

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> LeanPipeline:
        return LeanPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    def set_response_callback(self, command: str, callback: Any) -> None:
        super().set_response_callback(command, callback)
        callbacks: Any = self.response_callbacks
        with contextlib.suppress(AttributeError):  # the pipelines' view learns the callbacks anew
            del callbacks._imql_by_name


class _RoundTripCounter:
    """Mixed into the pool's connection class: calls `on_send` once per round trip (a command or a
    whole pipeline goes out in one send), which /metrics reports as imql_redis_round_trips."""

    def __init__(self, *args: Any, on_send: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_send = on_send

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self._on_send is not None:
            self._on_send()
        await super().send_packed_command(command, check_health)  # type: ignore[misc]


def lean_connections(pool: WaitingConnectionPool, on_round_trip: Callable[[], None] | None = None) -> None:
    """Puts HiredisPacking and HiredisReplies (and, given `on_round_trip`, the round-trip counter)
    on top of the connection class `from_url` picked by scheme (TCP, TLS or Unix socket)."""
    base = pool.connection_class
    mixins: tuple[type, ...] = (HiredisPacking, HiredisReplies)
    if on_round_trip is not None:
        mixins = (_RoundTripCounter, *mixins)
        pool.connection_kwargs["on_send"] = on_round_trip
    pool.connection_class = type(f"Imql{base.__name__}", (*mixins, base), {})
