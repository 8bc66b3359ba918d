"""Clients that keep sending and reading while faults are injected, and the checks run afterwards.

A `Sender` sends C2C text messages as a real client would: create, then `sendMessage` with the
created id, retried with the same id until acknowledged (a send is idempotent per id), through
whichever replica answers. A `Follower` keeps one `advancedMsgListener` subscription open for a
user, and when it drops (replica killed, error) resumes with `since` = the last cursor it got, on
any replica. Every HTTP request is timed, so a test can assert that none hung; `/readyz` is probed
throughout by a `ReadyProbe`. `check_consistency` then proves, against the stored history, what
the clients saw."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.support.clients import GraphQLReply, WSClient
from tests.support.redis_server import PrivateRedis
from tests.support.servers import GatewayProcess, spawn_gateway

SECRET = "test-secret-key-0123456789"  # tests.conftest's

CREATE = "mutation($t: String!) { createTextMessage(text: $t) { id } }"
SEND = "mutation($i: String!, $r: String) { sendMessage(id: $i, receiver: $r) { msgID seq sender } }"
MESSAGES = (
    "subscription($since: String) { advancedMsgListener(since: $since) { __typename"
    " ... on RecvNewMessageEvent { type cursor message { msgID seq sender textElem { text } } }"
    " ... on RecvMessageReadReceiptsEvent { cursor } ... on RecvC2CReadReceiptEvent { cursor }"
    " ... on RecvMessageRevokedEvent { cursor } ... on RecvMessageModifiedEvent { cursor }"
    " ... on RecvMessageExtensionsChangedEvent { cursor } ... on RecvMessageExtensionsDeletedEvent { cursor } } }"
)
SDK_CONNECTING = "subscription { sdkListener { ... on ConnectingEvent { type cursor } } }"
HISTORY = (
    "query($u: String!, $l: String) { getC2CHistoryMessageList(userID: $u, count: 100, lastMsgID: $l)"
    " { msgID seq sender isSelf isRead textElem { text } } }"
)


@dataclass
class Acked:
    msg_id: str
    seq: int
    sender: str
    receiver: str
    text: str


@dataclass
class Recorder:
    """What every client request did: its duration, its HTTP status and its error codes."""

    request_timeout: float
    durations: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    bad_bodies: list[str] = field(default_factory=list)

    @property
    def longest(self) -> float:
        return max(self.durations, default=0.0)


class Cluster:
    """The replicas' URLs and one HTTP client for them all; requests go to the next live replica."""

    def __init__(self, urls: list[str], sdkappid: int, secret: str, recorder: Recorder) -> None:
        self.urls = list(urls)
        self.sdkappid, self.secret = sdkappid, secret
        self.recorder = recorder
        # long enough that a hang shows as a duration rather than as our own timeout
        self.http = httpx.AsyncClient(timeout=recorder.request_timeout + 30)
        self._turn = itertools.count()

    def url(self) -> str:
        return self.urls[next(self._turn) % len(self.urls)]

    def ws_url(self) -> str:
        return self.url().replace("http://", "ws://") + "/graphql"

    def drop(self, url: str) -> None:
        """A replica that was killed: no more requests go to it."""
        self.urls.remove(url)

    async def gql(self, doc: str, variables: dict[str, Any], token: str | None = None) -> GraphQLReply | None:
        """One request; None when the replica could not be reached (the caller tries again)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        began = time.monotonic()
        try:
            response = await self.http.post(
                f"{self.url()}/graphql", json={"query": doc, "variables": variables}, headers=headers
            )
        except httpx.TransportError as exc:
            self.recorder.outcomes[f"transport:{type(exc).__name__}"] += 1
            return None
        finally:
            self.recorder.durations.append(time.monotonic() - began)
        try:
            body = response.json()
        except ValueError:
            self.recorder.bad_bodies.append(f"{response.status_code}: {response.text[:300]}")
            return None
        reply = GraphQLReply(response.status_code, body)
        codes = ",".join(str(c) for c in reply.codes)
        self.recorder.outcomes[f"{response.status_code}:{codes}"] += 1
        if not isinstance(body, dict) or any(not isinstance(c, int) for c in reply.codes):
            self.recorder.bad_bodies.append(f"{response.status_code}: {response.text[:300]}")
        return reply

    async def login(self, user: str, platform: str = "web") -> str:
        from gateway.usersig import mint

        sig = mint(self.sdkappid, self.secret, user, now=int(time.time()), expire=86400)
        doc = (
            "mutation($u: String!, $s: String!, $p: String) { login(userID: $u, userSig: $s, platform: $p) { token } }"
        )
        for _ in range(100):
            reply = await self.gql(doc, {"u": user, "s": sig, "p": platform})
            if reply is not None and not reply.errors:
                return str(reply.data["login"]["token"])
            await asyncio.sleep(0.1)
        raise AssertionError(f"{user} could not log in")

    async def aclose(self) -> None:
        await self.http.aclose()


class Sender:
    """One user's sending: each message retried (same created id) until acknowledged."""

    def __init__(self, cluster: Cluster, user: str, token: str) -> None:
        self.cluster, self.user, self.token = cluster, user, token
        self.acked: list[Acked] = []
        self.failed_sends: Counter[str] = Counter()  # per receiver: attempts that were not acknowledged
        self._n = 0

    async def send(self, receiver: str, deadline: float = 60.0) -> Acked:
        self._n += 1
        text = f"{self.user}>{receiver}#{self._n}"
        give_up = time.monotonic() + deadline
        created: str | None = None
        while created is None:
            reply = await self.cluster.gql(CREATE, {"t": text}, self.token)
            if reply is not None and not reply.errors:
                created = str(reply.data["createTextMessage"]["id"])
            elif time.monotonic() > give_up:
                raise AssertionError(f"{text}: never created")
            else:
                await asyncio.sleep(0.05)
        while True:
            reply = await self.cluster.gql(SEND, {"i": created, "r": receiver}, self.token)
            if reply is not None and not reply.errors:
                sent = reply.data["sendMessage"]
                acked = Acked(sent["msgID"], int(sent["seq"]), self.user, receiver, text)
                self.acked.append(acked)
                return acked
            self.failed_sends[receiver] += 1
            if time.monotonic() > give_up:
                raise AssertionError(f"{text}: never acknowledged")
            await asyncio.sleep(0.05)


