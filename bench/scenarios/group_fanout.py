"""group-fanout: one message to a group whose members all hold live subscriptions on one gateway
process (1,000, 5,000 and 10,000 subscribers): the time until the first, the median and the last
subscriber has it, deliveries per second, and the Redis commands the send issued (INFO
commandstats before and after the mutation) and issued in all until the last delivery.

Users u0..u9999 are members of three Communities (the first 1,000, 5,000, all 10,000), added
through the engine. Subscriptions open in steps (1,000, then 4,000 more, then 5,000 more), and at
each step the group whose members are exactly the subscribed users gets the messages.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from redis.asyncio.cluster import RedisCluster

from bench.fixtures import TEXT_LISTENER, text_draft
from bench.harness import Bench, median, percentile
from bench.httpraw import Connection
from bench.wsclient import Subscriber, subscribe
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.store import MEMBER
from gateway.im.enums import GroupType

SEND = "mutation Send($id: String!, $g: String!) { sendMessage(id: $id, groupID: $g) { msgID } }"
OPEN_CONCURRENCY = 200  # subscriptions being opened at once


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


async def run(bench: Bench) -> None:
    sizes = [20, 50] if bench.tiny else [1_000, 5_000, 10_000]
    if os.environ.get("IMQL_BENCH_FANOUT_SIZES"):  # e.g. "1000" for the cluster variant
        sizes = [int(n) for n in os.environ["IMQL_BENCH_FANOUT_SIZES"].split(",")]
    sends = 2 if bench.tiny else 5
    async with bench.running():
        users = [f"u{i}" for i in range(sizes[-1])]
        backend = bench.engine.backend
        assert isinstance(backend, EmbeddedBackend)  # members are added straight through its GroupStore
        groups = backend.groups
        started = time.perf_counter()
        await bench.engine.backend.accounts.ensure_account("owner")
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
        arrivals: dict[str, list[float]] = {}

        failures: list[Any] = []

        def arrived(payload: Any, at: float) -> None:
            if not payload.get("data"):
                failures.append(payload.get("errors"))
                return
            text = payload["data"]["advancedMsgListener"]["message"]["textElem"]["text"]
            arrivals.setdefault(text, []).append(at)

        subscribers: list[Subscriber] = []
        warmed: dict[int, int] = {}  # subscriber → messages it had before this step's warm-up

        async def send(text: str, gid: str) -> tuple[float, int, int]:
            """Send `text` to the group: when the mutation started, and Redis's command count
            just before it and just after its answer."""
            draft_id = await text_draft(bench.engine, "owner", text)
            conn = await Connection.open("127.0.0.1", server.port)  # idle keep-alives are closed after 5 s
            before = await commands_processed(bench)
            began = time.perf_counter()
            variables = {"id": draft_id, "g": gid}
            status, body = await conn.post_json("/graphql", {"query": SEND, "variables": variables}, owner_token)
            after = await commands_processed(bench)
            conn.close()
            if status != 200 or "errors" in body:
                raise RuntimeError(f"send failed: {body}")
            return began, before, after

        for size in sizes:
            opening = time.perf_counter()
            todo = sessions[len(subscribers) : size]
            for i in range(0, len(todo), OPEN_CONCURRENCY):
                subscribers += await asyncio.gather(
                    *(
                        subscribe("127.0.0.1", server.port, s.token, TEXT_LISTENER, arrived)
                        for s in todo[i : i + OPEN_CONCURRENCY]
                    )
                )
            # acknowledged is not yet following: warm-up messages until every subscriber has had one
            live = 0
            warm_deadline = time.perf_counter() + 300
            while live < size and time.perf_counter() < warm_deadline:
                await send(f"warm-up {size}:{live}:{time.perf_counter()}", group_of[size])
                await asyncio.sleep(2.0)
                live = sum(1 for sub in subscribers[:size] if sub.received > warmed.get(id(sub), 0))
            if live < size:
                raise RuntimeError(f"only {live} of {size} subscriptions went live; errors: {failures[:3]}")
            for sub in subscribers:
                warmed[id(sub)] = sub.received
            bench.emit("subscribe_time", round(time.perf_counter() - opening, 1), "s", opened=len(todo))
            firsts, medians, lasts, rates, send_cmds, all_cmds = [], [], [], [], [], []
            for n in range(sends):
                text = f"{size}:{n}"
                began, before, after_send = await send(text, group_of[size])
                deadline = time.perf_counter() + 30
                while len(arrivals.get(text, ())) < size and time.perf_counter() < deadline:
                    await asyncio.sleep(0.01)
                times = sorted(t - began for t in arrivals.get(text, ()))
                if len(times) < size:
                    raise RuntimeError(
                        f"{size - len(times)} of {size} subscribers never got message {text}; errors: {failures[:3]}"
                    )
                done = await commands_processed(bench)
                firsts.append(times[0])
                medians.append(median(times))
                lasts.append(times[-1])
                rates.append(size / times[-1])
                # the figures' own INFO calls (2 before `done`) are not the gateway's
                send_cmds.append(after_send - before - info_commands(bench))
                all_cmds.append(done - before - 2 * info_commands(bench))
                await asyncio.sleep(0.2)
            extra = {"subscribers": size, "sends": sends}
            bench.emit("first_ms", round(median(firsts) * 1000, 2), "ms", **extra)
            bench.emit("median_ms", round(median(medians) * 1000, 2), "ms", **extra)
            each = [round(t * 1000) for t in lasts]  # in send order: shows whether a slow one is the first
            bench.emit("last_ms", round(median(lasts) * 1000, 2), "ms", worst=max(each), each=each, **extra)
            bench.emit("deliveries_per_s", round(median(rates)), "deliveries/s", **extra)
            bench.emit("send_redis_commands", int(median(send_cmds)), "commands", min=min(send_cmds), **extra)
            bench.emit(
                "redis_commands_until_last", int(median(all_cmds)), "commands", p99=percentile(all_cmds, 99), **extra
            )
        for s in subscribers:
            s.close()
