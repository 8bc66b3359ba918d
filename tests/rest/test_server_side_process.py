"""The server side end to end, as an app's own backend uses it: a real `imql serve` process, the
REST v4 API called over HTTP with an admin sig, a local callback endpoint moderating messages, and
users on the GraphQL API seeing the results. The issue's scenarios in one place:
accounts -> sendmsg -> admin_getroammsg and GraphQL history -> unread -> recall; a group's
create/add/send/read; friendship and blacklist round trips; moderation (refuse, rewrite, and a
REST send that skips the before-callback with ForbidCallbackControl)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.v4.callbacks import C2C_REFUSED
from tests.conftest import SECRET
from tests.rest.conftest import RestClient
from tests.support.callback_receiver import CallbackReceiver, Received, Reply
from tests.support.clients import HTTPClient
from tests.support.servers import GatewayProcess, spawn_gateway

TOKEN = "callback-token-123"
HISTORY = """query($u: String!) { getC2CHistoryMessageList(userID: $u, count: 20) {
  msgID sender status textElem { text } } }"""


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


def moderate(got: Received) -> Reply | None:
    """The app's moderation: refuse what says "forbidden", rewrite what says "rewrite me"."""
    if got.command != "C2C.CallbackBeforeSendMsg":
        return None
    said = got.body["MsgBody"][0]["MsgContent"].get("Text", "")
    if "forbidden" in said:
        return Reply({"ActionStatus": "OK", "ErrorInfo": "not here", "ErrorCode": 1})
    if "rewrite me" in said:
        return Reply({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "MsgBody": text("[rewritten]")})
    return None


@dataclass
class World:
    gateway: GatewayProcess
    rest: RestClient
    http: HTTPClient
    callbacks: CallbackReceiver


@pytest.fixture
async def world(sdkappid: int, redis_url: str) -> AsyncIterator[World]:
    callbacks = CallbackReceiver(decide=moderate)
    await callbacks.start()
    env = {
        "IMQL_REDIS_URL": redis_url,
        "IMQL_SDKAPPID": str(sdkappid),
        "IMQL_SECRET_KEY": SECRET,
        "IMQL_CALLBACK_URL": callbacks.url,
        "IMQL_CALLBACK_TOKEN": TOKEN,
        "IMQL_CALLBACK_COMMANDS": "C2C.CallbackBeforeSendMsg,C2C.CallbackAfterSendMsg",
    }
    gateway = await spawn_gateway(env)
    http = HTTPClient(gateway.base_url, sdkappid, SECRET)
    try:
        yield World(gateway, RestClient(http), http, callbacks)
    finally:
        await http.aclose()
        gateway.terminate()
        await callbacks.stop()


async def test_messages_between_imported_accounts(world: World) -> None:
    rest, http = world.rest, world.http
    await rest.ok("im_open_login_svc/multiaccount_import", {"AccountList": [{"UserID": "alice"}, {"UserID": "bob"}]})
    checked = await rest.ok("im_open_login_svc/account_check", {"CheckItem": [{"UserID": "alice"}, {"UserID": "x"}]})
    assert [r["AccountStatus"] for r in checked["ResultItem"]] == ["Imported", "NotImported"]
    sent = await rest.ok(
        "openim/sendmsg",
        {"SyncOtherMachine": 2, "From_Account": "alice", "To_Account": "bob", "MsgRandom": 77, "MsgBody": text("hi")},
    )
    key = sent["MsgKey"]
    roam = await rest.ok(
        "openim/admin_getroammsg",
        {"Operator_Account": "bob", "Peer_Account": "alice", "MaxCnt": 10, "MinTime": 0, "MaxTime": 2**31 - 1},
    )
    assert [(m["From_Account"], m["MsgKey"], m["MsgBody"]) for m in roam["MsgList"]] == [("alice", key, text("hi"))]
    bob = await http.login("bob")
    history = (await http.gql(HISTORY, {"u": "alice"}, token=bob)).ok()["getC2CHistoryMessageList"]
    assert [(m["sender"], m["textElem"]["text"], m["msgID"]) for m in history] == [("alice", "hi", sent["MsgId"])]
    unread = await rest.ok("openim/get_c2c_unread_msg_num", {"To_Account": "bob", "Peer_Account": ["alice"]})
    assert unread["AllC2CUnreadMsgNum"] == 1
    assert unread["C2CUnreadMsgNumList"] == [{"Peer_Account": "alice", "C2CUnreadMsgNum": 1}]
    await rest.ok("openim/admin_msgwithdraw", {"From_Account": "alice", "To_Account": "bob", "MsgKey": key})
    history = (await http.gql(HISTORY, {"u": "alice"}, token=bob)).ok()["getC2CHistoryMessageList"]
    assert [m["status"] for m in history] == ["V2TIM_MSG_STATUS_LOCAL_REVOKED"]
    # the after-send callback reported the REST send as such, signed
    [after] = await world.callbacks.wait_for("C2C.CallbackAfterSendMsg")
    assert after.params["OptPlatform"] == "RESTAPI"
    assert after.body["MsgKey"] == key
    assert "Sign" in after.params


