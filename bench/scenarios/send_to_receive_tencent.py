"""send-to-receive-tencent: what the Tencent backend adds to a C2C message's send-to-receive time.

Two processes, as tests/tencent run them: a **cloud** `imql serve` (the embedded engine on a Redis
database of its own, its REST v4 server and its third-party callbacks aimed at the gateway) standing
in for Tencent, and a **gateway** `imql serve` with IMQL_BACKEND=tencent pointed at it. Three legs
run at one rate, each M senders → M receivers subscribed over WebSocket, C2C sendMessage in an open
loop, the time from the mutation's start to the event's arrival:
- `embedded`: native → native on the cloud alone (the floor: the embedded engine's own figure);
- `native-to-imql`: a cloud user's send reaches a gateway user by webhook (callback → queue →
  mirror → event);
- `imql-to-native`: a gateway user's send goes through REST to the cloud, then to its subscriber.
Figures: p50 / p99 per leg (median of ROUNDS rounds), their ratios to the embedded leg, and each
process's CPU per message per leg (Linux /proc). IMQL_BENCH_RATES="100" picks the rate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, ServerProcess, free_port, median, percentile
from bench.httpraw import Connection
from bench.wsclient import Subscriber, subscribe
from gateway.services import Gateway

SEND = "mutation Send($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"
RATE = 100  # msg/s: well inside the cloud's own range, so the legs' differences are the backend's
SECONDS = 3.0
ROUNDS = 3
CONNECTIONS = 8
TOKEN = "bench-tencent-callback-token"  # noqa: S105 (the bench's own pair, not a secret)
CALLBACKS = "C2C.CallbackAfterSendMsg"  # what a native → imql message needs; the rest stay quiet


@dataclass
class Side:
    """One process and the in-process engine on its Redis database (logins, created messages)."""

    name: str  # "cloud" or "gateway": whose CPU a figure is
    server: ServerProcess
    engine: Gateway


@dataclass
class Leg:
    """Senders on one side, each sending to its own receiver subscribed on the other."""

    name: str
    source: Side
    target: Side
    senders: list[str]
    receivers: list[str]
    tokens: list[str] = field(default_factory=list)
    subscribers: list[Subscriber] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    started_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    async def open(self, bench: Bench) -> None:
        self.tokens = [await login(bench, self.source.engine, u) for u in self.senders]
        for user in self.receivers:
            token = await login(bench, self.target.engine, user)
            port = self.target.server.port
            self.subscribers.append(await subscribe("127.0.0.1", port, token, TEXT_LISTENER, self.arrived))
        await asyncio.sleep(0.5)  # subscriptions follow their streams once acknowledged
        self.connections = [await Connection.open("127.0.0.1", self.source.server.port) for _ in range(CONNECTIONS)]
        await self.round(len(self.senders), 0, 1.0, warm_up=True)  # first-use costs are not the steady state

    def arrived(self, payload: Any, at: float) -> None:
        text = payload["data"]["advancedMsgListener"]["message"]["textElem"]["text"]
        sent = self.started_at.pop(text, None)
        if sent is not None:
            self.latencies.append(at - sent)

    async def round(
        self, rate: int, round_no: int, seconds: float, *, warm_up: bool = False
    ) -> tuple[float, float, int, dict[str, float]]:
        """Sends at `rate` for `seconds`: (p50 ms, p99 ms, messages lost, CPU seconds per process)."""
        pairs = len(self.senders)
        total = max(pairs, int(rate * seconds))
        texts = [f"{self.name}:{round_no}:{k}:{warm_up}" for k in range(total)]
        drafts = await asyncio.gather(
            *(text_draft(self.source.engine, self.senders[k % pairs], t) for k, t in enumerate(texts))
        )
        self.latencies.clear()
        sides = {self.source.name: self.source, self.target.name: self.target}
        cpu_before = {name: cpu_seconds(side.server) for name, side in sides.items()}
        queues: list[asyncio.Queue[tuple[int, str, str] | None]] = [asyncio.Queue() for _ in self.connections]

        async def worker(conn: Connection, queue: asyncio.Queue[tuple[int, str, str] | None]) -> None:
            while (item := await queue.get()) is not None:
                k, draft_id, text = item
                self.started_at[text] = time.perf_counter()
                variables = {"id": draft_id, "to": self.receivers[k]}
                status, body = await conn.post_json("/graphql", {"query": SEND, "variables": variables}, self.tokens[k])
                if status != 200 or "errors" in body:
                    raise RuntimeError(f"{self.name}: send failed: {body}")

        workers = [asyncio.create_task(worker(c, q)) for c, q in zip(self.connections, queues, strict=True)]
        began = time.perf_counter()
        for k, (draft, text) in enumerate(zip(drafts, texts, strict=True)):  # open loop: k-th send due at k / rate
            delay = began + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queues[k % len(queues)].put_nowait((k % pairs, draft, text))
        for q in queues:
            q.put_nowait(None)
        await asyncio.gather(*workers)
        deadline = time.perf_counter() + 10
        while len(self.latencies) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        cpu = {name: cpu_seconds(side.server) - cpu_before[name] for name, side in sides.items()}
        lost = total - len(self.latencies)
        if not self.latencies:
            raise RuntimeError(f"{self.name}: no message arrived")
        return median(self.latencies) * 1000, percentile(self.latencies, 99) * 1000, lost, cpu

    def close(self) -> None:
        for c in self.connections:
            c.close()
        for s in self.subscribers:
            s.close()


async def login(bench: Bench, engine: Gateway, user: str) -> str:
    """A session of `user` on the side whose Redis `engine` works on; the account on both sides (a
    gateway user's first login imports it into Tencent: here, into the cloud)."""
    session = await engine.sessions.login(user, bench.user_sig(user), "web")
    return str(session.token)


def cpu_seconds(server: ServerProcess) -> float:
    """User + system CPU time of the process so far (Linux /proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def other_database(url: str) -> str:
    """The cloud's Redis: the run's server, another database (the apps' key names are the same)."""
    base, _, db = url.rpartition("/")
    return f"{base}/{2 if db == '1' else 1}" if db.isdigit() else f"{url.rstrip('/')}/1"


async def start_cloud(bench: Bench, port: int, cloud_redis: str, gateway_url: str) -> ServerProcess:
    """The cloud `imql serve` on `port` (the gateway was told it before the cloud could start)."""
    env = bench.env(
        IMQL_REDIS_URL=cloud_redis,
        IMQL_DATA_DIR=str(bench.workdir / "cloud"),
        IMQL_CALLBACK_URL=f"{gateway_url}/tencent/callback",
        IMQL_CALLBACK_TOKEN=TOKEN,
        IMQL_CALLBACK_COMMANDS=CALLBACKS,
    )
    argv = [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
    return await bench.spawn(argv, "cloud", port, env, "/readyz")


async def drop_app(engine: Gateway) -> None:
    for pattern in engine.keys.scan_patterns():
        keys = [k async for k in engine.redis.scan_iter(match=pattern, count=5000)]
        for i in range(0, len(keys), 5000):
            await engine.redis.unlink(*keys[i : i + 5000])


async def run(bench: Bench) -> None:
    pairs = 2 if bench.tiny else 20
    rate = int(os.environ.get("IMQL_BENCH_RATES", "").split(",")[0] or (20 if bench.tiny else RATE))
    seconds = 1.0 if bench.tiny else SECONDS
    rounds = 1 if bench.tiny else ROUNDS
    cloud_redis = other_database(bench.redis_url)
    cloud_engine = Gateway.build(dataclasses.replace(bench.settings, redis_url=cloud_redis))
    try:
        async with bench.running():
            cloud_port = free_port()
            gateway_server = await bench.start_process(
                ["-m", "gateway", "serve"],
                "gateway",
                ready_path="/healthz",  # ready once its Tencent (the cloud) answers, below
                env={
                    "IMQL_BACKEND": "tencent",
                    "IMQL_TENCENT_API_URL": f"http://127.0.0.1:{cloud_port}",
                    "IMQL_TENCENT_CALLBACK_TOKEN": TOKEN,
                },
            )
            cloud = Side("cloud", await start_cloud(bench, cloud_port, cloud_redis, gateway_server.url), cloud_engine)
            await gateway_server.wait_ready()
            gateway = Side("gateway", gateway_server, bench.engine)
            natives = [f"n{i}" for i in range(3 * pairs)]
            imqls = [f"i{i}" for i in range(2 * pairs)]
            for user in natives + imqls:  # every account on Tencent (the cloud); imql users in the mirror too
                await cloud_engine.backend.accounts.ensure_account(user)
            legs = [
                Leg("embedded", cloud, cloud, natives[:pairs], natives[pairs : 2 * pairs]),
                Leg("native-to-imql", cloud, gateway, natives[2 * pairs :], imqls[:pairs]),
                Leg("imql-to-native", gateway, cloud, imqls[pairs:], natives[:pairs]),
            ]
            figures: dict[str, tuple[float, float]] = {}
            for leg in legs:
                await leg.open(bench)
                results = [await leg.round(rate, r, seconds) for r in range(rounds)]
                p50s, p99s = [r[0] for r in results], [r[1] for r in results]
                extra = {"leg": leg.name, "rate": rate, "pairs": pairs, "rounds": rounds}
                lost = sum(r[2] for r in results)
                bench.emit("latency_p50", round(median(p50s), 3), "ms", each=[round(v, 1) for v in p50s], **extra)
                bench.emit("latency_p99", round(median(p99s), 3), "ms", each=[round(v, 1) for v in p99s], **extra)
                bench.emit("lost", lost, "messages", **extra)
                messages = max(pairs, int(rate * seconds)) * rounds
                for process in results[0][3]:
                    used = sum(r[3][process] for r in results)
                    bench.emit("cpu_per_message", round(used / messages * 1000, 3), "ms", process=process, **extra)
                figures[leg.name] = (median(p50s), median(p99s))
                leg.close()
            floor_p50, floor_p99 = figures["embedded"]
            for name in ("native-to-imql", "imql-to-native"):
                p50, p99 = figures[name]
                bench.emit("ratio_p50_to_embedded", round(p50 / floor_p50, 3), leg=name, rate=rate)
                bench.emit("ratio_p99_to_embedded", round(p99 / floor_p99, 3), leg=name, rate=rate)
    finally:
        await drop_app(cloud_engine)
        await cloud_engine.close()
