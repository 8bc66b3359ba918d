"""send-to-receive: C2C sendMessage at a fixed rate from M senders to M receivers subscribed over
WebSocket: the time from the mutation's start to the event's arrival, p50 / p99 per rate, and the
highest rate whose p99 stays under 50 ms. Each rate runs in three rounds of 3 s and its figures are
the median round's (each round's are listed beside them); IMQL_BENCH_RATES="400,450" runs chosen
rates instead of the ladder. Messages are created beforehand through the engine (createTextMessage's
result), so each timed request is the send alone; one untimed message per pair warms up sessions,
conversations and connections first, then an untimed second of sends at the first rate.

imql is timed two ways on the same server, each with pairs of its own: the SDK's `sendMessage` of a
created message (the figures without a suffix) and the one-request `sendTextMessage`, the text
inline (`latency_p50_one_request`, `latency_p99_one_request`, `max_rate_p99_under_50ms_one_request`,
`path: "one-request"`), which is the same request as the peer's.

The peer (yoga-chat, bench/peer.py) runs the same ladder in the same invocation: as many pairs of
its own users, its one-request send (the text inline: it has no created messages), its
`newMessages` subscription. At each rate the loads take turns round by round (imql, imql's
one-request, peer, floor, imql, ...); a load leaves the ladder when its p99 passes 50 ms, when
it loses a message, or when it keeps up with less than 90 % of the rate; the others go on. imql's
figures carry `ratio_to_peer` where both ran.

The floor (`bare-c2c`, bench/floor_c2c.py: the peer's send and delivery on imql's stack with no
GraphQL, on a single Redis only) climbs the same ladder with pairs of its own, its figures
`floor_latency_p50`, `floor_latency_p99` and `floor_max_rate_p99_under_50ms` (beside imql's
highest rates as `floor`)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, ServerProcess, median, percentile
from bench.httpraw import Connection
from bench.peer import NEW_MESSAGES, PEER_NAME, SEND_C2C, Peer
from bench.wsclient import Subscriber, subscribe

SEND = "mutation Send($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"
CREATE = "mutation Create($text: String!) { createTextMessage(text: $text) { id } }"
SEND_TEXT = "mutation SendText($text: String!, $to: String!) { sendTextMessage(text: $text, receiver: $to) { msgID } }"
P99_LIMIT_MS = 50.0
RATES = [100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 750, 1000, 1500, 2000]  # msg/s, until p99 passes 50 ms
SECONDS = 3.0  # one round at a rate
ROUNDS = 3  # rounds per rate; the median round's p50 and p99 are the rate's
CONNECTIONS = 16  # keep-alive connections the senders' requests are spread over
ONE = "imql-one-request"  # imql's one-request load (the same server as "imql"); its figures get SUFFIX
FLOOR = "bare-c2c"  # the floor: the peer's send on imql's stack, nothing else (bench/floor_c2c.py)
SUFFIX = {"imql": "", ONE: "_one_request"}


class Pairs:
    """`pairs` senders, each sending to its own receiver subscribed over WebSocket, on one server;
    `one_round` times the sends of one round at a rate. This one is imql's: each message created
    beforehand through the engine (untimed), or, with `create_over_http`, created by the same
    client over HTTP just before its send (both requests on the server, as an SDK client does);
    PeerPairs is the peer's."""

    send_query = SEND
    listener = TEXT_LISTENER

    def __init__(self, bench: Bench, server: ServerProcess, pairs: int, prefix: str) -> None:
        self.bench, self.server = bench, server
        self.senders = [f"{prefix}s{i}" for i in range(pairs)]
        self.receivers = [f"{prefix}r{i}" for i in range(pairs)]
        self.sender_tokens: list[str] = []
        self.subscribers: list[Subscriber] = []
        self.connections: list[Connection] = []
        self.started_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.create_over_http = False

    @classmethod
    async def open(cls, bench: Bench, server: ServerProcess, pairs: int, prefix: str = "") -> Pairs:
        """Logs the users in, subscribes the receivers, and warms up (untimed) one message per pair,
        so each sender's session, each conversation and each connection has been used once
        (first-use costs are not the steady state measured). `prefix` names a set of users of its own."""
        load = cls(bench, server, pairs, prefix)
        load.sender_tokens, receiver_tokens = await load.login()
        load.subscribers = [
            await subscribe("127.0.0.1", server.port, token, load.listener, load.arrived) for token in receiver_tokens
        ]
        await asyncio.sleep(0.5)  # subscriptions follow their streams once acknowledged; let them settle
        await load.fresh_connections()
        warm_up = await load.prepare([f"warm-up {k}" for k in range(pairs)])
        for k in range(pairs):
            await load.send(load.connections[k % len(load.connections)], k, warm_up[k])
        await asyncio.sleep(0.5)
        return load

    async def fresh_connections(self) -> None:
        """New keep-alive connections for the senders: servers close idle ones after 5 s (uvicorn's
        and node's default), and another server's round may have kept these idle that long."""
        for c in self.connections:
            c.close()
        self.connections = [await Connection.open("127.0.0.1", self.server.port) for _ in range(CONNECTIONS)]

    async def login(self) -> tuple[list[str], list[str]]:
        """The senders' and the receivers' tokens."""
        senders = [s.token for s in await self.bench.login(self.senders)]
        return senders, [s.token for s in await self.bench.login(self.receivers)]

    async def prepare(self, texts: list[str]) -> list[dict[str, Any]]:
        """The variables of each text's send (text k from sender k % pairs), made before timing."""
        pairs = len(self.senders)
        if self.create_over_http:
            return [{"text": t, "to": self.receivers[k % pairs]} for k, t in enumerate(texts)]
        drafts = await asyncio.gather(
            *(text_draft(self.bench.engine, self.senders[k % pairs], t) for k, t in enumerate(texts))
        )
        return [{"id": d, "to": self.receivers[k % pairs]} for k, d in enumerate(drafts)]

    async def freshen(self, conn: Connection, sender: int) -> None:
        """The sender's session read afresh by a request of its own: imql trusts a cached session
        for 30 s (gateway.session.pool.CACHE_TRUST_SECONDS), and then reads it again once, in
        whichever request comes next; c2c-cost counts a send's commands after this, so that this
        read, once per half minute per session, is not counted as a send's. The peer and the floor
        keep no session (stateless tokens): nothing to do there."""
        status, body = await conn.post_json("/graphql", {"query": "{ getLoginUser }"}, self.sender_tokens[sender])
        if status != 200 or "errors" in body:
            raise RuntimeError(f"getLoginUser failed: {body}")

    async def send(self, conn: Connection, sender: int, variables: dict[str, Any]) -> None:
        token = self.sender_tokens[sender]
        if self.create_over_http:
            status, body = await conn.post_json("/graphql", {"query": CREATE, "variables": variables}, token)
            if status != 200 or "errors" in body:
                raise RuntimeError(f"create failed: {body}")
            variables = {"id": body["data"]["createTextMessage"]["id"], "to": variables["to"]}
        status, body = await conn.post_json("/graphql", {"query": self.send_query, "variables": variables}, token)
        if status != 200 or "errors" in body:
            raise RuntimeError(f"send failed: {body}")

    def text_of(self, payload: Any) -> str:
        return str(payload["data"]["advancedMsgListener"]["message"]["textElem"]["text"])

    def arrived(self, payload: Any, at: float) -> None:
        sent = self.started_at.pop(self.text_of(payload), None)
        if sent is not None:
            self.latencies.append(at - sent)

    async def one_round(self, rate: int, round_no: int, seconds: float) -> tuple[float, float, float, int]:
        """Sends at `rate` for `seconds`: (p50 ms, p99 ms, achieved msg/s, messages lost)."""
        pairs = len(self.senders)
        total = int(rate * seconds)
        texts = [f"{self.senders[0]}:{rate}:{round_no}:{k}" for k in range(total)]
        prepared = await self.prepare(texts)
        await self.fresh_connections()
        created = [(k % pairs, prepared[k], text) for k, text in enumerate(texts)]
        self.latencies.clear()
        queues: list[asyncio.Queue[tuple[int, dict[str, Any], str] | None]] = [
            asyncio.Queue() for _ in self.connections
        ]

        async def worker(conn: Connection, queue: asyncio.Queue[tuple[int, dict[str, Any], str] | None]) -> None:
            while (item := await queue.get()) is not None:
                sender, variables, text = item
                self.started_at[text] = time.perf_counter()
                await self.send(conn, sender, variables)

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


