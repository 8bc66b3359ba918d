"""reconnect-storm: N clients (10,000, or IMQL_BENCH_STORM_CLIENTS; --tiny 40) hold
advancedMsgListener subscriptions on one gateway process and keep the `cursor` of the last event
each got. The process is restarted as a deploy restarts it (SIGINT, then a new process on the
same port). While it is down, another gateway process on the same Redis (a second replica) takes
the sends: 3 messages to a Community of all N and one C2C message to each of them. Then all N
reconnect at once, each subscribing with `since: <its last cursor>`, and the figures are, from
the first reconnect:
- `reconnect_acked_ms`: until every connection is acknowledged (connection_ack);
- `reconnect_all_live_ms`: until the server follows all N subscriptions (imql_live_subscriptions);
- `reconnect_caught_up_ms`: until all are live and every client has every message sent while it
  was away (4 each);
- `outage_messages_lost`: messages sent during the outage that a client never got (waited for up
  to a minute; `lost_following`: of those, the ones missed by clients whose subscription was not
  refused, i.e. what resuming itself missed), `duplicates`: messages a client got twice,
  `subscriptions_refused`: reconnects that ended in an error instead of a subscription. All must
  be 0 (the scenario fails otherwise, after printing its figures).
- `storm` (one line per storm, as it ends; imql's also gives `round_trips`, the new process's Redis
  round trips over the same span, per client) and `subscriptions_silent` (subscriptions found
  acknowledged but deaf to a message to everyone, reopened: over the whole run);
- `reconnect_server_cpu_ms`: the new server process's CPU time from its first reconnect until all
  are live and caught up, per client (the handshake, the subscription and its replay); the load
  client's own CPU time stands beside it (`client_cpu_s`): both share the machine's cores.

The peer (yoga-chat) goes through the same: its own clients, group and second process, the same
sends while its first process is down. It has no resume (no cursor, no `since`; pub/sub only), so
its clients come back live but miss everything sent while they were away: its
`reconnect_all_live_ms` (its Redis channel for each user subscribed) stands beside imql's, its
lost messages are counted the same way, and the output says it cannot catch up.

Rounds alternate imql, peer, imql, ...; each quotes the median round. Each side runs in a process
of its own (bench/sides.py): one process may hold only ~20,000 sockets. Reconnects go out at once,
at most STORM_IN_FLIGHT handshakes in flight (the servers' listen backlogs are 2,048 and 511:
more would only wait in SYN retries), spread over loopback source addresses (127.0.0.2 and up,
bench.wsclient.loopback_source): one address has ~28,000 ephemeral ports towards one server, and
the old connections' TIME_WAIT entries hold theirs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.fixtures import text_draft
from bench.harness import Bench, ServerProcess, median
from bench.httpraw import Connection
from bench.peer import PEER_NAME, SEND_C2C, SEND_GROUP, Peer
from bench.sides import SideProcess
from bench.wsclient import Subscriber, loopback_source, subscribe
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.groups.store import MEMBER
from gateway.im.enums import GroupType

LISTENER = (
    "subscription Storm($since: String) { advancedMsgListener(since: $since) { __typename "
    "... on RecvNewMessageEvent { cursor message { textElem { text } } } } }"
)
PEER_LISTENER = "subscription { newMessages { text } }"
SEND_C2C_IMQL = "mutation Send($id: String!, $to: String!) { sendMessage(id: $id, receiver: $to) { msgID } }"
SEND_GROUP_IMQL = "mutation Send($id: String!, $g: String!) { sendMessage(id: $id, groupID: $g) { msgID } }"
GROUP_MESSAGES = 3  # sent to everyone during each outage, besides one C2C message each
SENDERS = 10  # C2C senders (each sends to N / SENDERS clients)
STORM_IN_FLIGHT = 500
OPEN_BATCH = 200  # setup's opens (untimed): acknowledged at a time,
MAX_OPENING = 1_000  # and at most this many acknowledged but not yet followed by the server
SEND_CONNECTIONS = 16
CATCH_UP_SECONDS = 60.0
ROUNDS = 3
LIVE_WAIT_SECONDS = 600.0
DEAF_SECONDS = 60.0  # a client that hears no message to everyone for this long has a dead subscription
LIVE_POLL_SECONDS = 0.05  # how often the server's count of live subscriptions is read during a storm
Request = tuple[dict[str, Any], str]  # a GraphQL request's body and the token it is sent with


@dataclass
class Client:
    """One user's subscription across restarts: its last cursor, what it got, what it still misses."""

    user: str
    token: str
    cursor: str | None = None
    seen: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    duplicates: int = 0
    caught_up_at: float = 0.0
    subscriber: Subscriber | None = None
    refused: bool = False  # its subscription ended with an error

    @property
    def following(self) -> bool:
        return self.subscriber is not None and not self.subscriber.closed.done() and not self.refused


