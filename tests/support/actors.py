"""The test actor: one device of a logged-in user, as the tests drive it over real HTTP and WebSocket.

An `Actor` holds the user's token (queries: `call` gives the reply, `q` its data) and, when it is
online, a WebSocket with one or more listener subscriptions (`ops`; the first, `op`, is the one
`event`, `events_until`, `quiet` and `drain` read unless told another). A test whose user does more
(keeps a mirror of a listener, sends with its own options) subclasses it and is made by
`SubClass.online(...)`. The areas' own actors and documents are in messages.py, signaling.py,
groups.py, friendship.py and conversations.py beside this module.
"""

from __future__ import annotations

import asyncio
from typing import Any, Self

from tests.support.clients import GraphQLReply, HTTPClient, WSClient

CREATE_TEXT = (
    "mutation($t: String!) { createTextMessage(text: $t) { id messageInfo { status elemType textElem { text } } } }"
)
# How long a stream must stay quiet before a drain takes it as having delivered everything the
# last mutation caused: events are in the log before a mutation returns and reach the socket within
# milliseconds.
QUIET_SECONDS = 0.25


class Actor:
    def __init__(
        self, client: HTTPClient, token: str, name: str = "", ws: WSClient | None = None, ops: tuple[str, ...] = ()
    ) -> None:
        self.client, self.token, self.name, self._ws, self.ops = client, token, name, ws, ops

    @classmethod
    async def login(cls, client: HTTPClient, name: str, platform: str | None = None) -> Self:
        """A user logged in over HTTP only (no socket, no listener)."""
        return cls(client, await client.login(name, platform=platform), name)

    @classmethod
    async def online(
        cls, client: HTTPClient, ws_url: str, name: str, *subscriptions: str, platform: str = "web"
    ) -> Self:
        """A user logged in on `platform` with a socket subscribed to each of `subscriptions`."""
        token = await client.login(name, platform=platform)
        ws = await WSClient.connect(ws_url, token)
        ops = tuple([await ws.subscribe(subscription) for subscription in subscriptions])
        await asyncio.sleep(0.05)  # let the subscriptions follow their streams
        return cls(client, token, name, ws, ops)

    # queries

    async def call(self, document: str, variables: dict[str, Any] | None = None) -> GraphQLReply:
        return await self.client.gql(document, variables, token=self.token)

    async def q(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        """The data of a query that must succeed."""
        return (await self.call(document, variables)).ok()

    async def create_text(self, text: str) -> str:
        """A created (unsent) text message's id."""
        return str((await self.q(CREATE_TEXT, {"t": text}))["createTextMessage"]["id"])

    # listeners

    @property
    def ws(self) -> WSClient:
        assert self._ws is not None, f"{self.name or 'this actor'} has no socket"
        return self._ws

    @property
    def op(self) -> str:
        """The first listener subscription, the one read unless another is named."""
        return self.ops[0]

    async def event(self, op: str | None = None) -> dict[str, Any]:
        return await self.ws.next_event(op or self.op)

    async def events_until(self, wanted: str, op: str | None = None) -> list[dict[str, Any]]:
        """Events up to and including the first of type `wanted`."""
        return await self.ws.events_until(op or self.op, wanted)

    async def quiet(self, seconds: float = 0.3, op: str | None = None) -> None:
        """Nothing more arrives for a while (the events of what came before are all in)."""
        await self.ws.nothing_for(op or self.op, seconds)

    async def drain(
        self, op: str | None = None, *, quiet: float = QUIET_SECONDS, first_within: float | None = None
    ) -> list[dict[str, Any]]:
        """The events that arrive until none comes for `quiet` seconds (the first may take
        `first_within`, for a stream that is only opening)."""
        seen: list[dict[str, Any]] = []
        while True:
            wait = first_within if first_within is not None and not seen else quiet
            try:
                seen.append(await self.ws.next_event(op or self.op, timeout=wait))
            except TimeoutError:
                return seen


async def actor(client: HTTPClient, ws_url: str, name: str, *subscriptions: str, platform: str = "web") -> Actor:
    """A plain `Actor` online with `subscriptions`."""
    return await Actor.online(client, ws_url, name, *subscriptions, platform=platform)
