"""Adversarial input on the subscription transports (graphql-transport-ws, the legacy graphql-ws,
GraphQL over SSE) and the resume cursor: defects an adversarial review found, each kept as a guard
(the docstrings say how each once went wrong).

The standard (CONTRACT.md §3, §6, §7; the graphql-transport-ws protocol, github.com/enisdenjo/
graphql-ws PROTOCOL.md): hostile or malformed input gets the protocol's close code or an error in
imql's error shape, never a crashed server task or a leaked subscription; a client's mistake is a
6017, not a masked 7012 internal error; a resume never silently misses events.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import secrets
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from gateway.batching import SharedPipelines
from gateway.errors import Code, IMError
from gateway.events.stream import refuse_if_trimmed
from gateway.lean.uvicorn_ws import Gate
from gateway.store import close_redis, open_redis
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.support.sockets import open_connections

SDK = "subscription { sdkListener { __typename } }"
MESSAGES = """subscription($since: String) { advancedMsgListener(since: $since) {
  __typename ... on RecvNewMessageEvent { type cursor message { msgID textElem { text } } } } }"""


async def _live(client: HTTPClient) -> float:
    """/metrics imql_live_subscriptions."""
    text = (await client.http.get("/metrics")).text
    found = re.search(r"^imql_live_subscriptions (\S+)$", text, re.MULTILINE)
    assert found is not None
    return float(found.group(1))


async def _connected(server: InProcessGateway, protocol: str, token: str) -> websockets.ClientConnection:
    """A raw connection past connection_init / connection_ack."""
    conn = await websockets.connect(server.ws_url, subprotocols=[Subprotocol(protocol)])
    await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    while True:
        message = json.loads(await asyncio.wait_for(conn.recv(), 10))
        if message["type"] == "connection_ack":
            return conn


async def _messages_until_closed_or(conn: websockets.ClientConnection, op: str, seconds: float) -> list[Any]:
    """What the server sends (the ka/ping noise left out) until `op` gets a data/next/error, the
    connection closes (its close frame, or None when it was dropped without one), or `seconds` pass."""
    seen: list[Any] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = json.loads(await conn.recv())
                if message.get("type") in ("ka", "ping", "pong"):
                    continue
                seen.append(message)
                if message.get("id") == op and message.get("type") in ("data", "next", "error"):
                    return seen
    except TimeoutError:
        seen.append("timeout")
    except websockets.ConnectionClosed as closed:
        seen.append(("closed", closed.rcvd.code if closed.rcvd is not None else None))
    return seen


def _crashes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Server-side faults logged: an exception out of the ASGI application, an unhandled task
    exception, an error masked as unexpected."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and (r.name in ("uvicorn.error", "asyncio", "strawberry.ws.task") or "unexpectedly" in r.getMessage())
    ]


# ---- graphql-transport-ws ---------------------------------------------------------------------


@pytest.mark.parametrize("op_id", [["1"], {"id": "1"}], ids=["list", "object"])
async def test_a_complete_message_with_a_non_string_id_closes_4400_instead_of_crashing(
    client: HTTPClient, server: InProcessGateway, caplog: pytest.LogCaptureFixture, op_id: Any
) -> None:
    """graphql-transport-ws: `Complete` is `{id: '<unique-operation-id>', type: 'complete'}` with a
    string id, and "receiving a message of a type or format which is not specified in this document
    will result in an immediate socket closure with the event 4400: <error-message>". imql checked
    the id of `subscribe` (4400 "Invalid subscribe message") but not of `complete`: an unhashable id
    reached `self.operations.get(id)` (TransportWSHandler.cleanup_operation) and raised TypeError,
    which escaped the protocol handler: uvicorn logged "Exception in ASGI application" and the socket
    was dropped without a close frame (1006), taking the connection's other subscriptions with it."""
    caplog.set_level(logging.WARNING)
    alice = await client.login("alice")
    conn = await _connected(server, "graphql-transport-ws", alice)
    await conn.send(json.dumps({"type": "complete", "id": op_id}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(conn.recv(), 5)
    assert _crashes(caplog) == []
    assert closed.value.rcvd is not None, "dropped without a close frame (1006)"
    assert closed.value.rcvd.code == 4400


async def test_a_subscription_with_an_unknown_operation_name_is_a_6017_not_an_internal_error(
    client: HTTPClient, server: InProcessGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """A document with an operationName it does not define gets 6017 `Unknown operation named
    "B".` over HTTP (CONTRACT §7: invalid arguments give 6017; only unexpected faults are masked). Over
    graphql-transport-ws the subscription once got an `error` with 7012 "internal error; quote
    request id ..." and the server logged "failed unexpectedly" with a traceback: Strawberry's
    CannotGetOperationTypeError is not an IMError or GraphQLError, so schema/errors.py format_error
    masked it (Strawberry itself would close 4400 with the reason)."""
    caplog.set_level(logging.WARNING)
    alice = await client.login("alice")
    document = "subscription A { sdkListener { __typename } }"
    over_http = await client.http.post(
        "/graphql",
        json={"query": "query A { getLoginUser }", "operationName": "B"},
        headers={"Authorization": f"Bearer {alice}"},
    )
    assert over_http.json()["errors"][0]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
    conn = await _connected(server, "graphql-transport-ws", alice)
    await conn.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document, "operationName": "B"}}))
    seen = await _messages_until_closed_or(conn, "1", 5)
    await conn.close()
    answer = seen[-1]
    if isinstance(answer, tuple):  # closing 4400 with the reason is the protocol's other answer
        assert answer == ("closed", 4400), seen
    else:
        assert answer["type"] == "error", seen
        assert [e["extensions"]["code"] for e in answer["payload"]] == [Code.ERR_INVALID_PARAMETERS], seen
    assert _crashes(caplog) == []


