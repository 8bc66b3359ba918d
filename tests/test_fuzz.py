"""Fuzzing (issue 19): queries and mutations generated from schema/schema.graphql by
hypothesis-graphql, sent with a valid token to a real `imql serve`; plus a corpus of hostile HTTP
bodies, multipart requests and WebSocket frames (both subprotocols).

Every answer must be a success or GraphQL errors each with an integer `extensions.code`: never a
5xx, never 7012 (an unexpected fault, masked), never a stack trace, and nothing may change when the
answer is an error: the app's whole Redis keyspace (every key's DUMP) is compared before and after
each request whose every root field failed. The gateway's log must hold no traceback at the end.

Bounded by time: IMQL_FUZZ_PROFILE picks `ci` (the default: about 60 s for the generated documents)
or `long` (10 minutes); IMQL_FUZZ_SECONDS overrides either. Hypothesis runs in batches until the
time is spent; each batch is a fresh search (a failure is shrunk and reported as usual)."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, nodes, queries
from websockets.sync.client import connect as ws_connect

from gateway.keys import Keys
from gateway.usersig import mint
from tests.conftest import SECRET
from tests.support.servers import GatewayProcess, spawn_gateway

pytestmark = pytest.mark.e2e

settings.register_profile(
    "imql-fuzz-ci",
    max_examples=40,  # per batch; batches repeat until the time budget is spent
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.target, Phase.shrink, Phase.explain],
)
settings.register_profile("imql-fuzz-long", settings.get_profile("imql-fuzz-ci"), max_examples=200)
PROFILE = os.environ.get("IMQL_FUZZ_PROFILE", "ci")
assert PROFILE in ("ci", "long"), f"IMQL_FUZZ_PROFILE={PROFILE}: ci or long"
BUDGET = float(os.environ.get("IMQL_FUZZ_SECONDS") or (30 if PROFILE == "ci" else 600))
FUZZ_SETTINGS = settings.get_profile(f"imql-fuzz-{PROFILE}")

# these end the fuzzing session or touch the login throttle: exercised elsewhere, not here
NOT_FUZZED = {"login", "logout", "unInitSDK"}
SDL = (Path(__file__).parent.parent / "schema" / "schema.graphql").read_text()
CUSTOM_SCALARS = {
    "Long": st.integers(min_value=-(2**63), max_value=2**63 - 1).map(nodes.Int),
    "Upload": st.sampled_from(["", "file", "0"]).map(nodes.String),  # inline: only a multipart part is an Upload
}
INTERNAL_FAULT = 7012


def _mutation_fields() -> list[str]:
    from graphql import build_schema

    mutation_type = build_schema(SDL).mutation_type
    assert mutation_type is not None
    return sorted(set(mutation_type.fields) - NOT_FUZZED)


@dataclass
class Target:
    """A running gateway, the fuzzing user's token and real things to aim at."""

    process: GatewayProcess
    token: str
    keys: Keys
    store: redis.Redis
    http: httpx.Client
    failures: list[str] = field(default_factory=list)

    def snapshot(self) -> dict[bytes, bytes | None]:
        keys: list[bytes] = []
        for pattern in self.keys.scan_patterns():
            keys.extend(self.store.scan_iter(match=pattern, count=1000))
        pipe = self.store.pipeline(transaction=False)
        for key in keys:
            pipe.dump(key)
        return dict(zip(keys, pipe.execute(), strict=True))

    def post(self, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        if body is not None:
            kwargs["json"] = body
        return self.http.post(f"{self.process.base_url}/graphql", headers=headers, **kwargs)


def _login(http: httpx.Client, base_url: str, sdkappid: int, user: str) -> str:
    sig = mint(sdkappid, SECRET, user, now=int(time.time()), expire=86400)
    doc = "mutation($u: String!, $s: String!) { login(userID: $u, userSig: $s) { token } }"
    reply = http.post(f"{base_url}/graphql", json={"query": doc, "variables": {"u": user, "s": sig}}).json()
    return str(reply["data"]["login"]["token"])


def _seed(target: Target, sdkappid: int) -> None:
    """Give the fuzzing user state: a peer, a conversation with messages, a group, a friend."""
    other = _login(target.http, target.process.base_url, sdkappid, "peer")
    for n in range(3):
        created = target.post({"query": 'mutation { createTextMessage(text: "m%d") { id } }' % n}).json()
        cid = created["data"]["createTextMessage"]["id"]
        sent = target.post({"query": 'mutation { sendMessage(id: "%s", receiver: "peer") { msgID } }' % cid}).json()
        assert not sent.get("errors"), sent
    group = target.post(
        {
            "query": 'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_PUBLIC, groupName: "g", memberListMap: [{userID: "peer"}]) }'
        }
    ).json()
    assert not group.get("errors"), group
    headers = {"Authorization": f"Bearer {other}"}
    target.http.post(
        f"{target.process.base_url}/graphql",
        json={"query": 'mutation { addFriend(userID: "fuzzer") { resultCode } }'},
        headers=headers,
    )


@pytest.fixture
def target(sdkappid: int, redis_url: str, tmp_path: Any) -> Iterator[Target]:
    env = {
        "IMQL_REDIS_URL": redis_url,
        "IMQL_SDKAPPID": str(sdkappid),
        "IMQL_SECRET_KEY": SECRET,
        "IMQL_RATE_LIMIT": "0",
        "IMQL_DATA_DIR": str(tmp_path),
        "IMQL_REQUEST_TIMEOUT": "10",
    }
    process = asyncio.run(spawn_gateway(env))
    http = httpx.Client(timeout=30)
    store = redis.Redis.from_url(redis_url)
    try:
        token = _login(http, process.base_url, sdkappid, "fuzzer")
        running = Target(process, token, Keys(sdkappid), store, http)
        _seed(running, sdkappid)
        yield running
    finally:
        http.close()
        store.close()
        process.terminate()
    assert "Traceback" not in process.output, _crashes(process.output)


def _crashes(log: str) -> str:
    """Each traceback in the gateway's log, by its last frame and exception line."""
    found: list[str] = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        exception = next((line for line in lines if not line.startswith(" ")), "?")
        frames = [line.strip() for line in lines if line.strip().startswith("File ")]
        found.append(f"{exception}  at {frames[-1] if frames else '?'}")
    return "\n".join(sorted(set(found)))


def _root_keys(document: str) -> list[str] | None:
    """The response keys of the document's root fields (None when it does not parse)."""
    from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse

    try:
        parsed = parse(document)
    except GraphQLError:
        return None
    out: list[str] = []
    for definition in parsed.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if not isinstance(selection, FieldNode):
                    return None  # a fragment at the root: not worth resolving here
                out.append((selection.alias or selection.name).value)
    return out


def judge(response: httpx.Response, what: str, document: str = "") -> tuple[bool, list[int]]:
    """Asserts the answer's shape; gives (every root field failed, the error codes)."""
    assert response.status_code < 500, f"{what}: HTTP {response.status_code}: {response.text[:500]}"
    assert "Traceback" not in response.text, f"{what}: {response.text[:2000]}"
    assert response.headers.get("content-type", "").startswith("application/json"), f"{what}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body, dict), f"{what}: {body!r}"
    errors = body.get("errors") or []
    codes = []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, int), f"{what}: an error without an integer code: {error}"
        assert not isinstance(code, bool), f"{what}: an error without an integer code: {error}"
        assert code != INTERNAL_FAULT, f"{what}: an unexpected fault (7012): {error}"
        codes.append(code)
    if not errors:
        return False, []
    if any(not e.get("path") for e in errors):
        return True, codes  # refused as a whole: parse, validation, authentication, limits
    # else every root field must have failed itself: a null `data` may only be a sibling's
    # failure propagated (non-null root fields), after earlier mutations took effect
    failed_roots = {str(e["path"][0]) for e in errors}
    roots = _root_keys(document)
    return roots is not None and all(key in failed_roots for key in roots), codes


