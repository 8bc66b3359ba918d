"""send-to-receive: C2C sendMessage at a fixed rate from M senders to M receivers subscribed over
WebSocket: the time from the mutation's start to the event's arrival, p50 / p99 per rate, and the
highest rate whose p99 stays under 50 ms. Each rate runs in three rounds of 3 s and its figures are
the median round's (each round's are listed beside them); IMQL_BENCH_RATES="400,450" runs chosen
rates instead of the ladder. Messages are created beforehand through the engine (createTextMessage's
result), so each timed request is the send alone; one untimed message per pair warms up sessions,
conversations and connections first."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, ServerProcess, median, percentile
from bench.httpraw import Connection
from bench.wsclient import Subscriber, subscribe

SEND = "mutation Send($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"
P99_LIMIT_MS = 50.0
RATES = [100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 750, 1000]  # msg/s, until p99 passes 50 ms
SECONDS = 3.0  # one round at a rate
ROUNDS = 3  # rounds per rate; the median round's p50 and p99 are the rate's
CONNECTIONS = 16  # keep-alive connections the senders' requests are spread over


@dataclass
class Pairs:
    """`pairs` senders, each sending to its own receiver subscribed over WebSocket, on one gateway;
    `one_round` times the sends of one round at a rate."""

    bench: Bench
    senders: list[str]
    receivers: list[str]
    sender_tokens: list[str]
    subscribers: list[Subscriber]
    connections: list[Connection]
    started_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @classmethod
    async def open(cls, bench: Bench, server: ServerProcess, pairs: int, prefix: str = "") -> Pairs:
        """Logs the users in, subscribes the receivers, and warms up (untimed) one message per pair,
        so each sender's session, each conversation and each connection has been used once
        (first-use costs are not the steady state measured). `prefix` names a set of users of its own."""
        senders = [f"{prefix}s{i}" for i in range(pairs)]
        receivers = [f"{prefix}r{i}" for i in range(pairs)]
        sender_tokens = [s.token for s in await bench.login(senders)]
        receiver_tokens = [s.token for s in await bench.login(receivers)]
        load = cls(bench, senders, receivers, sender_tokens, [], [])
        load.subscribers = [
            await subscribe("127.0.0.1", server.port, token, TEXT_LISTENER, load.arrived) for token in receiver_tokens
        ]
        await asyncio.sleep(0.5)  # subscriptions follow their streams once acknowledged; let them settle
        load.connections = [await Connection.open("127.0.0.1", server.port) for _ in range(CONNECTIONS)]
        for k in range(pairs):
            draft_id = await text_draft(bench.engine, senders[k], f"warm-up {k}")
            conn = load.connections[k % len(load.connections)]
            status, body = await conn.post_json(
                "/graphql", {"query": SEND, "variables": {"id": draft_id, "to": receivers[k]}}, sender_tokens[k]
            )
            if status != 200 or "errors" in body:
                raise RuntimeError(f"warm-up send failed: {body}")
        await asyncio.sleep(0.5)
        return load

    def arrived(self, payload: Any, at: float) -> None:
        text = payload["data"]["advancedMsgListener"]["message"]["textElem"]["text"]
        sent = self.started_at.pop(text, None)
        if sent is not None:
            self.latencies.append(at - sent)

    async def one_round(self, rate: int, round_no: int, seconds: float) -> tuple[float, float, float, int]:
        """Sends at `rate` for `seconds`: (p50 ms, p99 ms, achieved msg/s, messages lost)."""
        pairs = len(self.senders)
        total = int(rate * seconds)
        texts = [f"{self.senders[0]}:{rate}:{round_no}:{k}" for k in range(total)]
        drafts = await asyncio.gather(
            *(text_draft(self.bench.engine, self.senders[k % pairs], t) for k, t in enumerate(texts))
        )
        created = [(k % pairs, draft, text) for k, (draft, text) in enumerate(zip(drafts, texts, strict=True))]
        self.latencies.clear()
        queues: list[asyncio.Queue[tuple[int, str, str] | None]] = [asyncio.Queue() for _ in self.connections]

        async def worker(conn: Connection, queue: asyncio.Queue[tuple[int, str, str] | None]) -> None:
            while (item := await queue.get()) is not None:
                sender, draft_id, text = item
                self.started_at[text] = time.perf_counter()
                status, body = await conn.post_json(
                    "/graphql",
                    {"query": SEND, "variables": {"id": draft_id, "to": self.receivers[sender]}},
                    self.sender_tokens[sender],
                )
                if status != 200 or "errors" in body:
                    raise RuntimeError(f"send failed: {body}")

        workers = [asyncio.create_task(worker(c, q)) for c, q in zip(self.connections, queues, strict=True)]
        began = time.perf_counter()
        for k, item in enumerate(created):  # open loop: the k-th send is due at k / rate
            delay = began + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queues[k % len(queues)].put_nowait(item)
        for q in queues:
            q.put_nowait(None)
        await asyncio.gather(*workers)
        achieved = total / (time.perf_counter() - began)
        deadline = time.perf_counter() + 5
        while len(self.latencies) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        lost = total - len(self.latencies)
        return median(self.latencies) * 1000, percentile(self.latencies, 99) * 1000, achieved, lost

    def close(self) -> None:
        for c in self.connections:
            c.close()
        for s in self.subscribers:
            s.close()


async def run(bench: Bench) -> None:
    pairs = 2 if bench.tiny else 50
    rates = [50] if bench.tiny else RATES
    if os.environ.get("IMQL_BENCH_RATES"):  # e.g. "400,400,400" to profile one rate
        rates = [int(r) for r in os.environ["IMQL_BENCH_RATES"].split(",")]
    seconds = 1.0 if bench.tiny else SECONDS
    rounds = 1 if bench.tiny else ROUNDS
    async with bench.running():
        server = await bench.start_gateway()
        load = await Pairs.open(bench, server, pairs)
        best = 0
        for rate in rates:
            # several short rounds per rate, their median quoted: one hiccup of a shared machine
            # (tens of ms) would otherwise decide a rate's p99 alone; every round's figure is shown
            results = [await load.one_round(rate, r, seconds) for r in range(rounds)]
            p50s, p99s = [r[0] for r in results], [r[1] for r in results]
            achieved, lost = median([r[2] for r in results]), sum(r[3] for r in results)
            extra = {
                "rate": rate,
                "achieved_rate": round(achieved, 1),
                "pairs": pairs,
                "messages": int(rate * seconds) * rounds,
                "rounds": rounds,
                "lost": lost,
            }
            bench.emit("latency_p50", round(median(p50s), 3), "ms", each=[round(v, 1) for v in p50s], **extra)
            bench.emit("latency_p99", round(median(p99s), 3), "ms", each=[round(v, 1) for v in p99s], **extra)
            if lost or median(p99s) > P99_LIMIT_MS or achieved < 0.9 * rate:
                break
            best = rate
        bench.emit("max_rate_p99_under_50ms", best, "msg/s", tried=rates)
        load.close()
