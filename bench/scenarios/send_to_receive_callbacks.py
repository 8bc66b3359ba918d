"""send-to-receive-callbacks: whether a dead callback endpoint slows sends (issue 16: "a dead
callback endpoint does not change send latency"). The send-to-receive load (M senders → M subscribed
receivers, C2C sendMessage at a fixed rate) runs twice in one invocation, each on a gateway of its
own: plain (no IMQL_CALLBACK_URL), then with IMQL_CALLBACK_URL on a local port nothing listens on and
the after-send callbacks on (C2C/Group.CallbackAfterSendMsg: queued in the send's write pipeline, so
every send queues one, and the worker's failing deliveries and retries run in the same process).
A third variant points at a live local endpoint that answers at once, so a dead endpoint is
compared with a live one (the claim) and callbacks at all with none (their cost).
Each variant runs ROUNDS rounds at each rate; the figures are the median round's p50 / p99 per
variant, and the ratios dead / live and live / plain (1.0: no change). IMQL_BENCH_RATES="300,500" picks rates.
"""

from __future__ import annotations

import asyncio
import os
import re

from bench.harness import Bench, free_port, median
from bench.scenarios.send_to_receive import Pairs

RATES = [200, 500]  # msg/s: a light and the target load of send-to-receive
SECONDS = 3.0
ROUNDS = 3
AFTER_SEND = "C2C.CallbackAfterSendMsg,Group.CallbackAfterSendMsg"


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


def endpoint_settings(url: str) -> dict[str, str]:
    return {"IMQL_CALLBACK_URL": url, "IMQL_CALLBACK_TOKEN": "bench-token", "IMQL_CALLBACK_COMMANDS": AFTER_SEND}


def dead_endpoint() -> dict[str, str]:
    """Callback settings pointing at a local port with nothing listening (connections refused)."""
    return endpoint_settings(f"http://127.0.0.1:{free_port()}/im/callback")


async def measure(bench: Bench, variant: str, env: dict[str, str], rates: list[int]) -> dict[int, tuple[float, float]]:
    """One variant on a gateway of its own (its own users): {rate: (median p50, median p99)} in ms."""
    pairs = 2 if bench.tiny else 50
    seconds = 1.0 if bench.tiny else SECONDS
    rounds = 1 if bench.tiny else ROUNDS
    server = await bench.start_gateway(**env)
    load = await Pairs.open(bench, server, pairs, prefix=f"{variant}-")
    figures: dict[int, tuple[float, float]] = {}
    for rate in rates:
        results = [await load.one_round(rate, r, seconds) for r in range(rounds)]
        p50s, p99s = [r[0] for r in results], [r[1] for r in results]
        extra = {
            "variant": variant,
            "rate": rate,
            "achieved_rate": round(median([r[2] for r in results]), 1),
            "pairs": pairs,
            "rounds": rounds,
            "lost": sum(r[3] for r in results),
        }
        bench.emit("latency_p50", round(median(p50s), 3), "ms", each=[round(v, 1) for v in p50s], **extra)
        bench.emit("latency_p99", round(median(p99s), 3), "ms", each=[round(v, 1) for v in p99s], **extra)
        figures[rate] = (median(p50s), median(p99s))
    if env:  # the callbacks not delivered yet: about none with a live endpoint, every one with a dead one
        queued = await bench.engine.redis.xlen(bench.engine.keys.callback_queue())
        bench.emit("callbacks_undelivered", int(queued), "callbacks", variant=variant)
    load.close()
    server.stop()
    bench.servers.remove(server)
    return figures


async def run(bench: Bench) -> None:
    rates = [50] if bench.tiny else RATES
    if os.environ.get("IMQL_BENCH_RATES"):
        rates = [int(r) for r in os.environ["IMQL_BENCH_RATES"].split(",")]
    live_server = await asyncio.start_server(_answer_ok, "127.0.0.1", 0)
    live_url = f"http://127.0.0.1:{live_server.sockets[0].getsockname()[1]}/im/callback"
    async with bench.running():
        plain = await measure(bench, "plain", {}, rates)
        live = await measure(bench, "live-callback-endpoint", endpoint_settings(live_url), rates)
        dead = await measure(bench, "dead-callback-endpoint", dead_endpoint(), rates)
        for rate in rates:
            (p50, p99), (live_p50, live_p99), (dead_p50, dead_p99) = plain[rate], live[rate], dead[rate]
            # what a dead endpoint costs beside a live one (the claim), and what callbacks
            # cost at all (building and queueing each one in the send's pipeline)
            bench.emit("ratio_p50_dead_to_live", round(dead_p50 / live_p50, 3), rate=rate)
            bench.emit("ratio_p99_dead_to_live", round(dead_p99 / live_p99, 3), rate=rate)
            bench.emit("ratio_p50_live_to_plain", round(live_p50 / p50, 3), rate=rate)
            bench.emit("ratio_p99_live_to_plain", round(live_p99 / p99, 3), rate=rate)
    live_server.close()
