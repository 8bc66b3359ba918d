"""c2c-cost: what one C2C text message costs the server, imql's two ways beside the peer.

imql sends a text two ways, both measured in the same run on the same server (each with users of
its own): the SDK's two steps (`path: "two-step"`: `createTextMessage`, then `sendMessage` of its
id, both requests on the server, as an SDK client makes them) and the one-request send
(`path: "one-request"`: `sendTextMessage` with the text inline, no idempotencyKey). The peer's
send is its one request (it has no created messages).

- `cpu_per_1000_messages` (two-step) and `cpu_per_1000_messages_one_request`: server CPU seconds
  (user + system of the server's process and its children, /proc/<pid>/stat, read before and
  after) per 1,000 messages sent at a fixed rate (300 msg/s) from 50 senders to 50 subscribed
  receivers, so delivery is counted too. Rounds alternate imql two-step, imql one-request, peer,
  imql two-step, ...; the median round is quoted, every round beside it. Each load first sends
  6,000 untimed messages (WARM_RATE), so that the peer's JIT has optimized its code.
- `redis_commands_per_send` (two-step: `sendMessage` of a created message) and
  `redis_commands_per_send_one_request` (`sendTextMessage`): the Redis commands one send issues
  (INFO commandstats read right before the request and right after its answer; MULTI, EXEC and
  commands inside scripts each count), beside the peer's send; `redis_commands_per_create`:
  imql's `createTextMessage` alone; `redis_commands_per_message` / `..._one_request`: everything
  from the first request to the receiver's event (the delivery's reads included). Messages are
  counted one at a time, and the fewest of the samples is quoted (their median beside it):
  another client's commands, or a server's timers (imql's presence renewal, its invitation timer),
  can only add to a window. Right before each sample its sender makes a request of its own (an
  untimed `getLoginUser`), so that the sender's session is fresh in imql's cache: a session is
  read again once per 30 s, in whichever request comes next, and the senders, all used at once
  since the start, would all be due together, adding that read to every sample.

So that INFO counts these servers only, the scenario runs on a redis-server of its own (started
on a free port, in memory) when one is installed, else on IMQL_REDIS_URL (`redis` in the lines
says which); on a busy shared Redis the counts are then upper bounds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import Bench, ServerProcess, median, redis_commands
from bench.peer import PEER_NAME
from bench.scenarios.send_to_receive import CREATE, FLOOR, FloorPairs, OneRequestPairs, Pairs, PeerPairs

RATE = 300  # msg/s
SECONDS = 5.0
ROUNDS = 3
SAMPLES = 40  # messages counted one at a time, per server
# Before counting, each load sends WARM_RATE msg/s for WARM_SECONDS, untimed: V8 optimizes the
# peer's code over its first few thousand messages (after a 1 s warm-up its three rounds cost
# 1.45, 1.07 and 0.90 s per 1,000, falling round after round, while imql's stayed flat), so the
# rounds compare warm servers
WARM_RATE = 1_000
WARM_SECONDS = 6.0
ONE = "imql-one-request"  # the load of imql's one-request sends (the same server as "imql")
PATHS = {"imql": "two-step", ONE: "one-request"}


async def cpu_rounds(load: Pairs, server: ServerProcess, rate: int, round_no: int, seconds: float) -> dict[str, float]:
    """One round at `rate`: the server's CPU seconds per 1,000 messages, and the round's latencies."""
    before = server.cpu_seconds()
    p50, p99, achieved, lost = await load.one_round(rate, round_no, seconds)
    used = server.cpu_seconds() - before
    total = int(rate * seconds)
    return {"cpu": used / total * 1000, "p50": p50, "p99": p99, "achieved": achieved, "lost": lost}


async def count_commands(bench: Bench, load: Pairs, samples: int) -> dict[str, list[int]]:
    """Redis commands of single messages, one at a time: create (imql's two steps only), send, and
    the whole message until the receiver has its event."""
    redis = bench.engine.redis
    await load.fresh_connections()
    conn = load.connections[0]
    counts: dict[str, list[int]] = {"create": [], "send": [], "message": []}
    for n in range(samples):
        sender = n % len(load.senders)
        text = f"{load.senders[0]}:count:{n}"
        token = load.sender_tokens[sender]
        variables: dict[str, Any] = {"text": text, "to": load.receivers[sender]}
        await load.freshen(conn, sender)  # not its session's half-minutely re-read (Pairs.freshen)
        load.started_at[text] = time.perf_counter()
        start = await redis_commands(redis)
        created = start
        if load.create_over_http:
            status, body = await conn.post_json("/graphql", {"query": CREATE, "variables": {"text": text}}, token)
            created = await redis_commands(redis)
            if status != 200 or "errors" in body:
                raise RuntimeError(f"create failed: {body}")
            variables = {"id": body["data"]["createTextMessage"]["id"], "to": load.receivers[sender]}
            counts["create"].append(created - start)
        status, body = await conn.post_json("/graphql", {"query": load.send_query, "variables": variables}, token)
        sent = await redis_commands(redis)
        if status != 200 or "errors" in body:
            raise RuntimeError(f"send failed: {body}")
        deadline = time.perf_counter() + 5
        while text in load.started_at and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        delivered = await redis_commands(redis)
        if text in load.started_at:
            raise RuntimeError(f"{text} was not delivered")
        counts["send"].append(sent - created)
        counts["message"].append(delivered - start)
        await asyncio.sleep(0.01)
    return counts


def summary(counts: list[int], redis: str) -> dict[str, Any]:
    """What stands beside the fewest commands of the samples (the quoted figure)."""
    return {"median": median(counts), "samples": len(counts), "redis": redis}


async def run(bench: Bench) -> None:
    pairs = 2 if bench.tiny else 50
    seconds = 1.0 if bench.tiny else SECONDS
    rounds = 1 if bench.tiny else ROUNDS
    samples = 5 if bench.tiny else SAMPLES
    rate = 50 if bench.tiny else RATE
    redis = "private" if bench.use_private_redis() else "shared"
    async with bench.running():
        servers: dict[str, ServerProcess] = {"imql": await bench.start_gateway()}
        imql_load = await Pairs.open(bench, servers["imql"], pairs)
        imql_load.create_over_http = True
        loads: dict[str, Pairs] = {
            "imql": imql_load,
            ONE: await OneRequestPairs.open(bench, servers["imql"], pairs, "o"),
        }
        servers[ONE] = servers["imql"]
        peer = await bench.start_peer()
        if peer is not None:
            servers[PEER_NAME] = peer.server
            loads[PEER_NAME] = await PeerPairs.open(bench, peer.server, pairs)
        servers[FLOOR] = await bench.start_process(["-m", "bench.floors", FLOOR], FLOOR)
        loads[FLOOR] = await FloorPairs.open(bench, servers[FLOOR], pairs, "f")
        if not bench.tiny:  # an untimed round each: caches, pools and the peer's JIT are warm before counting
            for load in loads.values():
                await load.one_round(WARM_RATE, -1, WARM_SECONDS)
        cpu: dict[str, list[dict[str, float]]] = {name: [] for name in loads}
        for r in range(rounds):
            for name, load in loads.items():
                cpu[name].append(await cpu_rounds(load, servers[name], rate, r, seconds))
        counts = {name: await count_commands(bench, load, samples) for name, load in loads.items()}

        def cpu_line(name: str) -> tuple[float, dict[str, Any]]:
            runs = cpu[name]
            extra = {
                "rate": rate,
                "messages": int(rate * seconds),
                "rounds": rounds,
                "each": [round(x["cpu"], 3) for x in runs],
                "latency_p50_ms": round(median([x["p50"] for x in runs]), 2),
                "latency_p99_ms": round(median([x["p99"] for x in runs]), 2),
                "achieved_rate": round(median([x["achieved"] for x in runs]), 1),
                "lost": int(sum(x["lost"] for x in runs)),
                "requests_per_message": 2 if name == "imql" else 1,
            }
            if name in PATHS:
                extra["path"] = PATHS[name]
            return round(median([x["cpu"] for x in runs]), 3), extra

        theirs, their_extra = cpu_line(PEER_NAME) if PEER_NAME in cpu else (None, None)
        floor, floor_extra = cpu_line(FLOOR)
        bench.emit("floor_cpu_per_1000_messages", floor, "s", server=FLOOR, **floor_extra)
        if theirs is not None and floor:  # what the peer's own work costs on imql's stack, beside the peer
            bench.emit("peer_over_floor_cpu", round(theirs / floor, 3), "ratio", peer=theirs, floor=floor)
        for name, suffix in (("imql", ""), (ONE, "_one_request")):
            ours, our_extra = cpu_line(name)
            figure = f"cpu_per_1000_messages{suffix}"
            our_extra.update(floor=floor, ratio_to_floor=round(ours / floor, 3) if floor else None)
            bench.emit_compared(figure, ours, theirs, "s", peer_extra=their_extra, **our_extra)

        create = counts["imql"]["create"]
        bench.emit("redis_commands_per_create", min(create), "commands", server="imql", **summary(create, redis))
        for name, suffix in (("imql", ""), (ONE, "_one_request")):
            for step in ("send", "message"):
                ours_n = counts[name][step]
                theirs_n = counts[PEER_NAME][step] if PEER_NAME in counts else None
                bench.emit_compared(
                    f"redis_commands_per_{step}{suffix}",
                    min(ours_n),
                    min(theirs_n) if theirs_n else None,
                    "commands",
                    peer_extra=summary(theirs_n, redis) if theirs_n else None,
                    path=PATHS[name],
                    **summary(ours_n, redis),
                )
        floor_sends = counts[FLOOR]["send"]
        floor_extra = summary(floor_sends, redis)
        bench.emit("floor_redis_commands_per_send", min(floor_sends), "commands", server=FLOOR, **floor_extra)
        for load in loads.values():
            load.close()