def fuzz(target: Target, strategy: st.SearchStrategy[str], seconds: float) -> int:
    """Runs `strategy`'s documents against the target for `seconds`; returns how many."""
    sent = 0

    @FUZZ_SETTINGS
    @given(document=strategy)
    def one(document: str) -> None:
        nonlocal sent
        before = target.snapshot()
        response = target.post({"query": document})
        sent += 1
        all_failed, codes = judge(response, document, document)
        if all_failed:
            after = target.snapshot()
            changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            assert not changed, f"refused ({codes}) yet changed {changed[:10]}: {document}"

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        one()
    return sent


@pytest.mark.timeout(0)  # bounded by IMQL_FUZZ_SECONDS instead
def test_generated_queries_and_mutations(target: Target) -> None:
    mutation_fields = _mutation_fields()
    share = BUDGET / 4
    positive_queries = queries(SDL, custom_scalars=CUSTOM_SCALARS)
    positive_mutations = mutations(SDL, fields=mutation_fields, custom_scalars=CUSTOM_SCALARS)
    negative = from_schema(SDL, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE)
    counts = {
        "queries": fuzz(target, positive_queries, share),
        "mutations": fuzz(target, positive_mutations, share * 2),
        "invalid documents": fuzz(target, negative.filter(lambda d: not _touches(d, NOT_FUZZED)), share),
    }
    assert all(counts.values()), counts


