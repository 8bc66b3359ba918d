"""send-to-receive: C2C sendMessage at a fixed rate from M senders to M receivers subscribed over
WebSocket: the time from the mutation's start to the event's arrival, p50 / p99 per rate, and the
highest rate whose p99 stays under 50 ms (IMQL_BENCH_RATES="400,400,400" runs chosen rates instead,
e.g. to profile one). Messages are created beforehand through the engine (createTextMessage's
result), so each timed request is the send alone; one untimed message per pair warms up sessions,
conversations and connections first."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, median, percentile
from bench.httpraw import Connection
from bench.wsclient import Subscriber, subscribe

SEND = "mutation Send($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"
P99_LIMIT_MS = 50.0
RATES = [100, 150, 200, 250, 300, 350, 400, 450, 500, 750, 1000]  # msg/s, until p99 passes 50 ms
CONNECTIONS = 16  # keep-alive connections the senders' requests are spread over


async def run(bench: Bench) -> None:
    pairs = 2 if bench.tiny else 50
    rates = [50] if bench.tiny else RATES
    if os.environ.get("IMQL_BENCH_RATES"):  # e.g. "400,400,400" to profile one rate
        rates = [int(r) for r in os.environ["IMQL_BENCH_RATES"].split(",")]
    seconds = 1.0 if bench.tiny else 5.0
    async with bench.running():
        senders = [f"s{i}" for i in range(pairs)]
        receivers = [f"r{i}" for i in range(pairs)]
        sender_tokens = [s.token for s in await bench.login(senders)]
        receiver_tokens = [s.token for s in await bench.login(receivers)]
        server = await bench.start_gateway()
        started_at: dict[str, float] = {}
        latencies: list[float] = []

        def arrived(payload: Any, at: float) -> None:
            text = payload["data"]["advancedMsgListener"]["message"]["textElem"]["text"]
            sent = started_at.pop(text, None)
            if sent is not None:
                latencies.append(at - sent)

        subscribers: list[Subscriber] = [
            await subscribe("127.0.0.1", server.port, token, TEXT_LISTENER, arrived) for token in receiver_tokens
        ]
        await asyncio.sleep(0.5)  # subscriptions follow their streams once acknowledged; let them settle
        connections = [await Connection.open("127.0.0.1", server.port) for _ in range(CONNECTIONS)]
        # warm-up, untimed: one message per pair, so each sender's session, each conversation and
        # each connection has been used once (first-use costs are not the steady state measured)
        for k in range(pairs):
            draft_id = await text_draft(bench.engine, senders[k], f"warm-up {k}")
            variables = {"id": draft_id, "to": receivers[k]}
            conn = connections[k % len(connections)]
            status, body = await conn.post_json("/graphql", {"query": SEND, "variables": variables}, sender_tokens[k])
            if status != 200 or "errors" in body:
                raise RuntimeError(f"warm-up send failed: {body}")
        await asyncio.sleep(0.5)
        best = 0
        for rate in rates:
            total = int(rate * seconds)
            created = []
            for k in range(total):
                sender = k % pairs
                text = f"{rate}:{k}"
                created.append((sender, await text_draft(bench.engine, senders[sender], text), text))
            latencies.clear()
            queues: list[asyncio.Queue[tuple[int, str, str] | None]] = [asyncio.Queue() for _ in connections]

            async def worker(conn: Connection, queue: asyncio.Queue[tuple[int, str, str] | None]) -> None:
                while (item := await queue.get()) is not None:
                    sender, draft_id, text = item
                    started_at[text] = time.perf_counter()
                    status, body = await conn.post_json(
                        "/graphql",
                        {"query": SEND, "variables": {"id": draft_id, "to": receivers[sender]}},
                        sender_tokens[sender],
                    )
                    if status != 200 or "errors" in body:
                        raise RuntimeError(f"send failed: {body}")

            workers = [asyncio.create_task(worker(c, q)) for c, q in zip(connections, queues, strict=True)]
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
            while len(latencies) < total and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            lost = total - len(latencies)
            p50, p99 = median(latencies) * 1000, percentile(latencies, 99) * 1000
            extra = {"rate": rate, "achieved_rate": round(achieved, 1), "pairs": pairs, "messages": total, "lost": lost}
            bench.emit("latency_p50", round(p50, 3), "ms", **extra)
            bench.emit("latency_p99", round(p99, 3), "ms", **extra)
            if lost or p99 > P99_LIMIT_MS or achieved < 0.9 * rate:
                break
            best = rate
        bench.emit("max_rate_p99_under_50ms", best, "msg/s", tried=rates)
        for c in connections:
            c.close()
        for s in subscribers:
            s.close()
