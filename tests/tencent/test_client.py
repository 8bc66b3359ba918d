"""The Tencent Cloud backend's REST v4 client (gateway.tencent.client) on the wire.

Wire tests run the client against `httpx.MockTransport`: the request line, query string and body it
sends (FIXTURES.md A1/A3), each documented answer decoded (A1, A2, B2, B17), the error table of
MAPPING.md section 9 (one case per row), retries only where safe, back-off, timeouts, admin sig
renewal (a manual clock), the Redis rate limiter (a real Redis), metrics. The last tests point the
client at imql's own REST v4 server, a real in-process gateway standing in for Tencent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from gateway.clock import Clock, ManualClock, SystemClock
from gateway.config import ConfigError, Settings, load_settings
from gateway.errors import Code, IMError
from gateway.keys import Keys
from gateway.metrics import Metrics
from gateway.tencent.client import (
    ADMIN_SIG_LIFETIME_SECONDS,
    ADMIN_SIG_RENEW_AFTER_SECONDS,
    TencentRestClient,
    check_tencent_api,
)
from gateway.tencent.errors import TencentError, map_code
from gateway.tencent.limits import BUCKET_SCRIPT, Budget, EndpointLimiter, rate_for
from gateway.usersig import verify
from tests.conftest import SECRET
from tests.support.servers import InProcessGateway, free_port

APP = 1400000000
ADMIN = "administrator"
GROUP_LIST = "group_open_http_svc/get_appid_group_list"
IP_LIST = "ConfigSvc/GetIPList"
SENDMSG = "openim/sendmsg"
BATCH = "openim/batchsendmsg"
CHECK = "im_open_login_svc/account_check"
IMPORT = "im_open_login_svc/account_import"

# FIXTURES.md A1: no ErrorInfo in this answer
A1_ANSWER = {
    "ActionStatus": "OK",
    "ErrorCode": 0,
    "GroupIdList": [{"GroupId": "@TGS#1YTTZEAEG"}, {"GroupId": "@TGS#1KVTZEAEZ"}],
    "TotalCount": 58530,
}
IP_ANSWER = {"ActionStatus": "OK", "ErrorCode": 0, "IPList": ["127.0.0.2", "183.192.202.0/25"]}
# FIXTURES.md A2
A2_ANSWER = {
    "ActionStatus": "FAIL",
    "ErrorInfo": "Fail to Parse json data of body, Please check it",
    "ErrorCode": 90001,
}
# FIXTURES.md B2
B2_ANSWER = {
    "ActionStatus": "SomeError",
    "ErrorCode": 0,
    "ErrorInfo": "",
    "MsgKey": "4852_28135_1579678877",
    "ErrorList": [{"To_Account": "rong", "ErrorCode": 70107}],
}
# FIXTURES.md B17
CHECK_ANSWER = {
    "ActionStatus": "OK",
    "ResultItem": [
        {"UserID": "UserID_1", "ResultCode": 0, "ResultInfo": "", "AccountStatus": "Imported"},
        {"UserID": "UserID_2", "ResultCode": 0, "ResultInfo": "", "AccountStatus": "NotImported"},
    ],
}
OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}

Reply = dict[str, Any] | httpx.Response | Exception | Callable[[], Awaitable[httpx.Response]]


def fail(code: int, info: str = "refused") -> dict[str, Any]:
    return {"ActionStatus": "FAIL", "ErrorInfo": info, "ErrorCode": code}


class Tencent:
    """A scripted Tencent: answers requests from `replies` in order (the last one repeats) and keeps them."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [OK]
        self.seen: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        if callable(reply):
            return await reply()
        return httpx.Response(200, content=orjson.dumps(reply))

    def query(self, n: int = -1) -> list[tuple[str, str]]:
        return parse_qsl(self.seen[n].url.query.decode(), keep_blank_values=True)

    def body(self, n: int = -1) -> Any:
        return orjson.loads(self.seen[n].content)


def make(tencent: Tencent, *, clock: Clock | None = None, **options: Any) -> TencentRestClient:
    return TencentRestClient(
        sdkappid=APP,
        secret_key=SECRET,
        api_url="https://console.tim.qq.com",
        admin=ADMIN,
        transport=httpx.MockTransport(tencent),
        clock=clock or SystemClock(),
        **options,
    )


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def refused(call: Awaitable[Any]) -> TencentError:
    with pytest.raises(TencentError) as caught:
        await call
    return caught.value


