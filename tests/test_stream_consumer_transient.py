"""Outages against poison in a StreamConsumer (gateway.background), on real Redis: a delivery whose
handling failed because a dependency was down (Redis, an HTTP peer, Tencent's REST, a handler's
deadline passing while it waits) is given back, so an entry is never dead-lettered for an outage
however long it lasts, and is handled once the dependency is back; only failures of the entry
itself count toward `max_deliveries`. The dependencies fail for real: a Redis client and HTTP
clients pointed at a port nothing listens on, local HTTP servers answering 5xx or not at all.
Each consumer test runs on a single Redis and on the suite's local Redis Cluster."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import replace
from typing import Any, cast

import httpx
import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from gateway.background import StreamConsumer, is_transient
from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.callbacks.worker import CallbackWorker
from gateway.engine.push.planner import PushContent
from gateway.engine.push.sink import PushNotification, PushUnavailable, WebhookSink
from gateway.engine.unread_index import UnreadIndex
from gateway.keys import Keys
from gateway.metrics import Metrics
from gateway.store import close_redis, open_redis
from gateway.tencent.client import TencentRestClient
from gateway.tencent.errors import TencentError
from gateway.tencent.inbound import InboundEvent, InboundWorker, OwnMessages
from gateway.v4 import callbacks as wire
from tests.support.actors import Actor
from tests.support.callback_receiver import CallbackReceiver
from tests.support.clients import HTTPClient
from tests.support.servers import start_in_process
from tests.tencent import fixtures as fx
from tests.test_callback_http import RawEndpoint, raw_endpoint, response
from tests.test_callbacks_more import send
from tests.test_stream_consumer_poison import eventually
from tests.test_stream_consumer_poison import redis as redis  # the same fixture: a single Redis and a Cluster
from tests.test_stream_consumer_poison import settled as settled_once_made

QUICK_CLAIM_SECONDS = 0.05  # an entry left pending is claimed again almost at once
QUICK_READ_MILLISECONDS = 50  # a read of an empty stream comes back soon, so claims are tried often
CAP = 3  # deliveries before an entry is dead-lettered, below the default so the tests stay short
OUTAGE = 4 * CAP  # failures for an outage: far more than an entry may fail of its own


@pytest.fixture
async def stream(redis: Any, sdkappid: int) -> AsyncIterator[str]:
    """A work stream of the test's own app (under the app's hash tag), deleted afterwards with its
    dead-letter stream."""
    name = f"imql:{{{sdkappid}}}:transient-test"
    yield name
    await redis.delete(name, Keys.dead_letters(name))


async def settled(redis: Any, stream: str, group: str) -> bool:
    """Nothing left to do (the work stream empty, nothing pending), once the worker made its group."""
    try:
        return await settled_once_made(redis, stream, group)
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        return False


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def down_redis() -> AsyncIterator[Any]:
    """A Redis client whose server is down: every command raises a real ConnectionError."""
    client = open_redis(f"redis://127.0.0.1:{closed_port()}")
    yield client
    await close_redis(client)


def dead_lettered(metrics: Metrics, stream: str) -> float:
    value = metrics.registry.get_sample_value("imql_stream_entries_dead_lettered_total", {"stream": stream})
    return value or 0.0


class Scripted(StreamConsumer):
    """A consumer whose handler follows each entry's script (by its "name" field), one letter per
    delivery: "T", a read of a Redis that is down (a real ConnectionError); "P", a ValueError (the
    entry's own fault); past the script's end the entry is handled."""

    task_name = "imql-test-scripted"
    group = "testers"
    claim_idle_seconds = QUICK_CLAIM_SECONDS
    block_milliseconds = QUICK_READ_MILLISECONDS
    error_pause_seconds = 0.05
    max_deliveries = CAP

    def __init__(self, redis: Any, stream: str, down: Any, scripts: dict[str, str], *, together: bool = False) -> None:
        super().__init__(redis, stream, "c1")
        self.down = down
        self.scripts = scripts
        self.together = together
        self.calls: Counter[str] = Counter()
        self.handled: list[str] = []
        self.metrics = Metrics()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        if self.together:
            return await self._together(entries, self._handle)
        return await self._one_by_one(entries, self._handle)

    async def _handle(self, fields: dict[Any, Any]) -> None:
        name = fields["name"]
        script = self.scripts.get(name, "")
        step = self.calls[name]
        self.calls[name] += 1
        if step < len(script) and script[step] == "T":
            await self.down.get("imql:transient-test:anything")
            raise AssertionError("a Redis that is down answered")
        if step < len(script) and script[step] == "P":
            raise ValueError(f"{name} cannot be handled")
        self.handled.append(name)


@pytest.mark.parametrize("together", [False, True], ids=["one_by_one", "together"])
async def test_an_entry_failing_for_an_outage_far_past_the_cap_is_kept_and_handled_once_it_ends(
    redis: Any, stream: str, down_redis: Any, together: bool
) -> None:
    """Its handler's Redis is down for OUTAGE deliveries (four times the cap): not dead-lettered,
    and handled at the first delivery after; the entry read with it is handled at once."""
    await redis.xadd(stream, {"name": "waits"})
    await redis.xadd(stream, {"name": "good"})
    worker = Scripted(redis, stream, down_redis, {"waits": "T" * OUTAGE}, together=together)
    worker.start()
    try:
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert sorted(worker.handled) == ["good", "waits"]
        assert worker.calls == {"waits": OUTAGE + 1, "good": 1}
        assert not await redis.exists(Keys.dead_letters(stream))
        assert worker.metrics is not None
        assert dead_lettered(worker.metrics, stream) == 0
    finally:
        await worker.stop()


async def test_an_entry_queued_too_long_ago_gets_no_outage_back_and_is_dead_lettered_at_the_cap(
    redis: Any, stream: str, down_redis: Any
) -> None:
    """An "outage" older than give_back_for_seconds is no outage: an entry queued before that (its
    ID is its append time) that still fails so counts each try, and goes to the dead-letter stream
    at the cap instead of being tried every claim period for ever; a fresh one still waits."""
    await redis.xadd(stream, {"name": "stale"}, id="1000-0")  # queued in 1970
    await redis.xadd(stream, {"name": "fresh"})
    worker = Scripted(redis, stream, down_redis, {"stale": "T" * OUTAGE, "fresh": "T" * OUTAGE})
    worker.start()
    try:
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert worker.handled == ["fresh"]
        assert worker.calls == {"stale": CAP, "fresh": OUTAGE + 1}
        ((_, fields),) = await redis.xrange(Keys.dead_letters(stream))
        assert fields == {"name": "stale"}
    finally:
        await worker.stop()


@pytest.mark.parametrize("together", [False, True], ids=["one_by_one", "together"])
async def test_only_an_entrys_own_failures_count_toward_the_cap(
    redis: Any, stream: str, down_redis: Any, together: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Outages between an entry's own failures count for nothing: "doomed" is dead-lettered at its
    CAP-th ValueError (its eighth delivery), "recovers" (two ValueErrors among six outages) is
    handled. An outage is logged in one line, a fault of the entry with its trace."""
    doomed, recovers = "TPTTPTTP", "TPTTPT"
    assert doomed.count("P") == CAP
    assert recovers.count("P") < CAP
    for name in ("doomed", "recovers"):
        await redis.xadd(stream, {"name": name})
    worker = Scripted(redis, stream, down_redis, {"doomed": doomed, "recovers": recovers}, together=together)
    caplog.set_level(logging.WARNING, logger="imql")
    worker.start()
    try:
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert worker.handled == ["recovers"]
        assert worker.calls == {"doomed": len(doomed), "recovers": len(recovers) + 1}
        ((_, fields),) = await redis.xrange(Keys.dead_letters(stream))
        assert fields == {"name": "doomed"}
        metrics = worker.metrics
        assert metrics is not None
        # counted once the move's reply is read, which may be just after the stream settled
        await eventually(lambda: dead_lettered(metrics, stream) == 1, "the dead-lettering's count")
    finally:
        await worker.stop()
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "imql"]
    outages = [r for r in failures if "not counted" in r.getMessage()]
    faults = [r for r in failures if "cannot be handled" in str(r.exc_info and r.exc_info[1])]
    assert len(outages) == doomed.count("T") + recovers.count("T")
    assert all(r.exc_info is None and "ConnectionError" in r.getMessage() for r in outages)
    assert len(faults) == doomed.count("P") + recovers.count("P")


