"""The fast HTTP path (schema.execution.http) answers as Strawberry's own path does.

The same documents go through both: a success, an IMError refusal, an unexpected fault, a
validation error and a parse error. The JSON (data and errors, request IDs aside) and the metrics
each adds must be the same; Strawberry's path is forced by a plan cache that plans nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from strawberry.extensions import MaskErrors

from gateway.clock import ManualClock
from gateway.web.view import GraphQLView
from schema.build import build_schema
from schema.errors import CODE_NAMES
from schema.execution.http import QueryPlans
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway


class NoPlans(QueryPlans):
    def plan(self, query: str, operation_name: str | None) -> None:
        return None


def _view(server: InProcessGateway) -> GraphQLView:
    for route in server.app.app.routes:
        if isinstance(getattr(route, "endpoint", None), GraphQLView):
            return route.endpoint  # type: ignore[no-any-return]
    raise AssertionError("no GraphQL route")


def _counts(server: InProcessGateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every counter and histogram count (not latency sums or buckets, which are timings)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in server.gateway.metrics.registry.collect():
        for sample in family.samples:
            if sample.name.endswith(("_sum", "_bucket", "_created")) or "round_trips" in sample.name:
                continue
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _delta(before: dict[Any, float], after: dict[Any, float]) -> dict[Any, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


def _without_request_ids(body: Any) -> Any:
    ids: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("requestId"), str):
                ids.add(node["requestId"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    def blank(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: blank(v) for k, v in node.items()}
        if isinstance(node, list):
            return [blank(v) for v in node]
        if isinstance(node, str):
            for request_id in ids:
                node = node.replace(request_id, "<request id>")
        return node

    collect(body)
    return blank(body)


DOCUMENTS = {  # name: (document, the resolver faults, the fast path takes it, its one root field's)
    "success": ("query Hello { getVersion getServerTime }", False, True, False),
    "refusal": ("query Who { getLoginUser }", False, True, True),  # no session: an IMError
    "fault": ("query When { getServerTime }", True, True, True),  # the resolver raises RuntimeError
    "validation": ("query Bad { getVersion noSuchField }", False, False, False),
    "parse": ("query { getVersion ", False, False, False),
    # one root field, executed without graphql-core's operation scaffolding (schema.execution.executor)
    "one field": ("query { getVersion }", False, True, True),
    "aliased": ("query Me { me: getLoginUser }", False, True, True),
    "mutation": ("mutation Name($n: String) { setSelfInfo(nickName: $n) { userID nickName } }", False, True, True),
    "mutation refused": ("mutation Out { logout }", False, True, True),
    "nullable root": ("query Node($id: ID!) { node(id: $id) { id } }", False, True, True),
    "bad variables": ("query Users($ids: [String!]!) { getUsersInfo(userIDList: $ids) { userID } }", False, True, True),
    "typename": ("query { __typename }", False, True, False),
    "skipped": ("query Skip($s: Boolean!) { getVersion @skip(if: $s) }", False, True, False),
}
VARIABLES: dict[str, dict[str, Any]] = {
    "mutation": {"n": "Ann"},
    "nullable root": {"id": "not-an-id"},
    "bad variables": {"ids": None},
    "skipped": {"s": True},
}
LOGGED_IN = {"aliased", "mutation", "nullable root"}


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_the_fast_path_answers_as_strawberry_does(
    name: str, client: HTTPClient, server: InProcessGateway, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, fault, planned, root_field = DOCUMENTS[name]
    token = await client.login("ann") if name in LOGGED_IN else None
    if fault:

        def broken() -> float:
            raise RuntimeError("the clock broke")

        monkeypatch.setattr(clock, "now", broken)
    view = _view(server)
    plan = view._plans.plan(query, None)
    assert (plan is not None) is planned
    assert (plan is not None and plan.root is not None) is root_field
    answers = []
    for plans in (view._plans, NoPlans(view._fast_schema)):
        monkeypatch.setattr(view, "_plans", plans)
        before = _counts(server)
        reply = await client.gql(query, VARIABLES.get(name), token)
        answers.append((reply.status, _without_request_ids(reply.body), _delta(before, _counts(server))))
    fast, strawberry = answers
    assert fast == strawberry
    # every error names its code as the SDK does (schema.errors), on both paths alike
    for error in fast[1].get("errors") or []:
        extensions = error["extensions"]
        assert extensions["codeName"] == CODE_NAMES[extensions["code"]]
    if name == "refusal":
        assert fast[1]["errors"][0]["extensions"]["codeName"] == "ERR_SDK_NOT_LOGGED_IN"


def test_a_schema_with_an_extension_the_fast_path_does_not_mirror_is_refused() -> None:
    schema = build_schema()
    QueryPlans(schema)
    schema.extensions = (*schema.extensions, MaskErrors)
    with pytest.raises(RuntimeError, match="MaskErrors"):
        QueryPlans(schema)


async def test_one_root_field_runs_without_graphql_cores_operation_execution(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send is one root field: its request skips `execute` (collection of the root fields, their
    serial reduction, the incremental-delivery checks) and runs the field itself."""
    from schema.execution import http

    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("graphql-core's execute ran for a one-field operation")

    monkeypatch.setattr(http, "execute", not_here)
    token = await client.login("ann")
    await client.login("bob")
    sent = await client.gql(
        "mutation Send($t: String!, $to: String!) { sendTextMessage(text: $t, receiver: $to) { msgID sender } }",
        {"t": "hi", "to": "bob"},
        token,
    )
    assert sent.ok()["sendTextMessage"]["sender"] == "ann"
