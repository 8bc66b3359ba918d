"""REST v4 fixtures: a real gateway (in process, real uvicorn, real Redis) called as an app's server
calls Tencent: `POST /v4/<service>/<command>?sdkappid=&identifier=administrator&usersig=&random=&contenttype=json`."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway

ADMIN = "administrator"


class RestClient:
    """Calls the REST API as the app admin; `call` answers the decoded JSON body (always HTTP 200)."""

    def __init__(self, client: HTTPClient, identifier: str = ADMIN) -> None:
        self.client = client
        self.identifier = identifier

    def params(self, **override: str) -> dict[str, str]:
        query = {
            "sdkappid": str(self.client.sdkappid),
            "identifier": self.identifier,
            "usersig": self.client.sig(self.identifier),
            "random": str(random.randint(0, 2**32 - 1)),
            "contenttype": "json",
        }
        query.update(override)
        return query

    async def call(self, command: str, body: Any, **params: str) -> dict[str, Any]:
        response = await self.client.http.post(f"/v4/{command}", params=self.params(**params), json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def ok(self, command: str, body: Any) -> dict[str, Any]:
        """A call that must succeed."""
        answer = await self.call(command, body)
        assert answer["ActionStatus"] == "OK", answer
        assert answer["ErrorCode"] == 0, answer
        return answer

    async def fails(self, command: str, body: Any, code: int) -> dict[str, Any]:
        """A call that must fail with `code`, in Tencent's envelope."""
        answer = await self.call(command, body)
        assert answer["ActionStatus"] == "FAIL", answer
        assert answer["ErrorCode"] == code, answer
        assert isinstance(answer["ErrorInfo"], str)
        assert answer["ErrorInfo"]
        return answer


@pytest.fixture
async def rest(server: InProcessGateway, client: HTTPClient) -> RestClient:
    return RestClient(client)
