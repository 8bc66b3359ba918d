"""Malformed HTTP requests of every shape get a GraphQL error with code 6017 (400), never a 500 or
a plain-text body, and a document cannot escape the depth limit through introspection."""

from __future__ import annotations

import json

import pytest
from graphql import get_introspection_query

from gateway.errors import Code
from tests.support.clients import HTTPClient

IMAGE_MUTATION = "mutation($f: Upload) { createImageMessage(file: $f) { id } }"


def _is_6017(response: object) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == Code.ERR_INVALID_PARAMETERS


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b'"a string"',
        b"5",
        b"true",
        b"[1]",
        b'{"query": "{ getVersion }\xff"}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["null", "string", "number", "boolean", "list", "invalid-utf8", "deep"],
)
async def test_json_bodies_that_are_not_requests(client: HTTPClient, body: bytes) -> None:
    token = await client.login("alice")
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    _is_6017(await client.http.post("/graphql", content=body, headers=headers))


@pytest.mark.parametrize(
    ("operations", "file_map"),
    [
        (json.dumps({"query": IMAGE_MUTATION, "variables": {"f": None}}), json.dumps([["0", ["variables.f"]]])),
        ("null", "{}"),
        ('"text"', "{}"),
        (json.dumps({"query": IMAGE_MUTATION, "variables": {"f": None}}), "{not json"),
        (json.dumps({"query": IMAGE_MUTATION, "variables": {"f": None}}), json.dumps({"0": "variables.f"})),
        (json.dumps({"query": IMAGE_MUTATION, "variables": {"f": None}}), json.dumps({"0": ["variables.f.x.y"]})),
    ],
    ids=["map-list", "operations-null", "operations-string", "map-not-json", "map-path-string", "map-bad-path"],
)
async def test_multipart_requests_off_the_spec(client: HTTPClient, operations: str, file_map: str) -> None:
    token = await client.login("alice")
    response = await client.http.post(
        "/graphql",
        data={"operations": operations, "map": file_map},
        files={"0": ("a.png", b"\x89PNG", "image/png")},
        headers={"authorization": f"Bearer {token}"},
    )
    _is_6017(response)


async def test_an_upload_written_inline_is_a_6017_naming_the_argument(client: HTTPClient) -> None:
    token = await client.login("alice")
    inline = await client.gql('mutation { createImageMessage(file: "inline") { id } }', token=token)
    as_variable = await client.gql(IMAGE_MUTATION, {"f": "a string"}, token=token)
    for reply in (inline, as_variable):
        assert reply.codes == [Code.ERR_INVALID_PARAMETERS]
        assert reply.errors[0]["extensions"]["desc"].startswith("file: an Upload is a file part")


async def test_introspection_has_a_depth_limit_too(client: HTTPClient) -> None:
    # graphql-core's own introspection rule bounds repeated `fields` / `interfaces`, not `ofType`
    nested = '{ __type(name: "Message") ' + "{ ofType " * 15 + "{ name }" + " }" * 15 + " }"
    reply = await client.gql(nested)
    assert reply.codes == [Code.ERR_INVALID_PARAMETERS]
    assert "exceeds maximum operation depth of 15" in reply.errors[0]["message"]
    # the standard introspection query (GraphiQL's and codegen's) is 14 deep and still runs
    full = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    answer = await client.gql(full)
    assert answer.errors == []
    assert answer.data["__schema"]["queryType"]["name"] == "Query"
