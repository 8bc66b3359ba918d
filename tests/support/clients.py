"""Real clients: GraphQL over HTTP (httpx) and over WebSocket (websockets), both subprotocols."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from gateway.usersig import mint


@dataclass
class GraphQLReply:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def codes(self) -> list[int]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class HTTPClient:
    def __init__(self, base_url: str, sdkappid: int, secret_key: str, *, now: Any = time.time) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=20.0)
        self.sdkappid = sdkappid
        self.secret_key = secret_key
        self._now = now

    async def aclose(self) -> None:
        await self.http.aclose()

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphQLReply:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
        return GraphQLReply(response.status_code, response.json())

    async def until_live(self, subscriptions: int, timeout: float = 10.0) -> None:
        """Until the gateway counts `subscriptions` subscriptions as following their streams
        (/metrics imql_live_subscriptions): a message sent before a subscription is live is not
        its to deliver."""
        deadline = time.monotonic() + timeout
        while True:
            metrics = (await self.http.get("/metrics")).text
            live = re.search(r"^imql_live_subscriptions (\S+)$", metrics, re.MULTILINE)
            if live is not None and float(live.group(1)) >= subscriptions:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {subscriptions} live subscriptions after {timeout:g} s")
            await asyncio.sleep(0.02)

    def sig(self, user_id: str, expire: int = 86400) -> str:
        return mint(self.sdkappid, self.secret_key, user_id, now=int(self._now()), expire=expire)

    async def login(self, user_id: str, platform: str | None = None, expire: int = 86400) -> str:
        reply = await self.gql(
            "mutation($u: String!, $s: String!, $p: String) { login(userID: $u, userSig: $s, platform: $p) { token } }",
            {"u": user_id, "s": self.sig(user_id, expire), "p": platform},
        )
        return str(reply.ok()["login"]["token"])


class WSClient:
    """A GraphQL WebSocket client speaking graphql-transport-ws or the legacy graphql-ws."""

    def __init__(self, conn: ClientConnection, protocol: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self._next_id = 0
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())
        self.closed: asyncio.Future[tuple[int | None, str]] = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(
        cls, ws_url: str, token: str | None, protocol: str = "graphql-transport-ws", **kwargs: Any
    ) -> WSClient:
        conn = await websockets.connect(ws_url, subprotocols=[protocol], **kwargs)  # type: ignore[list-item]
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        while True:
            raw = await asyncio.wait_for(conn.recv(), 10)
            assert isinstance(raw, str), f"a binary frame, which browsers' graphql-ws cannot read: {raw!r}"
            ack = json.loads(raw)
            if ack["type"] == "connection_ack":
                break
            assert ack["type"] in ("ka", "ping"), ack
        return cls(conn, protocol)

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                message = json.loads(raw)
                if not isinstance(raw, str):  # browsers' graphql-ws cannot read binary frames: fail the reader
                    message["type"] = f"binary frame ({message.get('type')})"
                kind = message.get("type")
                if kind == "ping":
                    await self.conn.send(json.dumps({"type": "pong"}))
                    continue
                op = message.get("id")
                if op is not None and op in self.queues:
                    await self.queues[op].put(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            rcvd = self.conn.close_code, self.conn.close_reason or ""
            if not self.closed.done():
                self.closed.set_result(rcvd)
            for queue in self.queues.values():
                await queue.put({"type": "_closed"})

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op = str(self._next_id)
        self.queues[op] = asyncio.Queue()
        kind = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        await self.conn.send(
            json.dumps({"id": op, "type": kind, "payload": {"query": query, "variables": variables or {}}})
        )
        return op

    async def next(self, op: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next message for `op`: {"type": "next"/"data"/"error"/"complete", ...}."""
        return await asyncio.wait_for(self.queues[op].get(), timeout)

    async def next_event(self, op: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next event payload of a listener subscription (fails on an error or completion)."""
        message = await self.next(op, timeout)
        assert message["type"] in ("next", "data"), message
        payload = message["payload"]
        assert not payload.get("errors"), payload
        data = payload["data"]
        return dict(next(iter(data.values())))

    async def events_until(self, op: str, wanted: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Events up to and including the first of type `wanted`."""
        seen = []
        while True:
            event = await self.next_event(op, timeout)
            seen.append(event)
            if event["type"] == wanted:
                return seen

    async def nothing_for(self, op: str, seconds: float) -> None:
        try:
            message = await asyncio.wait_for(self.queues[op].get(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {message}")

    async def stop(self, op: str) -> None:
        kind = "complete" if self.protocol == "graphql-transport-ws" else "stop"
        await self.conn.send(json.dumps({"id": op, "type": kind}))

    async def close(self) -> None:
        await self.conn.close()
        self._reader.cancel()


SDK_EVENTS = """
subscription($since: String) {
  sdkListener(since: $since) {
    __typename
    ... on ConnectingEvent { type cursor }
    ... on ConnectSuccessEvent { type cursor }
    ... on ConnectFailedEvent { type cursor code err }
    ... on KickedOfflineEvent { type cursor }
    ... on UserSigExpiredEvent { type cursor }
    ... on SelfInfoUpdatedEvent { type cursor info { userID nickName faceUrl selfSignature gender allowType role
        level birthday customInfo { key value } } }
    ... on UserStatusChangedEvent { type cursor statusList { userID statusType customStatus } }
  }
}
"""


async def subscribe_sdk(ws: WSClient, since: str | None = None, *, skip_connect: bool = True) -> str:
    """Start sdkListener; by default wait past the onConnecting / onConnectSuccess pair."""
    op = await ws.subscribe(SDK_EVENTS, {"since": since})
    if skip_connect:
        first = await ws.next_event(op)
        assert first["type"] == "onConnecting", first
        second = await ws.next_event(op)
        assert second["type"] == "onConnectSuccess", second
    return op


async def listen_sdk(ws_url: str, token: str) -> tuple[WSClient, str]:
    """A device online: a WebSocket for `token` with sdkListener started, past its connect events."""
    ws = await WSClient.connect(ws_url, token)
    return ws, await subscribe_sdk(ws)


async def aiter_events(ws: WSClient, op: str) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await ws.next_event(op)
