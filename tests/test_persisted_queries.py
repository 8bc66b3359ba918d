"""Apollo's automatic persisted queries and the trusted-documents mode (gateway.web.documents), on
the wire as Apollo's persisted-queries link speaks it, over POST and GET, against real gateways."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio

from gateway.clock import ManualClock
from gateway.config import ConfigError, Settings, load_settings, load_trusted_documents
from gateway.errors import Code
from gateway.keys import Keys
from gateway.web.documents import MAX_PERSISTED_QUERY_BYTES, PERSISTED_QUERY_TTL_SECONDS
from tests.support.clients import SDK_EVENTS, HTTPClient, WSClient
from tests.support.servers import InProcessGateway, start_in_process

VERSION = "query Version { getVersion }"
TIME = "query Time { getServerTime }"
LOGIN = "mutation($u: String!, $s: String!, $p: String) { login(userID: $u, userSig: $s, platform: $p) { token } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.fixture
async def http(server: InProcessGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        yield client


def _only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert isinstance(error, dict)
    return error


async def test_apollo_links_round_trip_registers_then_hits(
    http: httpx.AsyncClient, redis_url: str, sdkappid: int
) -> None:
    digest = sha(VERSION)
    # 1. the hash alone: unknown, answered as Apollo's link expects (HTTP 200, PersistedQueryNotFound)
    first = await http.post("/graphql", json={"operationName": "Version", "extensions": persisted(digest)})
    assert first.status_code == 200
    error = _only_error(first)
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["reason"] == "PERSISTED_QUERY_NOT_FOUND"
    assert error["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
    assert error["extensions"]["codeName"] == "ERR_INVALID_PARAMETERS"
    # 2. the link retries with the document and its hash: it runs and is registered
    second = await http.post("/graphql", json={"query": VERSION, "extensions": persisted(digest)})
    assert second.json()["data"]["getVersion"].startswith("imql")
    # 3. from now on the hash alone runs it, over POST and GET
    third = await http.post("/graphql", json={"operationName": "Version", "extensions": persisted(digest)})
    assert third.json()["data"]["getVersion"].startswith("imql")
    get = await http.get("/graphql", params={"operationName": "Version", "extensions": json.dumps(persisted(digest))})
    assert get.status_code == 200
    assert get.json()["data"]["getVersion"].startswith("imql")
    store = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        key = Keys(sdkappid).persisted_query(digest)
        assert await store.get(key) == VERSION
        assert 0 < await store.ttl(key) <= PERSISTED_QUERY_TTL_SECONDS
    finally:
        await store.aclose()


async def test_a_get_registers_and_mutations_stay_off_get(http: httpx.AsyncClient) -> None:
    digest = sha(TIME)
    missing = await http.get("/graphql", params={"extensions": json.dumps(persisted(digest))})
    assert missing.status_code == 200
    assert _only_error(missing)["message"] == "PersistedQueryNotFound"
    registered = await http.get("/graphql", params={"query": TIME, "extensions": json.dumps(persisted(digest))})
    assert isinstance(registered.json()["data"]["getServerTime"], int)
    hit = await http.get("/graphql", params={"extensions": json.dumps(persisted(digest))})
    assert isinstance(hit.json()["data"]["getServerTime"], int)
    mutation = 'mutation { login(userID: "x", userSig: "y") { token } }'
    await http.post("/graphql", json={"query": mutation, "extensions": persisted(sha(mutation))})
    over_get = await http.get("/graphql", params={"extensions": json.dumps(persisted(sha(mutation)))})
    assert over_get.status_code in (400, 405)
    assert "data" not in over_get.json() or over_get.json()["data"] is None


async def test_registered_queries_are_shared_by_replicas(
    http: httpx.AsyncClient, settings: Settings, clock: ManualClock
) -> None:
    digest = sha(VERSION)
    await http.post("/graphql", json={"query": VERSION, "extensions": persisted(digest)})
    other = await start_in_process(settings, clock)
    try:
        async with httpx.AsyncClient(base_url=other.base_url) as replica:
            hit = await replica.post("/graphql", json={"extensions": persisted(digest)})
            assert hit.json()["data"]["getVersion"].startswith("imql")
    finally:
        await other.stop()


async def test_a_hash_that_does_not_match_its_query_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": VERSION, "extensions": persisted(sha(TIME))})
    assert response.status_code == 400
    error = _only_error(response)
    assert error["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
    assert "does not match" in error["message"]
    # nothing was registered under the wrong hash
    after = await http.post("/graphql", json={"extensions": persisted(sha(TIME))})
    assert _only_error(after)["message"] == "PersistedQueryNotFound"


@pytest.mark.parametrize(
    "extension",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-hex"}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
    ids=["version", "hex", "missing", "shape"],
)
async def test_malformed_persisted_queries_are_refused(http: httpx.AsyncClient, extension: dict[str, Any]) -> None:
    response = await http.post("/graphql", json={"extensions": extension})
    assert response.status_code == 400
    assert _only_error(response)["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS


async def test_oversized_documents_run_but_are_not_kept(http: httpx.AsyncClient) -> None:
    padding = " " * (MAX_PERSISTED_QUERY_BYTES + 1)
    big = "query Big { getVersion }" + padding
    response = await http.post("/graphql", json={"query": big, "extensions": persisted(sha(big))})
    assert response.json()["data"]["getVersion"].startswith("imql")
    again = await http.post("/graphql", json={"extensions": persisted(sha(big))})
    assert _only_error(again)["message"] == "PersistedQueryNotFound"


async def test_plain_queries_touch_no_persisted_query(http: httpx.AsyncClient, redis_url: str, sdkappid: int) -> None:
    response = await http.post("/graphql", json={"query": VERSION, "extensions": {"other": 1}})
    assert response.json()["data"]["getVersion"].startswith("imql")
    store = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await store.exists(Keys(sdkappid).persisted_query(sha(VERSION))) == 0
    finally:
        await store.aclose()


# ---- trusted documents --------------------------------------------------------------------------


@pytest.fixture
def apollo_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "persisted-query-manifest.json"
    operations = [
        {"id": sha(VERSION), "body": VERSION, "name": "Version", "type": "query"},
        {"id": "custom-id-1", "body": TIME, "name": "Time", "type": "query"},
        {"id": sha(LOGIN), "body": LOGIN, "name": None, "type": "mutation"},
        {"id": sha(SDK_EVENTS), "body": SDK_EVENTS, "name": None, "type": "subscription"},
    ]
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}))
    return path


@pytest.fixture
async def trusted_server(
    settings: Settings, clock: ManualClock, apollo_manifest: Path
) -> AsyncIterator[InProcessGateway]:
    documents = load_trusted_documents(apollo_manifest)
    running = await start_in_process(dataclasses.replace(settings, trusted_documents=documents), clock)
    yield running
    await running.stop()


@pytest.fixture
async def trusted(trusted_server: InProcessGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=trusted_server.base_url) as client:
        yield client


async def test_trusted_documents_run_by_id_or_by_exact_text(trusted: httpx.AsyncClient) -> None:
    by_hash = await trusted.post("/graphql", json={"extensions": persisted(sha(VERSION))})
    assert by_hash.json()["data"]["getVersion"].startswith("imql")
    by_text = await trusted.post("/graphql", json={"query": TIME})
    assert isinstance(by_text.json()["data"]["getServerTime"], int)
    by_document_id = await trusted.post("/graphql", json={"documentId": "custom-id-1"})
    assert isinstance(by_document_id.json()["data"]["getServerTime"], int)
    by_prefixed_id = await trusted.post("/graphql", json={"documentId": f"sha256:{sha(VERSION)}"})
    assert by_prefixed_id.json()["data"]["getVersion"].startswith("imql")
    over_get = await trusted.get("/graphql", params={"documentId": "custom-id-1"})
    assert isinstance(over_get.json()["data"]["getServerTime"], int)
    get_by_hash = await trusted.get("/graphql", params={"extensions": json.dumps(persisted(sha(VERSION)))})
    assert get_by_hash.json()["data"]["getVersion"].startswith("imql")


async def test_anything_else_is_refused_in_trusted_mode(trusted: httpx.AsyncClient) -> None:
    other = "query Other { getVersion getServerTime }"
    attempts = [
        trusted.post("/graphql", json={"query": other}),
        trusted.post("/graphql", json={"query": other, "extensions": persisted(sha(other))}),  # no registration
        trusted.post("/graphql", json={"extensions": persisted(sha(other))}),
        trusted.post("/graphql", json={"documentId": "nope"}),
        trusted.get("/graphql", params={"query": other}),
        trusted.post("/graphql", json={"query": VERSION + " "}),  # not the exact text
    ]
    for attempt in attempts:
        response = await attempt
        error = _only_error(response)
        assert error["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
        assert "IMQL_TRUSTED_DOCUMENTS" in error["extensions"]["desc"]
        # refused outright: Apollo's link must not retry with the full text
        assert error["message"] != "PersistedQueryNotFound"
    # still nothing registered: the hash remains unknown
    again = await trusted.post("/graphql", json={"extensions": persisted(sha(other))})
    assert "IMQL_TRUSTED_DOCUMENTS" in _only_error(again)["extensions"]["desc"]


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_websocket_subscriptions_are_held_to_the_trusted_documents(
    trusted_server: InProcessGateway, clock: ManualClock, protocol: str
) -> None:
    settings = trusted_server.settings
    client = HTTPClient(trusted_server.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    try:
        token = await client.login("trusting")  # LOGIN is listed: the test client's exact text
    finally:
        await client.aclose()
    ws = await WSClient.connect(trusted_server.ws_url, token, protocol)
    try:
        listed = await ws.subscribe(SDK_EVENTS, {"since": None})
        assert (await ws.next_event(listed))["type"] == "onConnecting"
        unlisted = await ws.subscribe("subscription { sdkListener { __typename } }")
        refused = await ws.next(unlisted)
        assert refused["type"] == "error"
        payload = refused["payload"]
        error = payload[0] if isinstance(payload, list) else payload
        assert error["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS
        assert "IMQL_TRUSTED_DOCUMENTS" in error["extensions"]["desc"]
    finally:
        await ws.close()


def test_manifest_formats_and_their_errors(tmp_path: Path) -> None:
    plain = tmp_path / "persisted-documents.json"
    plain.write_text(json.dumps({sha(VERSION): VERSION}))
    assert load_trusted_documents(plain) == ((sha(VERSION), VERSION),)
    settings = load_settings({"IMQL_TRUSTED_DOCUMENTS": str(plain)})
    assert settings.trusted_documents == ((sha(VERSION), VERSION),)
    bad = {
        "missing.json": None,
        "garbage.json": "{not json",
        "list.json": json.dumps([VERSION]),
        "empty.json": json.dumps({}),
        "values.json": json.dumps({"x": 1}),
        "apollo.json": json.dumps({"format": "apollo-persisted-query-manifest", "operations": {"id": "x"}}),
        "format.json": json.dumps({"format": "something-else", "operations": []}),
    }
    for name, content in bad.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(ConfigError, match="IMQL_TRUSTED_DOCUMENTS"):
            load_settings({"IMQL_TRUSTED_DOCUMENTS": str(path)})