class OneRequestPairs(Pairs):
    """imql's one-request send (sendTextMessage: the text inline, no created message), on users of
    their own beside the two-step Pairs of the same server."""

    send_query = SEND_TEXT

    async def prepare(self, texts: list[str]) -> list[dict[str, Any]]:
        pairs = len(self.senders)
        return [{"text": t, "to": self.receivers[k % pairs]} for k, t in enumerate(texts)]


class PeerPairs(Pairs):
    """The same load on the peer: its users logged in through it, its one-request send (the text
    in the mutation: it has no created messages), its `newMessages` subscription."""

    send_query = SEND_C2C
    listener = NEW_MESSAGES

    def __init__(self, bench: Bench, server: ServerProcess, pairs: int, prefix: str) -> None:
        super().__init__(bench, server, pairs, prefix)
        self.peer = Peer(server, bench.peer_prefix)

    async def login(self) -> tuple[list[str], list[str]]:
        return await self.peer.login(self.senders), await self.peer.login(self.receivers)

    async def freshen(self, conn: Connection, sender: int) -> None:
        """Nothing: its tokens are checked without a Redis read (Pairs.freshen)."""

    async def prepare(self, texts: list[str]) -> list[dict[str, Any]]:
        pairs = len(self.senders)
        return [{"text": t, "to": self.receivers[k % pairs]} for k, t in enumerate(texts)]

    def text_of(self, payload: Any) -> str:
        return str(payload["data"]["newMessages"]["text"])