def _touches(document: str, names: set[str]) -> bool:
    return any(f"{name}(" in document or f"{name} " in document or f"{name}\n" in document for name in names)


# --- the corpus: hostile bodies, multipart requests and WebSocket frames ------------------------

BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "application/json"),
    ("whitespace", b"   ", "application/json"),
    ("truncated", b'{"query": "{ getVersion', "application/json"),
    ("query-number", b'{"query": 5}', "application/json"),
    ("query-list", b'{"query": ["{ getVersion }"]}', "application/json"),
    ("query-null", b'{"query": null}', "application/json"),
    ("variables-list", b'{"query": "{ getVersion }", "variables": [1]}', "application/json"),
    ("variables-string", b'{"query": "{ getVersion }", "variables": "x"}', "application/json"),
    ("operation-name-number", b'{"query": "{ getVersion }", "operationName": 5}', "application/json"),
    ("operation-name-unknown", b'{"query": "{ getVersion }", "operationName": "Nope"}', "application/json"),
    ("extensions-list", b'{"query": "{ getVersion }", "extensions": [1]}', "application/json"),
    ("batch", b'[{"query": "{ getVersion }"}, {"query": "{ getVersion }"}]', "application/json"),
    ("nul-bytes", b'{"query": "{ getVersion \\u0000 }"}', "application/json"),
    ("lone-surrogate", b'{"query": "{ getUsersInfo(userIDList: [\\"\\ud800\\"]) { userID } }"}', "application/json"),
    ("huge-number", b'{"query": "{ getVersion }", "variables": {"a": 1e999999}}', "application/json"),
    (
        "big-int-variable",
        b'{"query": "query($n: Int) { getVersion }", "variables": {"n": 99999999999999999999}}',
        "application/json",
    ),
    ("duplicate-keys", b'{"query": "{ getVersion }", "query": "{ getLoginUser }"}', "application/json"),
    ("bom", b'\xef\xbb\xbf{"query": "{ getVersion }"}', "application/json"),
    ("utf16", '{"query": "{ getVersion }"}'.encode("utf-16"), "application/json"),
    ("form-urlencoded", b"query=%7B+getVersion+%7D", "application/x-www-form-urlencoded"),
    ("text-plain", b"{ getVersion }", "text/plain"),
    ("graphql-type", b"{ getVersion }", "application/graphql"),
    ("xml", b"<query/>", "application/xml"),
    ("no-type", b'{"query": "{ getVersion }"}', ""),
    ("multipart-no-boundary", b"--x\r\n", "multipart/form-data"),
    ("multipart-garbage", b"--b\r\nContent-Disposition: form-data\r\n\r\nzz", "multipart/form-data; boundary=b"),
    ("deep-selection", ("{ getLoginUser " + "{ a " * 200 + "}" * 201).encode(), "application/graphql"),
    (
        "many-aliases",
        json.dumps({"query": "{ " + " ".join(f"a{n}: getVersion" for n in range(500)) + " }"}).encode(),
        "application/json",
    ),
    (
        "fragment-cycle",
        json.dumps({"query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}).encode(),
        "application/json",
    ),
    (
        "many-directives",
        json.dumps({"query": "{ getVersion " + "@skip(if: false) " * 300 + "}"}).encode(),
        "application/json",
    ),
    (
        "two-operations-no-name",
        json.dumps({"query": 'query A { getVersion } mutation B { setSelfInfo(nickName: "B") { userID } }'}).encode(),
        "application/json",
    ),
    (
        "subscription-over-http",
        json.dumps({"query": "subscription { sdkListener { __typename } }"}).encode(),
        "application/json",
    ),
    (
        "variable-type-mismatch",
        json.dumps(
            {"query": "query($u: [String!]!) { getUsersInfo(userIDList: $u) { userID } }", "variables": {"u": {"a": 1}}}
        ).encode(),
        "application/json",
    ),
    (
        "variable-undeclared",
        json.dumps({"query": "{ getUsersInfo(userIDList: $u) { userID } }", "variables": {"u": ["x"]}}).encode(),
        "application/json",
    ),
    (
        "mutation-over-get-shaped",
        json.dumps(
            {
                "query": "mutation { setSelfInfo(nickName: 5) { userID } }",
                "variables": None,
                "operationName": None,
                "extra": 1,
            }
        ).encode(),
        "text/plain",
    ),
]

MULTIPART: list[tuple[str, dict[str, str], dict[str, tuple[str, bytes, str]]]] = [
    ("no-operations", {"map": "{}"}, {"0": ("a.png", b"x", "image/png")}),
    ("no-map", {"operations": json.dumps({"query": "{ getVersion }"})}, {}),
    (
        "map-names-missing-part",
        {
            "operations": json.dumps(
                {"query": "mutation($f: Upload) { createImageMessage(file: $f) { id } }", "variables": {"f": None}}
            ),
            "map": json.dumps({"9": ["variables.f"]}),
        },
        {},
    ),
    (
        "map-to-nowhere",
        {
            "operations": json.dumps({"query": "{ getVersion }", "variables": {}}),
            "map": json.dumps({"0": ["variables.nope.deeper"]}),
        },
        {"0": ("a.png", b"x", "image/png")},
    ),
    (
        "map-into-query",
        {"operations": json.dumps({"query": "{ getVersion }"}), "map": json.dumps({"0": ["query"]})},
        {"0": ("a.png", b"x", "image/png")},
    ),
    (
        "map-huge-index",
        {
            "operations": json.dumps({"query": "{ getVersion }", "variables": {"f": []}}),
            "map": json.dumps({"0": ["variables.f.99999999"]}),
        },
        {"0": ("a.png", b"x", "image/png")},
    ),
    (
        "map-negative-index",
        {
            "operations": json.dumps({"query": "{ getVersion }", "variables": {"f": [None]}}),
            "map": json.dumps({"0": ["variables.f.-1"]}),
        },
        {"0": ("a.png", b"x", "image/png")},
    ),
    (
        "not-an-image",
        {
            "operations": json.dumps(
                {"query": "mutation($f: Upload) { createImageMessage(file: $f) { id } }", "variables": {"f": None}}
            ),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        {"0": ("a.png", b"not a png at all", "image/png")},
    ),
    (
        "truncated-png",
        {
            "operations": json.dumps(
                {"query": "mutation($f: Upload) { createImageMessage(file: $f) { id } }", "variables": {"f": None}}
            ),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        {"0": ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image/png")},
    ),
    (
        "upload-to-string-arg",
        {
            "operations": json.dumps(
                {"query": "mutation($t: String) { createTextMessage(text: $t) { id } }", "variables": {"t": None}}
            ),
            "map": json.dumps({"0": ["variables.t"]}),
        },
        {"0": ("a.txt", b"hi", "text/plain")},
    ),
    (
        "file-twice-in-map",
        {
            "operations": json.dumps(
                {
                    "query": "mutation($f: Upload, $g: Upload) { createVideoMessage(file: $f, snapshot: $g, duration: 1) { id } }",
                    "variables": {"f": None, "g": None},
                }
            ),
            "map": json.dumps({"0": ["variables.f", "variables.g"]}),
        },
        {"0": ("a.mp4", b"\x00\x00\x00\x18ftyp", "video/mp4")},
    ),
]

WS_FRAMES: list[tuple[str, list[str | bytes]]] = [
    ("not-json", ["{nope"]),
    ("binary", [b"\x00\x01\x02"]),
    ("json-list", ["[1, 2]"]),
    ("json-null", ["null"]),
    ("no-type", ['{"id": "1"}']),
    ("unknown-type", ['{"type": "bogus"}']),
    ("type-number", ['{"type": 5}']),
    (
        "subscribe-before-init",
        ['{"id": "1", "type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } }"}}'],
    ),
    (
        "start-before-init",
        ['{"id": "1", "type": "start", "payload": {"query": "subscription { sdkListener { __typename } }"}}'],
    ),
    ("init-payload-string", ['{"type": "connection_init", "payload": "x"}']),
    ("init-payload-list", ['{"type": "connection_init", "payload": [1]}']),
    ("init-bad-token", ['{"type": "connection_init", "payload": {"authorization": "Bearer forged.1.x"}}']),
    ("init-token-number", ['{"type": "connection_init", "payload": {"authorization": 5}}']),
    ("huge-frame", ['{"type": "connection_init", "payload": {"x": "' + "a" * 2_000_000 + '"}}']),
    ("deep-frame", ["[" * 100_000 + "]" * 100_000]),
]

# frames sent after a good connection_init
WS_AFTER_INIT: list[tuple[str, list[str | bytes]]] = [
    ("second-init", ['{"type": "connection_init", "payload": {}}']),
    ("subscribe-no-id", ['{"type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } }"}}']),
    (
        "subscribe-id-number",
        ['{"id": 1, "type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } }"}}'],
    ),
    ("subscribe-no-payload", ['{"id": "1", "type": "subscribe"}']),
    ("subscribe-payload-string", ['{"id": "1", "type": "subscribe", "payload": "x"}']),
    ("subscribe-query-number", ['{"id": "1", "type": "subscribe", "payload": {"query": 5}}']),
    ("subscribe-invalid-document", ['{"id": "1", "type": "subscribe", "payload": {"query": "subscription { nope }"}}']),
    ("subscribe-syntax-error", ['{"id": "1", "type": "subscribe", "payload": {"query": "subscription {"}}']),
    (
        "subscribe-two-fields",
        [
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } groupListener { __typename } }"}}'
        ],
    ),
    (
        "subscribe-bad-cursor",
        [
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription($s: String) { sdkListener(since: $s) { __typename } }", "variables": {"s": "!!!"}}}'
        ],
    ),
    (
        "subscribe-cursor-json",
        [
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription($s: String) { sdkListener(since: $s) { __typename } }", "variables": {"s": "eyJ2IjoxfQ"}}}'
        ],
    ),
    (
        "subscribe-variables-list",
        [
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } }", "variables": [1]}}'
        ],
    ),
    (
        "mutation-over-ws",
        ['{"id": "1", "type": "subscribe", "payload": {"query": "mutation { setSelfInfo(nickName: 5) { userID } }"}}'],
    ),
    (
        "query-over-ws",
        ['{"id": "1", "type": "subscribe", "payload": {"query": "{ getUsersInfo(userIDList: [5]) { userID } }"}}'],
    ),
    (
        "duplicate-id",
        ['{"id": "1", "type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } }"}}'] * 2,
    ),
    ("complete-unknown-id", ['{"id": "zz", "type": "complete"}']),
    ("pong-unasked", ['{"type": "pong"}']),
    ("ping-payload-list", ['{"type": "ping", "payload": [1]}']),
    (
        "huge-id",
        [
            '{"id": "'
            + "i" * 100_000
            + '", "type": "subscribe", "payload": {"query": "subscription { sdkListener { __typename } }"}}'
        ],
    ),
    ("binary-after-init", [b"\xff\xfe"]),
]

