"""send-to-receive-callbacks: what after-send callbacks cost sends (issue 16), a live endpoint's and
a dead one's beside none.

The send-to-receive load (M senders → M subscribed receivers, C2C sendMessage at a fixed rate) runs
on three gateways at once, each an app of its own (its own SDKAppID, so its own callback queue and
users) on the same Redis:
- `plain`: no IMQL_CALLBACK_URL (the floor);
- `live-callback-endpoint`: the after-send callbacks (C2C/Group.CallbackAfterSendMsg, queued in the
  send's write pipeline) to a local endpoint that answers at once (a process of its own), delivered
  by the gateway's own worker (each C2C one with the receiver's UnreadMsgNum);
- `dead-callback-endpoint`: the same to a local port nothing listens on (every delivery refused,
  retried with backoff).
At each rate the gateways take turns round by round (plain, live, dead, plain, ...), so the
machine's noise falls on all three alike. Per variant and rate: the median round's p50 / p99 and
the server's CPU per message (user + system of its process, /proc, from a round's first send until
its messages have arrived and, with callbacks, its callback queue is empty or DRAIN_SECONDS have
passed), every round's beside it; then the ratios live / plain (what callbacks cost) and dead /
live (issue 16's claim: a dead endpoint costs sends nothing more than a live one).

Options (environment): IMQL_BENCH_RATES="200,500" picks rates; IMQL_BENCH_ROUNDS=5 runs more
rounds per rate (3 by default); IMQL_BENCH_CONVERSATIONS=101 gives every receiver 100 more C2C
conversations (each with one unread message; IMQL_BENCH_OTHERS_READ=1: all read), which the
receiver's UnreadMsgNum covers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
from dataclasses import dataclass, field

from bench.fixtures import many_c2c_conversations
from bench.harness import Bench, ServerProcess, free_port, median
from bench.scenarios.send_to_receive import Pairs
from gateway.ids import c2c_conversation_id

RATES = [200, 500]  # msg/s: a light and the target load of send-to-receive
SECONDS = 3.0
ROUNDS = 3
DRAIN_SECONDS = 5.0  # how long a round waits for its callbacks' deliveries (a dead endpoint's never end)
AFTER_SEND = "C2C.CallbackAfterSendMsg,Group.CallbackAfterSendMsg"
PLAIN, LIVE, DEAD = "plain", "live-callback-endpoint", "dead-callback-endpoint"


OK_BODY = b'{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}'
OK_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(OK_BODY)).encode()
    + b"\r\n\r\n"
    + OK_BODY
)


async def _answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A callback endpoint that answers every request at once (keep-alive), as cheaply as can be."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
            await reader.readexactly(int(found.group(1)) if found else 0)
            writer.write(OK_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve_ok(port: int) -> None:
    server = await asyncio.start_server(_answer_ok, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def live_endpoint() -> tuple[asyncio.subprocess.Process, str]:
    """The live endpoint in a process of its own (on the load generator's event loop, its work would
    delay the receivers' events it times), and its URL once it accepts connections."""
    port = free_port()
    code = f"import asyncio; from {__name__} import _serve_ok; asyncio.run(_serve_ok({port}))"
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    for _ in range(500):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process, f"http://127.0.0.1:{port}/im/callback"
        await asyncio.sleep(0.02)
    process.kill()
    raise RuntimeError("bench: the live callback endpoint did not start")


def endpoint_settings(url: str) -> dict[str, str]:
    return {"IMQL_CALLBACK_URL": url, "IMQL_CALLBACK_TOKEN": "bench-token", "IMQL_CALLBACK_COMMANDS": AFTER_SEND}


def dead_endpoint() -> dict[str, str]:
    """Callback settings pointing at a local port with nothing listening (connections refused)."""
    return endpoint_settings(f"http://127.0.0.1:{free_port()}/im/callback")


@dataclass
class Variant:
    """One gateway of the comparison, on an app of its own, with its load."""

    name: str
    app: Bench
    server: ServerProcess
    load: Pairs
    callbacks: bool
    rounds: dict[int, list[dict[str, float]]] = field(default_factory=dict)  # rate -> each round's figures

    async def queued(self) -> int:
        """Callbacks queued and not yet delivered (entries leave the stream once done)."""
        return int(await self.app.engine.redis.xlen(self.app.engine.keys.callback_queue()))

    async def one_round(self, rate: int, round_no: int, seconds: float, *, timed: bool = True) -> None:
        before = self.server.cpu_seconds()
        p50, p99, achieved, lost = await self.load.one_round(rate, round_no, seconds)
        if self.callbacks and self.name != DEAD:
            deadline = time.perf_counter() + DRAIN_SECONDS
            while await self.queued() and time.perf_counter() < deadline:
                await asyncio.sleep(0.02)
        used = self.server.cpu_seconds() - before
        if timed:
            figures = {"p50": p50, "p99": p99, "achieved": achieved, "lost": lost}
            figures["cpu_ms"] = used / int(rate * seconds) * 1000
            self.rounds.setdefault(rate, []).append(figures)

    def figure(self, rate: int, name: str) -> float:
        return median([r[name] for r in self.rounds[rate]])

    def emit(self, bench: Bench, rate: int, pairs: int, conversations: int) -> None:
        runs = self.rounds[rate]
        extra = {
            "variant": self.name,
            "rate": rate,
            "achieved_rate": round(self.figure(rate, "achieved"), 1),
            "pairs": pairs,
            "conversations_per_receiver": conversations,
            "rounds": len(runs),
            "lost": int(sum(r["lost"] for r in runs)),
        }
        for figure, key, unit in (("latency_p50", "p50", "ms"), ("latency_p99", "p99", "ms")):
            each = [round(r[key], 1) for r in runs]
            bench.emit(figure, round(self.figure(rate, key), 3), unit, each=each, **extra)
        each = [round(r["cpu_ms"], 3) for r in runs]
        bench.emit("cpu_per_message", round(self.figure(rate, "cpu_ms"), 3), "ms", each=each, **extra)


async def other_conversations(app: Bench, receivers: list[str], prefix: str, count: int, read: bool) -> None:
    """`count` more C2C conversations per receiver, with peers of their own, each holding an unread
    message for the receiver (or read, with `read`)."""
    peers = [f"{prefix}o{k}" for k in range(count)]
    for receiver in receivers:
        await many_c2c_conversations(app.engine, receiver, peers)
        if read:
            marks = dict.fromkeys((c2c_conversation_id(p) for p in peers), int(time.time() * 1000) + 1000)
            await app.engine.redis.hset(app.engine.keys.conversation_state(receiver, "c2c-read-ms"), mapping=marks)


async def run(bench: Bench) -> None:
    rates = [50] if bench.tiny else RATES
    if os.environ.get("IMQL_BENCH_RATES"):
        rates = [int(r) for r in os.environ["IMQL_BENCH_RATES"].split(",")]
    conversations = int(os.environ.get("IMQL_BENCH_CONVERSATIONS") or 1)
    others_read = os.environ.get("IMQL_BENCH_OTHERS_READ", "") in ("1", "true", "yes")
    pairs = 2 if bench.tiny else 50
    seconds = 1.0 if bench.tiny else SECONDS
    rounds = 1 if bench.tiny else int(os.environ.get("IMQL_BENCH_ROUNDS") or ROUNDS)
    endpoint, live_url = await live_endpoint()
    settings = {PLAIN: {}, LIVE: endpoint_settings(live_url), DEAD: dead_endpoint()}
    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(bench.running())
            variants: list[Variant] = []
            for name, env in settings.items():
                # an app of its own each: the callback queue is app-wide, and a live gateway's
                # worker must not deliver the dead one's callbacks (nor the other way round)
                app = bench
                if name != PLAIN:
                    app = Bench(bench.scenario, tiny=bench.tiny, redis_url=bench.redis_url, with_peer=False)
                    await stack.enter_async_context(app.running())
                server = await app.start_gateway(**env)
                if conversations > 1:  # before any send: the receivers' unread index is built from them
                    receivers = [f"{name}-r{i}" for i in range(pairs)]
                    await other_conversations(app, receivers, f"{name}-", conversations - 1, others_read)
                load = await Pairs.open(app, server, pairs, prefix=f"{name}-")
                variants.append(Variant(name, app, server, load, callbacks=bool(env)))
            if not bench.tiny:  # an untimed round each: caches, pools and connections warm
                for v in variants:
                    await v.one_round(rates[0], -1, 1.0, timed=False)
            for rate in rates:
                for r in range(rounds):
                    for v in variants:  # turns round by round: noise falls on every variant alike
                        await v.one_round(rate, r, seconds)
                for v in variants:
                    v.emit(bench, rate, pairs, conversations)
                plain, live, dead = variants
                # what callbacks cost at all (building, queueing and delivering each one), and what
                # a dead endpoint costs beside a live one (the claim)
                for figure, key in (("p50", "p50"), ("p99", "p99"), ("cpu", "cpu_ms")):
                    ratio = live.figure(rate, key) / plain.figure(rate, key)
                    bench.emit(f"ratio_{figure}_live_to_plain", round(ratio, 3), rate=rate)
                for figure in ("p50", "p99"):
                    ratio = dead.figure(rate, figure) / live.figure(rate, figure)
                    bench.emit(f"ratio_{figure}_dead_to_live", round(ratio, 3), rate=rate)
            for v in variants:
                if v.callbacks:  # about none with a live endpoint, every one with a dead one
                    bench.emit("callbacks_undelivered", await v.queued(), "callbacks", variant=v.name)
                v.load.close()
    finally:
        endpoint.kill()
        await endpoint.wait()