async def test_a_group_made_and_used_through_rest(world: World) -> None:
    rest, http = world.rest, world.http
    await rest.ok("im_open_login_svc/multiaccount_import", {"AccountList": [{"UserID": u} for u in ("olive", "mike")]})
    gid = (
        await rest.ok("group_open_http_svc/create_group", {"Owner_Account": "olive", "Type": "Public", "Name": "g"})
    )["GroupId"]
    added = await rest.ok(
        "group_open_http_svc/add_group_member", {"GroupId": gid, "MemberList": [{"Member_Account": "mike"}]}
    )
    assert added["MemberList"] == [{"Member_Account": "mike", "Result": 1}]
    sent = await rest.ok(
        "group_open_http_svc/send_group_msg",
        {"GroupId": gid, "From_Account": "olive", "Random": 5, "MsgBody": text("hello")},
    )
    got = await rest.ok("group_open_http_svc/group_msg_get_simple", {"GroupId": gid, "ReqMsgNumber": 5})
    mine = [m for m in got["RspMsgList"] if m["MsgSeq"] == sent["MsgSeq"]]
    assert [(m["From_Account"], m["MsgBody"]) for m in mine] == [("olive", text("hello"))]
    mike = await http.login("mike")
    query = f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ sender textElem {{ text }} }} }}'
    history = (await http.gql(query, token=mike)).ok()["getGroupHistoryMessageList"]
    assert {"sender": "olive", "textElem": {"text": "hello"}} in history


async def test_friendship_and_blacklist_round_trips(world: World) -> None:
    rest = world.rest
    await rest.ok("im_open_login_svc/multiaccount_import", {"AccountList": [{"UserID": u} for u in ("ann", "ben")]})
    added = await rest.ok(
        "sns/friend_add",
        {
            "From_Account": "ann",
            "AddFriendItem": [{"To_Account": "ben", "AddSource": "AddSource_Type_Web"}],
            "AddType": "Add_Type_Both",
            "ForceAddFlags": 1,
        },
    )
    assert added["ResultItem"][0]["ResultCode"] == 0
    check = {"From_Account": "ann", "To_Account": ["ben"], "CheckType": "CheckResult_Type_Both"}
    assert (await rest.ok("sns/friend_check", check))["InfoItem"][0]["Relation"] == "CheckResult_Type_BothWay"
    await rest.ok("sns/black_list_add", {"From_Account": "ann", "To_Account": ["ben"]})
    black = await rest.ok(
        "sns/black_list_check",
        {"From_Account": "ann", "To_Account": ["ben"], "CheckType": "BlackCheckResult_Type_Single"},
    )
    assert black["BlackListCheckItem"][0]["Relation"] == "BlackCheckResult_Type_AWithB"
    # blocking ended the friendship, both ways
    assert (await rest.ok("sns/friend_check", check))["InfoItem"][0]["Relation"] == "CheckResult_Type_NoRelation"
    await rest.ok("sns/black_list_delete", {"From_Account": "ann", "To_Account": ["ben"]})
    black = await rest.ok(
        "sns/black_list_check",
        {"From_Account": "ann", "To_Account": ["ben"], "CheckType": "BlackCheckResult_Type_Single"},
    )
    assert black["BlackListCheckItem"][0]["Relation"] == "BlackCheckResult_Type_NO"


async def test_moderation_refuses_rewrites_and_can_be_skipped_by_rest(world: World) -> None:
    rest, http = world.rest, world.http
    alice, bob = await http.login("alice"), await http.login("bob")

    async def sdk_send(said: str) -> Any:
        created = (await http.gql(f'mutation {{ createTextMessage(text: "{said}") {{ id }} }}', token=alice)).ok()
        cid = created["createTextMessage"]["id"]
        return await http.gql(f'mutation {{ sendMessage(id: "{cid}", receiver: "bob") {{ msgID }} }}', token=alice)

    refused = await sdk_send("something forbidden")
    assert refused.codes == [C2C_REFUSED]
    (await sdk_send("please rewrite me")).ok()
    texts = [
        m["textElem"]["text"]
        for m in (await http.gql(HISTORY, {"u": "alice"}, token=bob)).ok()["getC2CHistoryMessageList"]
    ]
    assert texts == ["[rewritten]"]  # the refused one was never stored
    # REST: the same refusal applies, unless the call forbids the before-callback
    body = {
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgRandom": random.randint(1, 10**6),
        "MsgBody": text("forbidden by rest"),
    }
    assert (await rest.call("openim/sendmsg", body))["ErrorCode"] != 0
    await rest.ok("openim/sendmsg", dict(body, ForbidCallbackControl=["ForbidBeforeSendMsgCallback"]))
    texts = [
        m["textElem"]["text"]
        for m in (await http.gql(HISTORY, {"u": "alice"}, token=bob)).ok()["getC2CHistoryMessageList"]
    ]
    assert texts == ["forbidden by rest", "[rewritten]"]
    assert await rest.fails("openim/sendmsg", dict(body, ForbidCallbackControl=["NoSuchControl"]), 90009)
