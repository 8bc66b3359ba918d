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

The peer (yoga-chat, bench/peer.py) gets the same: the same users in three groups of its own
(`createGroup`), the same steps of `newMessages` subscriptions, the same sends from the owner.
Sends alternate imql, peer, imql, ... and imql's figures carry `ratio_to_peer`. Its Redis figure
is counted the same way (its send: a membership check, INCR, RPUSH, PUBLISH).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, median, percentile
from bench.httpraw import Connection
from bench.peer import NEW_MESSAGES, PEER_NAME, SEND_GROUP, Peer
from bench.wsclient import Subscriber, loopback_source, subscribe
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.store import MEMBER
from gateway.im.enums import GroupType

SEND = "mutation Send($id: String!, $g: String!) { sendMessage(id: $id, groupID: $g) { msgID } }"
OPEN_CONCURRENCY = 200  # subscriptions being opened at once
MAX_OPENING = 1_000  # acknowledged, not yet followed by the server: no more before opening others


async def commands_processed(bench: Bench) -> int:
    stats = await bench.engine.redis.info("stats")
    return int(stats["total_commands_processed"])


@dataclass
class Side:
    """One server under the fan-out: its subscribers, and how a message is sent to one of its groups."""

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
    figures: dict[str, list[float]] = field(default_factory=dict)

    def arrived(self, payload: Any, at: float) -> None:
        if not payload.get("data"):
            self.failures.append(payload.get("errors"))
            return
        self.arrivals.setdefault(self.text_of(payload), []).append(at)

    async def open_step(self, size: int) -> None:
        """Subscribe users up to `size`, then send warm-up messages until every subscriber has one
        (acknowledged is not yet following)."""
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
            await self.send(None, f"warm-up {size}:{live}:{time.perf_counter()}", self.group_of[size])
            await asyncio.sleep(2.0)
            live = sum(1 for sub in self.subscribers[:size] if sub.received > self.warmed.get(id(sub), 0))
        if live < size:
            raise RuntimeError(f"{self.name}: only {live} of {size} subscriptions went live; {self.failures[:3]}")
        for sub in self.subscribers:
            self.warmed[id(sub)] = sub.received

    async def subscribe(self, i: int) -> Subscriber:
        """User i's subscription, from a loopback address of its own (ports for 10,000 per server)."""
        source = loopback_source(i)
        return await subscribe("127.0.0.1", self.port, self.tokens[i], self.listener, self.arrived, local_addr=source)

    async def send(self, bench: Bench | None, text: str, gid: str) -> tuple[float, int, int]:
        """Send `text` to the group: when the mutation started, and Redis's command count just
        before it and just after its answer (0, 0 without `bench`)."""
        payload, token = await self.request(text, gid)
        conn = await Connection.open("127.0.0.1", self.port)  # idle keep-alives are closed after 5 s
        before = await commands_processed(bench) if bench else 0
        began = time.perf_counter()
        status, body = await conn.post_json("/graphql", payload, token)
        after = await commands_processed(bench) if bench else 0
        conn.close()
        if status != 200 or "errors" in body:
            raise RuntimeError(f"{self.name}: send failed: {body}")
        return began, before, after

    async def timed_send(self, bench: Bench, text: str, size: int) -> None:
        """One message to the group of `size`, until every subscriber has it: its figures kept."""
        began, before, after_send = await self.send(bench, text, self.group_of[size])
        deadline = time.perf_counter() + 30
        while len(self.arrivals.get(text, ())) < size and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        times = sorted(t - began for t in self.arrivals.get(text, ()))
        if len(times) < size:
            raise RuntimeError(
                f"{self.name}: {size - len(times)} of {size} subscribers never got {text}; {self.failures[:3]}"
            )
        done = await commands_processed(bench)
        for name, value in (
            ("first", times[0]),
            ("median", median(times)),
            ("last", times[-1]),
            ("rate", size / times[-1]),
            # the figures' own INFO calls (2 before `done`) are not the server's
            ("send_cmds", after_send - before - 1),
            ("all_cmds", done - before - 2),
        ):
            self.figures.setdefault(name, []).append(value)

    def close(self) -> None:
        for s in self.subscribers:
            s.close()


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
    bench.emit("setup_time", round(time.perf_counter() - started, 1), "s", users=len(users))
    server = await bench.start_gateway()
    owner_token = (await bench.login(["owner"]))[0].token

    async def request(text: str, gid: str) -> tuple[dict[str, Any], str]:
        draft_id = await text_draft(bench.engine, "owner", text)
        return {"query": SEND, "variables": {"id": draft_id, "g": gid}}, owner_token

    return Side(
        "imql",
        server.port,
        TEXT_LISTENER,
        [s.token for s in sessions],
        group_of,
        lambda p: str(p["data"]["advancedMsgListener"]["message"]["textElem"]["text"]),
        request,
        partial(server.metric, "imql_live_subscriptions"),
    )