@dataclass
class Side:
    """One server under the storm: its clients, its restartable process and its second replica."""

    bench: Bench
    name: str
    server: ServerProcess
    replica: ServerProcess
    clients: list[Client]
    resumes: bool
    listener: str
    read: Callable[[Any], tuple[str, str | None]]  # next payload -> (text, cursor)
    live: Callable[[ServerProcess], Awaitable[float]]  # subscriptions the server follows
    group_message: Callable[[str], Awaitable[Request]]  # text -> a send to everyone's group
    direct_message: Callable[[int, str], Awaitable[Request]]  # (client, text) -> a C2C send to it
    generation: int = 0  # connections opened so far per client: picks their source addresses
    caught_up: int = 0
    silent: int = 0  # subscriptions found acknowledged but deaf (reopened), over the whole run
    failures: list[str] = field(default_factory=list)

    def on_next(self, client: Client) -> Callable[[Any, float], None]:
        def arrived(payload: Any, at: float) -> None:
            if not payload.get("data"):
                self.failures.append(f"{client.user}: {payload.get('errors')}"[:300])
                client.refused = True
                return
            text, cursor = self.read(payload)
            if cursor:
                client.cursor = cursor
            if text in client.seen:
                client.duplicates += 1
            client.seen.add(text)
            if text in client.missing:
                client.missing.discard(text)
                if not client.missing:
                    client.caught_up_at = at
                    self.caught_up += 1

        return arrived

    async def connect(self, n: int, gate: asyncio.Semaphore) -> None:
        client = self.clients[n]
        if client.subscriber is not None:
            client.subscriber.close()
        client.subscriber, client.refused = None, False
        variables = {"since": client.cursor} if self.resumes and client.cursor else None
        source = loopback_source(n + self.generation * len(self.clients))
        async with gate:
            try:
                client.subscriber = await subscribe(
                    "127.0.0.1",
                    self.server.port,
                    client.token,
                    self.listener,
                    self.on_next(client),
                    variables=variables,
                    local_addr=source,
                )
            except (OSError, RuntimeError, TimeoutError) as exc:
                self.failures.append(f"{client.user}: {exc!r}"[:300])
                client.refused = True

    async def connect_all(self) -> float:
        """The storm: every client connects at once, STORM_IN_FLIGHT handshakes at a time; when
        all are acknowledged (or failed)."""
        gate = asyncio.Semaphore(STORM_IN_FLIGHT)
        await asyncio.gather(*(self.connect(n, gate) for n in range(len(self.clients))))
        self.generation += 1
        return time.perf_counter()

    async def open_paced(self) -> None:
        """Untimed: subscribe every client that does not follow yet (setup, and the last storm's
        refused ones), OPEN_BATCH at a time and no more than MAX_OPENING acknowledged but not yet
        followed, the pace group-fanout and subscriptions-idle keep; again for any refused."""
        gate = asyncio.Semaphore(OPEN_BATCH)
        for _ in range(5):
            todo = [n for n, c in enumerate(self.clients) if not c.following]
            if not todo:
                return
            for first in range(0, len(todo), OPEN_BATCH):
                batch = todo[first : first + OPEN_BATCH]
                await asyncio.gather(*(self.connect(n, gate) for n in batch))
                acknowledged = len(self.clients) - len(todo) + first + len(batch)
                while acknowledged - await self.live(self.server) > MAX_OPENING:
                    await asyncio.sleep(0.05)
            self.generation += 1
        raise RuntimeError(f"{self.name}: subscriptions still refused after 5 tries: {self.failures[:3]}")

    async def everyone_hears(self, label: str) -> None:
        """Group messages until every client has one (and so is live and holds a cursor). A client
        whose subscription ended meanwhile is opened again; one still deaf after DEAF_SECONDS
        (acknowledged, no error, no event) is opened again too, and if it stays deaf as long
        again, counted `silent` (the next storm reconnects it like every other)."""
        heard = {id(c): len(c.seen) for c in self.clients}

        def deaf() -> list[Client]:
            return [c for c in self.clients if len(c.seen) == heard[id(c)]]

        for attempt in range(2):
            deadline = time.perf_counter() + DEAF_SECONDS
            n = 0
            while deaf() and time.perf_counter() < deadline:
                await self.open_paced()
                await send_all(self.server.port, [await self.group_message(f"{label} {attempt}:{n}")])
                n += 1
                waited = time.perf_counter() + 2.0  # a subscription still opening misses it: send another
                while deaf() and time.perf_counter() < waited:
                    await asyncio.sleep(0.02)
            for c in deaf():
                c.refused = True  # reopened by the next open_paced
        self.silent += len(deaf())
        if deaf():
            print(f"bench: {self.name}: {len(deaf())} clients never heard {label}", file=sys.stderr, flush=True)

    async def storm(self, round_no: int) -> dict[str, Any]:
        """One restart: stop, send while down, start again, everyone reconnects; the round's figures."""
        await self.open_paced()  # the last storm's refused ones, if any (untimed)
        self.failures.clear()
        await self.everyone_hears(f"before round {round_no}")
        await asyncio.to_thread(self.server.stop)
        subscribers = [c.subscriber for c in self.clients if c.subscriber is not None]
        await asyncio.wait([s.closed for s in subscribers], timeout=30)
        for c in self.clients:
            c.subscriber = None
        # the outage: messages through the other replica, each client's own set of them to get
        texts = [f"round {round_no} group {j}" for j in range(GROUP_MESSAGES)]
        requests = [await self.group_message(t) for t in texts]
        for n, c in enumerate(self.clients):
            direct = f"round {round_no} to {c.user}"
            requests.append(await self.direct_message(n, direct))
            c.missing = {*texts, direct}
            c.caught_up_at = 0.0
        self.caught_up = 0
        await send_all(self.replica.port, requests)
        self.server = await self.bench.start_again(self.server)
        # the storm
        trips = await self.server.metric("imql_redis_round_trips_total") if self.resumes else 0.0
        server_cpu, client_cpu = self.server.cpu_seconds(), time.process_time()
        began = time.perf_counter()
        live_at = asyncio.create_task(self.all_live(began))
        acked_at = await self.connect_all()
        all_live = await live_at
        deadline = time.perf_counter() + (CATCH_UP_SECONDS if self.resumes else 2.0)
        while self.caught_up < len(self.clients) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        lost = sum(len(c.missing) for c in self.clients)
        server_cpu = self.server.cpu_seconds() - server_cpu
        client_cpu = time.process_time() - client_cpu
        if self.resumes:
            trips = await self.server.metric("imql_redis_round_trips_total") - trips
        figures: dict[str, Any] = {
            "round_trips": round(trips / len(self.clients), 3),
            "refused": sum(1 for c in self.clients if not c.following),
            "server_cpu": server_cpu / len(self.clients),
            "client_cpu": client_cpu,
            "acked": acked_at - began,
            "live": all_live - began,
            "lost": lost,
            # of those, missed by clients whose subscription was not refused: what resuming missed
            "lost_following": sum(len(c.missing) for c in self.clients if not c.refused),
            "sent": len(self.clients) * (GROUP_MESSAGES + 1),  # counted per recipient
            "duplicates": sum(c.duplicates for c in self.clients),
        }
        if self.resumes and not lost:  # live and caught up: the later of the two
            figures["caught_up"] = max(all_live, *(c.caught_up_at for c in self.clients)) - began
        figures["failures"] = self.failures[:3]
        return figures

    async def finish(self) -> int:
        """After the last storm: everyone (the refused ones opened again, untimed) is still live (a
        message to all), then they leave. How many subscriptions were found silent in the run."""
        await self.everyone_hears("after the storms")
        self.close()
        return self.silent

    async def all_live(self, began: float) -> float:
        """When the server follows every client's subscription (polled every LIVE_POLL_SECONDS), or
        every one it will: the storm's refused ones never come."""
        deadline = began + LIVE_WAIT_SECONDS
        while await self.live(self.server) < len(self.clients) - sum(1 for c in self.clients if c.refused):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name}: only {await self.live(self.server)} subscriptions came back")
            await asyncio.sleep(LIVE_POLL_SECONDS)
        return time.perf_counter()

    def close(self) -> None:
        for c in self.clients:
            if c.subscriber is not None:
                c.subscriber.close()


