"""storage-cost: the Redis memory one stored message costs, all-in, measured through the API.

A 31-character text is created and sent (createTextMessage, then sendMessage) over the gateway's
HTTP endpoint, N times: C2C between two users (alternating senders), then to a group of 10 and to a
group of 1,000 members. Before and after each run the MEMORY USAGE (SAMPLES 0: every element
counted) of every key of the scenario's app is summed, so the figure is everything the sends left
behind: the message in its timeline, its indexes (unread, conversation order), both users' event-log
entries (a group's one), the created message's record, whatever else. Exact on a shared Redis, since
only this app's keys are counted (INFO used_memory would count other clients' writes too).

Each figure lists its bytes per message by key family ("u:events", "c:messages", ...), so a
regression names its source. Group figures must not grow with the member count (read diffusion).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from bench.harness import Bench
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.store import MEMBER
from gateway.im.enums import GroupType

TEXT = "Thirty-one characters of text!!"  # the yardstick: a 31-character text
CREATE = "mutation Create($t: String!) { createTextMessage(text: $t) { id } }"
SEND_C2C = "mutation Send($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"
SEND_GROUP = "mutation Send($id: String!, $g: String!) { sendMessage(id: $id, groupID: $g) { msgID } }"
CONCURRENCY = 8  # sends in flight at once: the figure is memory, not speed
GROUP_SIZES = (10, 1_000)

assert len(TEXT) == 31


def family(app: str, key: str) -> str:
    """A key's family: its kind ("u" user, "c" C2C timeline, "g" group, "app") and the first part
    of what follows its hash tag ("imql:{<app>:u:alice}:created:x" → "u:created")."""
    tag_end = key.find("}")
    tag = key[len("imql:{") : tag_end]
    kind = tag.split(":")[1] if tag != app else "app"
    rest = key[tag_end + 2 :]
    return f"{kind}:{rest.split(':')[0] or '-'}"


async def app_memory(bench: Bench) -> Counter[str]:
    """Bytes held by each key family of this run's app (MEMORY USAGE ... SAMPLES 0, summed)."""
    redis = bench.engine.redis
    keys: list[str] = []
    for pattern in bench.engine.keys.scan_patterns():
        keys += [k async for k in redis.scan_iter(match=pattern, count=5000)]
    usage: Counter[str] = Counter()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        pipe = redis.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(chunk, await pipe.execute(), strict=True):
            usage[family(bench.engine.keys.app, key)] += int(size or 0)
    return usage


async def send_all(http: httpx.AsyncClient, sends: list[tuple[str, str, dict[str, str]]]) -> None:
    """Each (token, send document, its target variables): createTextMessage, then sendMessage."""

    async def one(token: str, document: str, target: dict[str, str]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        created = (
            await http.post("/graphql", json={"query": CREATE, "variables": {"t": TEXT}}, headers=headers)
        ).json()
        if "errors" in created:
            raise RuntimeError(f"createTextMessage failed: {created['errors']}")
        variables = {"id": created["data"]["createTextMessage"]["id"], **target}
        sent = (await http.post("/graphql", json={"query": document, "variables": variables}, headers=headers)).json()
        if "errors" in sent:
            raise RuntimeError(f"sendMessage failed: {sent['errors']}")

    for i in range(0, len(sends), CONCURRENCY):
        await asyncio.gather(*(one(*s) for s in sends[i : i + CONCURRENCY]))


async def per_message(
    bench: Bench, http: httpx.AsyncClient, sends: list[tuple[str, str, dict[str, str]]]
) -> tuple[float, dict[str, float]]:
    """Bytes per message the sends leave behind: in all, and by key family."""
    before = await app_memory(bench)
    await send_all(http, sends)
    after = await app_memory(bench)
    n = len(sends)
    families = {f: round((after[f] - before[f]) / n, 1) for f in sorted(set(after) | set(before))}
    return (sum(after.values()) - sum(before.values())) / n, {f: b for f, b in families.items() if b}


async def run(bench: Bench) -> None:
    messages = 40 if bench.tiny else 2_000
    async with bench.running():
        backend = bench.engine.backend
        assert isinstance(backend, EmbeddedBackend)  # groups are made straight through its GroupStore
        started = time.perf_counter()
        members = [f"m{i}" for i in range(max(GROUP_SIZES))]
        for user in ["alice", "bob", "owner"]:
            await backend.accounts.ensure_account(user)
        group_of: dict[int, str] = {}
        for size in GROUP_SIZES:
            gid = await backend.groups.create_group("owner", GroupType.V2TIM_GROUP_TYPE_COMMUNITY, None, f"g{size}")
            info = await backend.groups.store.info(gid)
            for i in range(0, size - 1, 500):  # the owner is the first member
                await backend.groups.store.add_members(info, [(u, MEMBER) for u in members[i : min(i + 500, size - 1)]])
            group_of[size] = gid
        alice, bob, owner = (s.token for s in await bench.login(["alice", "bob", "owner"]))
        bench.emit("setup_time", round(time.perf_counter() - started, 1), "s")
        server = await bench.start_gateway()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            # the first message of a conversation creates its list entries and counters: not per message
            await send_all(http, [(alice, SEND_C2C, {"to": "bob"}), (bob, SEND_C2C, {"to": "alice"})])
            for size in GROUP_SIZES:
                await send_all(http, [(owner, SEND_GROUP, {"g": group_of[size]})])
            c2c = [
                (alice, SEND_C2C, {"to": "bob"}) if i % 2 else (bob, SEND_C2C, {"to": "alice"}) for i in range(messages)
            ]
            total, families = await per_message(bench, http, c2c)
            bench.emit(
                "c2c_bytes_per_message", round(total, 1), "B", messages=messages, text_chars=len(TEXT), **families
            )
            group_totals = {}
            for size in GROUP_SIZES:
                sends = [(owner, SEND_GROUP, {"g": group_of[size]})] * messages
                total, families = await per_message(bench, http, sends)
                group_totals[size] = total
                bench.emit("group_bytes_per_message", round(total, 1), "B", members=size, messages=messages, **families)
        small, large = group_totals[GROUP_SIZES[0]], group_totals[GROUP_SIZES[-1]]
        bench.emit("ratio_group_large_to_small", round(large / small, 3), members=list(GROUP_SIZES))
