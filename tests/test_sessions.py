"""Sessions over real HTTP and WebSocket: login, multi-device kicks, logout, sig expiry, throttling."""

from __future__ import annotations

import asyncio

import pytest

from gateway.clock import ManualClock
from gateway.errors import Code
from gateway.session.pool import LOGIN_FAILURES_ALLOWED
from tests.support.clients import HTTPClient, WSClient, subscribe_sdk
from tests.support.servers import InProcessGateway

LOGIN = (
    "mutation($u: String!, $s: String!, $p: String) "
    "{ login(userID: $u, userSig: $s, platform: $p) { token userID expireTime } }"
)


async def test_login_creates_the_account_and_reports_the_sig_expiry(client: HTTPClient, clock: ManualClock) -> None:
    sig = client.sig("newcomer", expire=3600)
    reply = await client.gql(LOGIN, {"u": "newcomer", "s": sig})
    login = reply.ok()["login"]
    assert login["userID"] == "newcomer"
    assert login["expireTime"] == int(clock.now()) + 3600
    profile = await client.gql('{ getUsersInfo(userIDList: ["newcomer"]) { userID nickName } }', token=login["token"])
    assert profile.ok()["getUsersInfo"] == [{"userID": "newcomer", "nickName": ""}]


@pytest.mark.parametrize(
    ("user", "sig_user", "code"),
    [
        ("alice", "bob", Code.ERR_USERSIG_OTHER_USER),
        ("", "", Code.ERR_INVALID_USERID),
        ("x" * 33, "x" * 33, Code.ERR_INVALID_USERID),
        ("tab\there", "tab\there", Code.ERR_INVALID_USERID),
    ],
)
async def test_login_refusals(client: HTTPClient, user: str, sig_user: str, code: int) -> None:
    reply = await client.gql(LOGIN, {"u": user, "s": client.sig(sig_user or "a")})
    assert reply.codes == [code]
    assert reply.data is None


async def test_forged_and_expired_sigs_are_refused(client: HTTPClient, clock: ManualClock) -> None:
    forged = HTTPClient(client.base_url, client.sdkappid, "wrong-key", now=clock.now)
    assert (await client.gql(LOGIN, {"u": "alice", "s": forged.sig("alice")})).codes == [Code.ERR_USERSIG_INVALID]
    await forged.aclose()
    other_app = HTTPClient(client.base_url, client.sdkappid + 1, client.secret_key, now=clock.now)
    assert (await client.gql(LOGIN, {"u": "alice", "s": other_app.sig("alice")})).codes == [Code.ERR_USERSIG_OTHER_APP]
    await other_app.aclose()
    old = client.sig("alice", expire=10)
    await clock.advance(11)
    assert (await client.gql(LOGIN, {"u": "alice", "s": old})).codes == [Code.ERR_USERSIG_EXPIRED]


async def test_repeated_failures_are_throttled(client: HTTPClient) -> None:
    bad = HTTPClient(client.base_url, client.sdkappid, "wrong-key")
    for _ in range(LOGIN_FAILURES_ALLOWED):
        assert (await client.gql(LOGIN, {"u": "victim", "s": bad.sig("victim")})).codes == [Code.ERR_USERSIG_INVALID]
    await bad.aclose()
    # even the right sig is refused while the window lasts: guessing is throttled per userID
    assert (await client.gql(LOGIN, {"u": "victim", "s": client.sig("victim")})).codes == [Code.ERR_LOGIN_THROTTLED]
    assert (await client.gql(LOGIN, {"u": "bystander", "s": client.sig("bystander")})).codes == []


async def test_bad_tokens_get_6014(client: HTTPClient) -> None:
    for token in [None, "garbage", "YWxpY2U.99999999999.nope", "a" * 5000]:
        reply = await client.gql("{ getLoginUser }", token=token)
        assert reply.codes == [Code.ERR_SDK_NOT_LOGGED_IN], token
    reply = await client.gql("{ getLoginUser }", headers={"Authorization": "Basic abc"})
    assert reply.codes == [Code.ERR_SDK_NOT_LOGGED_IN]


async def test_logout_ends_the_session_and_its_subscriptions(client: HTTPClient, server: InProcessGateway) -> None:
    token = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, token)
    op = await subscribe_sdk(ws)
    assert (await client.gql("mutation { logout }", token=token)).ok() == {"logout": True}
    assert (await ws.next(op))["type"] == "complete"
    assert (await client.gql("{ getLoginUser }", token=token)).codes == [Code.ERR_SDK_NOT_LOGGED_IN]
    await ws.close()


async def test_second_login_on_same_platform_kicks_the_first(client: HTTPClient, server: InProcessGateway) -> None:
    first = await client.login("alice", platform="ios")
    other_platform = await client.login("alice", platform="web")
    ws = await WSClient.connect(server.ws_url, first)
    op = await subscribe_sdk(ws)
    second = await client.login("alice", platform="ios")
    kicked = await ws.next_event(op)
    assert kicked["type"] == "onKickedOffline"
    assert (await ws.next(op))["type"] == "complete"
    assert (await client.gql("{ getLoginUser }", token=first)).codes == [Code.ERR_LOGIN_KICKED_OFF_BY_OTHER]
    assert (await client.gql("{ getLoginUser }", token=second)).ok() == {"getLoginUser": "alice"}
    assert (await client.gql("{ getLoginUser }", token=other_platform)).ok() == {"getLoginUser": "alice"}
    await ws.close()