async def send_all(port: int, requests: list[Request]) -> None:
    """Every request answered without error, SEND_CONNECTIONS keep-alive connections at a time."""
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)

    async def worker() -> None:
        conn = await Connection.open("127.0.0.1", port)
        try:
            while not queue.empty():
                payload, token = queue.get_nowait()
                status, body = await conn.post_json("/graphql", payload, token)
                if status != 200 or "errors" in body:
                    raise RuntimeError(f"a send failed: {str(body)[:300]}")
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(min(SEND_CONNECTIONS, len(requests)))))


async def imql_side(bench: Bench, count: int) -> Side:
    users = [f"storm{i}" for i in range(count)]
    senders = [f"storm-sender{k}" for k in range(SENDERS)]
    backend = bench.engine.backend
    assert isinstance(backend, EmbeddedBackend)  # members are added straight through its GroupStore
    tokens = [s.token for s in await bench.login(users)]
    sender_tokens = [s.token for s in await bench.login(["storm-owner", *senders])]
    gid = await backend.groups.create_group("storm-owner", GroupType.V2TIM_GROUP_TYPE_COMMUNITY, None, "storm")
    info = await backend.groups.store.info(gid)
    for i in range(0, count, 500):
        await backend.groups.store.add_members(info, [(u, MEMBER) for u in users[i : i + 500]])
    server = await bench.start_gateway()
    replica = await bench.start_gateway()

    def read(payload: Any) -> tuple[str, str | None]:
        event = payload["data"]["advancedMsgListener"]
        return str(event["message"]["textElem"]["text"]), event["cursor"]

    async def group_message(text: str) -> Request:
        draft = await text_draft(bench.engine, "storm-owner", text)
        return {"query": SEND_GROUP_IMQL, "variables": {"id": draft, "g": gid}}, sender_tokens[0]

    async def direct_message(n: int, text: str) -> Request:
        k = n % SENDERS
        draft = await text_draft(bench.engine, senders[k], text)
        return {"query": SEND_C2C_IMQL, "variables": {"id": draft, "to": users[n]}}, sender_tokens[1 + k]

    async def live(server: ServerProcess) -> float:
        return await server.metric("imql_live_subscriptions")

    clients = [Client(u, t) for u, t in zip(users, tokens, strict=True)]
    return Side(bench, "imql", server, replica, clients, True, LISTENER, read, live, group_message, direct_message)