# ---- the request --------------------------------------------------------------------------------
async def test_request_line_query_string_and_body() -> None:
    tencent = Tencent(A1_ANSWER)
    client = make(tencent)
    try:
        for _ in range(3):
            await client.call(GROUP_LIST, {"Limit": 2})
    finally:
        await client.aclose()
    request = tencent.seen[0]
    assert request.method == "POST"
    assert request.url.scheme == "https"
    assert request.url.host == "console.tim.qq.com"
    assert request.url.path == f"/v4/{GROUP_LIST}"
    query = tencent.query(0)
    assert [name for name, _ in query] == ["sdkappid", "identifier", "usersig", "random", "contenttype"]
    params = dict(query)
    assert params["sdkappid"] == str(APP)
    assert params["identifier"] == ADMIN
    assert params["contenttype"] == "json"
    info = verify(params["usersig"], sdkappid=APP, secret_key=SECRET, user_id=ADMIN, now=time.time())
    assert info.user_id == ADMIN
    randoms = [int(dict(tencent.query(n))["random"]) for n in range(3)]
    assert all(0 <= r < 2**32 for r in randoms)
    assert len(set(randoms)) == 3, "random must be fresh per call"
    assert tencent.body(0) == {"Limit": 2}  # keys and casing as given, nothing added
    assert request.headers["content-type"] == "application/json"


async def test_an_empty_body_is_sent_as_an_empty_object() -> None:
    tencent = Tencent(IP_ANSWER)
    client = make(tencent)
    try:
        answer = await client.call(IP_LIST)
        await client.call(IP_LIST, {})
    finally:
        await client.aclose()
    assert [r.content for r in tencent.seen] == [b"{}", b"{}"]
    assert answer["IPList"] == ["127.0.0.2", "183.192.202.0/25"]


async def test_body_keys_keep_tencent_casing() -> None:
    body = {
        "From_Account": "alice",
        "To_Account": "bob",
        "SyncOtherMachine": 1,
        "MsgRandom": 3062043745,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
    }
    tencent = Tencent(OK | {"MsgTime": 1, "MsgKey": "1_3062043745_1"})
    client = make(tencent)
    try:
        answer = await client.call(SENDMSG, body)
    finally:
        await client.aclose()
    assert tencent.body() == body
    assert answer["MsgKey"] == "1_3062043745_1"


async def test_a_malformed_endpoint_is_a_programming_error() -> None:
    client = make(Tencent())
    try:
        with pytest.raises(ValueError, match="service/command"):
            await client.call("openim/sendmsg?x=1")
    finally:
        await client.aclose()


# ---- answers ------------------------------------------------------------------------------------
async def test_a1_answer_without_error_info_decodes() -> None:
    client = make(Tencent(A1_ANSWER))
    try:
        answer = await client.call(GROUP_LIST, {"Limit": 2})
    finally:
        await client.aclose()
    assert answer.status == "OK"
    assert not answer.partial
    assert answer["TotalCount"] == 58530
    assert [g["GroupId"] for g in answer.result_items("GroupIdList")] == ["@TGS#1YTTZEAEG", "@TGS#1KVTZEAEZ"]


async def test_a2_failure_raises_the_mapped_code_with_tencents_code_in_desc() -> None:
    client = make(Tencent(A2_ANSWER))
    try:
        error = await refused(client.call(SENDMSG, {"To_Account": "bob"}))
    finally:
        await client.aclose()
    assert error.code == Code.ERR_INVALID_PARAMETERS
    assert error.tencent_code == 90001
    assert error.desc == "tencent 90001 (openim/sendmsg): Fail to Parse json data of body, Please check it"


