"""GraphQL over SSE (distinct connections mode) with a real streaming HTTP client: subscribe,
receive, resume with `since` and with `Last-Event-ID`, auth refusals, limits, keep-alive pings,
and the stream's clean end on logout and kick (gateway.web.sse)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.errors import Code
from gateway.web.sse import wants_sse
from gateway.web.view import GraphQLView
from tests.support.clients import SDK_EVENTS, HTTPClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.test_media import png

MESSAGES = """subscription($since: String) { advancedMsgListener(since: $since) {
  __typename ... on RecvNewMessageEvent { type cursor message { msgID textElem { text } } } } }"""


def _view(server: InProcessGateway) -> GraphQLView:
    for route in server.app.app.routes:
        view = getattr(route, "endpoint", None)
        if isinstance(view, GraphQLView):
            return view
    raise AssertionError("no GraphQL route")


@dataclass
class Event:
    event: str
    data: str
    id: str | None = None

    def payload(self) -> Any:
        return json.loads(self.data)

    def listener_event(self) -> dict[str, Any]:
        body = self.payload()
        assert self.event == "next", body
        assert not body.get("errors"), body
        return dict(next(iter(body["data"].values())))


@dataclass
class SSEStream:
    """One SSE response read line by line (as EventSource parses): events and comments in order."""

    response: httpx.Response
    items: asyncio.Queue[Event | str | None] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    await self.items.put(line)
                elif line == "":
                    if fields:
                        await self.items.put(
                            Event(fields.get("event", "message"), fields.get("data", ""), fields.get("id"))
                        )
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") else value
        except httpx.HTTPError:
            pass
        finally:
            await self.items.put(None)

    async def next(self, timeout: float = 10.0) -> Event:
        """The next event (comments skipped); fails at the end of the stream."""
        while True:
            item = await asyncio.wait_for(self.items.get(), timeout)
            assert item is not None, "the stream ended"
            if isinstance(item, Event):
                return item

    async def comment(self, timeout: float = 10.0) -> str:
        while True:
            item = await asyncio.wait_for(self.items.get(), timeout)
            assert item is not None, "the stream ended"
            if isinstance(item, str):
                return item

    async def ended(self, timeout: float = 10.0) -> None:
        while (await asyncio.wait_for(self.items.get(), timeout)) is not None:
            pass

    async def nothing_for(self, seconds: float) -> None:
        try:
            item = await asyncio.wait_for(self.items.get(), seconds)
        except TimeoutError:
            return
        assert isinstance(item, str), f"unexpected {item!r}"


@contextlib.asynccontextmanager
async def sse(
    client: HTTPClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> AsyncIterator[SSEStream]:
    sent = {"Accept": "text/event-stream", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if method == "POST":
        request = client.http.build_request(
            "POST", "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
    else:
        query_params = {"query": query, "variables": json.dumps(variables or {}), **(params or {})}
        request = client.http.build_request("GET", "/graphql", params=query_params, headers=sent)
    response = await client.http.send(request, stream=True)
    stream = SSEStream(response)
    try:
        if response.headers["content-type"].startswith("text/event-stream"):
            stream.reader = asyncio.create_task(stream._read())
        else:
            await response.aread()
        yield stream
    finally:
        if stream.reader is not None:
            stream.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream.reader
        await response.aclose()


async def _subscribed(server: InProcessGateway, count: int) -> None:
    """Wait until the dispatcher holds `count` live subscriptions (the stream follows its streams)."""
    for _ in range(250):
        if server.gateway.dispatcher.subscriber_count >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the subscription did not open")


async def test_subscribe_and_receive_with_the_cursor_as_event_id(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    async with sse(client, MESSAGES, token=alice) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["cache-control"] == "no-cache, no-transform"
        await _subscribed(server, 1)
        await send_text(client, bob, "hello", to="alice")
        event = await stream.next()
        got = event.listener_event()
        assert got["type"] == "onRecvNewMessage"
        assert got["message"]["textElem"]["text"] == "hello"
        assert event.id == got["cursor"]  # what EventSource sends back as Last-Event-ID


async def test_resume_with_since_and_with_last_event_id(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    cursor = (await client.gql("{ eventCursor }", token=alice)).ok()["eventCursor"]
    await send_text(client, bob, "one", to="alice")
    await send_text(client, bob, "two", to="alice")
    # since (as a variable): both replayed
    async with sse(client, MESSAGES, {"since": cursor}, token=alice) as stream:
        first, second = await stream.next(), await stream.next()
        assert [e.listener_event()["message"]["textElem"]["text"] for e in (first, second)] == ["one", "two"]
        await stream.nothing_for(0.2)
    await send_text(client, bob, "three", to="alice")
    # an EventSource reconnecting: GET, token in the query string, the URL's old since, and
    # Last-Event-ID naming the last event it got, which wins
    async with sse(
        client,
        MESSAGES,
        {"since": cursor},
        method="GET",
        params={"token": alice},
        headers={"Last-Event-ID": str(first.id)},
    ) as stream:
        assert stream.response.status_code == 200
        texts = [(await stream.next()).listener_event()["message"]["textElem"]["text"] for _ in range(2)]
        assert texts == ["two", "three"]
        await stream.nothing_for(0.2)


async def test_refusals_before_the_stream_are_json_with_a_status(client: HTTPClient, server: InProcessGateway) -> None:
    alice = await client.login("alice")
    cases: list[tuple[dict[str, Any], int, int]] = [
        ({}, 401, Code.ERR_SDK_NOT_LOGGED_IN),  # no token
        ({"token": "not-a-token"}, 401, Code.ERR_SDK_NOT_LOGGED_IN),
        ({"token": alice, "variables": {"since": "garbage"}}, 400, Code.ERR_INVALID_PARAMETERS),
        ({"token": alice, "headers": {"Last-Event-ID": "garbage"}}, 400, Code.ERR_INVALID_PARAMETERS),
    ]
    for kwargs, status, code in cases:
        variables = kwargs.pop("variables", None)
        async with sse(client, MESSAGES, variables, **kwargs) as stream:
            assert stream.response.status_code == status, kwargs
            assert stream.response.json()["errors"][0]["extensions"]["code"] == code
    async with sse(client, MESSAGES, method="GET", params={"token": "nope"}) as stream:
        assert stream.response.status_code == 401
    assert server.gateway.dispatcher.subscriber_count == 0


async def test_at_most_the_limit_of_streams_per_session(client: HTTPClient, server: InProcessGateway) -> None:
    _view(server).sse_streams.limit = 1
    alice = await client.login("alice")
    async with sse(client, MESSAGES, token=alice) as first:
        assert first.response.status_code == 200
        async with sse(client, MESSAGES, token=alice) as second:
            assert second.response.status_code == 429
            assert (
                second.response.json()["errors"][0]["extensions"]["code"] == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
            )
    await asyncio.sleep(0.1)
    async with sse(client, MESSAGES, token=alice) as third:  # the first one's place was given back
        assert third.response.status_code == 200


async def test_keepalive_pings_while_idle(client: HTTPClient, server: InProcessGateway) -> None:
    _view(server).sse_keepalive = 0.2
    alice = await client.login("alice")
    async with sse(client, MESSAGES, token=alice) as stream:
        assert await stream.comment(timeout=3) == ": ping"


async def test_logout_ends_the_stream(client: HTTPClient, server: InProcessGateway) -> None:
    alice = await client.login("alice")
    async with sse(client, MESSAGES, token=alice) as stream:
        await _subscribed(server, 1)
        assert (await client.gql("mutation { logout }", token=alice)).ok() == {"logout": True}
        assert (await stream.next()).event == "complete"
        await stream.ended()
    for _ in range(100):
        if server.gateway.dispatcher.subscriber_count == 0:
            break
        await asyncio.sleep(0.02)
    assert server.gateway.dispatcher.subscriber_count == 0


async def test_a_kick_is_delivered_then_the_stream_completes(client: HTTPClient, server: InProcessGateway) -> None:
    first = await client.login("alice", platform="ios")
    async with sse(client, SDK_EVENTS, token=first) as stream:
        assert (await stream.next()).listener_event()["type"] == "onConnecting"
        assert (await stream.next()).listener_event()["type"] == "onConnectSuccess"
        await client.login("alice", platform="ios")
        assert (await stream.next()).listener_event()["type"] == "onKickedOffline"
        assert (await stream.next()).event == "complete"
        await stream.ended()


async def test_a_client_that_goes_away_is_released(client: HTTPClient, server: InProcessGateway) -> None:
    alice = await client.login("alice")
    async with sse(client, MESSAGES, token=alice):
        await _subscribed(server, 1)
    for _ in range(250):
        if server.gateway.dispatcher.subscriber_count == 0 and not _view(server).sse_streams.open:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the subscription was not released")


async def test_other_documents_and_queries_go_through_strawberrys_sse(
    client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    spread = """subscription { ...F } fragment F on Subscription {
      advancedMsgListener { ... on RecvNewMessageEvent { message { textElem { text } } } } }"""
    async with sse(client, spread, token=alice) as stream:
        assert stream.response.status_code == 200
        await _subscribed(server, 1)
        await send_text(client, bob, "via strawberry", to="alice")
        got = (await stream.next()).listener_event()
        assert got["message"]["textElem"]["text"] == "via strawberry"
    async with sse(client, "{ getLoginUser }", token=alice) as stream:
        answer = await stream.next()
        assert answer.event == "next"
        assert answer.payload()["data"] == {"getLoginUser": "alice"}
        assert (await stream.next()).event == "complete"


async def test_a_subscription_as_plain_post_is_still_refused(client: HTTPClient) -> None:
    alice = await client.login("alice")
    reply = await client.gql(MESSAGES, token=alice)
    assert reply.status == 400
    assert reply.codes == [Code.ERR_INVALID_PARAMETERS]
    assert "text/event-stream" in reply.errors[0]["extensions"]["desc"]


URQL_ACCEPT = (
    "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"
)


@pytest.mark.parametrize(
    ("accept", "streams"),
    [
        ("text/event-stream", True),
        ("text/event-stream, application/json;q=0.9", True),
        ("application/json;q=0.5, text/event-stream", True),
        (URQL_ACCEPT, False),  # urql's default: it lists the event stream but wants JSON for a query
        ("application/json, text/event-stream", False),
        ("text/event-stream;q=0", False),
        ("", False),
    ],
)
def test_only_a_client_that_prefers_an_event_stream_gets_one(accept: str, streams: bool) -> None:
    assert wants_sse({b"accept": accept.encode()}) is streams


async def test_a_query_with_urqls_accept_header_answers_json(client: HTTPClient, server: InProcessGateway) -> None:
    token = await client.login("alice")
    response = await client.http.post(
        "/graphql",
        json={"query": "{ getLoginUser }"},
        headers={"Authorization": f"Bearer {token}", "Accept": URQL_ACCEPT},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"getLoginUser": "alice"}}


async def test_requests_strawberry_serves_answer_json_to_urqls_accept_header(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """Strawberry, which serves what imql's fast path does not (documents with fragments at the
    root, GETs, multipart uploads), streams whenever Accept merely lists text/event-stream: imql
    hands it the request without that type unless the client prefers it. An upload never streams
    (its files are closed before a stream would read them: a 7012)."""
    token = await client.login("alice")
    headers = {"Authorization": f"Bearer {token}", "Accept": URQL_ACCEPT}
    spread = {"query": "query Me { ...Me } fragment Me on Query { getLoginUser }"}
    posted = await client.http.post("/graphql", json=spread, headers=headers)
    got = await client.http.get("/graphql", params={"query": "{ getLoginUser }"}, headers=headers)
    for response in (posted, got):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"data": {"getLoginUser": "alice"}}
    operations = {"query": "mutation($f: Upload!) { createImageMessage(file: $f) { id } }", "variables": {"f": None}}
    for accept in (URQL_ACCEPT, "text/event-stream"):
        upload = await client.http.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
            files={"0": ("photo.png", png(40, 30), "image/png")},
            headers={**headers, "Accept": accept},
        )
        assert upload.status_code == 200, upload.text
        assert upload.headers["content-type"].startswith("application/json"), upload.text
        assert upload.json()["data"]["createImageMessage"]["id"]
    # a client that prefers the stream still gets Strawberry's for such a document
    streamed = await client.http.post("/graphql", json=spread, headers={**headers, "Accept": "text/event-stream"})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert '"getLoginUser":"alice"' in streamed.text.replace(" ", "")