async def peer_side(bench: Bench, peer: Peer, count: int) -> Side:
    users = [f"storm{i}" for i in range(count)]
    senders = [f"storm-sender{k}" for k in range(SENDERS)]
    tokens = await peer.login(users)
    sender_tokens = await peer.login(["storm-owner", *senders])
    await peer.create_group(sender_tokens[0], "storm", users)
    replica = await bench.start_peer()
    assert replica is not None

    def read(payload: Any) -> tuple[str, str | None]:
        return str(payload["data"]["newMessages"]["text"]), None

    async def group_message(text: str) -> Request:
        return {"query": SEND_GROUP, "variables": {"g": "storm", "text": text}}, sender_tokens[0]

    async def direct_message(n: int, text: str) -> Request:
        k = n % SENDERS
        return {"query": SEND_C2C, "variables": {"to": users[n], "text": text}}, sender_tokens[1 + k]

    async def live(server: ServerProcess) -> float:
        return await Peer(server, peer.prefix).live_user_channels(bench.engine.redis)

    clients = [Client(u, t) for u, t in zip(users, tokens, strict=True)]
    return Side(
        bench,
        PEER_NAME,
        peer.server,
        replica.server,
        clients,
        False,
        PEER_LISTENER,
        read,
        live,
        group_message,
        direct_message,
    )


