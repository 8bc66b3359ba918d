"""V2TIMManager over real HTTP on a real uvicorn server and real Redis."""

from __future__ import annotations

from tests.support.clients import HTTPClient


async def test_login_and_who_am_i(client: HTTPClient) -> None:
    token = await client.login("alice")
    reply = await client.gql("{ getLoginUser getLoginStatus }", token=token)
    assert reply.ok() == {"getLoginUser": "alice", "getLoginStatus": "V2TIM_STATUS_LOGINED"}