async def test_platform_header_selects_the_device_kind(client: HTTPClient) -> None:
    sig = client.sig("alice")
    a = (await client.gql(LOGIN, {"u": "alice", "s": sig}, headers={"X-IM-Platform": "android"})).ok()
    b = (await client.gql(LOGIN, {"u": "alice", "s": sig}, headers={"X-IM-Platform": "android"})).ok()
    assert (await client.gql("{ getLoginUser }", token=a["login"]["token"])).codes == [6208]
    assert (await client.gql("{ getLoginUser }", token=b["login"]["token"])).codes == []
    bad = await client.gql(LOGIN, {"u": "alice", "s": sig, "p": "no spaces!"})
    assert bad.codes == [Code.ERR_INVALID_PARAMETERS]


async def test_sig_expiry_notifies_subscribers_then_refuses_with_6206(
    client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    token = await client.login("alice", expire=60)
    ws = await WSClient.connect(server.ws_url, token)
    op = await subscribe_sdk(ws)
    await clock.advance(61)
    expired = await ws.next_event(op)
    assert expired["type"] == "onUserSigExpired"
    assert (await ws.next(op))["type"] == "complete"
    assert (await client.gql("{ getLoginUser }", token=token)).codes == [Code.ERR_USER_SIG_EXPIRED]
    await ws.close()


async def test_uninit_sdk_ends_the_session(client: HTTPClient) -> None:
    token = await client.login("alice")
    assert (await client.gql("mutation { unInitSDK }", token=token)).ok() == {"unInitSDK": True}
    assert (await client.gql("{ getLoginUser }", token=token)).codes == [Code.ERR_SDK_NOT_LOGGED_IN]
    assert (await client.gql("mutation { unInitSDK }")).ok() == {"unInitSDK": True}


async def test_rate_limit_gives_7008(client: HTTPClient, server: InProcessGateway) -> None:
    from gateway.ratelimit import RateLimiter

    server.gateway.rate_limiter = RateLimiter(per_second=1, burst=3)
    token = await client.login("chatty")
    codes = [(await client.gql("{ getLoginUser }", token=token)).codes for _ in range(5)]
    assert codes[:3] == [[], [], []]
    assert [Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT] in codes[3:]


async def test_concurrent_logins_on_one_platform_leave_exactly_one_session(client: HTTPClient) -> None:
    tokens = await asyncio.gather(*(client.login("racer", platform="ios") for _ in range(8)))
    alive = [t for t in tokens if not (await client.gql("{ getLoginUser }", token=t)).codes]
    assert len(alive) == 1


async def test_abrupt_tcp_drop_cleans_up_the_subscription(client: HTTPClient, server: InProcessGateway) -> None:
    token = await client.login("dropper")
    watcher = await client.login("watcher")
    ws = await WSClient.connect(server.ws_url, token)
    await subscribe_sdk(ws)
    gw = server.gateway
    assert gw.dispatcher.subscriber_count == 1
    status = '{ getUserStatus(userIDList: ["dropper"]) { statusType } }'
    assert (await client.gql(status, token=watcher)).ok()["getUserStatus"][0]["statusType"] == (
        "V2TIM_USER_STATUS_ONLINE"
    )
    ws.conn.transport.abort()  # no close frame: the cable is pulled
    for _ in range(200):
        if gw.dispatcher.subscriber_count == 0:
            break
        await asyncio.sleep(0.05)
    assert gw.dispatcher.subscriber_count == 0
    assert (await client.gql(status, token=watcher)).ok()["getUserStatus"][0]["statusType"] == (
        "V2TIM_USER_STATUS_OFFLINE"
    )
    await ws.close()


@pytest.mark.parametrize("years", [20, 300], ids=["past-2038", "far-future"])
async def test_a_sig_that_expires_after_2038_logs_in(client: HTTPClient, clock: ManualClock, years: int) -> None:
    """expireTime is a Long: a 32-bit Int refused such a sig (or faulted with 7012) after the
    session had been created and the platform's previous session kicked."""
    expire = years * 365 * 86400
    reply = await client.gql(LOGIN, {"u": "longlived", "s": client.sig("longlived", expire=expire)})
    login = reply.ok()["login"]
    assert login["expireTime"] == int(clock.now()) + expire
    assert login["expireTime"] > 2**31
    me = await client.gql("{ getLoginUser }", token=login["token"])
    assert me.ok()["getLoginUser"] == "longlived"


async def test_a_refused_login_leaves_the_existing_session_alone(client: HTTPClient, clock: ManualClock) -> None:
    token = await client.login("keeper")
    refusals = [
        client.sig("keeper", expire=-10),  # expired
        client.sig("someone-else"),  # another user's
        "forged",
    ]
    for sig in refusals:
        assert (await client.gql(LOGIN, {"u": "keeper", "s": sig})).codes
    me = await client.gql("{ getLoginUser }", token=token)
    assert me.ok()["getLoginUser"] == "keeper"
