"""The HTTP and WebSocket surface: bad input of every kind, both subprotocols, probes, playground."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.typing import Origin, Subprotocol

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.errors import Code
from gateway.im.model import UserFullInfo
from gateway.web.view import GraphQLView
from tests.support.clients import SDK_EVENTS, HTTPClient, WSClient, subscribe_sdk
from tests.support.servers import InProcessGateway


async def test_malformed_requests_get_a_graphql_error_with_a_code(client: HTTPClient) -> None:
    cases = [
        (b"not json", "application/json", 400),
        (b'{"query": 42}', "application/json", 400),
        (b'{"query": "{ getVersion }", "variables": [1]}', "application/json", 400),
        (b"query=x", "text/plain", 400),
    ]
    for body, content_type, status in cases:
        response = await client.http.post("/graphql", content=body, headers={"content-type": content_type})
        assert response.status_code == status
        assert response.json()["errors"][0]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS


async def test_huge_bodies_are_refused_before_parsing(client: HTTPClient) -> None:
    big = json.dumps({"query": "{ getVersion }", "variables": {"x": "a" * 2_000_000}})
    response = await client.http.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS


@pytest.mark.parametrize(
    "document",
    [
        "{ getVersion",  # syntax
        "{ noSuchField }",  # validation
        "{ " + " ".join(f"a{i}: getVersion" for i in range(40)) + " }",  # too many aliases
        "{ getVersion " + "__typename " * 5000 + "}",  # too many tokens
        "mutation { setSelfInfo(gender: V2TIM_GENDER_ROBOT) { userID } }",  # unknown enum value
        'mutation { login(userID: 5, userSig: "x") { token } }',  # wrong type
        "query { __schema { types { fields { type { fields { type { fields { type { fields { type { fields { name "
        "} } } } } } } } } } } }",  # too deep
    ],
    ids=["syntax", "validation", "aliases", "tokens", "enum", "type", "depth"],
)
async def test_invalid_documents_give_6017(client: HTTPClient, document: str) -> None:
    reply = await client.gql(document)
    assert reply.status == 200
    assert reply.codes
    assert set(reply.codes) == {Code.ERR_INVALID_PARAMETERS}
    assert all(e["extensions"]["requestId"] for e in reply.errors)


async def test_the_errors_of_one_request_quote_one_request_id(client: HTTPClient) -> None:
    """Made when the first error needs it (schema.context): the same for every error of the request,
    and another for the next request."""
    ids = []
    for _ in range(2):
        reply = await client.gql("{ noSuchField otherMissingField }")  # two validation errors
        assert reply.codes == [Code.ERR_INVALID_PARAMETERS] * 2
        quoted = {e["extensions"]["requestId"] for e in reply.errors}
        assert len(quoted) == 1
        ids.append(quoted.pop())
    assert ids[0] != ids[1]
    assert all(len(i) == 16 for i in ids)


async def test_unexpected_faults_are_masked_with_a_request_id(
    client: HTTPClient, server: InProcessGateway, caplog: pytest.LogCaptureFixture
) -> None:
    token = await client.login("alice")

    async def broken(user_ids: Sequence[str]) -> list[UserFullInfo]:
        raise RuntimeError("secret internals")

    # a fault injected into the running backend: mypy forbids assigning to a method, which is the point
    server.gateway.backend.accounts.get_users_info = broken  # type: ignore[method-assign]
    reply = await client.gql('{ getUsersInfo(userIDList: ["alice"]) { userID } }', token=token)
    assert reply.codes == [Code.ERR_SDK_INTERNAL_ERROR]
    error = reply.errors[0]
    assert "secret" not in json.dumps(reply.body)
    assert error["extensions"]["requestId"] in error["message"]
    assert any(error["extensions"]["requestId"] in r.getMessage() for r in caplog.records)


async def test_graphql_posts_skip_starlettes_layers_and_other_methods_keep_them(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """POSTs reach the view directly (gateway.web.app.GraphQLPostsFirst): a fault it lets out is
    still a plain 500, logged by the server; other methods still get the router's 405."""
    put = await client.http.put("/graphql", json={"query": "{ getVersion }"})
    assert put.status_code == 405
    assert set(put.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    view = next(r.endpoint for r in server.app.app.routes if isinstance(getattr(r, "endpoint", None), GraphQLView))

    async def broken(scope: object, payload: object) -> None:
        raise RuntimeError("a fault the view does not answer")

    monkeypatch.setattr(view, "_fast", broken)
    reply = await client.http.post("/graphql", json={"query": "{ getVersion }"})
    assert reply.status_code == 500
    assert reply.text == "Internal Server Error"
    assert any("a fault the view does not answer" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


async def test_get_queries_and_the_offline_playground(client: HTTPClient) -> None:
    response = await client.http.get("/graphql", params={"query": "{ getVersion }"})
    assert response.json()["data"]["getVersion"].startswith("imql")
    page = await client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "GraphiQL" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/playground/") or s.startswith("data:") for s in sources)
    for source in sources:
        if source.startswith("/playground/"):
            asset = await client.http.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000, source
    assert "unpkg" not in page.text
    assert "cdn" not in page.text.lower()


async def test_probes_and_metrics(client: HTTPClient) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    assert (await client.http.get("/readyz")).status_code == 200
    await client.gql("query Who { getLoginUser }")
    await client.gql("query Version { getVersion }")
    text = (await client.http.get("/metrics")).text
    assert 'imql_graphql_requests_total{kind="query",operation="Who"} 1.0' in text
    assert 'imql_graphql_request_seconds_count{kind="query",operation="Version"} 1.0' in text
    assert 'imql_graphql_errors_total{code="6014"}' in text
    assert "imql_live_subscriptions" in text
    assert "imql_redis_failures_total" in text
    # every round trip to Redis is counted: a logged-in query adds at least one
    before = _round_trips(text)
    token = await client.login("metered")
    await client.gql('{ getUsersInfo(userIDList: ["metered"]) { userID } }', token=token)
    assert _round_trips((await client.http.get("/metrics")).text) > before


def _round_trips(metrics_text: str) -> float:
    match = re.search(r"^imql_redis_round_trips_total (\S+)$", metrics_text, re.MULTILINE)
    assert match is not None, "imql_redis_round_trips is missing"
    return float(match.group(1))


async def test_readyz_is_503_without_redis() -> None:
    from gateway.config import Settings
    from tests.support.servers import start_in_process

    running = await start_in_process(Settings(sdkappid=1_400_000_099, redis_url="redis://127.0.0.1:1/0"))
    try:
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            assert (await http.get("/healthz")).status_code == 200
            response = await http.get("/readyz")
            assert response.status_code == 503
    finally:
        running.server.should_exit = True
        await asyncio.wait_for(running.task, 15)


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_both_websocket_subprotocols_stream_events(
    client: HTTPClient, server: InProcessGateway, protocol: str
) -> None:
    token = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, token, protocol=protocol)
    op = await subscribe_sdk(ws)
    await client.gql('mutation { setSelfInfo(nickName: "Ws") { userID } }', token=token)
    event = await ws.next_event(op)
    assert event["__typename"] == "SelfInfoUpdatedEvent"
    assert event["info"]["nickName"] == "Ws"
    assert event["cursor"]
    await ws.close()


async def test_subscription_without_a_session_gets_6014(server: InProcessGateway) -> None:
    ws = await WSClient.connect(server.ws_url, "bogus")
    op = await ws.subscribe(SDK_EVENTS)
    message = await ws.next(op)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == Code.ERR_SDK_NOT_LOGGED_IN
    await ws.close()


async def test_bad_cursor_on_a_subscription_gets_6017(client: HTTPClient, server: InProcessGateway) -> None:
    token = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, token)
    op = await ws.subscribe(SDK_EVENTS, {"since": "definitely-not-a-cursor"})
    message = await ws.next(op)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
    await ws.close()