class BatchReader(StreamConsumer):
    """A consumer that reads its dependency once for the whole batch before handling any entry (as
    the callback worker counts its batch's unread), which is down for its first `outage` batches."""

    task_name = "imql-test-batch-reader"
    group = "testers"
    claim_idle_seconds = QUICK_CLAIM_SECONDS
    block_milliseconds = QUICK_READ_MILLISECONDS
    error_pause_seconds = 0.05
    max_deliveries = CAP

    def __init__(self, redis: Any, stream: str, down: Any, outage: int) -> None:
        super().__init__(redis, stream, "c1")
        self.down = down
        self.outage = outage
        self.batches = 0
        self.handled: Counter[str] = Counter()
        self.metrics = Metrics()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        self.batches += 1
        await (self.down if self.batches <= self.outage else self._redis).get("imql:transient-test:anything")
        return await self._together(entries, self._handle)

    async def _handle(self, fields: dict[Any, Any]) -> None:
        self.handled[fields["name"]] += 1


async def test_a_batch_failing_as_a_whole_for_an_outage_is_kept_and_handled_once_it_ends(
    redis: Any, stream: str, down_redis: Any
) -> None:
    names = [f"e{n}" for n in range(5)]
    for name in names:
        await redis.xadd(stream, {"name": name})
    worker = BatchReader(redis, stream, down_redis, OUTAGE)
    worker.start()
    try:
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert worker.batches > OUTAGE
        assert worker.handled == dict.fromkeys(names, 1)
        assert not await redis.exists(Keys.dead_letters(stream))
        assert worker.metrics is not None
        assert dead_lettered(worker.metrics, stream) == 0
    finally:
        await worker.stop()