# ---- the legacy graphql-ws protocol -----------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"type": "start", "id": "1"},
        {"type": "start", "payload": {"query": SDK}},
        {"type": "start", "id": "1", "payload": {}},
        {"type": "start", "id": "1", "payload": "not an object"},
        {"type": "start", "id": ["1"], "payload": {"query": SDK}},
        {"type": "stop"},
    ],
    ids=[
        "start-without-payload",
        "start-without-id",
        "start-without-query",
        "start-payload-string",
        "start-list-id",
        "stop-without-id",
    ],
)
async def test_a_malformed_legacy_message_does_not_crash_the_connection(
    client: HTTPClient, server: InProcessGateway, caplog: pytest.LogCaptureFixture, message: dict[str, Any]
) -> None:
    """graphql-ws (subscriptions-transport-ws) answers a bad operation with GQL_ERROR and ignores
    what it cannot read; imql's LegacyWSHandler says as much for a message without a string `type`
    ("ignored, as the protocol ignores unknown types; Strawberry's handler indexed it and the
    connection died with a KeyError, logged as a crash"). The same crash once came from a `start`
    without `id`, `payload` or `payload.query`, a non-object payload, an unhashable id, and a
    `stop` without `id`: Strawberry's handle_start / handle_stop index them, the KeyError or
    TypeError escaped, uvicorn logged "Exception in ASGI application" and the socket was dropped
    with no close frame. Expected: the connection goes on (a valid `start` after it is served) or is
    closed cleanly with a code, and nothing is logged as a crash."""
    caplog.set_level(logging.WARNING)
    alice = await client.login("alice")
    conn = await _connected(server, "graphql-ws", alice)
    await conn.send(json.dumps(message))
    await conn.send(json.dumps({"type": "start", "id": "ok", "payload": {"query": SDK}}))
    seen = await _messages_until_closed_or(conn, "ok", 5)
    await conn.close()
    assert _crashes(caplog) == []
    last = seen[-1]
    served = isinstance(last, dict) and last.get("id") == "ok" and last.get("type") == "data"
    closed_cleanly = isinstance(last, tuple) and last[1] is not None
    assert served or closed_cleanly, seen