class FloorPairs(PeerPairs):
    """The same load on the floor: its users logged in through it (`POST /login`), the send and
    the subscription of the peer's shape."""

    send_query = "floor: the text and the receiver are read from the variables"

    async def login(self) -> tuple[list[str], list[str]]:
        async def tokens(users: list[str]) -> list[str]:
            conn = await Connection.open("127.0.0.1", self.server.port)
            try:
                found = []
                for user in users:
                    status, body = await conn.post_json("/login", {"userID": user}, "")
                    if status != 200:
                        raise RuntimeError(f"{FLOOR}: login failed: {body}")
                    found.append(str(body["token"]))
                return found
            finally:
                conn.close()

        return await tokens(self.senders), await tokens(self.receivers)


async def run(bench: Bench) -> None:
    pairs = 2 if bench.tiny else 50
    rates = [50] if bench.tiny else RATES
    if os.environ.get("IMQL_BENCH_RATES"):  # e.g. "400,400,400" to profile one rate
        rates = [int(r) for r in os.environ["IMQL_BENCH_RATES"].split(",")]
    seconds = 1.0 if bench.tiny else SECONDS
    rounds = 1 if bench.tiny else ROUNDS
    async with bench.running():
        server = await bench.start_gateway()
        loads: dict[str, Pairs] = {
            "imql": await Pairs.open(bench, server, pairs),
            ONE: await OneRequestPairs.open(bench, server, pairs, "o"),
        }
        peer = await bench.start_peer()
        if peer is not None:
            loads[PEER_NAME] = await PeerPairs.open(bench, peer.server, pairs)
        if not bench.cluster:  # the floor, as the peer, runs on a single Redis
            floor = await bench.start_process(["-m", "bench.floors", FLOOR], FLOOR)
            loads[FLOOR] = await FloorPairs.open(bench, floor, pairs, "f")
        if not bench.tiny:  # an untimed round each: caches, pools and the peer's JIT warm before the ladder
            for load in loads.values():
                await load.one_round(rates[0], -1, 1.0)
        best = dict.fromkeys(loads, 0)
        going = list(loads)  # the servers whose p99 has stayed under the limit so far
        for rate in rates:
            # several short rounds per rate, their median quoted: one hiccup of a shared machine
            # (tens of ms) would otherwise decide a rate's p99 alone; every round's figure is shown.
            # The loads take turns round by round (imql, imql's one-request, peer, imql, ...): noise falls on all.
            results: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in going}
            for r in range(rounds):
                for name in going:
                    results[name].append(await loads[name].one_round(rate, r, seconds))
            figures: dict[str, RateFigures] = {}
            for name, runs in results.items():
                p50s, p99s = [x[0] for x in runs], [x[1] for x in runs]
                achieved, lost = median([x[2] for x in runs]), sum(x[3] for x in runs)
                extra = {
                    "rate": rate,
                    "achieved_rate": round(achieved, 1),
                    "pairs": pairs,
                    "messages": int(rate * seconds) * rounds,
                    "rounds": rounds,
                    "lost": lost,
                }
                figures[name] = RateFigures(p50s, p99s, extra)
                if lost or median(p99s) > P99_LIMIT_MS or achieved < 0.9 * rate:
                    going.remove(name)
                else:
                    best[name] = rate
            emit_rate(bench, figures)
            if not going:
                break
        floor_best = best.get(FLOOR)
        if floor_best is not None:
            bench.emit("floor_max_rate_p99_under_50ms", floor_best, "msg/s", server=FLOOR, tried=rates)
        floors = {} if floor_best is None else {"floor": floor_best}
        for name, suffix in SUFFIX.items():
            paths: dict[str, Any] = {"path": "one-request"} if name == ONE else {}
            figure = f"max_rate_p99_under_50ms{suffix}"
            peer_extra = {"tried": rates}
            bench.emit_compared(
                figure,
                best[name],
                best.get(PEER_NAME),
                "msg/s",
                peer_extra=peer_extra,
                tried=rates,
                **floors,
                **paths,
            )
        for load in loads.values():
            load.close()