async def test_b2_some_error_is_a_partial_success_with_its_error_list() -> None:
    client = make(Tencent(B2_ANSWER))
    try:
        answer = await client.call(BATCH, {"To_Account": ["rong", "lee"], "MsgRandom": 1, "MsgBody": []})
    finally:
        await client.aclose()
    assert answer.partial
    assert answer["MsgKey"] == "4852_28135_1579678877"
    assert answer.error_list() == [{"To_Account": "rong", "ErrorCode": 70107}]
    (failed,) = answer.item_errors("ErrorList", key="To_Account", code_field="ErrorCode")
    assert failed.key == "rong"
    assert failed.error.code == Code.ERR_RECEIVER_NOT_FOUND  # 70107 on a send: the receiver
    assert "tencent 70107 (openim/batchsendmsg)" in failed.error.desc


async def test_result_items_and_fail_account_helpers() -> None:
    with_fails = OK | {"Fail_Account": ["ghost"], "ResultItem": [{"UserID": "ghost", "ResultCode": 70107}]}
    client = make(Tencent(CHECK_ANSWER, with_fails))
    try:
        answer = await client.call(CHECK, {"CheckItem": [{"UserID": "UserID_1"}, {"UserID": "UserID_2"}]})
        assert {i["UserID"]: i["AccountStatus"] for i in answer.result_items()} == {
            "UserID_1": "Imported",
            "UserID_2": "NotImported",
        }
        assert list(answer.item_errors()) == []
        assert answer.fail_accounts() == []
        second = await client.call("sns/friend_import", {})
    finally:
        await client.aclose()
    assert second.fail_accounts() == ["ghost"]
    (failed,) = second.item_errors()
    assert (failed.key, failed.error.code) == ("ghost", 70107)  # not a message call: 70107 stays


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (httpx.Response(200, content=b"<html>"), "not JSON"),
        (httpx.Response(200, content=b"[1]"), "not a JSON object"),
        (httpx.Response(200, content=b'{"ActionStatus": "FAIL"}'), "ActionStatus 'FAIL' with ErrorCode 0"),
        (httpx.Response(200, content=b'{"ErrorCode": "x"}'), "ErrorCode is not an integer"),
        (httpx.Response(404, content=b"nope"), "HTTP 404"),
    ],
)
async def test_unreadable_answers_are_7012_naming_the_endpoint(reply: httpx.Response, why: str) -> None:
    tencent = Tencent(reply)
    client = make(tencent)
    try:
        error = await refused(client.call(GROUP_LIST, {}, idempotent=True))
    finally:
        await client.aclose()
    assert error.code == Code.ERR_SDK_INTERNAL_ERROR
    assert GROUP_LIST in error.desc
    assert why in error.desc
    assert len(tencent.seen) == 1  # none of these is retried


# ---- the error table (MAPPING.md section 9: one case per row) ------------------------------------
@pytest.mark.parametrize(
    ("tencent_code", "endpoint", "expected"),
    [
        (60007, SENDMSG, 7008),  # frequency
        (60021, GROUP_LIST, 7012),  # admin sig or app problems (masked)
        (90002, SENDMSG, 6017),  # malformed JSON or MsgBody: an adapter bug
        (93000, SENDMSG, 8001),  # body over 12 KB
        (80001, "group_open_http_svc/send_group_msg", 80001),  # sensitive words
        (90012, SENDMSG, 20003),  # account missing, on a message
        (30003, "sns/friend_add", 70107),  # account missing, elsewhere
        (20006, SENDMSG, 20006),  # refused by a before-callback
        (20022, "openim/admin_msgwithdraw", 20022),  # C2C recall
        (10031, "group_open_http_svc/group_msg_recall", 10031),  # group recall
        (10010, "group_open_http_svc/get_group_info", 10010),  # group errors
        (10049, "group_open_http_svc/modify_group_attr", 8511),  # group attribute frequency
        (10062, "group_open_http_svc/get_group_msg_receipt", 10062),  # no read receipt
        (23001, "openim/set_key_values", 23001),  # extensions
        (30539, "sns/friend_add", 30539),  # pending: a result code
        (30515, "sns/friend_add", 30515),  # friendship refusals
        (51007, "recentcontact/create_contact_group", 51007),  # recentcontact, marks and groups
        (11000, "million_group_open_http_svc/create_topic", 7013),  # topics not enabled
        (40601, "profile/portrait_set", 40601),  # profile
    ],
)
async def test_error_table(tencent_code: int, endpoint: str, expected: int) -> None:
    assert map_code(tencent_code, endpoint).code == expected
    client = make(Tencent(fail(tencent_code, "why Tencent said no")))
    try:
        error = await refused(client.call(endpoint, {}))
    finally:
        await client.aclose()
    assert error.code == expected
    assert error.tencent_code == tencent_code
    assert error.desc == f"tencent {tencent_code} ({endpoint}): why Tencent said no"