async def test_a_query_over_the_legacy_protocol_is_not_a_masked_internal_error(
    client: HTTPClient, server: InProcessGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """subscriptions-transport-ws runs any operation in GQL_START (query and mutation included);
    were imql to refuse it, the refusal is a client mistake (6017, CONTRACT §7), as a subscription
    over plain HTTP is. The client once got an `error` with 7012 "internal error; quote request id
    ..." and the server logged "failed unexpectedly": Strawberry's InvalidOperationTypeError reached
    schema/errors.py format_error, which masked every exception that is not an IMError."""
    caplog.set_level(logging.WARNING)
    alice = await client.login("alice")
    conn = await _connected(server, "graphql-ws", alice)
    await conn.send(json.dumps({"type": "start", "id": "1", "payload": {"query": "{ getLoginUser }"}}))
    seen = await _messages_until_closed_or(conn, "1", 5)
    await conn.close()
    answer = seen[-1]
    assert isinstance(answer, dict), seen
    if answer["type"] == "data":
        assert answer["payload"]["data"] == {"getLoginUser": "alice"}
    else:
        assert answer["payload"]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS, answer
    assert _crashes(caplog) == []


async def test_a_legacy_subscription_is_released_when_its_client_vanishes_during_a_send(
    client: HTTPClient, server: InProcessGateway
) -> None:
    """docs/events.md, Slow and vanished consumers: "When a subscription ends, for any reason, it
    leaves the dispatcher (its streams are unfollowed when unused) and its presence lease is
    dropped." Over the legacy graphql-ws protocol, a client whose socket is full (the event's send
    waits for the buffer) and that then drops its connection once left its subscription live: the
    send raised WebSocketDisconnected in Strawberry's handle_async_results, whose `finally` removes
    the operation from the handler's books without closing its result stream, so the handler's
    cleanup found nothing to close. The listener stayed in the dispatcher, imql_live_subscriptions
    stayed up and the user online (the process renews the lease every 30 s); the task ended with an
    exception nobody retrieved. It was let go only if the cyclic garbage collector happens to free
    that task's traceback (disabled here, so the test does not depend on when it runs). The
    graphql-transport-ws paths release the same subscription at once."""
    alice, bob = await client.login("alice"), await client.login("bob")
    gw = server.gateway
    ws = await WSClient.connect(server.ws_url, alice, protocol="graphql-ws")
    [connection] = open_connections()
    gate = connection.writable
    assert isinstance(gate, Gate)
    await ws.subscribe(MESSAGES)
    await client.until_live(1)
    connection.pause_writing()  # the client's socket is full: the next frame waits for it
    await send_text(client, bob, "waits for the socket", to="alice")
    for _ in range(500):
        if gate.passing:  # the event's send is waiting for the buffer
            break
        await asyncio.sleep(0.01)
    assert gate.passing == 1
    gc.disable()
    try:
        ws.conn.transport.abort()  # the client vanishes (no close frame)
        for _ in range(100):
            if await _live(client) == 0 and gw.dispatcher.subscriber_count == 0:
                break
            await asyncio.sleep(0.05)
        still_live = await _live(client)
        leases = await gw.redis.hlen(gw.keys.presence("alice"))
    finally:
        gc.enable()
        await ws.close()
    assert still_live == 0
    assert gw.dispatcher.subscriber_count == 0
    assert leases == 0  # alice is offline


# ---- GraphQL over SSE -------------------------------------------------------------------------


async def _sse_errors(client: HTTPClient, method: str, token: str, **request: Any) -> tuple[int, list[int]]:
    """The status and the error codes of an SSE request's answer (JSON, or the stream's first event)."""
    headers = {"Accept": "text/event-stream"}
    if method == "POST":
        headers["Authorization"] = f"Bearer {token}"
    else:
        request.setdefault("params", {})["token"] = token
    async with client.http.stream(method, "/graphql", headers=headers, **request) as response:
        body = b""
        try:
            async with asyncio.timeout(3):
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if b"\n\n" in body.replace(b"\r\n", b"\n"):
                        break
        except TimeoutError:
            pass
    text = body.decode().replace("\r\n", "\n")
    if response.headers["content-type"].startswith("application/json"):
        payload = json.loads(text)
    else:
        data = [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]
        payload = json.loads(data[0])
    return response.status_code, [e["extensions"]["code"] for e in payload.get("errors") or []]


@pytest.mark.parametrize(
    ("method", "request_args"),
    [
        ("POST", {"json": {"query": "subscription A { sdkListener { __typename } }", "operationName": "B"}}),
        ("POST", {"json": {"query": "subscription A { sdkListener { __typename } }", "operationName": 5}}),
        ("GET", {"params": {"query": 'mutation { setSelfInfo(nickName: "via GET") { userID } }'}}),
        ("GET", {"params": {}}),
    ],
    ids=["unknown-operation-name", "operation-name-not-a-string", "mutation-by-get", "no-query"],
)
async def test_sse_requests_with_a_client_mistake_get_6017_not_a_masked_internal_error(
    client: HTTPClient, caplog: pytest.LogCaptureFixture, method: str, request_args: dict[str, Any]
) -> None:
    """Each of these is answered over plain HTTP with 6017 (an unknown or non-string operationName,
    a mutation by GET, no query): a client mistake, CONTRACT §7. Asked for as text/event-stream they
    once got HTTP 200 and an `event: next` whose error was 7012 "internal error; quote request id
    ...", and the server logged "failed unexpectedly" with a traceback: Strawberry's
    CannotGetOperationTypeError / InvalidOperationTypeError / MissingQueryError were masked by
    schema/errors.py format_error as unexpected faults."""
    caplog.set_level(logging.WARNING)
    alice = await client.login("alice")
    _, codes = await _sse_errors(client, method, alice, **request_args)
    assert codes == [Code.ERR_INVALID_PARAMETERS]
    assert _crashes(caplog) == []


# ---- resume cursors ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "sse"])
async def test_a_cursor_taken_before_the_first_event_is_refused_once_events_after_it_were_trimmed(
    client: HTTPClient, server: InProcessGateway, protocol: str
) -> None:
    """CONTRACT §6: "a cursor older than the retention gives an error with code 6017 and the desc
    says to re-fetch state, so a client never silently misses events." A new user's cursor
    (`eventCursor`, docs/events.md's gap-free pattern, or the first events' of an sdkListener)
    names the start of an empty log. Once that user's log was trimmed past its first events
    (MAXLEN ~ 10,000: xtrim here, as tests/test_event_bus.py simulates it), resuming from that
    cursor once replayed only what was left and said nothing: EventStream._catch_up skipped the
    retention check for a start position of "0-0" (gateway/events/stream.py), though "0-0" is as
    much a position whose next events can be gone as any other. A resume from it now asks Redis
    whether the stream ever lost an entry (all of them came after such a cursor)."""
    alice, bob = await client.login("alice"), await client.login("bob")
    cursor = (await client.gql("{ eventCursor }", token=alice)).ok()["eventCursor"]
    sent = [(await send_text(client, bob, f"m{i}", to="alice")) for i in range(5)]
    assert len(sent) == 5
    gw = server.gateway
    await gw.redis.xtrim(gw.keys.user_events("alice"), maxlen=2, approximate=False)  # m0..m2 are gone
    if protocol == "sse":
        request = {"query": MESSAGES, "variables": {"since": cursor}}
        status, codes = await _sse_errors(client, "POST", alice, json=request)
        assert (status, codes) == (400, [Code.ERR_INVALID_PARAMETERS])
        return
    ws = await WSClient.connect(server.ws_url, alice)
    op = await ws.subscribe(MESSAGES, {"since": cursor})
    first = await ws.next(op)
    await ws.close()
    errors = first["payload"].get("errors") or []
    assert [e["extensions"]["code"] for e in errors] == [Code.ERR_INVALID_PARAMETERS], first


async def test_a_stream_deleted_between_its_replay_and_its_trim_check_refuses_the_resume(redis_url: str) -> None:
    """A resume from a stream's start reads its entries, then checks (XINFO STREAM) that none was
    trimmed. The retention deletes a log it empties: a log gone between the two answered Redis's
    "no such key" as a 7012. Its entries were deleted, so the cursor cannot resume: 6017."""
    redis = open_redis(redis_url)
    shared = SharedPipelines(redis, 16)
    key = f"imql-test:{{gone-{secrets.token_hex(4)}}}:events"
    kept = f"imql-test:{{kept-{secrets.token_hex(4)}}}:events"
    try:
        await redis.xadd(kept, {"e": "1"})
        await refuse_if_trimmed(shared, [kept])  # whole: nothing to refuse
        with pytest.raises(IMError) as refused:
            await refuse_if_trimmed(shared, [kept, key])
        assert refused.value.code == Code.ERR_INVALID_PARAMETERS
    finally:
        await redis.delete(kept)
        await shared.close()
        await close_redis(redis)
