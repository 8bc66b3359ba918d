"""`bare-c2c`: the peer's C2C send done on imql's stack with nothing else (c2c-cost's floor).

What yoga-chat's `sendMessage(receiver, text)` does, written as directly as Python on imql's
stack (uvicorn with gateway.lean's protocols, Starlette, redis-py with hiredis, orjson) can write
it: no GraphQL, no schema, no IM rules the peer lacks. What it costs the server per message is
what any gateway on this stack pays before it does anything of its own, so imql's figure over it
is imql's own overhead, and a target below it cannot be met on this stack.

- Tokens are the peer's: `base64url(userID).expireTime.HMAC-SHA256` over the first two parts
  (`token_for`), checked on every POST and at `connection_init`.
- `POST /graphql` with `{"variables": {"text": T, "to": R}}` and `Authorization: Bearer <token>`:
  the peer's seven Redis commands (EXISTS of the receiver, INCR of the conversation's seq, MULTI,
  RPUSH of the message's JSON, HINCRBY of the receiver's unread count, EXEC, PUBLISH on the
  receiver's channel), in three round trips where the peer makes four (EXISTS and INCR share
  one: a send to an unknown user leaves its conversation's seq raised, which the peer's does
  not; no benchmark sends one); answers
  `{"data": {"sendMessage": {"msgID": ...}}}`, or an error for a bad token, text or receiver.
- `WS /graphql` (graphql-transport-ws): `connection_init` with `{"authorization": "Bearer ..."}`
  (refused with 4403 otherwise), then one `subscribe` whose query is not read: every message
  published to the user is written to the connection as
  `{"id": ..., "type": "next", "payload": {"data": {"newMessages": <the message>}}}`, the peer's
  subscription's shape. One redis-py pub/sub connection carries every user's channel, as imql's
  dispatcher carries every user's pokes.
- `POST /login` with `{"userID": U}` stores the user (the peer's `login`) and answers its token.

Keys live under the run's app (`imql:{<sdkappid>:floor}:...`), so the run's clean-up drops them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.relay import relaying
from gateway.config import Settings
from gateway.lean.uvicorn_ws import SEND_NOW
from gateway.store import close_redis, open_redis

TOKEN_SECONDS = 86_400
MAX_TEXT = 8_000  # the peer's MAX_TEXT


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(secret: bytes, payload: str) -> str:
    return _b64url(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def token_for(user_id: str, secret: str, now: float | None = None) -> str:
    """The peer's token for `user_id`: what `POST /login` answers, for clients that make their own."""
    payload = f"{_b64url(user_id.encode())}.{int(now or time.time()) + TOKEN_SECONDS}"
    return f"{payload}.{_sign(secret.encode(), payload)}"


def user_of(token: str, secret: bytes) -> str | None:
    """The user a token (with or without `Bearer `) names, if it is signed and unexpired."""
    if token[:7].lower() == "bearer ":
        token = token[7:]
    parts = token.split(".")
    if len(parts) != 3:
        return None
    user, expires, mac = parts
    if not hmac.compare_digest(mac, _sign(secret, f"{user}.{expires}")):
        return None
    if not expires.isdigit() or int(expires) < time.time():
        return None
    with contextlib.suppress(ValueError):
        return base64.urlsafe_b64decode(user + "=" * (-len(user) % 4)).decode()
    return None


