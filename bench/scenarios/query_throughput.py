"""query-throughput: small authenticated queries over HTTP from N clients, beside two floors and
the peer.

imql (`imql serve`), the graphql-core floor, the bare Starlette floor (bench.floors) and the peer
(yoga-chat, bench/peer.py: its `me` and `usersInfo` of the same three users, same fields) run side
by side; rounds alternate between them so machine noise falls on all alike. Figures are the
medians of the rounds; imql's carry `ratio_to_peer`. The last line is imql's req/s over the
graphql-core floor's.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from bench.harness import Bench, ServerProcess, median
from bench.load import LoadSpec, run_load
from bench.peer import PEER_NAME, Peer
from gateway.im.model import ProfileChanges

QUERY = (
    "query Small($ids: [String!]!) { getLoginUser "
    "getUsersInfo(userIDList: $ids) { userID nickName faceUrl selfSignature } }"
)
PEER_QUERY = (
    "query Small($ids: [ID!]!) { me { userID } usersInfo(ids: $ids) { userID nickName faceUrl selfSignature } }"
)


async def peer_setup(peer: Peer, profiles: list[str], users: list[str]) -> tuple[str, list[str]]:
    """The same three profiles and clients on the peer: its request body and the clients' tokens."""
    for n, token in enumerate(await peer.login(profiles)):
        await peer.call("mutation N($n: String) { setSelfInfo(nickName: $n) { userID } }", {"n": f"Person {n}"}, token)
    tokens = await peer.login(users)
    body = json.dumps({"query": PEER_QUERY, "variables": {"ids": profiles}})
    answer = await peer.call(PEER_QUERY, {"ids": profiles}, tokens[0])
    if [u["nickName"] for u in answer["usersInfo"]] != [f"Person {n}" for n in range(len(profiles))]:
        raise RuntimeError(f"{PEER_NAME} answered {answer}")
    return body, tokens


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
        servers: dict[str, ServerProcess] = {
            "imql": await bench.start_gateway(),
            "graphql-core": await bench.start_process(["-m", "bench.floors", "graphql-core"], "graphql-core"),
            "bare-starlette": await bench.start_process(["-m", "bench.floors", "bare"], "bare"),
        }
        bodies = dict.fromkeys(servers, body)
        client_tokens = dict.fromkeys(servers, tokens)
        peer = await bench.start_peer()
        if peer is not None:
            servers[PEER_NAME] = peer.server
            bodies[PEER_NAME], client_tokens[PEER_NAME] = await peer_setup(peer, profiles, users)
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
                    bodies=[bodies[name]],
                    tokens=client_tokens[name],
                    concurrency=clients,
                    seconds=seconds,
                    warmup_seconds=0.5 if bench.tiny else 1.0,
                )
                result = await asyncio.to_thread(run_load, spec)
                if result.errors:
                    raise RuntimeError(f"{name}: {result.errors} failed requests under load")
                results[name].append((result.rps, result.p50_ms, result.p99_ms))
                engine = result.engine
        figures = {
            name: (round(median([r[0] for r in runs]), 1), *(round(median([r[i] for r in runs]), 3) for i in (1, 2)))
            for name, runs in results.items()
        }
        extra: dict[str, Any] = {"clients": clients, "rounds": rounds, "load": engine}
        for name in ("graphql-core", "bare-starlette"):
            rps, p50, p99 = figures[name]
            bench.emit("req_per_s", rps, "req/s", server=name, **extra)
            bench.emit("p50", p50, "ms", server=name, **extra)
            bench.emit("p99", p99, "ms", server=name, **extra)
        theirs = figures.get(PEER_NAME)
        for n, (figure, unit) in enumerate((("req_per_s", "req/s"), ("p50", "ms"), ("p99", "ms"))):
            bench.emit_compared(figure, figures["imql"][n], theirs[n] if theirs else None, unit, **extra)
        ratio = median([r[0] for r in results["imql"]]) / median([r[0] for r in results["graphql-core"]])
        bench.emit("ratio_to_graphql_core", round(ratio, 3))