# close codes that mean "refused by the protocol": never 1011 (internal error)
PROTOCOL_CLOSES = {1000, 1002, 1003, 1007, 1008, 1009, 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4500}


def _ws_session(target: Target, protocol: str, frames: list[str | bytes], init: bool) -> list[Any]:
    """Sends the frames; returns every message the server sent back and how it closed."""
    from websockets.exceptions import ConnectionClosed

    seen: list[Any] = []
    url = f"ws://127.0.0.1:{target.process.port}/graphql"
    with ws_connect(url, subprotocols=[protocol], max_size=None, open_timeout=10) as ws:  # type: ignore[list-item]
        if init:
            ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {target.token}"}}))
            ack = json.loads(ws.recv(10))
            assert ack["type"] == "connection_ack", ack
        try:
            for frame in frames:
                ws.send(frame)
            deadline = time.monotonic() + 0.4
            while time.monotonic() < deadline:
                try:
                    raw = ws.recv(max(deadline - time.monotonic(), 0.01))
                except TimeoutError:
                    break
                seen.append(json.loads(raw))
        except ConnectionClosed:
            pass
        close = ws.close_code
    seen.append({"closed": close})
    return seen


def _judge_ws(what: str, seen: list[Any]) -> None:
    text = json.dumps(seen)
    assert "Traceback" not in text, f"{what}: {text[:2000]}"
    for message in seen:
        if "closed" in message:
            code = message["closed"]
            assert code is None or code in PROTOCOL_CLOSES, f"{what}: closed with {code}: {text[:1000]}"
            continue
        if message.get("type") in ("error", "next", "data"):
            payload = message.get("payload")
            errors = payload if isinstance(payload, list) else (payload or {}).get("errors") or []
            for error in errors:
                code = (error.get("extensions") or {}).get("code")
                assert isinstance(code, int), f"{what}: an error without an integer code: {error}"
                assert code != INTERNAL_FAULT, f"{what}: an unexpected fault: {error}"