class Follower:
    """One user's advancedMsgListener, resumed with `since` whenever it drops."""

    def __init__(self, cluster: Cluster, user: str, token: str) -> None:
        self.cluster, self.user, self.token = cluster, user, token
        self.received: list[dict[str, Any]] = []
        self.cursor: str | None = None
        self.resumes = 0
        self.errors: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.ready = asyncio.Event()  # it holds a cursor: nothing addressed to the user from now on is missed
        self._task: asyncio.Task[None] | None = None
        self._ws: WSClient | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                self._ws = await WSClient.connect(self.cluster.ws_url(), self.token, open_timeout=5)
            except (OSError, websockets.WebSocketException, TimeoutError, AssertionError, json.JSONDecodeError):
                await asyncio.sleep(0.1)
                continue
            if self.cursor is None:
                # the first subscription starts where the user's stream is now, with no race: the
                # cursor of sdkListener's first event (onConnecting) marks it, in the same stream
                first = await self._ws.subscribe(SDK_CONNECTING)
                message = await self._ws.queues[first].get()
                if message["type"] not in ("next", "data") or message["payload"].get("errors"):
                    self.errors.append(message)
                    await self._ws.close()
                    continue
                self.cursor = message["payload"]["data"]["sdkListener"]["cursor"]
                await self._ws.stop(first)
                self.ready.set()
            op = await self._ws.subscribe(MESSAGES, {"since": self.cursor})
            while True:
                message = await self._ws.queues[op].get()
                if message["type"] in ("next", "data") and not message["payload"].get("errors"):
                    event = message["payload"]["data"]["advancedMsgListener"]
                    if event["__typename"] == "RecvNewMessageEvent":
                        self.received.append(event["message"])
                        self.arrived.set()
                    self.cursor = event["cursor"]
                    continue
                if message["type"] != "_closed":
                    self.errors.append(message)
                break
            await self._ws.close()
            self.resumes += 1

    async def wait_for(self, msg_id: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(m["msgID"] == msg_id for m in self.received):
            self.arrived.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.user} never received {msg_id}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # a crash of the follower itself: the test fails on it, cleanly
                self.errors.append({"type": "follower crashed", "error": repr(exc)})
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()


