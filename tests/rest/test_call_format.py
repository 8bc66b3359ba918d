"""The call format every command shares: admin authentication, the envelope, and refusals with
Tencent's codes (HTTP 200 always), none of which changes anything."""

from __future__ import annotations

import orjson

from gateway.v4 import envelope
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient

NOTIFY = "group_open_http_svc/send_group_system_notification"


async def _post(client: HTTPClient, path: str, params: dict[str, str], content: bytes) -> dict[str, object]:
    response = await client.http.post(path, params=params, content=content)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer: dict[str, object] = response.json()
    return answer


async def test_refusals_have_tencents_codes(rest: RestClient, client: HTTPClient) -> None:
    path = f"/v4/{NOTIFY}"
    body = orjson.dumps({"GroupId": "g", "Content": "x"})
    cases = {
        envelope.SDKAPPID_INVALID: rest.params(sdkappid="1400000001"),
        envelope.ACCOUNT_OR_SIG_INVALID: rest.params(usersig=""),
        envelope.ADMIN_REQUIRED: dict(rest.params(), identifier="mallory", usersig=client.sig("mallory")),
        envelope.USERSIG_INVALID: rest.params(usersig="forged"),
        70013: rest.params(usersig=client.sig("someone-else")),  # a sig of another user
    }
    for code, params in cases.items():
        answer = await _post(client, path, params, body)
        assert answer["ActionStatus"] == "FAIL", (code, answer)
        assert answer["ErrorCode"] == code, (code, answer)
    unknown = await _post(client, "/v4/openim/no_such_command", rest.params(), b"{}")
    assert unknown["ErrorCode"] == envelope.URL_INVALID
    for bad in (b"{not json", b"[1, 2]", b'"text"', b"null"):
        answer = await _post(client, path, rest.params(), bad)
        assert answer["ErrorCode"] == envelope.JSON_PARSE_FAILED, (bad, answer)
    huge = orjson.dumps({"GroupId": "g", "Content": "x" * (1024 * 1024 + 1)})
    assert (await _post(client, path, rest.params(), huge))["ErrorCode"] == envelope.HTTP_PARSE_FAILED


async def test_several_admins_and_a_missing_field(rest: RestClient) -> None:
    missing = await rest.fails(NOTIFY, {"Content": "x"}, 10004)
    assert "GroupId" in str(missing["ErrorInfo"])
    # a well-formed call on an unknown group answers the engine's code
    await rest.fails(NOTIFY, {"GroupId": "nope", "Content": "x"}, 10010)