def test_every_admin_and_app_code_is_masked_and_every_frequency_code_is_7008() -> None:
    for code in (60004, 60005, 70001, 70003, 60010, 60006, 60016, 60020, 60021):
        assert map_code(code, GROUP_LIST).code == Code.ERR_SDK_INTERNAL_ERROR
    for code in (60007, 60011, 60018, 60019):
        assert map_code(code, GROUP_LIST).code == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    assert map_code(60009, GROUP_LIST).code == Code.ERR_SDK_INTERFACE_NOT_SUPPORT
    assert map_code(12345, GROUP_LIST).code == 12345  # an unlisted code passes through


# ---- retries ------------------------------------------------------------------------------------
FAST = 0.001  # back-off seconds, for tests that do not watch the clock


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(502), fail(60007), fail(60018), fail(60008), httpx.ConnectError("refused")],
    ids=["5xx", "60007", "60018", "60008", "network"],
)
async def test_idempotent_calls_are_retried_until_they_succeed(failure: Reply) -> None:
    tencent = Tencent(failure, failure, A1_ANSWER)
    client = make(tencent, backoff_seconds=FAST)
    try:
        answer = await client.call(GROUP_LIST, {"Limit": 2}, idempotent=True)
    finally:
        await client.aclose()
    assert answer["TotalCount"] == 58530
    assert len(tencent.seen) == 3
    assert len({dict(tencent.query(n))["random"] for n in range(3)}) == 3  # each request its own random


async def test_idempotent_retries_stop_after_three_attempts() -> None:
    tencent = Tencent(fail(60011))
    client = make(tencent, backoff_seconds=FAST)
    try:
        error = await refused(client.call(GROUP_LIST, {}, idempotent=True))
    finally:
        await client.aclose()
    assert len(tencent.seen) == 3
    assert error.code == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    assert error.desc.startswith("tencent 60011 ")


@pytest.mark.parametrize(
    "failure", [httpx.Response(503), fail(60007), httpx.ReadError("reset")], ids=["5xx", "60007", "network"]
)
async def test_calls_not_marked_idempotent_are_sent_once(failure: Reply) -> None:
    tencent = Tencent(failure, OK)
    client = make(tencent, backoff_seconds=FAST)
    try:
        error = await refused(client.call("sns/friend_add", {"From_Account": "a"}))
    finally:
        await client.aclose()
    assert len(tencent.seen) == 1
    assert error.code in (Code.ERR_SDK_INTERNAL_ERROR, Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT)


async def test_a_send_is_retried_only_with_its_dedupe_key() -> None:
    message = {"From_Account": "a", "To_Account": "b", "MsgBody": []}
    cases: list[tuple[str, dict[str, Any], int]] = [
        (SENDMSG, message | {"MsgRandom": 7, "MsgSeq": 3}, 2),  # Tencent drops the duplicate
        (SENDMSG, message | {"MsgRandom": 7}, 1),  # no MsgSeq: REST picks a new one, no de-duplication
        ("group_open_http_svc/send_group_msg", {"GroupId": "g", "Random": 9, "MsgBody": []}, 2),
        ("group_open_http_svc/send_group_msg", {"GroupId": "g", "MsgBody": []}, 1),
        (BATCH, {"To_Account": ["b"], "MsgRandom": 7, "MsgSeq": 3, "MsgBody": []}, 1),  # never
    ]
    for endpoint, body, requests in cases:
        tencent = Tencent(httpx.Response(502), OK)
        client = make(tencent, backoff_seconds=FAST)
        try:
            if requests == 2:  # the 502, then the resend that succeeds
                await client.call(endpoint, body, idempotent=True)
            else:
                error = await refused(client.call(endpoint, body, idempotent=True))
                assert error.code == Code.ERR_SDK_INTERNAL_ERROR
        finally:
            await client.aclose()
        assert len(tencent.seen) == requests, (endpoint, body)
        assert all(orjson.loads(r.content) == body for r in tencent.seen)  # the same body, key and all