class ReadyProbe:
    """Asks every replica's /readyz every 0.2 s; keeps each answer's status and duration."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.answers: list[tuple[str, int, float]] = []  # url, status (0: no answer), seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while True:
                for url in list(self.urls):
                    began = time.monotonic()
                    try:
                        status = (await http.get(f"{url}/readyz")).status_code
                    except httpx.TransportError:
                        status = 0
                    self.answers.append((url, status, time.monotonic() - began))
                await asyncio.sleep(0.2)

    @property
    def longest(self) -> float:
        return max((seconds for _, status, seconds in self.answers if status), default=0.0)

    def statuses(self) -> set[int]:
        return {status for _, status, _ in self.answers}

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def history(cluster: Cluster, token: str, peer: str) -> list[dict[str, Any]]:
    """A C2C conversation's whole history, oldest first, paged as a client would."""
    pages: list[dict[str, Any]] = []
    last: str | None = None
    while True:
        reply = await cluster.gql(HISTORY, {"u": peer, "l": last}, token)
        assert reply is not None, "history: no replica answered"
        page = reply.ok()["getC2CHistoryMessageList"]
        if not page:
            return list(reversed(pages))
        pages.extend(page)
        last = page[-1]["msgID"]


async def check_consistency(
    cluster: Cluster, senders: dict[str, Sender], followers: dict[str, Follower], tokens: dict[str, str]
) -> dict[str, int]:
    """Every acknowledged message is in its conversation's history exactly once, the seqs are
    increasing with no gap that a failed send attempt does not explain, every unread count equals
    a recount of the conversation's unread messages (and the total their sum), and every follower
    received each message addressed to it exactly once, and nothing else."""
    acked = [a for s in senders.values() for a in s.acked]
    by_pair: dict[frozenset[str], list[Acked]] = {}
    for a in acked:
        by_pair.setdefault(frozenset((a.sender, a.receiver)), []).append(a)
    checked = 0
    for pair, sent in by_pair.items():
        one, other = sorted(pair)
        stored = await history(cluster, tokens[one], other)
        ids = [m["msgID"] for m in stored]
        assert len(ids) == len(set(ids)), f"{pair}: a message is twice in history"
        assert sorted(ids) == sorted(a.msg_id for a in sent), f"{pair}: history is not what was acknowledged"
        seqs = [m["seq"] for m in stored]
        assert seqs == sorted(set(seqs)), f"{pair}: seqs not strictly increasing: {seqs}"
        failed = sum(senders[u].failed_sends[v] for u, v in ((one, other), (other, one)) if u in senders)
        gaps = seqs[-1] - len(seqs) if seqs else 0
        assert seqs[0] >= 1
        assert gaps <= failed, f"{pair}: {gaps} seqs missing but only {failed} send attempts failed: {seqs}"
        for a in sent:
            assert stored[ids.index(a.msg_id)]["seq"] == a.seq
            assert stored[ids.index(a.msg_id)]["textElem"]["text"] == a.text
        checked += len(sent)
    # unread: each conversation's count and the total against a recount from the messages
    unread_doc = "query($c: String!) { getConversation(conversationID: $c) { unreadCount } getTotalUnreadMessageCount }"
    for user, token in tokens.items():
        peers = {a.sender for a in acked if a.receiver == user} | {a.receiver for a in acked if a.sender == user}
        total = 0
        reported_total = None
        for peer in sorted(peers):
            stored = await history(cluster, token, peer)
            recount = sum(1 for m in stored if not m["isSelf"] and not m["isRead"])
            reply = await cluster.gql(unread_doc, {"c": f"c2c_{peer}"}, token)
            assert reply is not None
            data = reply.ok()
            assert data["getConversation"]["unreadCount"] == recount, f"{user}/{peer}: unread {data} != {recount}"
            total += recount
            reported_total = data["getTotalUnreadMessageCount"]
        if reported_total is not None:
            assert reported_total == total, f"{user}: total unread {reported_total} != {total}"
    # every follower: each message addressed to it once, in seq order per sender, nothing else
    for user, follower in followers.items():
        got = [m["msgID"] for m in follower.received]
        assert len(got) == len(set(got)), f"{user}: an event was delivered twice"
        expected = {a.msg_id for a in acked if a.receiver == user}
        assert set(got) == expected, f"{user}: missing {expected - set(got)}, extra {set(got) - expected}"
        for peer in {m["sender"] for m in follower.received}:
            seqs = [m["seq"] for m in follower.received if m["sender"] == peer]
            assert seqs == sorted(seqs), f"{user}: {peer}'s messages out of order"
    return {"messages": checked, "conversations": len(by_pair)}


# --- a rig: a private Redis, replicas, clients, a probe -------------------------------------

REQUEST_TIMEOUT = 1.5  # IMQL_REQUEST_TIMEOUT of the replicas under test
HANG_MARGIN = 5.0  # a request answered later than REQUEST_TIMEOUT + this would be a hang
READY_BOUND = 3.0  # /readyz is bounded at 0.8 s inside; more than this would be a hang
SDKAPPID = 1400000019


