"""query-throughput: small authenticated queries over HTTP from N clients, beside two floors.

imql (`imql serve`), the graphql-core floor and the bare Starlette floor (bench.floors) run side by
side; rounds alternate between them so machine noise falls on all three alike. Figures are the
medians of the rounds. The last line is imql's req/s over the graphql-core floor's.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from bench.harness import Bench, median
from bench.load import LoadSpec, run_load
from gateway.im.model import ProfileChanges

QUERY = (
    "query Small($ids: [String!]!) { getLoginUser "
    "getUsersInfo(userIDList: $ids) { userID nickName faceUrl selfSignature } }"
)


async def run(bench: Bench) -> None:
    clients = 4 if bench.tiny else 32
    rounds = 1 if bench.tiny else 3
    seconds = 1.0 if bench.tiny else 6.0
    async with bench.running():
        profiles = ["p0", "p1", "p2"]
        for n, user in enumerate(profiles):
            await bench.engine.backend.accounts.ensure_account(user)
            await bench.engine.backend.accounts.set_self_info(user, ProfileChanges(nickName=f"Person {n}"))
        users = [f"q{i}" for i in range(clients)]
        tokens = [s.token for s in await bench.login(users)]
        body = json.dumps({"query": QUERY, "variables": {"ids": profiles}})
        servers = {
            "imql": await bench.start_gateway(),
            "graphql-core": await bench.start_process(["-m", "bench.floors", "graphql-core"], "graphql-core"),
            "bare-starlette": await bench.start_process(["-m", "bench.floors", "bare"], "bare"),
        }
        # the floor must do the same work: its answer equals imql's
        async with httpx.AsyncClient() as http:
            answers = {}
            for name in ("imql", "graphql-core"):
                reply = await http.post(
                    servers[name].url + "/graphql",
                    content=body,
                    headers={"Authorization": f"Bearer {tokens[0]}", "Content-Type": "application/json"},
                )
                answers[name] = reply.json()
        if answers["imql"] != answers["graphql-core"] or "errors" in answers["imql"]:
            raise RuntimeError(f"the floor's answer differs from imql's: {answers}")
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
        engine = ""
        for _ in range(rounds):
            for name, server in servers.items():
                spec = LoadSpec(
                    host="127.0.0.1",
                    port=server.port,
                    path="/graphql",
                    bodies=[body],
                    tokens=tokens,
                    concurrency=clients,
                    seconds=seconds,
                    warmup_seconds=0.5 if bench.tiny else 1.0,
                )
                result = await asyncio.to_thread(run_load, spec)
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors} failed requests under load")
                results[name].append((result.rps, result.p50_ms, result.p99_ms))
                engine = result.engine
        for name, runs in results.items():
            extra = {"server": name, "clients": clients, "rounds": rounds, "load": engine}
            bench.emit("req_per_s", round(median([r[0] for r in runs]), 1), "req/s", **extra)
            bench.emit("p50", round(median([r[1] for r in runs]), 3), "ms", **extra)
            bench.emit("p99", round(median([r[2] for r in runs]), 3), "ms", **extra)
        ratio = median([r[0] for r in results["imql"]]) / median([r[0] for r in results["graphql-core"]])
        bench.emit("ratio_to_graphql_core", round(ratio, 3))