def _still_serves(target: Target) -> None:
    reply = target.post({"query": "{ getLoginUser }"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"data": {"getLoginUser": "fuzzer"}}, reply.text


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_the_hostile_corpus(target: Target, protocol: str) -> None:
    before = target.snapshot()
    cases: list[tuple[str, Callable[[], Any]]] = []
    if protocol == "graphql-transport-ws":  # the HTTP part once
        for name, body, content_type in BODIES:
            headers = {"content-type": content_type} if content_type else {}
            cases.append((f"body {name}", functools.partial(target.post, content=body, headers=headers)))
        for name, data, files in MULTIPART:
            cases.append(
                (
                    f"multipart {name}",
                    functools.partial(target.post, data=data, files=files or {"x": ("x", b"", "text/plain")}),
                )
            )
        cases.append(
            (
                "GET mutation",
                lambda: target.http.get(
                    f"{target.process.base_url}/graphql",
                    params={"query": 'mutation { setSelfInfo(nickName: "via GET") { userID } }'},
                    headers={"Authorization": f"Bearer {target.token}", "accept": "application/json"},
                ),
            )
        )
        cases.append(
            (
                "GET variables not json",
                lambda: target.http.get(
                    f"{target.process.base_url}/graphql",
                    params={"query": "{ getVersion }", "variables": "{x"},
                    headers={"accept": "application/json"},
                ),
            )
        )
        cases.append(
            ("PUT", lambda: target.http.put(f"{target.process.base_url}/graphql", json={"query": "{ getVersion }"}))
        )
    for name, call in cases:
        response = call()
        if response.status_code in (405, 415):  # a method or media type the endpoint does not take
            assert response.status_code < 500
            continue
        judge(response, name)
    for name, frames in WS_FRAMES:
        _judge_ws(f"{protocol} {name}", _ws_session(target, protocol, frames, init=False))
    for name, frames in WS_AFTER_INIT:
        _judge_ws(f"{protocol} {name}", _ws_session(target, protocol, frames, init=True))
    _still_serves(target)
    after = target.snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    # the corpus's well-formed subscriptions (a duplicate id's first, a huge id) do open: each
    # writes its resume base, which is that success's effect, not a refusal's
    changed = [k for k in changed if b":resume-base:" not in k]
    assert not changed, f"the corpus changed {changed[:20]}"