@dataclass
class Rig:
    redis: PrivateRedis
    replicas: list[GatewayProcess]
    cluster: Cluster
    recorder: Recorder
    probe: ReadyProbe
    senders: dict[str, Sender]
    followers: dict[str, Follower]
    tokens: dict[str, str]

    async def add_user(self, user: str) -> None:
        token = await self.cluster.login(user)
        self.tokens[user] = token
        self.senders[user] = Sender(self.cluster, user, token)
        follower = Follower(self.cluster, user, token)
        self.followers[user] = follower
        follower.start()
        await asyncio.wait_for(follower.ready.wait(), 20)

    async def warm_up(self) -> None:
        """Each follower is live: a message to it has arrived (so it also holds a cursor)."""
        users = sorted(self.senders)
        for n, user in enumerate(users):
            receiver = users[(n + 1) % len(users)]
            acked = await self.senders[user].send(receiver)
            await self.followers[receiver].wait_for(acked.msg_id)

    async def traffic(self, fault: Callable[[], Awaitable[None]], *, before: float = 1.0, after: float = 1.5) -> None:
        """Everyone keeps sending round-robin while `fault` runs; then each sends once more and
        waits until that last message has arrived, so every follower has caught up."""
        stop = asyncio.Event()
        users = sorted(self.senders)

        async def keep_sending(n: int, user: str) -> None:
            turn = 0
            while not stop.is_set():
                turn += 1
                await self.senders[user].send(users[(n + 1 + turn % (len(users) - 1)) % len(users)])
                await asyncio.sleep(0.02)

        loops = [asyncio.create_task(keep_sending(n, u)) for n, u in enumerate(users)]
        try:
            await asyncio.sleep(before)
            await fault()
            await asyncio.sleep(after)
        finally:
            stop.set()
            await asyncio.gather(*loops)
        for n, user in enumerate(users):
            receiver = users[(n + 1) % len(users)]
            acked = await self.senders[user].send(receiver)
            await self.followers[receiver].wait_for(acked.msg_id)

    async def first_subscription_works(self, user: str) -> None:
        """A user not followed before: a subscription opened now receives the next message."""
        token = await self.cluster.login(user)
        follower = Follower(self.cluster, user, token)
        follower.start()
        try:
            await asyncio.wait_for(follower.ready.wait(), 10)
            sender = sorted(self.senders)[0]
            acked = await self.senders[sender].send(user)
            await follower.wait_for(acked.msg_id, timeout=10)
            self.followers[user], self.tokens[user] = follower, token
        except BaseException:
            await follower.stop()
            raise

    async def check(self) -> dict[str, int]:
        figures = await check_consistency(self.cluster, self.senders, self.followers, self.tokens)
        assert self.recorder.bad_bodies == [], self.recorder.bad_bodies
        assert self.recorder.longest < REQUEST_TIMEOUT + HANG_MARGIN, self.recorder.longest
        assert self.probe.longest < READY_BOUND, self.probe.longest
        for follower in self.followers.values():
            assert follower.errors == [], follower.errors
        return figures


@contextlib.asynccontextmanager
async def rig(tmp_path: object, replicas: int = 1, fsync: str = "everysec") -> AsyncIterator[Rig]:
    assert isinstance(tmp_path, Path)
    redis = PrivateRedis(tmp_path, fsync=fsync)
    redis.start()
    env = {
        "IMQL_REDIS_URL": redis.url,
        "IMQL_SDKAPPID": str(SDKAPPID),
        "IMQL_SECRET_KEY": SECRET,
        "IMQL_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
        "IMQL_RATE_LIMIT": "0",
        "IMQL_DATA_DIR": str(tmp_path / "data"),
    }
    started: list[GatewayProcess] = []
    recorder = Recorder(REQUEST_TIMEOUT)
    cluster: Cluster | None = None
    probe: ReadyProbe | None = None
    built: Rig | None = None
    try:
        for _ in range(replicas):
            started.append(await spawn_gateway(env))
        urls = [r.base_url for r in started]
        cluster = Cluster(urls, SDKAPPID, SECRET, recorder)
        probe = ReadyProbe(list(urls))
        probe.start()
        built = Rig(redis, started, cluster, recorder, probe, {}, {}, {})
        yield built
    finally:
        # the processes first, whatever else fails: a test leaves nothing running
        for process in started:
            process.terminate()
        redis.stop()
        if built is not None:
            for follower in built.followers.values():
                await follower.stop()
        if probe is not None:
            await probe.stop()
        if cluster is not None:
            await cluster.aclose()