class ThenRecording(BatchReader):
    """Handles each entry (a "poison" one raising ValueError every time), then records the batch in
    its dependency, which is down for its first `outage` batches: the batch fails as a whole, for
    an outage, after its poison entry failed of its own."""

    task_name = "imql-test-then-recording"

    def __init__(self, redis: Any, stream: str, down: Any, outage: int) -> None:
        super().__init__(redis, stream, down, outage)
        self.calls: Counter[str] = Counter()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        self.batches += 1
        done = await self._together(entries, self._handle)
        await (self.down if self.batches <= self.outage else self._redis).set("imql:transient-test:batch", 1)
        return done

    async def _handle(self, fields: dict[Any, Any]) -> None:
        self.calls[fields["name"]] += 1
        if fields["name"] == "poison":
            raise ValueError("poison cannot be handled")
        self.handled[fields["name"]] += 1


async def test_a_batch_failing_for_an_outage_still_counts_its_entries_own_failures(
    redis: Any, stream: str, down_redis: Any
) -> None:
    """Every batch fails as a whole for an outage after its entries were tried: the poison entry's
    own failures still count (dead-lettered at the cap, within the outage), the good one's
    deliveries do not (handled at every try, acknowledged once the outage ends)."""
    for name in ("poison", "good"):
        await redis.xadd(stream, {"name": name})
    worker = ThenRecording(redis, stream, down_redis, OUTAGE)
    worker.start()
    try:
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert worker.calls["poison"] == CAP
        assert worker.calls["good"] == OUTAGE + 1
        ((_, fields),) = await redis.xrange(Keys.dead_letters(stream))
        assert fields == {"name": "poison"}
    finally:
        await worker.stop()
        await redis.delete("imql:transient-test:batch")