def clients_of(bench: Bench) -> int:
    return 40 if bench.tiny else int(os.environ.get("IMQL_BENCH_STORM_CLIENTS", "10000"))


async def side(bench: Bench, name: str) -> Side:
    """One side, built in its own process (bench/sides.py): its users, group, servers, subscribed clients."""
    if name == "imql":
        built = await imql_side(bench, clients_of(bench))
    else:
        peer = await bench.start_peer()
        assert peer is not None
        built = await peer_side(bench, peer, clients_of(bench))
    await built.open_paced()
    return built


async def run(bench: Bench) -> None:
    """Each side in a process of its own (10,000 clients each: more than one process may hold),
    built at the same time; then the storms take turns (imql, peer, imql, ...)."""
    count = clients_of(bench)
    rounds = 1 if bench.tiny else ROUNDS
    async with bench.running():
        names = ["imql", *([PEER_NAME] if await bench.peer_available() else [])]
        sides = [await SideProcess.start(__name__, name, bench) for name in names]
        figures: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        try:
            for r in range(rounds):
                for one in sides:
                    figures[one.name].append(await one.call("storm", round_no=r))
                    emit_round(bench, one.name, figures[one.name][-1], r, count)
            emit(bench, figures, count, rounds)
            silent: dict[str, int] = {}
            for one in sides:
                silent[one.name] = await one.call("finish")
                bench.emit("subscriptions_silent", silent[one.name], "subscriptions", server=one.name, clients=count)
        finally:
            for one in sides:
                await one.close()
        check(figures, rounds, silent["imql"])


def emit_round(bench: Bench, name: str, figures: dict[str, Any], round_no: int, count: int) -> None:
    """Each storm as it ends (a later failure leaves them printed): its times in ms and its counts."""
    measured = [k for k in ("acked", "live", "caught_up", "server_cpu") if k in figures]
    # CPU per client to the µs: a tenth of a ms is a tenth of the whole, too coarse to compare rounds
    times = {f"{k}_ms": round(figures[k] * 1000, 3 if k == "server_cpu" else 1) for k in measured}
    counts = {k: figures[k] for k in ("round_trips", "lost", "lost_following", "duplicates", "refused", "sent")}
    bench.emit("storm", round_no, "round", server=name, clients=count, **times, **counts)


