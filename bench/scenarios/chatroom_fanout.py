"""chatroom-fanout: AVChatRoom-style fan-out (issue 21 target 6): one message to a live-stream room
(V2TIM_GROUP_TYPE_AVCHATROOM) whose 50,000 members all hold a live subscription, served by
`imql serve --workers 4` on one host: the time until the first, the median and the last member
has it, and deliveries per second.

A process may hold only ~20,000 sockets, and one client address has ~28,000 ephemeral ports per
destination: the subscribers are spread over client processes of their own (bench/sides.py,
IMQL_BENCH_CHATROOM_CLIENTS, default 4: 12,500 each), each connecting from loopback source
addresses 127.0.0.2 and up (bench.wsclient.loopback_source). The room, its members and their
sessions are made by a server process that also starts `imql serve` and sends the messages;
arrival times are `time.perf_counter()` (CLOCK_MONOTONIC, one clock for every process of the
machine), measured from just before the send mutation (the floor's: its broadcast request).

Opens are paced (OPEN_STEP subscriptions, then OPEN_PAUSE seconds, one client process at a time):
the workers' live-subscription gauges are per process, so group-fanout's pacing on the gauge cannot
be used; opening is what reconnect-storm measures. Then warm-up messages until every member has
one, then the timed sends.

Floor, in the same run: the bare WebSocket server (bench.floors `bare-ws --workers N`: uvicorn,
imql's WebSocket protocol class and Starlette, in as many processes on one port as imql's
workers, started the same way) holds as many subscriptions, from client processes of its own
(as many, with as many members each, connecting from the loopback addresses after imql's),
opened and warmed up the same way. Its send is one PUBLISH on a channel every worker follows
(as an imql send reaches every worker through Redis pub/sub); each worker writes one frame per
connection it holds, as imql writes a fan-out's frames: what the stack and the one hop through
Redis cost to reach every member with no log and no per-member rules, so that the target
reads against what no change to imql's own code can remove on this machine
(`floor_bare_ws_first/median/last_ms`, and its `floor_bare_ws_subscribe_time`). Both servers hold
their subscriptions throughout (so each pays the other's idle connections' pings while it sends),
and the sends take turns: imql, floor, imql, floor, ... On a machine loaded far past its cores,
uvicorn's supervisor may kill a worker (imql's or the floor's) that misses its health check
(IMQL_WORKER_HEALTHCHECK_SECONDS, 30 s; uvicorn's own 5 s did at 50,000 members and load 15):
the run then stops, saying how many connections were closed or how many workers a broadcast reached.

Knobs: IMQL_BENCH_CHATROOM_SIZE (members, default 50,000), IMQL_BENCH_CHATROOM_WORKERS (default 4),
IMQL_BENCH_CHATROOM_CLIENTS (default 4, for each server), IMQL_BENCH_CHATROOM_SENDS (default 2
each). --tiny: 40 members, 2 workers, 2 client processes, 1 send. No peer column: the peer has no
multi-process mode.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, median
from bench.httpraw import Connection
from bench.sides import SideProcess
from bench.wsclient import Subscriber, loopback_source, subscribe
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.store import MEMBER
from gateway.im.enums import GroupType

SEND = "mutation Send($id: String!, $g: String!) { sendMessage(id: $id, groupID: $g) { msgID } }"
OPEN_CONCURRENCY = 200  # subscriptions being opened at once, per client process
OPEN_STEP = 1_000  # opened before each pause
OPEN_PAUSE = 0.5  # seconds: the workers follow what was acknowledged before more come
WARM_UP_SECONDS = 300.0
ARRIVAL_SECONDS = 60.0
IMQL = "imql"
FLOOR = "bare-ws"


def knobs(bench: Bench) -> tuple[int, int, int, int]:
    """Members, workers, client processes, timed sends."""
    if bench.tiny:
        defaults = (40, 2, 2, 1)
    else:
        defaults = (50_000, 4, 4, 2)
    names = ("SIZE", "WORKERS", "CLIENTS", "SENDS")
    size, workers, clients, sends = (
        int(os.environ.get(f"IMQL_BENCH_CHATROOM_{name}") or default)
        for name, default in zip(names, defaults, strict=True)
    )
    return size, workers, clients, sends


class RoomServer:
    """The server process's side: the room, its members' sessions, `imql serve --workers N`, sends."""

    def __init__(self, bench: Bench, port: int, group_id: str, tokens: list[str], owner_token: str) -> None:
        self.bench, self.port, self.group_id = bench, port, group_id
        self.tokens, self.owner_token = tokens, owner_token
        self.setup_time = 0.0

    @classmethod
    async def build(cls, bench: Bench, size: int, workers: int) -> RoomServer:
        backend = bench.engine.backend
        assert isinstance(backend, EmbeddedBackend)  # members are added straight through its GroupStore
        started = time.perf_counter()
        await backend.accounts.ensure_account("owner")
        users = [f"u{i}" for i in range(size)]
        gid = await backend.groups.create_group("owner", GroupType.V2TIM_GROUP_TYPE_AVCHATROOM, None, "live room")
        info = await backend.groups.store.info(gid)
        for i in range(0, size, 500):
            await backend.groups.store.add_members(info, [(u, MEMBER) for u in users[i : i + 500]])
        sessions = await bench.login(users)
        bench.gateway_args = [*bench.gateway_args, "--workers", str(workers)]
        server = await bench.start_gateway()
        owner_token = (await bench.login(["owner"]))[0].token
        room = cls(bench, server.port, gid, [s.token for s in sessions], owner_token)
        room.setup_time = time.perf_counter() - started
        return room

    async def spec(self) -> dict[str, Any]:
        return {"port": self.port, "tokens": self.tokens, "setup_time": self.setup_time}

    async def send(self, text: str) -> float:
        """Send `text` to the room: when the mutation started (perf_counter)."""
        draft_id = await text_draft(self.bench.engine, "owner", text)
        conn = await Connection.open("127.0.0.1", self.port)
        began = time.perf_counter()
        status, body = await conn.post_json(
            "/graphql", {"query": SEND, "variables": {"id": draft_id, "g": self.group_id}}, self.owner_token
        )
        conn.close()
        if status != 200 or "errors" in body:
            raise RuntimeError(f"chatroom: send failed: {body}")
        return began


class FloorServer:
    """The floor's server process's side: `python -m bench.floors bare-ws --workers N`, its sends."""

    def __init__(self, port: int, size: int, workers: int) -> None:
        self.port, self.workers = port, workers
        self.tokens = [f"floor-u{i}" for i in range(size)]  # it checks no token

    @classmethod
    async def build(cls, bench: Bench, size: int, workers: int) -> FloorServer:
        server = await bench.start_process(["-m", "bench.floors", FLOOR, "--workers", str(workers)], FLOOR)
        return cls(server.port, size, workers)

    async def spec(self) -> dict[str, Any]:
        return {"port": self.port, "tokens": self.tokens, "setup_time": 0.0}

    async def send(self, text: str) -> float:
        """Broadcast `text`: when the request started (perf_counter)."""
        conn = await Connection.open("127.0.0.1", self.port)
        began = time.perf_counter()
        status, body = await conn.post_json("/graphql", {"query": "broadcast", "variables": {"text": text}}, "")
        conn.close()
        # every worker follows the channel from before it accepts: fewer is a floor that is not N
        # processes, or a worker restarted by the supervisor (after a missed health check)
        if status != 200 or body.get("data", {}).get("workers") != self.workers:
            raise RuntimeError(f"chatroom: the floor's broadcast did not reach its {self.workers} workers: {body}")
        return began


class RoomClients:
    """A client process's side: its share of the members' subscriptions, and their arrivals."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.arrivals: dict[str, list[float]] = {}
        self.failures: list[Any] = []
        self.port = 0
        self.tokens: list[str] = []
        self.first = 0  # the index of its first member among all (its loopback source addresses)
        self.server = IMQL

    def arrived(self, payload: Any, at: float) -> None:
        if not payload.get("data"):
            self.failures.append(payload.get("errors"))
            return
        data = payload["data"]
        text = str(data["text"] if self.server == FLOOR else data["advancedMsgListener"]["message"]["textElem"]["text"])
        self.arrivals.setdefault(text, []).append(at)

    async def attach(self, port: int, tokens: list[str], first: int, server: str) -> int:
        """Its share of `server`'s (imql's or the floor's) members, from member number `first` on."""
        self.port, self.tokens, self.first, self.server = port, tokens, first, server
        return len(tokens)

    async def open(self) -> float:
        """Open every subscription of its share, paced: how long it took."""
        opening = time.perf_counter()
        while len(self.subscribers) < len(self.tokens):
            step_end = min(len(self.subscribers) + OPEN_STEP, len(self.tokens))
            while len(self.subscribers) < step_end:
                first = len(self.subscribers)
                self.subscribers += await asyncio.gather(
                    *(self.subscribe(i) for i in range(first, min(first + OPEN_CONCURRENCY, step_end)))
                )
            await asyncio.sleep(OPEN_PAUSE)
        return time.perf_counter() - opening

    async def subscribe(self, i: int) -> Subscriber:
        return await subscribe(
            "127.0.0.1",
            self.port,
            self.tokens[i],
            TEXT_LISTENER,
            self.arrived,
            local_addr=loopback_source(self.first + i),
        )

    async def live(self, text: str) -> int:
        """How many of its subscribers have had `text`."""
        return len(self.arrivals.get(text, ()))

    async def wait(self, text: str) -> list[float]:
        """Every subscriber's arrival time of `text`, once all have it (or the time is up)."""
        deadline = time.perf_counter() + ARRIVAL_SECONDS
        while len(self.arrivals.get(text, ())) < len(self.subscribers) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        times = self.arrivals.get(text, [])
        if len(times) < len(self.subscribers):
            # a worker gone takes its connections with it (uvicorn's supervisor kills one that
            # misses its health check, as on an overloaded machine): say so, not only "never got"
            lost = sum(1 for sub in self.subscribers if sub.closed.done())
            raise RuntimeError(
                f"chatroom: {len(self.subscribers) - len(times)} subscribers never got {text} "
                f"({lost} connections closed); {self.failures[:3]}"
            )
        return times