class Notifying(StreamConsumer):
    """A consumer whose handler hands each entry to a push sink itself (no retry of its own), so a
    sink's PushUnavailable reaches the consumer; `transient_errors` declares it an outage or not."""

    task_name = "imql-test-notifying"
    group = "testers"
    claim_idle_seconds = QUICK_CLAIM_SECONDS
    block_milliseconds = QUICK_READ_MILLISECONDS
    error_pause_seconds = 0.05
    max_deliveries = CAP

    def __init__(self, redis: Any, stream: str, sink: WebhookSink) -> None:
        super().__init__(redis, stream, "c1")
        self.sink = sink
        self.metrics = Metrics()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        return await self._one_by_one(entries, self._handle)

    async def _handle(self, fields: dict[Any, Any]) -> None:
        content = PushContent(
            userID=fields["to"], msgID="m1", sender="alice", conversationID="c2c_alice", title="", desc="hi"
        )
        await self.sink.deliver(PushNotification(sdkAppID=1, toUserID=fields["to"], devices=[], content=content))


class NotifyingThroughOutages(Notifying):
    transient_errors = (PushUnavailable,)


@pytest.mark.parametrize("redis", ["single"], indirect=True)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
async def test_a_consumers_own_transient_errors_do_not_count(redis: Any, stream: str, declared: bool) -> None:
    """The sink's endpoint answers 503 OUTAGE times, then 200: with PushUnavailable among the
    consumer's `transient_errors` the entry is delivered; without, it is dead-lettered at the cap."""

    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(response(b"{}", "503 Service Unavailable" if n <= OUTAGE else "200 OK"))
        await writer.drain()

    endpoint: RawEndpoint
    async with raw_endpoint(answer) as endpoint:
        sink = WebhookSink(f"http://127.0.0.1:{endpoint.port}/push", "secret", ManualClock())
        worker = (NotifyingThroughOutages if declared else Notifying)(redis, stream, sink)
        await redis.xadd(stream, {"to": "bob"})
        worker.start()
        metrics = worker.metrics
        assert metrics is not None
        try:
            await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
            if not declared:
                # counted once the move's reply is read, which may be just after the stream settled
                await eventually(lambda: dead_lettered(metrics, stream) == 1, "the dead-lettering's count")
        finally:
            await worker.stop()
            await sink.aclose()
    if declared:
        assert len(endpoint.requests) == OUTAGE + 1
        assert dead_lettered(metrics, stream) == 0
    else:
        assert len(endpoint.requests) == CAP


# ---- Tencent webhooks: the inbound worker's handler calling Tencent's REST --------------------------
class CallingTencent:
    """An inbound handler that makes one Tencent REST call per event (as the mirror fetches an
    account it has not seen), through the real client: `failing` for its first `failures` events,
    then `working`."""

    def __init__(self, failing: TencentRestClient, working: TencentRestClient, failures: int) -> None:
        self.failing = failing
        self.working = working
        self.failures = failures
        self.calls = 0
        self.handled = 0

    async def handle(self, event: InboundEvent) -> None:
        self.calls += 1
        client = self.failing if self.calls <= self.failures else self.working
        await client.call("im_open_login_svc/account_check", {"CheckItem": [{"UserID": "bob"}]})
        self.handled += 1


def tencent_at(sdkappid: int, port: int) -> TencentRestClient:
    """The real client, to Tencent's REST at a local port, one attempt per call."""
    return TencentRestClient(sdkappid=sdkappid, secret_key="k", api_url=f"http://127.0.0.1:{port}", max_attempts=1)


def tencent_answer(code: int) -> bytes:
    return response(orjson.dumps({"ActionStatus": "FAIL", "ErrorInfo": "test", "ErrorCode": code}))


TENCENT_OK = response(b'{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"ResultItem":[]}')
# how Tencent fails for a while: its answer while failing (None: none at all), and whether that is
# an outage (the webhook waits it out) or a refusal (the entry's own fault)
TENCENT_FAILURES: dict[str, tuple[bytes | None, bool]] = {
    "http-503": (response(b"busy", "503 Service Unavailable"), True),
    "server-timeout-60008": (tencent_answer(60008), True),
    "frequency-60007": (tencent_answer(60007), True),
    "internal-70500": (tencent_answer(70500), True),
    # no answer: the handler's deadline passes while the call waits (a stalled Tencent)
    "silent": (None, True),
    "no-such-account-70107": (tencent_answer(70107), False),
    "http-404": (response(b"no", "404 Not Found"), False),
}