def emit(bench: Bench, rounds_of: dict[str, list[dict[str, Any]]], count: int, rounds: int) -> None:
    extra: dict[str, Any] = {"clients": count, "rounds": rounds, "in_flight": STORM_IN_FLIGHT}

    def by_key(runs: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return {key: [run[key] for run in runs if key in run] for key in {k for run in runs for k in run}}

    ours = by_key(rounds_of["imql"])
    theirs = by_key(rounds_of[PEER_NAME]) if PEER_NAME in rounds_of else None

    def ms(values: list[float]) -> float:
        return round(median(values) * 1000, 1)

    def each(values: list[float]) -> list[float]:
        return [round(v * 1000) for v in values]

    def client_cpu(figures: dict[str, list[float]]) -> float:
        return round(median(figures["client_cpu"]), 2)

    peer_extra = {"each": each(theirs["live"]), "client_cpu_s": client_cpu(theirs), **extra} if theirs else None
    bench.emit_compared("reconnect_acked_ms", ms(ours["acked"]), ms(theirs["acked"]) if theirs else None, "ms", **extra)
    bench.emit_compared(
        "reconnect_all_live_ms",
        ms(ours["live"]),
        ms(theirs["live"]) if theirs else None,
        "ms",
        peer_extra=peer_extra,
        each=each(ours["live"]),
        client_cpu_s=client_cpu(ours),
        **extra,
    )
    cpu_ms = round(median(ours["server_cpu"]) * 1000, 3)
    peer_cpu_ms = round(median(theirs["server_cpu"]) * 1000, 3) if theirs else None
    bench.emit_compared("reconnect_server_cpu_ms", cpu_ms, peer_cpu_ms, "ms", **extra)
    sent = int(sum(ours["sent"]))
    peer_lost = int(sum(theirs["lost"])) if theirs else None
    peer_sent = {"sent": int(sum(theirs["sent"])), **extra} if theirs else None
    lost_following = int(sum(ours["lost_following"]))
    bench.emit_compared(
        "outage_messages_lost",
        int(sum(ours["lost"])),
        peer_lost,
        "messages",
        peer_extra=peer_sent,
        sent=sent,
        lost_following=lost_following,
        **extra,
    )
    bench.emit("duplicates", int(sum(ours["duplicates"])), "messages", server="imql", **extra)
    refused = int(sum(ours["refused"]))
    bench.emit("subscriptions_refused", refused, "subscriptions", server="imql", **extra)
    if refused:
        failures = [f for run in rounds_of["imql"] for f in run["failures"]][:3]
        print(f"bench: reconnect-storm: imql refused {refused} subscriptions: {failures}", file=sys.stderr)
    if theirs is not None:
        print(
            f"bench: reconnect-storm: {PEER_NAME} has no resume (no cursor, no `since`): its clients came back "
            f"live but missed {peer_lost} of the {peer_sent and peer_sent['sent']} messages sent while they were away",
            file=sys.stderr,
            flush=True,
        )
    caught = ours.get("caught_up", [])
    if not caught:
        return
    note = f"{PEER_NAME} has no resume: its clients miss what was sent while they were away" if theirs else None
    bench.emit(
        "reconnect_caught_up_ms",
        ms(caught),
        "ms",
        server="imql",
        each=each(caught),
        storms_caught_up=len(caught),
        **({"peer_note": note} if note else {}),
        **extra,
    )


def check(rounds_of: dict[str, list[dict[str, Any]]], rounds: int, silent: int) -> None:
    """After every figure is out: a storm that lost, repeated or refused anything, or a subscription
    found silent, fails the scenario."""
    ours = rounds_of["imql"]
    lost, duplicates = sum(r["lost"] for r in ours), sum(r["duplicates"] for r in ours)
    refused = sum(r["refused"] for r in ours)
    if lost or duplicates or refused or silent or sum(1 for r in ours if "caught_up" in r) != rounds:
        raise RuntimeError(
            f"imql's storms: {lost} messages lost, {duplicates} repeated, {refused} refused, {silent} silent"
        )
