"""Cross-origin browsers (gateway.web.cors) over real HTTP and WebSockets: preflights allowed and
refused, the headers of actual requests, and the WebSocket Origin check on scheme, host and port."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from websockets.typing import Origin, Subprotocol

from gateway.clock import ManualClock
from gateway.config import DEV_SECRET_KEY, ConfigError, Settings, load_settings
from gateway.web.cors import ALLOWED_HEADERS
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway, start_in_process

APP = "http://localhost:5173"  # vite's dev server, the usual front-end on another origin
EVIL = "https://evil.example"
PREFLIGHT_HEADERS = (
    "authorization, content-type, x-im-platform, apollographql-client-name, apollographql-client-version, "
    "apollo-require-preflight"
)


@pytest.fixture
async def cors_server(settings: Settings, clock: ManualClock) -> AsyncIterator[InProcessGateway]:
    # listed un-normalized on purpose: the policy compares origins as browsers send them
    running = await start_in_process(dataclasses.replace(settings, allowed_origins=("http://LOCALHOST:5173",)), clock)
    yield running
    await running.stop()


@pytest.fixture
async def http(cors_server: InProcessGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cors_server.base_url) as client:
        yield client


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def _preflight(http: httpx.AsyncClient, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return await http.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": PREFLIGHT_HEADERS,
        },
    )


@pytest.mark.parametrize("path", ["/graphql", "/media/some-key", "/v4/openim/sendmsg", "/dev/login", "/dev"])
async def test_a_preflight_from_an_allowed_origin_is_answered_204(http: httpx.AsyncClient, path: str) -> None:
    response = await _preflight(http, path, APP)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == APP
    assert "Origin" in response.headers["vary"]
    assert set(response.headers["access-control-allow-methods"].split(", ")) >= {"GET", "POST"}
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {h.strip() for h in PREFLIGHT_HEADERS.split(",")} <= allowed
    assert int(response.headers["access-control-max-age"]) > 0
    # bearer tokens, not cookies: never credentialed
    assert "access-control-allow-credentials" not in response.headers


async def test_a_preflight_from_another_origin_gets_no_cors_headers(http: httpx.AsyncClient) -> None:
    for origin in (EVIL, "http://localhost:5174", "https://localhost:5173", "null"):
        response = await _preflight(http, "/graphql", origin)
        assert response.status_code == 403, origin
        assert _cors_headers(response) == {}, origin


async def test_paths_outside_the_api_get_no_cors(http: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/devices", "/demo/", "/playground/"):
        response = await _preflight(http, path, APP, "GET")
        assert _cors_headers(response) == {}, path
        response = await http.get(path, headers={"origin": APP})
        assert _cors_headers(response) == {}, path


async def test_actual_requests_carry_the_allow_origin_header(
    http: httpx.AsyncClient, cors_server: InProcessGateway
) -> None:
    client = HTTPClient(cors_server.base_url, cors_server.settings.sdkappid, cors_server.settings.secret_key)
    try:
        token = await client.login("corsuser")
    finally:
        await client.aclose()
    headers = {"origin": APP, "authorization": f"Bearer {token}", "x-im-platform": "web"}
    # the fast path (a plain query), Strawberry's path (GET) and a refusal (400) alike
    fast = await http.post("/graphql", json={"query": "{ getLoginUser }"}, headers=headers)
    assert fast.json() == {"data": {"getLoginUser": "corsuser"}}
    get = await http.get("/graphql", params={"query": "{ getVersion }"}, headers=headers)
    refused = await http.post("/graphql", content=b"not json", headers={**headers, "content-type": "application/json"})
    assert refused.status_code == 400
    for response in (fast, get, refused):
        assert response.headers["access-control-allow-origin"] == APP
        assert "Origin" in response.headers["vary"]
        assert "access-control-allow-credentials" not in response.headers
    other = await http.post("/graphql", json={"query": "{ getVersion }"}, headers={"origin": EVIL})
    assert other.status_code == 200  # the browser, not the server, withholds the answer
    assert _cors_headers(other) == {}
    plain = await http.post("/graphql", json={"query": "{ getVersion }"})
    assert _cors_headers(plain) == {}


async def test_a_vite_dev_server_on_another_origin_logs_in_through_dev_login(
    settings: Settings, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    """The development app's /dev/login from an allowed origin (a vite dev server without its proxy):
    the answer is readable cross-origin, and its token works there. Another origin gets no CORS."""
    dev_app = dataclasses.replace(settings, secret_key=DEV_SECRET_KEY, allowed_origins=(APP,))
    running = await start_in_process(dev_app, clock)
    try:
        async with httpx.AsyncClient(base_url=running.base_url) as dev:
            preflight = await _preflight(dev, "/dev/login", APP)
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == APP
            login = await dev.post("/dev/login", json={"userID": "viteuser"}, headers={"origin": APP})
            assert login.status_code == 200
            assert login.headers["access-control-allow-origin"] == APP
            token = login.json()["token"]
            me = await dev.post(
                "/graphql",
                json={"query": "{ getLoginUser }"},
                headers={"origin": APP, "authorization": f"Bearer {token}"},
            )
            assert me.json() == {"data": {"getLoginUser": "viteuser"}}
            assert me.headers["access-control-allow-origin"] == APP
            status = await dev.get("/dev", headers={"origin": APP})
            assert (status.json()["developmentApp"], status.headers["access-control-allow-origin"]) == (True, APP)
            assert (await _preflight(dev, "/dev/login", EVIL)).status_code == 403
            other = await dev.post("/dev/login", json={"userID": "viteuser"}, headers={"origin": EVIL})
            assert _cors_headers(other) == {}
    finally:
        await running.stop()
    # a real app refuses /dev/login (7013), and an allowed page can read why
    refused = await http.post("/dev/login", json={"userID": "viteuser"}, headers={"origin": APP})
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == APP
    assert refused.json()["errors"][0]["extensions"]["code"] == 7013


async def test_a_wildcard_allows_every_origin_without_credentials(settings: Settings, clock: ManualClock) -> None:
    running = await start_in_process(dataclasses.replace(settings, allowed_origins=("*",)), clock)
    try:
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            preflight = await _preflight(http, "/graphql", EVIL)
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == "*"
            actual = await http.post("/graphql", json={"query": "{ getVersion }"}, headers={"origin": EVIL})
            assert actual.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in actual.headers
    finally:
        await running.stop()


async def test_without_allowed_origins_there_is_no_cors(server: InProcessGateway) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        preflight = await _preflight(http, "/graphql", APP)
        assert preflight.status_code == 405
        assert _cors_headers(preflight) == {}


async def _ws(url: str, origin: str | None) -> None:
    connection = await websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], origin=Origin(origin) if origin else None
    )
    await connection.close()


async def test_websocket_origins_compare_scheme_host_and_port(cors_server: InProcessGateway) -> None:
    port = cors_server.port
    await _ws(cors_server.ws_url, None)  # not a browser
    await _ws(cors_server.ws_url, APP)  # allowed
    await _ws(cors_server.ws_url, f"http://127.0.0.1:{port}")  # the gateway's own origin
    refused = [
        f"http://127.0.0.1:{port + 1}",  # another port on the same host
        f"https://127.0.0.1:{port}",  # another scheme, same host and port
        "http://localhost:5174",
        "https://localhost:5173",
        EVIL,
        "null",
    ]
    for origin in refused:
        with pytest.raises(websockets.InvalidStatus) as caught:
            await _ws(cors_server.ws_url, origin)
        assert caught.value.response.status_code == 403, origin
    # an allowed origin goes on to use the socket as usual
    ws = await WSClient.connect(cors_server.ws_url, None, origin=Origin(APP))
    await ws.close()


def test_allowed_origins_are_checked_and_normalized() -> None:
    settings = load_settings({"IMQL_ALLOWED_ORIGINS": "HTTPS://App.Example.com:443, http://localhost:5173/, *"})
    assert settings.allowed_origins == ("https://app.example.com", "http://localhost:5173", "*")
    for bad in ("localhost:5173", "https://app.example.com/path", "ftp://x.example", "null"):
        with pytest.raises(ConfigError, match="IMQL_ALLOWED_ORIGINS"):
            load_settings({"IMQL_ALLOWED_ORIGINS": bad})


def test_the_allowed_headers_cover_what_browser_clients_send() -> None:
    for header in ("authorization", "content-type", "x-im-platform", "apollo-require-preflight"):
        assert header in ALLOWED_HEADERS