async def test_garbage_websocket_frames_close_the_connection_cleanly(server: InProcessGateway) -> None:
    frames: list[str | bytes] = ["not json", json.dumps({"type": "nonsense"}), json.dumps([1, 2]), b'{"type": "ping"}']
    for frame in frames:
        async with websockets.connect(server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as conn:
            await conn.send(frame)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4400
    # the server is still fine
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_unknown_subprotocol_is_refused(server: InProcessGateway) -> None:
    async with websockets.connect(server.ws_url, subprotocols=[Subprotocol("chat")]) as conn:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(conn.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4406


async def test_clients_that_never_init_are_dropped(settings: Settings, clock: ManualClock) -> None:
    from dataclasses import replace

    from tests.support.servers import start_in_process

    running = await start_in_process(replace(settings, ws_init_timeout_seconds=0.3), clock)
    try:
        async with websockets.connect(running.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as conn:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4408
    finally:
        await running.stop()


async def test_subscriptions_per_connection_are_capped(client: HTTPClient, server: InProcessGateway) -> None:
    token = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, token)
    cap = server.settings.max_subscriptions_per_connection
    for _ in range(cap):
        await subscribe_sdk(ws)
    refused = await ws.next(await ws.subscribe(SDK_EVENTS))
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    await ws.close()


async def test_cross_origin_browsers_need_an_allowed_origin(server: InProcessGateway) -> None:
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            server.ws_url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin("https://evil.example"),
        )


async def test_a_stalled_redis_fails_requests_at_their_deadline_and_recovers(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    """Redis commands carry no timeout of their own (gateway.store): a Redis that stops answering
    (here a private redis-server, stopped with SIGSTOP) fails each request at IMQL_REQUEST_TIMEOUT
    with 504 / 7012, and once it answers again the next request succeeds on a fresh connection."""
    import os
    import shutil
    import signal
    import socket
    import subprocess
    import time
    from dataclasses import replace

    from tests.support.servers import start_in_process

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs the redis-server binary to stall a Redis of its own")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis_proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=str(tmp_path),
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        own = replace(settings, redis_url=f"redis://127.0.0.1:{port}/0", request_timeout_seconds=0.5)
        running = await start_in_process(own, clock)
        client = HTTPClient(running.base_url, own.sdkappid, own.secret_key, now=clock.now)
        try:
            token = await client.login("stall1")
            query = '{ getUsersInfo(userIDList: ["stall1"]) { userID } }'
            assert (await client.gql(query, token=token)).ok()["getUsersInfo"][0]["userID"] == "stall1"
            # the pool's connections fail a dead peer by themselves: keepalive and an unacknowledged-data limit
            pool = running.gateway.redis.connection_pool
            conn = await pool.get_connection()
            try:
                sock = conn._writer.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                if hasattr(socket, "TCP_USER_TIMEOUT"):
                    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 20_000
            finally:
                await pool.release(conn)
            os.kill(redis_proc.pid, signal.SIGSTOP)
            try:
                began = time.monotonic()
                stalled = await client.gql(query, token=token)
                waited = time.monotonic() - began
                # the readiness probe answers within a second whatever Redis does
                began = time.monotonic()
                ready_probe = await client.http.get("/readyz")
                probe_waited = time.monotonic() - began
            finally:
                os.kill(redis_proc.pid, signal.SIGCONT)
            assert ready_probe.status_code == 503
            assert probe_waited < 2.0  # bounded at 0.8 s; the margin is for a loaded machine, a hang is the failure
            assert (await client.http.get("/readyz")).status_code == 200
            assert stalled.status == 504
            assert stalled.body["errors"][0]["extensions"]["code"] == Code.ERR_SDK_INTERNAL_ERROR
            assert "IMQL_REQUEST_TIMEOUT" in stalled.body["errors"][0]["extensions"]["desc"]
            assert waited < 5
            assert (await client.gql(query, token=token)).ok()["getUsersInfo"][0]["userID"] == "stall1"
            metrics = (await client.http.get("/metrics")).text
            assert "imql_request_timeouts_total 1.0" in metrics
        finally:
            await client.aclose()
            await running.stop()
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_over_plain_http_gets_6017_naming_the_transports(client: HTTPClient, method: str) -> None:
    document = "subscription Events { sdkListener { __typename } }"
    if method == "POST":
        response = await client.http.post("/graphql", json={"query": document})
    else:
        response = await client.http.get("/graphql", params={"query": document})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
    assert error["extensions"]["codeName"] == "ERR_INVALID_PARAMETERS"
    for transport in ("WebSocket", "graphql-transport-ws", "graphql-ws", "Server-Sent Events"):
        assert transport in error["message"]
    # a document with a query and a subscription: the chosen operation decides
    both = "query Q { getVersion } subscription S { sdkListener { __typename } }"
    chosen = await client.http.post("/graphql", json={"query": both, "operationName": "Q"})
    assert chosen.json()["data"]["getVersion"].startswith("imql")
    refused = await client.http.post("/graphql", json={"query": both, "operationName": "S"})
    assert refused.json()["errors"][0]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