async def run_inbound(redis: Any, keys: Keys, handler: CallingTencent) -> None:
    """One C2C after-send webhook queued and worked by an InboundWorker (cap CAP, quick claims, a
    short handler deadline) until its queue is settled."""
    worker = InboundWorker(redis, keys, handler, OwnMessages(redis, keys), consumer="c1")
    worker.claim_idle_seconds = QUICK_CLAIM_SECONDS
    worker.block_milliseconds = QUICK_READ_MILLISECONDS
    worker.error_pause_seconds = 0.05
    worker.max_deliveries = CAP
    worker._handler_timeout = 0.5
    queue = keys.tencent_inbound_queue()
    await redis.xadd(queue, {"cmd": wire.C2C_AFTER_SEND, "platform": "iOS", "ip": "", "body": orjson.dumps(fx.C2)})
    worker.start()
    try:
        await eventually(lambda: settled(redis, queue, worker.group), "the queue's emptying", timeout=30)
    finally:
        await worker.stop()


# Which of Tencent's failures is an outage is the same on either Redis: one Redis serves the kinds
# (the give-back itself is tried on a Cluster by the tests above and the unreachable one below)
@pytest.mark.parametrize("redis", ["single"], indirect=True)
@pytest.mark.parametrize("failure", list(TENCENT_FAILURES))
async def test_the_inbound_workers_webhook_waits_out_tencents_outages_not_its_refusals(
    redis: Any, sdkappid: int, failure: str
) -> None:
    """Tencent (a local server) fails the handler's call OUTAGE times, then answers: an outage
    (5xx, its server timeout, a frequency limit, its internal error, no answer at all) keeps the
    webhook until the call succeeds; a refusal (an account missing, a 404) is the entry's own:
    dead-lettered at the cap."""
    failing, outage = TENCENT_FAILURES[failure]

    async def answer(n: int, writer: asyncio.StreamWriter) -> None:
        if n > OUTAGE:
            writer.write(TENCENT_OK)
        elif failing is None:
            await asyncio.Event().wait()  # until the server closes
        else:
            writer.write(failing)
        await writer.drain()

    keys = Keys(sdkappid)
    queue = keys.tencent_inbound_queue()
    endpoint: RawEndpoint
    try:
        async with raw_endpoint(answer) as endpoint:
            client = tencent_at(sdkappid, endpoint.port)
            handler = CallingTencent(client, client, OUTAGE)
            try:
                await run_inbound(redis, keys, handler)
            finally:
                await client.aclose()
        dead = await redis.xlen(Keys.dead_letters(queue))
    finally:
        await redis.delete(queue, Keys.dead_letters(queue))
    if outage:
        assert (handler.calls, handler.handled, dead) == (OUTAGE + 1, 1, 0)
    else:
        assert (handler.calls, handler.handled, dead) == (CAP, 0, 1)


async def test_the_inbound_workers_webhook_waits_out_tencent_unreachable(redis: Any, sdkappid: int) -> None:
    """Tencent's address refuses connections for OUTAGE deliveries (the client's TencentError
    naming the network), then Tencent answers: the webhook is kept, then handled."""
    keys = Keys(sdkappid)
    queue = keys.tencent_inbound_queue()

    async def answer(_: int, writer: asyncio.StreamWriter) -> None:
        writer.write(TENCENT_OK)
        await writer.drain()

    endpoint: RawEndpoint
    try:
        async with raw_endpoint(answer) as endpoint:
            refused, working = tencent_at(sdkappid, closed_port()), tencent_at(sdkappid, endpoint.port)
            handler = CallingTencent(refused, working, OUTAGE)
            try:
                await run_inbound(redis, keys, handler)
            finally:
                await refused.aclose()
                await working.aclose()
        assert (handler.calls, handler.handled, len(endpoint.requests)) == (OUTAGE + 1, 1, 1)
        assert not await redis.exists(Keys.dead_letters(queue))
    finally:
        await redis.delete(queue, Keys.dead_letters(queue))