async def test_backoff_is_honoured(clock: ManualClock) -> None:
    tencent = Tencent(fail(60007), httpx.Response(500), A1_ANSWER)
    client = make(tencent, clock=clock, backoff_seconds=1.0)
    try:
        call = asyncio.create_task(client.call(GROUP_LIST, {}, idempotent=True))
        await until(lambda: len(tencent.seen) == 1, "first attempt")
        await clock.advance(0.99)  # back-off 1 s (+ up to 25 % jitter)
        await asyncio.sleep(0.05)
        assert len(tencent.seen) == 1
        await clock.advance(0.27)
        await until(lambda: len(tencent.seen) == 2, "second attempt after the first back-off")
        await clock.advance(1.99)  # then 2 s (+ jitter)
        await asyncio.sleep(0.05)
        assert len(tencent.seen) == 2
        await clock.advance(0.52)
        await until(lambda: len(tencent.seen) == 3, "third attempt after the second back-off")
        answer = await asyncio.wait_for(call, 5)
    finally:
        await client.aclose()
    assert answer["TotalCount"] == 58530


# ---- timeouts -----------------------------------------------------------------------------------
async def never_answers() -> httpx.Response:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def test_a_call_that_gets_no_answer_ends_in_7012_quickly() -> None:
    tencent = Tencent(never_answers)
    client = make(tencent, timeout_seconds=0.2)
    try:
        error = await refused(asyncio.wait_for(client.call(SENDMSG, {"To_Account": "b"}), 10))
        again = await refused(asyncio.wait_for(client.call(GROUP_LIST, {}, idempotent=True), 10))
    finally:
        await client.aclose()
    assert error.code == Code.ERR_SDK_INTERNAL_ERROR
    assert "tencent (openim/sendmsg) did not answer within 0.2 s" in error.desc
    assert len(tencent.seen) == 1 + 3  # the send once, the read three times
    assert again.code == Code.ERR_SDK_INTERNAL_ERROR


async def test_a_dead_server_ends_in_7012_naming_the_endpoint() -> None:
    client = TencentRestClient(
        sdkappid=APP, secret_key=SECRET, api_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=2
    )
    try:
        error = await refused(asyncio.wait_for(client.call(GROUP_LIST, {}), 10))
    finally:
        await client.aclose()
    assert error.code == Code.ERR_SDK_INTERNAL_ERROR
    assert f"tencent ({GROUP_LIST}) cannot be reached at http://127.0.0.1:" in error.desc


# ---- the admin sig ------------------------------------------------------------------------------
async def test_admin_sig_is_renewed_well_before_it_expires() -> None:
    clock = ManualClock(start=1_700_000_000)
    tencent = Tencent(OK)
    client = make(tencent, clock=clock)

    def sig_of(n: int) -> str:
        return dict(tencent.query(n))["usersig"]

    try:
        await client.call(IP_LIST)
        await clock.advance(ADMIN_SIG_RENEW_AFTER_SECONDS - 1)
        await client.call(IP_LIST)
        assert sig_of(1) == sig_of(0)  # cached
        first = verify(sig_of(1), sdkappid=APP, secret_key=SECRET, user_id=ADMIN, now=clock.now())
        assert first.expires_at - clock.now() > ADMIN_SIG_LIFETIME_SECONDS / 2 - 2  # hours left
        await clock.advance(1)
        await client.call(IP_LIST)
    finally:
        await client.aclose()
    assert sig_of(2) != sig_of(1)
    renewed = verify(sig_of(2), sdkappid=APP, secret_key=SECRET, user_id=ADMIN, now=clock.now())
    assert renewed.issued_at == int(clock.now())
    assert renewed.expire_seconds == ADMIN_SIG_LIFETIME_SECONDS
    assert first.expires_at > clock.now()  # the old one was still valid when it was replaced