class Floor:
    """The floor's state: its Redis client, its pub/sub connection and who holds which socket."""

    def __init__(self, settings: Settings) -> None:
        if settings.redis_url is None or settings.redis_cluster:
            raise SystemExit("bench.floors: bare-c2c runs on a single Redis (IMQL_REDIS_URL)")
        self.secret = settings.secret_key.encode()
        self.prefix = f"imql:{{{settings.sdkappid}:floor}}:"
        self.redis: Any = open_redis(settings.redis_url)  # imql's own client: its lean pipelines, hiredis
        self.pubsub: Any = self.redis.pubsub()
        self.sockets: dict[str, dict[WebSocket, str]] = {}  # user -> {socket: operation id}

    def channel(self, user: str) -> str:
        return f"{self.prefix}user-channel:{user}"

    async def send(self, request: Request) -> Response:
        sender = user_of(request.headers.get("authorization", ""), self.secret)
        if sender is None:
            return JSONResponse({"errors": [{"message": "not logged in"}]}, status_code=401)
        variables = orjson.loads(await request.body()).get("variables") or {}
        text, receiver = variables.get("text"), variables.get("to")
        if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT or not isinstance(receiver, str):
            return JSONResponse({"errors": [{"message": "give a text and a receiver"}]})
        conv = f"c2c:{sender}:{receiver}" if sender < receiver else f"c2c:{receiver}:{sender}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(f"{self.prefix}user:{receiver}")
        pipe.incr(f"{self.prefix}seq:{conv}")
        exists, seq = await pipe.execute()
        if not exists:
            return JSONResponse({"errors": [{"message": "no such user"}]})
        message = orjson.dumps(
            {
                "msgID": f"{conv}:{seq}",
                "conversationID": conv,
                "seq": seq,
                "timestamp": int(time.time() * 1000),
                "sender": sender,
                "receiver": receiver,
                "groupID": None,
                "text": text,
            }
        )
        pipe = self.redis.pipeline(transaction=True)  # MULTI, RPUSH, HINCRBY, EXEC
        pipe.rpush(f"{self.prefix}messages:{conv}", message)
        pipe.hincrby(f"{self.prefix}unread:{receiver}", conv, 1)
        await pipe.execute()
        await self.redis.publish(self.channel(receiver), message)  # the peer publishes after its write
        answer = b'{"data":{"sendMessage":{"msgID":"%s"}}}' % f"{conv}:{seq}".encode()
        return Response(answer, media_type="application/json")

    async def login(self, request: Request) -> Response:
        user = str(orjson.loads(await request.body())["userID"])
        await self.redis.hsetnx(f"{self.prefix}user:{user}", "userID", user)
        return JSONResponse({"userID": user, "token": token_for(user, self.secret.decode())})

    async def hold(self, websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="graphql-transport-ws")
        user: str | None = None
        try:
            while True:
                message = orjson.loads(await websocket.receive_text())
                kind = message.get("type")
                if kind == "connection_init":
                    user = user_of(str((message.get("payload") or {}).get("authorization", "")), self.secret)
                    if user is None:
                        await websocket.close(4403, "Forbidden")
                        return
                    await websocket.send_text('{"type":"connection_ack"}')
                elif kind == "ping":
                    await websocket.send_text('{"type":"pong"}')
                elif kind == "subscribe" and user is not None:
                    held = self.sockets.get(user)
                    if held is None:
                        held = self.sockets[user] = {}
                        await self.pubsub.subscribe(self.channel(user))
                    held[websocket] = str(message.get("id"))
        except WebSocketDisconnect:
            return
        finally:
            if user is not None and user in self.sockets:
                self.sockets[user].pop(websocket, None)

    async def relay(self) -> None:
        """Each published message to the sockets of the user whose channel it came on."""
        start = len(self.prefix) + len("user-channel:")
        async for message in self.pubsub.listen():
            if message["type"] != "message":
                continue
            held = self.sockets.get(message["channel"][start:])
            if not held:
                continue
            payload = message["data"]
            for websocket, op_id in list(held.items()):
                data = f'{{"data":{{"newMessages":{payload}}}}}'
                frame = f'{{"id":{orjson.dumps(op_id).decode()},"type":"next","payload":{data}}}'
                writer = websocket.scope["extensions"].get(SEND_NOW)
                try:
                    if writer is None or not writer.send_now([frame]):
                        await websocket.send_text(frame)
                except (OSError, RuntimeError, WebSocketDisconnect):  # a socket closing: the others still get theirs
                    held.pop(websocket, None)


def bare_c2c_app(settings: Settings) -> Starlette:
    floor = Floor(settings)

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # redis-py's pub/sub reads nothing until it has subscribed once: a channel no one publishes on
        await floor.pubsub.subscribe(f"{floor.prefix}user-channel:")
        try:
            async with relaying(floor.pubsub, floor.relay):
                yield
        finally:
            await close_redis(floor.redis)

    routes = [
        WebSocketRoute("/graphql", floor.hold),
        Route("/graphql", floor.send, methods=["POST"]),
        Route("/login", floor.login, methods=["POST"]),
        Route("/readyz", readyz),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