async def peer_side(peer: Peer, users: list[str], sizes: list[int], redis: Any) -> Side:
    tokens = await peer.login(users)
    (owner_token,) = await peer.login(["owner"])
    group_of = {size: f"fanout-{size}" for size in sizes}
    for size, gid in group_of.items():
        await peer.create_group(owner_token, gid, users[:size])

    async def request(text: str, gid: str) -> tuple[dict[str, Any], str]:
        return {"query": SEND_GROUP, "variables": {"g": gid, "text": text}}, owner_token

    return Side(
        PEER_NAME,
        peer.port,
        NEW_MESSAGES,
        tokens,
        group_of,
        lambda p: str(p["data"]["newMessages"]["text"]),
        request,
        partial(peer.live_user_channels, redis),
    )


async def run(bench: Bench) -> None:
    sizes = [20, 50] if bench.tiny else [1_000, 5_000, 10_000]
    sends = 2 if bench.tiny else 5
    async with bench.running():
        users = [f"u{i}" for i in range(sizes[-1])]
        sides = [await imql_side(bench, users, sizes)]
        peer = await bench.start_peer()
        if peer is not None:
            sides.append(await peer_side(peer, users, sizes, bench.engine.redis))
        for size in sizes:
            for side in sides:
                opening = time.perf_counter()
                opened = size - len(side.subscribers)
                await side.open_step(size)
                side.figures.clear()
                if side.name == "imql":
                    bench.emit("subscribe_time", round(time.perf_counter() - opening, 1), "s", opened=opened)
            for n in range(sends):  # the servers take turns, message by message
                for side in sides:
                    await side.timed_send(bench, f"{size}:{n}", size)
                    await asyncio.sleep(0.2)
            emit_size(bench, sides, size, sends)
        for side in sides:
            side.close()


def emit_size(bench: Bench, sides: list[Side], size: int, sends: int) -> None:
    extra: dict[str, Any] = {"subscribers": size, "sends": sends}
    ours = sides[0].figures
    theirs = sides[1].figures if len(sides) > 1 else None

    def compared(figure: str, key: str, scale: float, digits: int | None, unit: str, **more: Any) -> None:
        peer_value = round(median(theirs[key]) * scale, digits) if theirs else None
        bench.emit_compared(figure, round(median(ours[key]) * scale, digits), peer_value, unit, **more, **extra)

    compared("first_ms", "first", 1000, 2, "ms")
    compared("median_ms", "median", 1000, 2, "ms")
    each = [round(t * 1000) for t in ours["last"]]  # in send order: shows whether a slow one is the first
    peer_last = round(median(theirs["last"]) * 1000, 2) if theirs else None
    peer_extra = {"worst": round(max(theirs["last"]) * 1000), **extra} if theirs else None
    bench.emit_compared(
        "last_ms",
        round(median(ours["last"]) * 1000, 2),
        peer_last,
        "ms",
        peer_extra=peer_extra,
        worst=max(each),
        each=each,
        **extra,
    )
    compared("deliveries_per_s", "rate", 1, None, "deliveries/s")
    send_cmds = [int(c) for c in ours["send_cmds"]]
    peer_cmds = int(median(theirs["send_cmds"])) if theirs else None
    peer_extra = {"min": int(min(theirs["send_cmds"])), **extra} if theirs else None
    bench.emit_compared(
        "send_redis_commands",
        int(median(send_cmds)),
        peer_cmds,
        "commands",
        peer_extra=peer_extra,
        min=min(send_cmds),
        **extra,
    )
    bench.emit(
        "redis_commands_until_last",
        int(median(ours["all_cmds"])),
        "commands",
        p99=percentile(ours["all_cmds"], 99),
        **extra,
    )