async def test_a_sig_refusal_mints_a_new_sig_for_the_next_call() -> None:
    clock = ManualClock(start=1_700_000_000)
    tencent = Tencent(fail(70001, "sig expired"), OK)
    client = make(tencent, clock=clock)
    try:
        error = await refused(client.call(IP_LIST))
        assert error.code == Code.ERR_SDK_INTERNAL_ERROR  # masked: an operator's problem, not the user's
        await clock.advance(1)
        await client.call(IP_LIST)
    finally:
        await client.aclose()
    assert dict(tencent.query(0))["usersig"] != dict(tencent.query(1))["usersig"]


# ---- the rate limiter (a real Redis) -------------------------------------------------------------
class CountingRedis:
    """A Redis that counts the scripts run through it (each one round trip)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.round_trips = 0

    async def evalsha(self, *args: Any) -> Any:
        self.round_trips += 1
        return await self.redis.evalsha(*args)

    async def eval(self, *args: Any) -> Any:
        self.round_trips += 1
        return await self.redis.eval(*args)


@pytest.fixture
async def shared_redis(redis_url: str) -> AsyncIterator[CountingRedis]:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield CountingRedis(redis)
    await redis.aclose()


def test_budgets_follow_mapping_section_8() -> None:
    assert rate_for(SENDMSG) == 200
    assert rate_for("group_open_http_svc/send_group_msg") == 200
    assert rate_for(CHECK) == 100
    assert rate_for("im_open_login_svc/multiaccount_import") == 100
    assert rate_for("im_open_login_svc/account_delete") == 100
    assert rate_for("all_member_push/im_set_tag") == 100
    assert rate_for(GROUP_LIST) == 1
    assert rate_for("group_open_http_svc/send_broadcast_msg") == 1
    assert rate_for("open_msg_svc/get_history") == 10
    assert rate_for("group_search/search") == 2
    assert rate_for("group_member_search/search") == 2
    assert Budget.of(200) == Budget(200, 40)
    assert Budget.of(2) == Budget(2, 1)


async def test_a_burst_over_the_budget_waits_then_is_refused_with_7008(
    shared_redis: CountingRedis, sdkappid: int, clock: ManualClock
) -> None:
    """group_search: 2 calls/s, a bucket of 1; a call waits up to 1 s for its turn."""
    await shared_redis.redis.script_load(BUCKET_SCRIPT)  # as after the first call of a process
    limiter = EndpointLimiter(shared_redis, Keys(sdkappid), clock, max_wait_seconds=1.0)
    tencent = Tencent(OK)
    client = make(tencent, clock=clock, limiter=limiter)
    try:
        calls = [asyncio.create_task(client.call("group_search/search", {})) for _ in range(4)]
        await until(lambda: len(tencent.seen) == 1 and sum(c.done() for c in calls) == 2, "one sent, one refused")
        (refusal,) = [c for c in calls if c.done() and c.exception() is not None]
        error = refusal.exception()
        assert isinstance(error, IMError)
        assert error.code == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
        assert "tencent rate limit (group_search/search)" in error.desc
        await asyncio.sleep(0.05)
        assert len(tencent.seen) == 1  # the other two wait for their slots
        await clock.advance(0.5)
        await until(lambda: len(tencent.seen) == 2, "the first waiter at +0.5 s")
        await clock.advance(0.5)
        await until(lambda: len(tencent.seen) == 3, "the second waiter at +1 s")
        await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)
    finally:
        await client.aclose()
    assert shared_redis.round_trips == 4  # one per call, waits included


async def test_two_clients_on_one_redis_share_the_budget(
    shared_redis: CountingRedis, sdkappid: int, clock: ManualClock
) -> None:
    """get_appid_group_list: 1 call/s for the app, whichever replica makes it."""
    keys = Keys(sdkappid)
    tencent = Tencent(A1_ANSWER)
    replica_a = make(tencent, clock=clock, limiter=EndpointLimiter(shared_redis, keys, clock, max_wait_seconds=0))
    replica_b = make(tencent, clock=clock, limiter=EndpointLimiter(shared_redis, keys, clock, max_wait_seconds=0))
    try:
        await replica_a.call(GROUP_LIST, {"Limit": 2})
        error = await refused(replica_b.call(GROUP_LIST, {"Limit": 2}))
        assert error.code == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
        await replica_b.call(SENDMSG, {})  # another endpoint has its own budget
        await clock.advance(1.0)
        await replica_b.call(GROUP_LIST, {"Limit": 2})
        other_app = make(tencent, clock=clock, limiter=EndpointLimiter(shared_redis, Keys(sdkappid + 1), clock))
        try:
            await other_app.call(GROUP_LIST, {"Limit": 2})  # another app, another budget
        finally:
            await other_app.aclose()
    finally:
        await replica_a.aclose()
        await replica_b.aclose()
        await shared_redis.redis.delete(Keys(sdkappid + 1).tencent_rate(GROUP_LIST))
    assert len(tencent.seen) == 4


# ---- metrics ------------------------------------------------------------------------------------
async def test_metrics_per_endpoint() -> None:
    metrics = Metrics()
    tencent = Tencent(A1_ANSWER, httpx.Response(502), A1_ANSWER, fail(60009, "no such command"))
    client = make(tencent, metrics=metrics, backoff_seconds=FAST)
    try:
        await client.call(GROUP_LIST, {})
        await client.call(GROUP_LIST, {}, idempotent=True)
        await refused(client.call(SENDMSG, {}))
    finally:
        await client.aclose()

    def value(name: str, **labels: str) -> float:
        sample = metrics.registry.get_sample_value(name, labels)
        return 0.0 if sample is None else sample

    assert value("imql_tencent_calls_total", endpoint=GROUP_LIST) == 2
    assert value("imql_tencent_calls_total", endpoint=SENDMSG) == 1
    assert value("imql_tencent_errors_total", endpoint=GROUP_LIST, code="http_502") == 1
    assert value("imql_tencent_errors_total", endpoint=SENDMSG, code="60009") == 1
    assert value("imql_tencent_retries_total", endpoint=GROUP_LIST) == 1
    assert value("imql_tencent_call_seconds_count", endpoint=GROUP_LIST) == 2
    assert value("imql_tencent_call_seconds_count", endpoint=SENDMSG) == 1
    assert b"imql_tencent_calls_total" in metrics.render()


# ---- configuration ------------------------------------------------------------------------------
def test_settings_defaults_and_overrides() -> None:
    default = load_settings({})
    assert default.tencent_api_url == "https://console.tim.qq.com"
    assert default.tencent_admin == "administrator"
    assert default.tencent_callback_token is None
    assert default.tencent_callback_path == "/tencent/callback"
    assert (default.tencent_timeout_seconds, default.tencent_retry_backoff_seconds) == (5.0, 0.25)
    custom = load_settings(
        {
            "IMQL_TENCENT_API_URL": "https://adminapisgp.im.qcloud.com/",
            "IMQL_TENCENT_ADMIN": "ops_admin",
            "IMQL_TENCENT_CALLBACK_TOKEN": "xxxxyyyy",
            "IMQL_TENCENT_CALLBACK_PATH": "/hooks/tim",
            "IMQL_TENCENT_TIMEOUT": "1.5",
            "IMQL_TENCENT_RETRY_BACKOFF": "0",
        }
    )
    assert (custom.tencent_timeout_seconds, custom.tencent_retry_backoff_seconds) == (1.5, 0.0)
    assert custom.tencent_api_url == "https://adminapisgp.im.qcloud.com"  # /v4/... is appended to it
    assert custom.tencent_admin == "ops_admin"
    assert custom.tencent_callback_token == "xxxxyyyy"
    assert custom.tencent_callback_path == "/hooks/tim"
    assert load_settings({"IMQL_TENCENT_API_URL": "http://127.0.0.1:8000"}).tencent_api_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IMQL_TENCENT_API_URL": "ftp://console.tim.qq.com"}, "IMQL_TENCENT_API_URL must be http(s)"),
        ({"IMQL_TENCENT_API_URL": "console.tim.qq.com"}, "IMQL_TENCENT_API_URL must be http(s)"),
        ({"IMQL_TENCENT_API_URL": "https://console.tim.qq.com/?x=1"}, "scheme, host and port only"),
        ({"IMQL_TENCENT_API_URL": "https://console.tim.qq.com:99999"}, "bad port"),
        ({"IMQL_TENCENT_ADMIN": "  "}, "IMQL_TENCENT_ADMIN must not be empty"),
        ({"IMQL_TENCENT_ADMIN": "two words"}, "IMQL_TENCENT_ADMIN must be a userID"),
        ({"IMQL_TENCENT_CALLBACK_PATH": "tencent"}, "IMQL_TENCENT_CALLBACK_PATH must be a path"),
        ({"IMQL_TENCENT_CALLBACK_PATH": "/graphql"}, "IMQL_TENCENT_CALLBACK_PATH must be a path"),
        ({"IMQL_BACKEND": "tencent"}, "IMQL_BACKEND=tencent needs IMQL_TENCENT_CALLBACK_TOKEN"),
        ({"IMQL_TENCENT_TIMEOUT": "0"}, "IMQL_TENCENT_TIMEOUT must be a positive number"),
        ({"IMQL_TENCENT_RETRY_BACKOFF": "-1"}, "IMQL_TENCENT_RETRY_BACKOFF must be a number of seconds"),
        (
            {
                "IMQL_BACKEND": "tencent",
                "IMQL_TENCENT_CALLBACK_TOKEN": "t0ken",
                "IMQL_CALLBACK_URL": "http://127.0.0.1:9/cb",
            },
            "with IMQL_BACKEND=tencent, Tencent sends them",
        ),
    ],
)
def test_bad_tencent_settings_are_refused_clearly(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


# ---- against imql's own REST v4 server, standing in for Tencent ---------------------------------
@pytest.fixture
async def cloud_client(
    server: InProcessGateway, clock: ManualClock, redis_url: str
) -> AsyncIterator[TencentRestClient]:
    """A client aimed at a real in-process gateway with its REST v4 server and its admin."""
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    settings = server.settings
    limiter = EndpointLimiter(redis, Keys(settings.sdkappid), clock)
    client = TencentRestClient.from_settings(cloud_settings(server), limiter=limiter, clock=clock, metrics=Metrics())
    yield client
    await client.aclose()
    await redis.aclose()


def cloud_settings(server: InProcessGateway, **changes: Any) -> Settings:
    return server.settings.with_overrides(**({"tencent_api_url": server.base_url, "tencent_admin": ADMIN} | changes))


async def test_end_to_end_against_imqls_rest_server(cloud_client: TencentRestClient) -> None:
    imported = await cloud_client.call(IMPORT, {"UserID": "alice", "Nick": "Alice", "FaceUrl": ""}, idempotent=True)
    assert imported.status == "OK"
    checked = await cloud_client.call(CHECK, {"CheckItem": [{"UserID": "alice"}, {"UserID": "nobody"}]})
    assert {i["UserID"]: i["AccountStatus"] for i in checked.result_items()} == {
        "alice": "Imported",
        "nobody": "NotImported",
    }
    assert list(checked.item_errors()) == []
    error = await refused(cloud_client.call("im_open_login_svc/no_such_command", {}))
    assert error.tencent_code == 60009
    assert error.code == Code.ERR_SDK_INTERFACE_NOT_SUPPORT
    assert error.desc.startswith("tencent 60009 (im_open_login_svc/no_such_command): ")


async def test_check_tencent_api(server: InProcessGateway, clock: ManualClock) -> None:
    assert await check_tencent_api(cloud_settings(server), clock=clock) == ""
    wrong_key = await check_tencent_api(cloud_settings(server, secret_key="not-the-apps-key-0123"), clock=clock)
    assert "refused the admin 'administrator'" in wrong_key
    assert "tencent 70003 (im_open_login_svc/account_check)" in wrong_key
    assert "IMQL_SECRET_KEY" in wrong_key
    not_admin = await check_tencent_api(cloud_settings(server, tencent_admin="alice"), clock=clock)
    assert "tencent 60010" in not_admin
    dead = server.settings.with_overrides(tencent_api_url=f"http://127.0.0.1:{free_port()}")
    answer = await asyncio.wait_for(check_tencent_api(dead, timeout_seconds=2), 30)
    assert answer.startswith(f"Tencent's REST API at {dead.tencent_api_url} (IMQL_TENCENT_API_URL) does not answer")
