"""Two `imql serve` processes on one Redis: sessions and events cross replicas; resume survives a kill."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.errors import Code
from tests.conftest import SECRET
from tests.support.clients import HTTPClient, WSClient, subscribe_sdk
from tests.support.servers import GatewayProcess, spawn_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture
async def replicas(
    sdkappid: int, redis_url: str, redis_is_cluster: bool
) -> AsyncIterator[tuple[GatewayProcess, GatewayProcess]]:
    env = {"IMQL_REDIS_URL": redis_url, "IMQL_SDKAPPID": str(sdkappid), "IMQL_SECRET_KEY": SECRET}
    env["IMQL_REDIS_CLUSTER"] = "1" if redis_is_cluster else "0"
    a = await spawn_gateway(env)
    b = await spawn_gateway(env)
    yield a, b
    for proc in (a, b):
        proc.terminate()


async def test_sessions_and_events_cross_replicas(
    replicas: tuple[GatewayProcess, GatewayProcess], sdkappid: int
) -> None:
    a, b = replicas
    on_a, on_b = HTTPClient(a.base_url, sdkappid, SECRET), HTTPClient(b.base_url, sdkappid, SECRET)
    token = await on_a.login("alice")
    assert (await on_b.gql("{ getLoginUser }", token=token)).ok() == {"getLoginUser": "alice"}
    # an event produced through A reaches a subscriber on B
    ws = await WSClient.connect(b.ws_url, token)
    op = await subscribe_sdk(ws)
    await on_a.gql('mutation { setSelfInfo(nickName: "from A") { userID } }', token=token)
    assert (await ws.next_event(op))["info"]["nickName"] == "from A"
    # logout on A ends the session on B, and B's subscription with it, as soon as B hears the
    # session-ended message on the bus: milliseconds, but after A has answered. So the subscription's
    # end comes first here: B ends it and forgets its cached session in one turn of its event loop,
    # and only then can it read the next request (asked at once, it could race the bus message)
    assert (await on_a.gql("mutation { logout }", token=token)).ok()
    assert (await ws.next(op))["type"] == "complete"
    assert (await on_b.gql("{ getLoginUser }", token=token)).codes == [Code.ERR_SDK_NOT_LOGGED_IN]
    await ws.close()
    await on_a.aclose()
    await on_b.aclose()


async def test_resume_after_the_subscribers_replica_is_killed(
    replicas: tuple[GatewayProcess, GatewayProcess], sdkappid: int
) -> None:
    a, b = replicas
    on_a = HTTPClient(a.base_url, sdkappid, SECRET)
    writer = await on_a.login("alice", platform="web")
    reader_token = await on_a.login("alice", platform="ios")
    ws = await WSClient.connect(b.ws_url, reader_token)
    op = await subscribe_sdk(ws)
    await on_a.gql('mutation { setSelfInfo(nickName: "n0") { userID } }', token=writer)
    seen = await ws.next_event(op)
    assert seen["info"]["nickName"] == "n0"
    b.kill()  # the replica dies; the client's socket drops
    for n in range(1, 4):
        await on_a.gql(f'mutation {{ setSelfInfo(nickName: "n{n}") {{ userID }} }}', token=writer)
    # the client reconnects to the surviving replica and resumes from its last cursor
    ws2 = await WSClient.connect(a.ws_url, reader_token)
    op2 = await subscribe_sdk(ws2, since=seen["cursor"])
    names = [(await ws2.next_event(op2))["info"]["nickName"] for _ in range(3)]
    assert names == ["n1", "n2", "n3"]
    await on_a.gql('mutation { setSelfInfo(nickName: "live") { userID } }', token=writer)
    assert (await ws2.next_event(op2))["info"]["nickName"] == "live"
    await ws2.nothing_for(op2, 0.3)
    await ws2.close()
    await on_a.aclose()


async def test_resume_after_a_disconnect(replicas: tuple[GatewayProcess, GatewayProcess], sdkappid: int) -> None:
    a, _ = replicas
    client = HTTPClient(a.base_url, sdkappid, SECRET)
    token = await client.login("bob")
    ws = await WSClient.connect(a.ws_url, token, protocol="graphql-ws")
    op = await subscribe_sdk(ws)
    await client.gql('mutation { setSelfInfo(nickName: "b0") { userID } }', token=token)
    cursor = (await ws.next_event(op))["cursor"]
    await ws.close()
    for n in (1, 2):
        await client.gql(f'mutation {{ setSelfInfo(nickName: "b{n}") {{ userID }} }}', token=token)
    ws = await WSClient.connect(a.ws_url, token)
    op = await subscribe_sdk(ws, since=cursor)
    assert [(await ws.next_event(op))["info"]["nickName"] for _ in range(2)] == ["b1", "b2"]
    await ws.nothing_for(op, 0.3)
    await ws.close()
    await client.aclose()
