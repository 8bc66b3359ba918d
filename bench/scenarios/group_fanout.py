"""group-fanout: one message to a group whose members all hold live subscriptions on one gateway
process (1,000, 5,000 and 10,000 subscribers): the time until the first, the median and the last
subscriber has it, deliveries per second, and the Redis commands the send issued (INFO
commandstats before and after the mutation) and issued in all until the last delivery.

Users u0..u9999 are members of three Communities (the first 1,000, 5,000, all 10,000), added
through the engine. Subscriptions open in steps (1,000, then 4,000 more, then 5,000 more), and at
each step the group whose members are exactly the subscribed users gets the messages. Opens are
paced (no more than MAX_OPENING acknowledged but not yet followed by the server): opening is what
reconnect-storm measures, and a flood of opens queued behind the process's Redis pool for 30 s
fails them (7012), which is not what this scenario is about.

Floor, in the same run: the bare WebSocket server (bench.floors `bare-ws`: uvicorn, the same
WebSocket implementation, Starlette) holding as many subscriptions, opened the same way, broadcasts
each message as one frame per connection, written as imql writes a fan-out's frames: what the
stack costs to reach every subscriber with no bus, no log and no per-member rules, so imql's
figures read against what no change to imql's own code can remove (`floor_bare_ws_*_ms`).

The peer (yoga-chat, bench/peer.py) gets the same: the same users in three groups of its own
(`createGroup`), the same steps of `newMessages` subscriptions, the same sends from the owner.
Sends alternate imql, peer, imql, ... and imql's figures carry `ratio_to_peer`. Its Redis figure
is counted the same way (its send: a membership check, INCR, RPUSH, PUBLISH). Each side runs in
a process of its own (bench/sides.py): one process may hold only ~20,000 sockets.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from redis.asyncio.cluster import RedisCluster

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, median, percentile
from bench.httpraw import Connection
from bench.peer import NEW_MESSAGES, PEER_NAME, SEND_GROUP, Peer
from bench.sides import SideProcess
from bench.wsclient import Subscriber, loopback_source, subscribe
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.store import MEMBER
from gateway.im.enums import GroupType

SEND = "mutation Send($id: String!, $g: String!) { sendMessage(id: $id, groupID: $g) { msgID } }"
OPEN_CONCURRENCY = 200  # subscriptions being opened at once
MAX_OPENING = 1_000  # acknowledged, not yet followed by the server: no more before opening others


async def commands_processed(bench: Bench) -> int:
    """Commands Redis has processed: the server's, or on a cluster every master's summed (an INFO
    on each; `INFO_COMMANDS` of them are this figure's own)."""
    if bench.cluster:
        stats = await bench.engine.redis.info("stats", target_nodes=RedisCluster.PRIMARIES)
        return sum(int(node["total_commands_processed"]) for node in stats.values())
    stats = await bench.engine.redis.info("stats")
    return int(stats["total_commands_processed"])


def info_commands(bench: Bench) -> int:
    """The INFO commands one `commands_processed` sends (one per master on a cluster): counted by
    Redis, not the gateway's."""
    return len(bench.engine.redis.get_primaries()) if bench.cluster else 1


@dataclass
class Side:
    """One server under the fan-out: its subscribers, and how a message is sent to one of its groups."""

    bench: Bench
    name: str
    port: int
    listener: str
    tokens: list[str]  # the users', in order
    group_of: dict[int, str]  # group size -> group ID
    text_of: Callable[[Any], str]
    request: Callable[[str, str], Awaitable[tuple[dict[str, Any], str]]]  # (text, group) -> (payload, token)
    live: Callable[[], Awaitable[float]]  # subscriptions the server follows
    subscribers: list[Subscriber] = field(default_factory=list)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    failures: list[Any] = field(default_factory=list)
    warmed: dict[int, int] = field(default_factory=dict)  # subscriber -> messages it had before this step's warm-up
    setup_time: float = 0.0

    def arrived(self, payload: Any, at: float) -> None:
        if not payload.get("data"):
            self.failures.append(payload.get("errors"))
            return
        self.arrivals.setdefault(self.text_of(payload), []).append(at)

    async def setup_seconds(self) -> float:
        return self.setup_time

    async def open_step(self, size: int) -> float:
        """Subscribe users up to `size`, then send warm-up messages until every subscriber has one
        (acknowledged is not yet following): how long it took."""
        opening = time.perf_counter()
        while len(self.subscribers) < size:
            first = len(self.subscribers)
            self.subscribers += await asyncio.gather(
                *(self.subscribe(i) for i in range(first, min(first + OPEN_CONCURRENCY, size)))
            )
            # acknowledged is not open: pace the opens, this measures fan-out (reconnect-storm, opening)
            while len(self.subscribers) - await self.live() > MAX_OPENING:
                await asyncio.sleep(0.05)
        live = 0
        deadline = time.perf_counter() + 300
        while live < size and time.perf_counter() < deadline:
            await self.send(f"warm-up {size}:{live}:{time.perf_counter()}", self.group_of[size])
            await asyncio.sleep(2.0)
            live = sum(1 for sub in self.subscribers[:size] if sub.received > self.warmed.get(id(sub), 0))
        if live < size:
            raise RuntimeError(f"{self.name}: only {live} of {size} subscriptions went live; {self.failures[:3]}")
        for sub in self.subscribers:
            self.warmed[id(sub)] = sub.received
        return time.perf_counter() - opening

    async def subscribe(self, i: int) -> Subscriber:
        """User i's subscription, from a loopback address of its own (ports for 10,000 per server)."""
        source = loopback_source(i)
        return await subscribe("127.0.0.1", self.port, self.tokens[i], self.listener, self.arrived, local_addr=source)

    async def send(self, text: str, gid: str) -> tuple[float, int, int]:
        """Send `text` to the group: when the mutation started, and Redis's command count just
        before it and just after its answer."""
        payload, token = await self.request(text, gid)
        conn = await Connection.open("127.0.0.1", self.port)  # idle keep-alives are closed after 5 s
        before = await commands_processed(self.bench)
        began = time.perf_counter()
        status, body = await conn.post_json("/graphql", payload, token)
        after = await commands_processed(self.bench)
        conn.close()
        if status != 200 or "errors" in body:
            raise RuntimeError(f"{self.name}: send failed: {body}")
        return began, before, after

    async def timed_send(self, text: str, size: int) -> dict[str, float]:
        """One message to the group of `size`, until every subscriber has it: its figures."""
        began, before, after_send = await self.send(text, self.group_of[size])
        deadline = time.perf_counter() + 30
        while len(self.arrivals.get(text, ())) < size and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        times = sorted(t - began for t in self.arrivals.get(text, ()))
        if len(times) < size:
            raise RuntimeError(
                f"{self.name}: {size - len(times)} of {size} subscribers never got {text}; {self.failures[:3]}"
            )
        done = await commands_processed(self.bench)
        return {
            "first": times[0],
            "median": median(times),
            "last": times[-1],
            "rate": size / times[-1],
            # the figures' own INFO calls (2 before `done`) are not the server's
            "send_cmds": after_send - before - info_commands(self.bench),
            "all_cmds": done - before - 2 * info_commands(self.bench),
        }


async def imql_side(bench: Bench, users: list[str], sizes: list[int]) -> Side:
    backend = bench.engine.backend
    assert isinstance(backend, EmbeddedBackend)  # members are added straight through its GroupStore
    groups = backend.groups
    started = time.perf_counter()
    await backend.accounts.ensure_account("owner")
    group_of: dict[int, str] = {}
    for size in sizes:
        gid = await groups.create_group("owner", GroupType.V2TIM_GROUP_TYPE_COMMUNITY, None, f"fanout {size}")
        info = await groups.store.info(gid)
        for i in range(0, size, 500):
            await groups.store.add_members(info, [(u, MEMBER) for u in users[i : min(i + 500, size)]])
        group_of[size] = gid
    sessions = await bench.login(users)
    setup_time = time.perf_counter() - started
    server = await bench.start_gateway()
    owner_token = (await bench.login(["owner"]))[0].token

    async def request(text: str, gid: str) -> tuple[dict[str, Any], str]:
        draft_id = await text_draft(bench.engine, "owner", text)
        return {"query": SEND, "variables": {"id": draft_id, "g": gid}}, owner_token

    built = Side(
        bench,
        "imql",
        server.port,
        TEXT_LISTENER,
        [s.token for s in sessions],
        group_of,
        lambda p: str(p["data"]["advancedMsgListener"]["message"]["textElem"]["text"]),
        request,
        partial(server.metric, "imql_live_subscriptions"),
    )
    built.setup_time = setup_time
    return built


async def peer_side(bench: Bench, peer: Peer, users: list[str], sizes: list[int]) -> Side:
    tokens = await peer.login(users)
    (owner_token,) = await peer.login(["owner"])
    group_of = {size: f"fanout-{size}" for size in sizes}
    for size, gid in group_of.items():
        await peer.create_group(owner_token, gid, users[:size])

    async def request(text: str, gid: str) -> tuple[dict[str, Any], str]:
        return {"query": SEND_GROUP, "variables": {"g": gid, "text": text}}, owner_token

    return Side(
        bench,
        PEER_NAME,
        peer.port,
        NEW_MESSAGES,
        tokens,
        group_of,
        lambda p: str(p["data"]["newMessages"]["text"]),
        request,
        partial(peer.live_user_channels, bench.engine.redis),
    )


FLOOR = "bare-ws"


async def floor_side(bench: Bench, users: list[str], sizes: list[int]) -> Side:
    """The floor: every subscription it holds gets every message, and the steps only ever add
    subscribers, so at each step a broadcast reaches exactly that step's group size."""
    server = await bench.start_process(["-m", "bench.floors", FLOOR], FLOOR)

    async def request(text: str, gid: str) -> tuple[dict[str, Any], str]:
        return {"query": "broadcast", "variables": {"text": text}}, ""

    return Side(
        bench,
        FLOOR,
        server.port,
        TEXT_LISTENER,  # the floor takes any subscription
        [f"floor-{u}" for u in users],  # it checks no token
        {size: str(size) for size in sizes},
        lambda p: str(p["data"]["text"]),
        request,
        partial(server.metric, "imql_live_subscriptions"),  # what the floor names its count
    )


def sizes_of(bench: Bench) -> tuple[list[int], int]:
    """The group sizes (each a step of subscriptions) and the sends at each."""
    sizes = [20, 50] if bench.tiny else [1_000, 5_000, 10_000]
    if os.environ.get("IMQL_BENCH_FANOUT_SIZES"):  # e.g. "1000" for the cluster variant
        sizes = [int(n) for n in os.environ["IMQL_BENCH_FANOUT_SIZES"].split(",")]
    return sizes, 2 if bench.tiny else 5


async def side(bench: Bench, name: str) -> Side:
    """One side, built in its own process (bench/sides.py): its users, groups and server."""
    sizes, _ = sizes_of(bench)
    users = [f"u{i}" for i in range(sizes[-1])]
    if name == "imql":
        return await imql_side(bench, users, sizes)
    if name == FLOOR:
        return await floor_side(bench, users, sizes)
    peer = await bench.start_peer()
    assert peer is not None
    return await peer_side(bench, peer, users, sizes)


async def run(bench: Bench) -> None:
    """Each side in a process of its own (10,000 subscribers each: more than one process may hold),
    built at the same time; then, step by step, the sends take turns (imql, peer, imql, ...)."""
    sizes, sends = sizes_of(bench)
    async with bench.running():
        names = ["imql", *([PEER_NAME] if await bench.peer_available() else []), FLOOR]
        sides = [await SideProcess.start(__name__, name, bench) for name in names]
        try:
            bench.emit("setup_time", round(await sides[0].call("setup_seconds"), 1), "s", users=sizes[-1])
            for step, size in enumerate(sizes):
                for one in sides:
                    opened_in = await one.call("open_step", size=size)
                    if one.name == "imql":
                        opened = size - (sizes[step - 1] if step else 0)
                        bench.emit("subscribe_time", round(opened_in, 1), "s", opened=opened)
                figures: dict[str, list[dict[str, float]]] = {one.name: [] for one in sides}
                for n in range(sends):
                    for one in sides:
                        figures[one.name].append(await one.call("timed_send", text=f"{size}:{n}", size=size))
                        await asyncio.sleep(0.2)
                emit_size(bench, figures, size, sends)
        finally:
            for one in sides:
                await one.close()


def emit_size(bench: Bench, figures: dict[str, list[dict[str, float]]], size: int, sends: int) -> None:
    extra: dict[str, Any] = {"subscribers": size, "sends": sends}

    def values(name: str, key: str) -> list[float] | None:
        return [f[key] for f in figures[name]] if name in figures else None

    def compared(figure: str, key: str, scale: float, digits: int | None, unit: str) -> None:
        ours, theirs = values("imql", key), values(PEER_NAME, key)
        assert ours is not None
        peer_value = round(median(theirs) * scale, digits) if theirs else None
        bench.emit_compared(figure, round(median(ours) * scale, digits), peer_value, unit, **extra)

    floor_values = {key: values(FLOOR, key) for key in ("first", "median", "last")}
    for key, floor_times in floor_values.items():
        if floor_times:
            each = [round(t * 1000, 2) for t in floor_times]
            bench.emit(f"floor_bare_ws_{key}_ms", round(median(floor_times) * 1000, 2), "ms", each=each, **extra)
    compared("first_ms", "first", 1000, 2, "ms")
    compared("median_ms", "median", 1000, 2, "ms")
    lasts, peer_lasts = values("imql", "last"), values(PEER_NAME, "last")
    assert lasts is not None
    each = [round(t * 1000) for t in lasts]  # in send order: shows whether a slow one is the first
    peer_each = [round(t * 1000) for t in peer_lasts] if peer_lasts else None
    bench.emit_compared(
        "last_ms",
        round(median(lasts) * 1000, 2),
        round(median(peer_lasts) * 1000, 2) if peer_lasts else None,
        "ms",
        peer_extra={"worst": max(peer_each), "each": peer_each, **extra} if peer_each else None,
        worst=max(each),
        each=each,
        **extra,
    )
    compared("deliveries_per_s", "rate", 1, None, "deliveries/s")
    send_cmds, peer_cmds = values("imql", "send_cmds"), values(PEER_NAME, "send_cmds")
    assert send_cmds is not None
    bench.emit_compared(
        "send_redis_commands",
        int(median(send_cmds)),
        int(median(peer_cmds)) if peer_cmds else None,
        "commands",
        peer_extra={"min": int(min(peer_cmds)), **extra} if peer_cmds else None,
        min=int(min(send_cmds)),
        **extra,
    )
    all_cmds = values("imql", "all_cmds")
    assert all_cmds is not None
    bench.emit("redis_commands_until_last", int(median(all_cmds)), "commands", p99=percentile(all_cmds, 99), **extra)