@dataclass
class RateFigures:
    """One server's rounds at one rate: each round's p50 and p99 (ms), and what the lines say beside."""

    p50s: list[float]
    p99s: list[float]
    extra: dict[str, Any]

    def line(self, figure: str) -> tuple[float, dict[str, Any]]:
        """The figure's value (the median round's) and its line's extras (every round's value in `each`)."""
        values = self.p50s if figure == "latency_p50" else self.p99s
        return round(median(values), 3), {"each": [round(v, 1) for v in values], **self.extra}


def emit_rate(bench: Bench, figures: dict[str, RateFigures]) -> None:
    """One rate's p50 and p99 lines: each imql path's beside the peer's when both ran at it (the
    peer's line under each path's figure name, as c2c-cost prints it), else whichever ran."""
    theirs = figures.get(PEER_NAME)
    ours = [name for name in SUFFIX if name in figures]
    floor = figures.get(FLOOR)
    for base in ("latency_p50", "latency_p99"):
        if floor is not None:
            floor_value, floor_extra = floor.line(base)
            bench.emit(f"floor_{base}", floor_value, "ms", server=FLOOR, **floor_extra)
        peer_value, peer_extra = theirs.line(base) if theirs else (None, None)
        if not ours and peer_value is not None and peer_extra is not None:  # imql has left the ladder
            bench.emit(base, peer_value, "ms", server=PEER_NAME, **peer_extra)
        for name in ours:
            value, extra = figures[name].line(base)
            if name == ONE:
                extra["path"] = "one-request"
            bench.emit_compared(base + SUFFIX[name], value, peer_value, "ms", peer_extra=peer_extra, **extra)