async def side(bench: Bench, name: str) -> RoomServer | FloorServer | RoomClients:
    """imql's server process, the floor's, or a client process (bench/sides.py)."""
    size, workers, _, _ = knobs(bench)
    if name == IMQL:
        return await RoomServer.build(bench, size, workers)
    if name == FLOOR:
        return await FloorServer.build(bench, size, workers)
    return RoomClients()


@dataclass
class Room:
    """One server under the fan-out (imql or the floor), its client processes, and its figures."""

    name: str
    server: SideProcess
    clients: list[SideProcess] = field(default_factory=list)
    firsts: list[float] = field(default_factory=list)
    medians: list[float] = field(default_factory=list)
    lasts: list[float] = field(default_factory=list)

    async def attach(self, bench: Bench, first_member: int) -> None:
        """Its client processes, the members shared out among them (member i connects from
        loopback_source(first_member + i))."""
        size, _, client_count, _ = knobs(bench)
        spec = await self.server.call("spec")
        if self.name == IMQL:
            bench.emit("setup_time", round(spec["setup_time"], 1), "s", users=size)
        tokens: list[str] = spec["tokens"]
        share = -(-size // client_count)
        for k in range(client_count):
            self.clients.append(await SideProcess.start(__name__, f"{self.name}-clients-{k}", bench))
            await self.clients[-1].call(
                "attach",
                port=spec["port"],
                tokens=tokens[k * share : (k + 1) * share],
                first=first_member + k * share,
                server=self.name,
            )

    async def open(self, size: int) -> float:
        """Every member's subscription opened and live: how long it took."""
        opening = time.perf_counter()
        for client in self.clients:  # one at a time: the workers share the host's cores with them
            await client.call("open")
        await warm_up(self.server, self.clients, size)
        return time.perf_counter() - opening

    async def timed_send(self, text: str) -> None:
        """One message, until every member has it: its first, median and last arrival."""
        began = await self.server.call("send", text=text)
        times = sorted(
            t - began for part in await asyncio.gather(*(c.call("wait", text=text) for c in self.clients)) for t in part
        )
        self.firsts.append(times[0])
        self.medians.append(median(times))
        self.lasts.append(times[-1])

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.server.close()


async def run(bench: Bench) -> None:
    size, workers, client_count, sends = knobs(bench)
    extra = {"subscribers": size, "workers": workers, "client_processes": client_count}
    rooms: list[Room] = []
    async with bench.running():
        try:
            # the floor's members connect from the loopback addresses after imql's: no shared ports
            for name, first_member in ((IMQL, 0), (FLOOR, size)):
                rooms.append(Room(name, await SideProcess.start(__name__, name, bench)))
                await rooms[-1].attach(bench, first_member)
            imql, floor = rooms
            bench.emit("subscribe_time", round(await imql.open(size), 1), "s", **extra)
            bench.emit("floor_bare_ws_subscribe_time", round(await floor.open(size), 1), "s", **extra)
            for n in range(sends):
                for room in rooms:  # turns: imql, floor, imql, floor, ...
                    await room.timed_send(f"live {n}")
                    await asyncio.sleep(0.5)
            for key, times in (("first", floor.firsts), ("median", floor.medians), ("last", floor.lasts)):
                each = [round(t * 1000, 2) for t in times]
                bench.emit(
                    f"floor_bare_ws_{key}_ms", round(median(times) * 1000, 2), "ms", each=each, sends=sends, **extra
                )
            bench.emit("first_ms", round(median(imql.firsts) * 1000, 2), "ms", sends=sends, **extra)
            bench.emit("median_ms", round(median(imql.medians) * 1000, 2), "ms", sends=sends, **extra)
            lasts = imql.lasts
            bench.emit(
                "last_ms",
                round(median(lasts) * 1000, 2),
                "ms",
                worst=round(max(lasts) * 1000),
                each=[round(t * 1000) for t in lasts],
                sends=sends,
                **extra,
            )
            bench.emit("deliveries_per_s", round(size / median(lasts)), "deliveries/s", sends=sends, **extra)
        finally:
            for room in rooms:
                await room.close()


async def warm_up(server: SideProcess, clients: list[SideProcess], size: int) -> None:
    """Warm-up messages until every member has had one (acknowledged is not yet following)."""
    deadline = time.perf_counter() + WARM_UP_SECONDS
    n = 0
    while time.perf_counter() < deadline:
        text = f"warm-up {n}"
        await server.call("send", text=text)
        await asyncio.sleep(2.0)
        if sum(await asyncio.gather(*(c.call("live", text=text) for c in clients))) == size:
            return
        n += 1
    raise RuntimeError(f"chatroom: not all {size} subscriptions went live")