# ---- the callback worker: its batch's UnreadMsgNum read failing ----------------------------------
async def test_callbacks_whose_unread_count_cannot_be_read_wait_and_go_out_with_it(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver, down_redis: Any
) -> None:
    """A gateway whose callback worker's UnreadMsgNum read fails (its Redis down) for OUTAGE
    batches after three messages to bob were sent: their after-send callbacks are held, neither
    dead-lettered nor sent without the count, and once the read works each is delivered once with
    bob's UnreadMsgNum."""
    running = await start_in_process(replace(settings, callback_url=receiver.url, callback_token="t"), clock)
    http = HTTPClient(running.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    gw = running.gateway
    worker = gw.callback_worker
    assert isinstance(worker, CallbackWorker)
    # longer than its error pause: between claims of the held entries, reads take the new ones
    worker.claim_idle_seconds = 0.3
    worker.block_milliseconds = QUICK_READ_MILLISECONDS
    worker.error_pause_seconds = 0.05
    worker.max_deliveries = CAP
    counted, failing = worker._unread, UnreadIndex(down_redis, gw.keys).totals
    down = True
    failed = 0

    async def unread(users: Sequence[str]) -> dict[str, int]:
        nonlocal failed
        if down:
            failed += 1
            return await failing(users)
        return await counted(users)

    worker._unread = unread
    queue = gw.keys.callback_queue()
    try:
        alice, carol = [Actor(http, await http.login(u)) for u in ("alice", "carol")]
        await http.login("bob")
        await send(alice, "one", to="bob")
        await send(alice, "two", to="bob")
        await send(carol, "three", to="bob")

        async def held() -> int:
            return int((await gw.redis.xpending(queue, worker.group))["pending"])

        await eventually(lambda: _is(held(), 3), "the three callbacks' first delivery")
        taken_at = failed
        await eventually(lambda: failed >= taken_at + OUTAGE, "the unread read's failures")
        assert await held() == 3  # all held: none dead-lettered, none sent
        assert not receiver.of(wire.C2C_AFTER_SEND)
        down = False
        delivered = await receiver.wait_for(wire.C2C_AFTER_SEND, 3, timeout=30)
        assert sorted(r.body["MsgBody"][0]["MsgContent"]["Text"] for r in delivered) == ["one", "three", "two"]
        assert [r.body["UnreadMsgNum"] for r in delivered] == [3, 3, 3]  # bob's total when they went out
        await eventually(lambda: settled(gw.redis, queue, worker.group), "the queue's emptying")
        assert len(receiver.of(wire.C2C_AFTER_SEND)) == 3  # each once
        assert not await gw.redis.exists(Keys.dead_letters(queue))
        assert dead_lettered(gw.metrics, queue) == 0
    finally:
        await http.aclose()
        await running.stop()


def test_what_counts_as_an_outage() -> None:
    """Tencent's errors as its client raises them (gateway.tencent.client), and the rest."""

    def tencent(cause: str, code: int | None = None) -> TencentError:
        return TencentError(6012, "", endpoint="openim/sendmsg", cause=cause, tencent_code=code)

    outages: list[BaseException] = [
        RedisConnectionError("refused"),
        ConnectionRefusedError(),
        TimeoutError(),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("silent"),
        httpx.RemoteProtocolError("hung up mid-answer"),
        socket.gaierror("no such name"),
        ConnectionResetError(),
        tencent("timeout"),
        tencent("network"),
        tencent("rate_limited"),
        tencent("http_502"),
        tencent("http_429"),
        tencent("60008", 60008),
        tencent("70500", 70500),
    ]
    faults: list[BaseException] = [
        ValueError(),
        KeyError("x"),
        tencent("http_400"),
        tencent("bad_answer"),
        tencent("70107", 70107),
        tencent("90001", 90001),
        FileNotFoundError("no such file"),
        PermissionError("refused"),
        httpx.UnsupportedProtocol("ftp://x"),
        httpx.LocalProtocolError("bad header"),
    ]
    # the webhook worker's view (its handlers call Tencent); every other worker's is the general one
    keys = Keys(1400000000)
    inbound = InboundWorker(None, keys, cast(Any, None), OwnMessages(None, keys), consumer="c1").is_transient
    assert [e for e in outages if not inbound(e)] == []
    assert [e for e in faults if inbound(e)] == []
    assert not is_transient(tencent("timeout"))
    assert is_transient(PushUnavailable(), (PushUnavailable,))
    assert not is_transient(PushUnavailable())
