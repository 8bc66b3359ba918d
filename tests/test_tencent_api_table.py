"""The Tencent backend's API table: docs/tencent_apis.json classifies every API of the schema, and
docs/tencent.md shows exactly that classification.

docs/tencent_apis.json says, for each root Query/Mutation field of schema/schema.graphql, how
`IMQL_BACKEND=tencent` serves it ("rest", "rest+gateway", "gateway" or "unavailable", with the REST
endpoints and the difference from the native SDK), and for each listener callback where its events
come from (webhook, reconciliation, gateway). The 145 catalogue APIs are the rows marked
`"catalog": true` (copied from the API catalogue so that this test needs nothing outside the
repository); imql-only root fields are rows marked `"catalog": false` with a note saying why.

The tables in docs/tencent.md between `<!-- tencent-table: NAME -->` and `<!-- /tencent-table -->`
are rendered from the JSON. After editing the JSON, regenerate them with

    .venv/bin/python -m tests.test_tencent_api_table --write
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, GraphQLUnionType, build_schema, get_named_type

from schema.sdl import SDL_PATH

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "docs" / "tencent_apis.json"
DOC_PATH = ROOT / "docs" / "tencent.md"

# The error desc of a refused API (code 7013, ERR_SDK_INTERFACE_NOT_SUPPORT) starts with this.
UNAVAILABLE_DESC_PREFIX = "not available on the Tencent backend: "

HOW_LABEL = {
    "rest": "REST",
    "rest+gateway": "REST + gateway state",
    "gateway": "gateway only",
    "unavailable": "not available",
}
SOURCE_LABEL = {"webhook": "webhook", "reconciliation": "reconciliation", "gateway": "gateway"}

# APIs per manager in the SDK catalogue (../shared/api/catalog.json, listener add/remove excluded).
CATALOGUE_COUNTS = {
    "V2TIMManager": 18,
    "V2TIMMessageManager": 43,
    "V2TIMGroupManager": 32,
    "V2TIMSignalingManager": 7,
    "V2TIMConversationManager": 21,
    "V2TIMFriendshipManager": 21,
    "V2TIMOfflinePushManager": 3,
}
CALLBACK_COUNT = 61

API_KEYS_REQUIRED = {"manager", "kind", "catalog", "how", "endpoints", "difference"}
API_KEYS_OPTIONAL = {"mapping", "imql_only", "reason", "refused_when"}
ENDPOINT = re.compile(r"^[A-Za-z0-9_]+/[A-Za-z0-9_]+$")
WEBHOOK = re.compile(r"^(C2C|Group|Sns|Profile|State)\.[A-Za-z0-9]+$")
BLOCK = re.compile(r"<!-- tencent-table: (\S+) -->\n(.*?)<!-- /tencent-table -->", re.DOTALL)


def load_data() -> dict[str, Any]:
    data = json.loads(JSON_PATH.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def load_schema() -> GraphQLSchema:
    return build_schema(SDL_PATH.read_text("utf-8"))


def root_fields(schema: GraphQLSchema) -> dict[str, str]:
    """Root Query and Mutation field names → "query" / "mutation"."""
    fields: dict[str, str] = {}
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        fields.update(dict.fromkeys(root.fields, kind))
    return fields


def listener_callbacks(schema: GraphQLSchema) -> dict[str, set[str]]:
    """Subscription field → its callbacks (event type `FooEvent` is callback `onFoo`)."""
    assert schema.subscription_type is not None
    out: dict[str, set[str]] = {}
    for name, field in schema.subscription_type.fields.items():
        event = get_named_type(field.type)
        members = event.types if isinstance(event, GraphQLUnionType) else [event]
        out[name] = {"on" + t.name.removesuffix("Event") for t in members}
    return out


# --- rendering (docs/tencent.md's tables are exactly this) ------------------------------------------


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def code_list(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def render_how(entry: dict[str, Any]) -> str:
    label = HOW_LABEL[entry["how"]]
    return f"{label}: {code_list(entry['endpoints'])}" if entry["endpoints"] else label


def render_difference(entry: dict[str, Any]) -> str:
    parts: list[str] = []
    if entry["how"] == "unavailable":
        parts.append(f'Refused: "{UNAVAILABLE_DESC_PREFIX}{entry["reason"]}".')
    if entry["difference"]:
        parts.append(entry["difference"])
    for refusal in entry.get("refused_when", []):
        parts.append(f'Refused when {refusal["when"]}: "{UNAVAILABLE_DESC_PREFIX}{refusal["reason"]}".')
    return " ".join(parts)


def render_api_table(data: dict[str, Any], manager: str) -> str:
    lines = ["| API | how | difference from the native SDK |", "|---|---|---|"]
    for name, entry in data["apis"].items():
        if entry["manager"] == manager:
            api = f"`{name}`" + ("" if entry["catalog"] else " (imql only)")
            lines.append(f"| {api} | {cell(render_how(entry))} | {cell(render_difference(entry))} |")
    return "\n".join(lines) + "\n"


def render_source(entry: dict[str, Any]) -> str:
    if not entry["from"]:
        return "none"
    parts = []
    for source in entry["from"]:
        if source == "webhook":
            parts.append(f"webhook {code_list(entry['webhooks'])}")
        else:
            parts.append(SOURCE_LABEL[source])
    return "; ".join(parts)


def render_listener_table(data: dict[str, Any], listener: str) -> str:
    lines = ["| callback | from | difference from the native SDK |", "|---|---|---|"]
    for name, entry in data["listeners"][listener].items():
        lines.append(f"| `{name}` | {cell(render_source(entry))} | {cell(entry['difference'])} |")
    return "\n".join(lines) + "\n"


def render_counts(data: dict[str, Any]) -> str:
    lines = ["| manager | " + " | ".join(HOW_LABEL.values()) + " | APIs |", "|---|---:|---:|---:|---:|---:|"]
    managers = list(CATALOGUE_COUNTS)
    catalogued = [e for e in data["apis"].values() if e["catalog"]]
    for manager in [*managers, "all"]:
        rows = [e for e in catalogued if manager in ("all", e["manager"])]
        counts = Counter(e["how"] for e in rows)
        label = "**all**" if manager == "all" else manager
        lines.append(f"| {label} | " + " | ".join(str(counts[h]) for h in HOW_LABEL) + f" | {len(rows)} |")
    return "\n".join(lines) + "\n"


def render_blocks(data: dict[str, Any]) -> dict[str, str]:
    blocks = {"counts": render_counts(data)}
    for manager in CATALOGUE_COUNTS:
        blocks[manager] = render_api_table(data, manager)
    for listener in data["listeners"]:
        blocks[listener] = render_listener_table(data, listener)
    return blocks


def rewrite_doc(doc: str, blocks: dict[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"<!-- tencent-table: {name} -->\n{blocks.get(name, m.group(2))}<!-- /tencent-table -->"

    return BLOCK.sub(replace, doc)


# --- checks (pure, so that the tests below can feed them broken data) --------------------------------


def api_problems(data: dict[str, Any], schema: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    fields = root_fields(schema)
    apis: dict[str, dict[str, Any]] = data["apis"]
    for name in sorted(set(fields) - set(apis)):
        problems.append(f"{name}: a root {fields[name]} field with no row in {JSON_PATH.name}")
    for name, entry in apis.items():
        where = f"{name}:"
        if name not in fields:
            problems.append(f"{where} a row for an API the schema does not have")
        elif entry.get("kind") != fields[name]:
            problems.append(f"{where} kind {entry.get('kind')!r} but the schema has it as a {fields[name]}")
        keys = set(entry)
        if API_KEYS_REQUIRED - keys:
            problems.append(f"{where} missing {sorted(API_KEYS_REQUIRED - keys)}")
            continue
        if keys - API_KEYS_REQUIRED - API_KEYS_OPTIONAL:
            problems.append(f"{where} unknown keys {sorted(keys - API_KEYS_REQUIRED - API_KEYS_OPTIONAL)}")
        how = entry["how"]
        if how not in HOW_LABEL:
            problems.append(f"{where} how {how!r} is not one of {sorted(HOW_LABEL)}")
            continue
        if entry["manager"] not in CATALOGUE_COUNTS:
            problems.append(f"{where} unknown manager {entry['manager']!r}")
        endpoints = entry["endpoints"]
        if not isinstance(endpoints, list) or not all(isinstance(e, str) and ENDPOINT.match(e) for e in endpoints):
            problems.append(f"{where} endpoints must be a list of 'service/command' strings")
        elif how in ("rest", "rest+gateway") and not endpoints:
            problems.append(f"{where} how {how!r} names no REST endpoint")
        elif how in ("gateway", "unavailable") and endpoints:
            problems.append(f"{where} how {how!r} but endpoints are listed")
        reason = entry.get("reason")
        if how == "unavailable":
            if not isinstance(reason, str) or not reason.strip():
                problems.append(f"{where} unavailable with no reason (the error's desc)")
            elif reason.startswith(UNAVAILABLE_DESC_PREFIX):
                problems.append(f"{where} the reason repeats the desc prefix")
        elif reason is not None:
            problems.append(f"{where} a reason on a row that is not unavailable (use refused_when)")
        elif not isinstance(entry["difference"], str) or not entry["difference"].strip():
            problems.append(f"{where} no difference from the native SDK")
        for refusal in entry.get("refused_when", []):
            if not (isinstance(refusal, dict) and set(refusal) == {"when", "reason"} and all(refusal.values())):
                problems.append(f"{where} refused_when items need a 'when' and a 'reason'")
        if entry["catalog"] is True and not entry.get("mapping"):
            problems.append(f"{where} a catalogue API with no 'mapping' (MAPPING.md row and mark)")
        if entry["catalog"] is False and not entry.get("imql_only"):
            problems.append(f"{where} an imql-only field needs an 'imql_only' note saying what it is")
    counts = Counter(e.get("manager") for e in apis.values() if e.get("catalog") is True)
    if dict(counts) != CATALOGUE_COUNTS:
        problems.append(f"catalogue APIs per manager {dict(counts)} != {CATALOGUE_COUNTS}")
    return problems


def listener_problems(data: dict[str, Any], schema: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    expected = listener_callbacks(schema)
    listeners: dict[str, dict[str, dict[str, Any]]] = data["listeners"]
    if set(listeners) != set(expected):
        problems.append(f"listeners {sorted(listeners)} != the schema's subscriptions {sorted(expected)}")
    for listener, callbacks in listeners.items():
        want = expected.get(listener, set())
        for name in sorted(want - set(callbacks)):
            problems.append(f"{listener}.{name}: a callback of the schema with no row")
        for name in sorted(set(callbacks) - want):
            problems.append(f"{listener}.{name}: a row for a callback the schema does not have")
        for name, entry in callbacks.items():
            where = f"{listener}.{name}:"
            if set(entry) != {"from", "webhooks", "difference"}:
                problems.append(f"{where} keys must be from, webhooks, difference")
                continue
            sources = entry["from"]
            if not isinstance(sources, list) or not set(sources) <= set(SOURCE_LABEL):
                problems.append(f"{where} from must be a list of {sorted(SOURCE_LABEL)}")
                continue
            webhooks = entry["webhooks"]
            if not all(isinstance(w, str) and WEBHOOK.match(w) for w in webhooks):
                problems.append(f"{where} webhooks must be callback commands (C2C.CallbackAfterSendMsg, ...)")
            if ("webhook" in sources) != bool(webhooks):
                problems.append(f"{where} 'webhook' in from exactly when webhooks are named")
            if not isinstance(entry["difference"], str) or not entry["difference"].strip():
                problems.append(f"{where} no difference from the native SDK")
    total = sum(len(c) for c in listeners.values())
    if total != CALLBACK_COUNT:
        problems.append(f"{total} callbacks, not {CALLBACK_COUNT}")
    return problems


def doc_problems(data: dict[str, Any], doc: str) -> list[str]:
    problems: list[str] = []
    found = {m.group(1): m.group(2) for m in BLOCK.finditer(doc)}
    expected = render_blocks(data)
    for name in sorted(set(expected) - set(found)):
        problems.append(f"docs/tencent.md has no table {name!r}")
    for name in sorted(set(found) - set(expected)):
        problems.append(f"docs/tencent.md has a table {name!r} the JSON does not describe")
    for name in sorted(set(found) & set(expected)):
        have, want = found[name].splitlines(), expected[name].splitlines()
        for line in [x for x in have if x not in want][:5]:
            problems.append(f"{name}: docs/tencent.md has {line[:160]!r}, which the JSON does not")
        for line in [x for x in want if x not in have][:5]:
            problems.append(f"{name}: docs/tencent.md lacks {line[:160]!r}")
        if not problems and have != want:
            problems.append(f"{name}: rows in a different order than the JSON")
    return problems


# --- the tests ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return load_data()


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return load_schema()


def test_every_schema_api_is_classified_and_every_row_is_an_api(data: dict[str, Any], schema: GraphQLSchema) -> None:
    assert api_problems(data, schema) == []


def test_every_listener_callback_has_a_source(data: dict[str, Any], schema: GraphQLSchema) -> None:
    assert listener_problems(data, schema) == []


def test_the_doc_tables_are_the_json(data: dict[str, Any]) -> None:
    problems = doc_problems(data, DOC_PATH.read_text("utf-8"))
    assert problems == [], "regenerate: .venv/bin/python -m tests.test_tencent_api_table --write"


def _drop_a_row(d: dict[str, Any]) -> None:
    del d["apis"]["sendMessage"]


def _add_a_stray_row(d: dict[str, Any]) -> None:
    d["apis"]["fetchEverything"] = copy.deepcopy(d["apis"]["getVersion"])


def _bad_how(d: dict[str, Any]) -> None:
    d["apis"]["getVersion"]["how"] = "magic"


def _unavailable_without_reason(d: dict[str, Any]) -> None:
    d["apis"]["getVersion"] |= {"how": "unavailable", "endpoints": []}


def _partial_refusal_without_reason(d: dict[str, Any]) -> None:
    d["apis"]["joinGroup"]["refused_when"] = [{"when": "the group is an AVChatRoom", "reason": ""}]


def _rest_without_endpoint(d: dict[str, Any]) -> None:
    d["apis"]["sendMessage"]["endpoints"] = []


def _wrong_kind(d: dict[str, Any]) -> None:
    d["apis"]["getVersion"]["kind"] = "mutation"


def _drop_a_callback(d: dict[str, Any]) -> None:
    del d["listeners"]["groupListener"]["onGroupRecycled"]


def _webhook_source_without_command(d: dict[str, Any]) -> None:
    d["listeners"]["sdkListener"]["onSelfInfoUpdated"]["webhooks"] = []


@pytest.mark.parametrize(
    "breakage",
    [
        _drop_a_row,
        _add_a_stray_row,
        _bad_how,
        _unavailable_without_reason,
        _partial_refusal_without_reason,
        _rest_without_endpoint,
        _wrong_kind,
        _drop_a_callback,
        _webhook_source_without_command,
    ],
)
def test_the_checks_catch_a_broken_classification(
    data: dict[str, Any], schema: GraphQLSchema, breakage: Callable[[dict[str, Any]], None]
) -> None:
    broken = copy.deepcopy(data)
    breakage(broken)
    assert api_problems(broken, schema) + listener_problems(broken, schema) != []


def test_the_doc_check_catches_a_changed_row(data: dict[str, Any]) -> None:
    doc = DOC_PATH.read_text("utf-8")
    broken = copy.deepcopy(data)
    broken["apis"]["getVersion"]["how"] = "rest+gateway"
    broken["apis"]["getVersion"]["endpoints"] = ["profile/portrait_get"]
    assert any("getVersion" in p for p in doc_problems(broken, doc))
    assert doc_problems(data, doc.replace("| `logout` |", "| `logoff` |")) != []


def test_an_unavailable_row_renders_its_error_desc(data: dict[str, Any]) -> None:
    entry = copy.deepcopy(data["apis"]["getVersion"]) | {"how": "unavailable", "reason": "no such thing"}
    assert render_how(entry) == "not available"
    assert render_difference(entry).startswith('Refused: "not available on the Tencent backend: no such thing".')


def main(argv: list[str]) -> int:
    if argv != ["--write"]:
        print("usage: python -m tests.test_tencent_api_table --write  (re-renders the tables of docs/tencent.md)")
        return 2
    doc = DOC_PATH.read_text("utf-8")
    DOC_PATH.write_text(rewrite_doc(doc, render_blocks(load_data())), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
