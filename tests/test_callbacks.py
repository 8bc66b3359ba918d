"""Tencent's third-party callbacks, sent by the embedded engine to a real local HTTP receiver.

Each callback's query string and Sign are checked, and each body key by key (names and JSON types)
against FIXTURES.md section C (the samples below are copied from it). Moderation is proved end to
end: a refused message reaches nobody and is not stored, a rewritten one is stored and delivered as
rewritten; failures follow the configured policy; after-callbacks are retried; a dead endpoint
fails no send.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import ConfigError, Settings, load_settings
from gateway.engine.backend import EmbeddedBackend
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.callbacks.hooks import decode_job as decode
from gateway.engine.callbacks.sender import CallbackSender
from gateway.events.bus import EventBus
from gateway.im.enums import ElemType
from gateway.im.messages import Content, SendOptions, TextElem
from gateway.keys import Keys
from gateway.origin import act_as, current_origin, forbid_callbacks
from gateway.store import open_redis
from gateway.v4 import callbacks as wire
from gateway.v4.signing import callback_sign, verify_callback_sign
from tests.support.actors import Actor
from tests.support.callback_receiver import OK_ANSWER as OK
from tests.support.callback_receiver import CallbackReceiver, Received, Reply
from tests.support.clients import HTTPClient, WSClient
from tests.support.groups import CREATE, member
from tests.support.messages import EVENTS, HISTORY, Device, device
from tests.support.servers import InProcessGateway, free_port, start_in_process
from tests.tencent.fixtures import C1, C4, C7, C8, C9, C10, C13, C14, C19, MSG_BODY  # FIXTURES section C, kept once

TOKEN = "xxxxyyyy"  # FIXTURES.md A4's token

# ---- FIXTURES.md section C samples (keys and JSON types are what is compared) -------------------
C1_OPTIONAL = {"MsgId": "x", "EventTime": 1}  # "newer CN samples also show MsgId and a numeric EventTime"
C2 = {
    **{k: v for k, v in C1.items() if k != "CallbackCommand"},
    "CallbackCommand": "C2C.CallbackAfterSendMsg",
    "SendMsgResult": 0,
    "ErrorInfo": "send msg succeed",
    "UnreadMsgNum": 7,
}
C2_OPTIONAL = {"MsgId": "x"}  # the CN field table
C11 = {
    "CallbackCommand": "Group.CallbackAfterCreateGroup",
    "GroupId": "@TGS#2J4SZEAEL",
    "Operator_Account": "group_root",
    "Owner_Account": "leckie",
    "Type": "Public",
    "Name": "MyFirstGroup",
    "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "peter"}],
    "UserDefinedDataList": [{"Key": "UserDefined1", "Value": "hello"}],
    "EventTime": "1670574414123",
}
C12 = {
    "CallbackCommand": "Group.CallbackAfterGroupDestroyed",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "Owner_Account": "leckie",
    "Name": "MyFirstGroup",
    "MemberList": [{"Member_Account": "leckie"}],
    "EventTime": "1670574414123",
}
# Group.CallbackBeforeCreateGroup [D 34368] (not in FIXTURES.md; the doc's sample)
BEFORE_CREATE = {
    "CallbackCommand": "Group.CallbackBeforeCreateGroup",
    "Operator_Account": "leckie",
    "Owner_Account": "leckie",
    "Type": "Public",
    "Name": "MyFirstGroup",
    "CreateGroupNum": 123,
    "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "peter"}],
    "EventTime": "1670574414123",
}
C22 = {
    "CallbackCommand": "Sns.CallbackFriendAdd",
    "PairList": [{"From_Account": "id", "To_Account": "id1", "Initiator_Account": "id"}],
    "ClientCmd": "friend_add",
    "Admin_Account": "",
    "ForceFlag": 1,
}
C23 = {"CallbackCommand": "Sns.CallbackFriendDelete", "PairList": [{"From_Account": "id", "To_Account": "id1"}]}
C24 = {
    "CallbackCommand": "Sns.CallbackPrevFriendAdd",
    "Requester_Account": "id",
    "From_Account": "id",
    "FriendItem": [
        {
            "To_Account": "id1",
            "Remark": "remark1",
            "GroupName": "group1",
            "AddSource": "AddSource_Type_Android",
            "AddWording": "this is id1!",
        }
    ],
    "AddType": "Add_Type_Both",
    "ForceAddFlags": 0,
    "EventTime": 1631777344870,
}
C25 = {
    "CallbackCommand": "Profile.CallbackPortraitSet",
    "Operator_Account": "id1",
    "From_Account": "id1",
    "EventTime": 1656921052497,
    "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "nick1"}],
}
C26 = {
    "CallbackCommand": "State.StateChange",
    "EventTime": 1629883332497,
    "Info": {"Action": "Login", "To_Account": "testuser316", "Reason": "Register"},
    "KickedDevice": [{"Platform": "Windows"}],
}


def assert_shape(
    body: dict[str, Any], fixture: dict[str, Any], *, extra: dict[str, Any] | None = None, absent: tuple[str, ...] = ()
) -> None:
    """`body` has exactly the fixture's keys (plus `extra`'s, minus `absent`), each of the same JSON
    type; list items and nested objects are compared the same way."""
    expected = {k: v for k, v in {**fixture, **(extra or {})}.items() if k not in absent}
    assert sorted(body) == sorted(expected), f"{body.get('CallbackCommand')}: {sorted(body)} != {sorted(expected)}"
    for key, sample in expected.items():
        value = body[key]
        assert type(value) is type(sample), f"{key}: {value!r} is not like {sample!r}"
        if isinstance(sample, dict):
            assert_shape(value, sample)
        elif isinstance(sample, list) and sample and value and isinstance(sample[0], dict):
            for item in value:
                assert_shape(item, sample[0])


def check_request_line(got: Received, sdkappid: int, command: str, platform: str, now: float) -> None:
    """FIXTURES.md A4: the parameters in Tencent's order, then Sign and RequestTime (token set)."""
    names = [k for k, _ in got.query]
    assert names == ["SdkAppid", "CallbackCommand", "contenttype", "ClientIP", "OptPlatform", "Sign", "RequestTime"]
    params = got.params
    assert params["SdkAppid"] == str(sdkappid)
    assert params["CallbackCommand"] == command == got.body["CallbackCommand"]
    assert params["contenttype"] == "json"
    assert params["ClientIP"] == "127.0.0.1"
    assert params["OptPlatform"] == platform
    assert params["RequestTime"] == str(int(now))
    assert params["Sign"] == hashlib.sha256(f"{TOKEN}{params['RequestTime']}".encode()).hexdigest()
    assert verify_callback_sign(TOKEN, params["Sign"], params["RequestTime"], now)


# ---- fixtures ------------------------------------------------------------------------------------
async def _gateway(settings: Settings, clock: ManualClock) -> tuple[InProcessGateway, HTTPClient]:
    running = await start_in_process(settings, clock)
    http = HTTPClient(running.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    return running, http


@pytest.fixture
async def cb(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver
) -> AsyncIterator[tuple[InProcessGateway, HTTPClient]]:
    """A gateway whose callbacks go to `receiver`, signed with TOKEN, every command on."""
    running, http = await _gateway(replace(settings, callback_url=receiver.url, callback_token=TOKEN), clock)
    yield running, http
    await http.aclose()
    await running.stop()


def text_of(body: dict[str, Any]) -> str:
    return str(body["MsgBody"][0]["MsgContent"]["Text"])


# ---- the wire ------------------------------------------------------------------------------------
def test_sign_is_sha256_of_token_and_request_time() -> None:
    expected = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
    assert callback_sign("xxxxyyyy", 1669872112) == expected
    assert verify_callback_sign("xxxxyyyy", expected, "1669872112", now=1669872112 + 30)
    assert not verify_callback_sign("xxxxyyyy", expected, "1669872112", now=1669872112 + 61)  # stale
    assert not verify_callback_sign("xxxyyy", expected, "1669872112", now=1669872112)  # the doc's typo


def test_query_string_without_token_and_state_change_spelling() -> None:
    assert wire.query_string(888888, wire.GROUP_AFTER_JOIN, "1.2.3.4", "Web") == (
        "SdkAppid=888888&CallbackCommand=Group.CallbackAfterNewMemberJoin&contenttype=json&ClientIP=1.2.3.4&OptPlatform=Web"
    )
    assert wire.query_string(1, wire.STATE_CHANGE, "", "iOS").endswith("OptPlatform=IOS")
    assert [wire.opt_platform(p) for p in ("web", "android", "ios", "ipad", "mac", "windows", "tv")] == [
        "Web",
        "Android",
        "iOS",
        "iPad",
        "Mac",
        "Windows",
        "Unknown",
    ]


def test_callback_settings_are_checked() -> None:
    off = load_settings({})
    assert off.callback_url is None
    assert off.callback_commands == wire.SUPPORTED_COMMANDS
    assert off.callback_timeout_seconds == 2.0
    assert not off.callback_fail_closed
    on = load_settings(
        {
            "IMQL_CALLBACK_URL": "https://app.example/im",
            "IMQL_CALLBACK_TOKEN": "t",
            "IMQL_CALLBACK_COMMANDS": " C2C.CallbackBeforeSendMsg, State.StateChange ",
            "IMQL_CALLBACK_TIMEOUT": "0.5",
            "IMQL_CALLBACK_FAILURE_POLICY": "closed",
        }
    )
    assert on.callback_commands == {wire.C2C_BEFORE_SEND, wire.STATE_CHANGE}
    assert (on.callback_url, on.callback_token, on.callback_timeout_seconds, on.callback_fail_closed) == (
        "https://app.example/im",
        "t",
        0.5,
        True,
    )
    for env in (
        {"IMQL_CALLBACK_URL": "ftp://x"},
        {"IMQL_CALLBACK_COMMANDS": "C2C.CallbackBeforeSendMsg,Group.CallbackNoSuchThing"},
        {"IMQL_CALLBACK_TIMEOUT": "0"},
        {"IMQL_CALLBACK_TIMEOUT": "31"},
        {"IMQL_CALLBACK_FAILURE_POLICY": "maybe"},
    ):
        with pytest.raises(ConfigError):
            load_settings(env)


# ---- C2C -----------------------------------------------------------------------------------------
async def test_c2c_send_sends_before_and_after_callbacks_as_tencent(
    cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver, clock: ManualClock
) -> None:
    server, client = cb
    alice = await device(client, server, "alice", platform="android")
    bob = await device(client, server, "bob")
    sent = await alice.send_text("bob", "red packet", c="your cloud custom data")
    (before,) = await receiver.wait_for(wire.C2C_BEFORE_SEND)
    check_request_line(before, server.settings.sdkappid, wire.C2C_BEFORE_SEND, "Android", clock.now())
    assert_shape(before.body, C1, extra=C1_OPTIONAL)
    key = f"{sent['seq']}_{before.body['MsgRandom']}_{sent['timestamp']}"
    assert before.body["MsgKey"] == key
    assert before.body["MsgId"] == sent["msgID"]
    assert (before.body["From_Account"], before.body["To_Account"], before.body["OnlineOnlyFlag"]) == (
        "alice",
        "bob",
        0,
    )
    assert before.body["MsgBody"] == MSG_BODY
    assert before.body["CloudCustomData"] == "your cloud custom data"
    (after,) = await receiver.wait_for(wire.C2C_AFTER_SEND)
    check_request_line(after, server.settings.sdkappid, wire.C2C_AFTER_SEND, "Android", clock.now())
    assert_shape(after.body, C2, extra=C2_OPTIONAL)
    assert after.body["MsgKey"] == key
    assert after.body["UnreadMsgNum"] == 1
    assert (after.body["SendMsgResult"], after.body["ErrorInfo"]) == (0, "send msg succeed")
    # a recall: C2C.CallbackAfterMsgWithDraw names the message by its MsgKey
    assert await alice.q(f'mutation {{ revokeMessage(lastMsgID: "{sent["msgID"]}") }}')
    (withdrawn,) = await receiver.wait_for(wire.C2C_AFTER_WITHDRAW)
    assert_shape(withdrawn.body, C4)
    assert (withdrawn.body["MsgKey"], withdrawn.body["From_Account"], withdrawn.body["To_Account"]) == (
        key,
        "alice",
        "bob",
    )
    await bob.ws.close()
    await alice.ws.close()


def _moderating(received: Received) -> Reply | None:
    """The app's moderation: refuses "refuse", refuses "custom" with its own code, drops "drop",
    rewrites "rewrite"."""
    if received.command not in (wire.C2C_BEFORE_SEND, wire.GROUP_BEFORE_SEND):
        return None
    text = text_of(received.body)
    custom = 120042 if received.command == wire.C2C_BEFORE_SEND else 10142
    answers = {
        "refuse": {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 1},
        "custom": {"ActionStatus": "OK", "ErrorInfo": "no links please", "ErrorCode": custom},
        "drop": {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 2},
        "rewrite": {
            "ActionStatus": "OK",
            "ErrorInfo": "",
            "ErrorCode": 0,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "r*****e"}}],
            "CloudCustomData": "moderated",
        },
    }
    return Reply(answers[text]) if text in answers else None


async def _history(dev: Device, peer: str) -> list[str]:
    page = (await dev.q(HISTORY, {"u": peer, "n": 20, "last": None}))["getC2CHistoryMessageList"]
    return [m["textElem"]["text"] for m in page]


async def test_c2c_moderation_refuses_drops_and_rewrites(
    cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver
) -> None:
    server, client = cb
    receiver.decide = _moderating
    alice = await device(client, server, "alice")
    bob = await device(client, server, "bob")
    refused = await alice.send(await alice.create_text("refuse"), "bob")
    assert refused.codes == [wire.C2C_REFUSED]
    custom = await alice.send(await alice.create_text("custom"), "bob")
    assert custom.codes == [120042]
    assert custom.errors[0]["extensions"]["desc"] == "no links please"
    dropped = await alice.send_text("bob", "drop")  # the sender sees a success
    assert dropped["textElem"]["text"] == "drop"
    await bob.quiet()  # nothing reached bob
    assert await _history(bob, "alice") == []
    assert await _history(alice, "bob") == []
    rewritten = await alice.send_text("bob", "rewrite", c="original")
    assert (rewritten["textElem"]["text"], rewritten["cloudCustomData"]) == ("r*****e", "moderated")
    event = await bob.event()
    assert (event["message"]["textElem"]["text"], event["message"]["cloudCustomData"]) == ("r*****e", "moderated")
    assert await _history(bob, "alice") == ["r*****e"] == await _history(alice, "bob")
    # only the message that was sent has an after-callback, and it carries the new body
    (after,) = await receiver.wait_for(wire.C2C_AFTER_SEND)
    assert text_of(after.body) == "r*****e"
    assert after.body["CloudCustomData"] == "moderated"
    await asyncio.sleep(0.3)
    assert len(receiver.of(wire.C2C_AFTER_SEND)) == 1
    # a refused message's created id may be sent again (the app is asked again)
    receiver.decide = lambda _: None
    again = await alice.create_text("refuse")
    receiver.decide = _moderating
    assert (await alice.send(again, "bob")).codes == [wire.C2C_REFUSED]
    receiver.decide = lambda _: None
    assert (await alice.send(again, "bob")).ok()["sendMessage"]["textElem"]["text"] == "refuse"
    await bob.ws.close()
    await alice.ws.close()


async def _slow_gateway(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver, *, fail_closed: bool
) -> tuple[InProcessGateway, HTTPClient]:
    receiver.decide = lambda r: Reply(delay=1.5) if r.command == wire.C2C_BEFORE_SEND else None
    slow = replace(
        settings,
        callback_url=receiver.url,
        callback_token=TOKEN,
        callback_timeout_seconds=0.3,
        callback_fail_closed=fail_closed,
    )
    return await _gateway(slow, clock)


@pytest.mark.parametrize("fail_closed", [False, True])
async def test_a_before_callback_that_times_out_follows_the_policy(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver, fail_closed: bool
) -> None:
    server, client = await _slow_gateway(settings, clock, receiver, fail_closed=fail_closed)
    try:
        alice = await device(client, server, "alice")
        bob = await device(client, server, "bob")
        started = time.monotonic()
        reply = await alice.send(await alice.create_text("hello"), "bob")
        assert time.monotonic() - started < 1.2  # bounded by the 0.3 s timeout, not the endpoint's 1.5 s
        if fail_closed:
            assert reply.codes == [wire.C2C_REFUSED]
            await bob.quiet()
            assert await _history(bob, "alice") == []
        else:
            assert reply.ok()["sendMessage"]["textElem"]["text"] == "hello"
            assert (await bob.event())["message"]["textElem"]["text"] == "hello"
        await alice.ws.close()
        await bob.ws.close()
    finally:
        await client.aclose()
        await server.stop()


async def test_after_callbacks_are_retried_after_a_5xx(
    cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver
) -> None:
    server, client = cb
    failed: list[Received] = []

    def once_500(r: Received) -> Reply | None:
        if r.command == wire.C2C_AFTER_SEND and not failed:
            failed.append(r)
            return Reply(status=500)
        return None

    receiver.decide = once_500
    alice = await device(client, server, "alice")
    await client.login("bob")
    await alice.send_text("bob", "hi")
    first, second = await receiver.wait_for(wire.C2C_AFTER_SEND, count=2)
    assert first.body == second.body  # the same callback, delivered again
    assert second.at - first.at >= 0.9  # after the first backoff
    await alice.ws.close()


async def test_a_dead_endpoint_fails_no_send(settings: Settings, clock: ManualClock) -> None:
    dead = replace(settings, callback_url=f"http://127.0.0.1:{free_port()}/im", callback_token=TOKEN)
    server, client = await _gateway(dead, clock)
    try:
        alice = await device(client, server, "alice")
        bob = await device(client, server, "bob")
        started = time.monotonic()
        for n in range(3):
            assert (await alice.send_text("bob", f"m{n}"))["textElem"]["text"] == f"m{n}"
        assert time.monotonic() - started < 2.0
        assert [(await bob.event())["message"]["textElem"]["text"] for _ in range(3)] == ["m0", "m1", "m2"]
        await alice.ws.close()
        await bob.ws.close()
    finally:
        await client.aclose()
        await server.stop()


# ---- groups --------------------------------------------------------------------------------------
async def test_group_lifecycle_callbacks(cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver) -> None:
    server, client = cb
    olive, mike, nora = [await member(client, server, n) for n in ("olive", "mike", "nora")]
    await mike.q('mutation { setSelfInfo(nickName: "m") { userID } }')  # mike exists before he is invited
    created = await olive.q(
        CREATE,
        {"t": "V2TIM_GROUP_TYPE_PUBLIC", "n": "MyFirstGroup", "m": [{"userID": "mike"}], "a": "V2TIM_GROUP_ADD_ANY"},
    )
    gid = created["createGroup"]
    (before,) = await receiver.wait_for(wire.BEFORE_CREATE_GROUP)
    assert_shape(before.body, BEFORE_CREATE)
    assert (before.body["Operator_Account"], before.body["Owner_Account"], before.body["Type"]) == (
        "olive",
        "olive",
        "Public",
    )
    assert before.body["MemberList"] == [{"Member_Account": "mike"}]
    assert before.body["CreateGroupNum"] == 0
    (after,) = await receiver.wait_for(wire.GROUP_AFTER_CREATE)
    assert_shape(after.body, C11)
    assert (after.body["GroupId"], after.body["Name"], after.body["MemberList"]) == (
        gid,
        "MyFirstGroup",
        [{"Member_Account": "mike"}],
    )
    assert await nora.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    (apply,) = await receiver.wait_for(wire.BEFORE_APPLY_JOIN)
    assert_shape(apply.body, C19)
    assert (apply.body["GroupId"], apply.body["Requestor_Account"]) == (gid, "nora")
    joins = await receiver.wait_for(wire.GROUP_AFTER_JOIN, count=2)
    for body in (j.body for j in joins):
        assert_shape(body, C9)
    assert [(j.body["JoinType"], j.body["NewMemberList"]) for j in joins] == [
        ("Invited", [{"Member_Account": "mike"}]),
        ("Apply", [{"Member_Account": "nora"}]),
    ]
    change = {"groupID": gid, "notification": "NewNotification"}
    assert await olive.q("mutation($i: GroupInfoInput!) { setGroupInfo(info: $i) }", {"i": change})
    (changed,) = await receiver.wait_for(wire.GROUP_AFTER_INFO)
    assert_shape(changed.body, C13)
    assert await nora.q(f'mutation {{ quitGroup(groupID: "{gid}") }}')
    kick = 'mutation { kickGroupMember(groupID: "%s", memberList: ["mike"], reason: "bye") { result } }' % gid
    await olive.q(kick)
    exits = await receiver.wait_for(wire.GROUP_AFTER_EXIT, count=2)
    for body in (e.body for e in exits):
        assert_shape(body, C10)
    assert [(e.body["ExitType"], e.body["Operator_Account"], e.body["ExitMemberList"]) for e in exits] == [
        ("Quit", "nora", [{"Member_Account": "nora"}]),
        ("Kicked", "olive", [{"Member_Account": "mike"}]),
    ]
    assert await olive.q(f'mutation {{ dismissGroup(groupID: "{gid}") }}')
    (destroyed,) = await receiver.wait_for(wire.GROUP_AFTER_DESTROY)
    assert_shape(destroyed.body, C12)
    assert (destroyed.body["Owner_Account"], destroyed.body["MemberList"]) == ("olive", [{"Member_Account": "olive"}])
    for m in (olive, mike, nora):
        await m.ws.close()


async def test_group_before_callbacks_refuse_joins_and_creations(
    cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver
) -> None:
    server, client = cb
    olive, nora = [await member(client, server, n) for n in ("olive", "nora")]
    gid = (await olive.q(CREATE, {"t": "V2TIM_GROUP_TYPE_MEETING", "n": "g"}))["createGroup"]
    receiver.decide = lambda r: Reply({"ErrorCode": 1}) if r.command == wire.BEFORE_APPLY_JOIN else None
    assert (await nora.call(f'mutation {{ joinGroup(groupID: "{gid}") }}')).codes == [wire.GROUP_REFUSED]
    members = await olive.q(
        f'{{ getGroupMemberList(groupID: "{gid}", filter: V2TIM_GROUP_MEMBER_FILTER_ALL, nextSeq: 0) {{ memberInfoList {{ userID }} }} }}'
    )
    assert [m["userID"] for m in members["getGroupMemberList"]["memberInfoList"]] == ["olive"]
    receiver.decide = lambda r: (
        Reply({"ErrorCode": 10150, "ErrorInfo": "no more groups"}) if r.command == wire.BEFORE_CREATE_GROUP else None
    )
    refused = await nora.call(CREATE, {"t": "V2TIM_GROUP_TYPE_PUBLIC", "n": "mine"})
    assert refused.codes == [10150]
    assert refused.errors[0]["extensions"]["desc"] == "no more groups"
    assert (await nora.q("{ getJoinedGroupList { groupID } }"))["getJoinedGroupList"] == []
    await olive.ws.close()
    await nora.ws.close()


async def test_group_message_moderation_and_callbacks(
    cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver
) -> None:
    server, client = cb
    olive, mike = [await member(client, server, n) for n in ("olive", "mike")]
    gid = (await olive.q(CREATE, {"t": "V2TIM_GROUP_TYPE_MEETING", "n": "g", "m": [{"userID": "mike"}]}))["createGroup"]
    await mike.messages()  # the tips of his joining
    receiver.decide = _moderating
    assert (await olive.send(gid, "refuse")).codes == [wire.GROUP_REFUSED]
    custom = await olive.send(gid, "custom")
    assert custom.codes == [10142]
    assert custom.errors[0]["extensions"]["desc"] == "no links please"
    assert (await olive.send(gid, "drop")).ok()["sendMessage"]["groupID"] == gid
    assert await mike.messages() == []
    sent = (await olive.send(gid, "rewrite")).ok()["sendMessage"]
    assert [m["textElem"]["text"] for m in await mike.messages()] == ["r*****e"]
    history = await mike.q(
        f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ elemType textElem {{ text }} }} }}'
    )
    texts = [m["textElem"]["text"] for m in history["getGroupHistoryMessageList"] if m["textElem"]]
    assert texts == ["r*****e"]
    befores = await receiver.wait_for(wire.GROUP_BEFORE_SEND, count=4)
    for b in befores:
        assert_shape(b.body, C8, absent=("TopicId",))  # TopicId only for a topic's messages
        assert (b.body["GroupId"], b.body["Type"], b.body["From_Account"], b.body["Operator_Account"]) == (
            gid,
            "ChatRoom",
            "olive",
            "olive",
        )
    (after,) = await receiver.wait_for(wire.GROUP_AFTER_SEND)
    assert_shape(after.body, C7)
    assert (after.body["MsgSeq"], after.body["MsgId"], text_of(after.body)) == (sent["seq"], sent["msgID"], "r*****e")
    assert await olive.q(f'mutation {{ revokeMessage(lastMsgID: "{sent["msgID"]}") }}')
    (recalled,) = await receiver.wait_for(wire.GROUP_AFTER_RECALL)
    assert_shape(recalled.body, C14, absent=("TopicId",))
    assert recalled.body["MsgSeqList"] == [{"MsgSeq": sent["seq"]}]
    await olive.ws.close()
    await mike.ws.close()


# ---- relationships, profiles, state ----------------------------------------------------------------
ADD = """mutation($u: String!, $t: V2TIM_FriendAddType!) {
  addFriend(userID: $u, addType: $t, remark: "r", addWording: "hi", addSource: "AddSource_Type_Web") {
    userID resultCode resultInfo } }"""


async def test_friend_callbacks(cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver) -> None:
    _server, client = cb
    alice, bob, carol = [Actor(client, await client.login(u)) for u in ("alice", "bob", "carol")]
    receiver.decide = lambda r: (
        Reply({**OK, "ResultItem": [{"To_Account": "carol", "ResultCode": 38001, "ResultInfo": "not now"}]})
        if r.command == wire.PREV_FRIEND_ADD
        else None
    )
    refused = (await alice.q(ADD, {"u": "carol", "t": "V2TIM_FRIEND_TYPE_BOTH"}))["addFriend"]
    assert (refused["resultCode"], refused["resultInfo"]) == (38001, "not now")
    assert (await carol.q("{ getFriendApplicationList { unreadCount } }"))["getFriendApplicationList"][
        "unreadCount"
    ] == 0
    pending = (await alice.q(ADD, {"u": "bob", "t": "V2TIM_FRIEND_TYPE_BOTH"}))["addFriend"]
    assert pending["resultCode"] == 30539  # bob confirms requests
    prev = await receiver.wait_for(wire.PREV_FRIEND_ADD, count=2)
    assert_shape(prev[1].body, C24)
    assert prev[1].body["FriendItem"] == [
        {"To_Account": "bob", "Remark": "r", "GroupName": "", "AddSource": "AddSource_Type_Web", "AddWording": "hi"}
    ]
    accept = 'mutation { acceptFriendApplication(userID: "alice", responseType: V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD) { resultCode } }'
    await bob.q(accept)
    (added,) = await receiver.wait_for(wire.FRIEND_ADD)
    assert_shape(added.body, C22)
    assert (added.body["ClientCmd"], added.body["ForceFlag"], added.body["Admin_Account"]) == ("friend_response", 0, "")
    assert added.body["PairList"] == [
        {"From_Account": "alice", "To_Account": "bob", "Initiator_Account": "alice"},
        {"From_Account": "bob", "To_Account": "alice", "Initiator_Account": "alice"},
    ]
    await alice.q(
        'mutation { deleteFromFriendList(userIDList: ["bob"], deleteType: V2TIM_FRIEND_TYPE_BOTH) { resultCode } }'
    )
    await alice.q('mutation { addToBlackList(userIDList: ["carol"]) { resultCode } }')
    await alice.q('mutation { deleteFromBlackList(userIDList: ["carol"]) { resultCode } }')
    for command, pair in (
        (wire.FRIEND_DELETE, ["alice", "bob"]),
        (wire.BLACKLIST_ADD, ["alice", "carol"]),
        (wire.BLACKLIST_DELETE, ["alice", "carol"]),
    ):
        (got,) = await receiver.wait_for(command)
        assert_shape(got.body, {**C23, "CallbackCommand": command})
        assert got.body["PairList"] == [{"From_Account": pair[0], "To_Account": pair[1]}]


async def test_profile_and_state_callbacks(cb: tuple[InProcessGateway, HTTPClient], receiver: CallbackReceiver) -> None:
    server, client = cb
    token = await client.login("dave", platform="ios")
    ws = await WSClient.connect(server.ws_url, token)
    await ws.subscribe(EVENTS)
    (state,) = await receiver.wait_for(wire.STATE_CHANGE)
    assert_shape(state.body, C26)
    assert state.body["Info"] == {"Action": "Login", "To_Account": "dave", "Reason": "Register"}
    assert state.params["OptPlatform"] == "IOS"  # State.StateChange's spelling
    await Actor(client, token).q('mutation { setSelfInfo(nickName: "nick1", gender: V2TIM_GENDER_MALE) { userID } }')
    (portrait,) = await receiver.wait_for(wire.PORTRAIT_SET)
    assert_shape(portrait.body, C25)
    assert portrait.params["OptPlatform"] == "iOS"
    assert portrait.body["ProfileItem"] == [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "nick1"},
        {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Male"},
    ]
    await ws.close()
    states = await receiver.wait_for(wire.STATE_CHANGE, count=2)
    assert states[1].body["Info"] == {"Action": "Disconnect", "To_Account": "dave", "Reason": "LinkClose"}


# ---- the engine's side: origin, ForbidCallbackControl, no cost when off -------------------------------
class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> None:
        self.n += 1


async def _engine(redis_url: str, sdkappid: int, callbacks: Callbacks | None, counter: _Counter) -> EmbeddedBackend:
    redis = open_redis(redis_url, on_round_trip=counter)
    keys = Keys(sdkappid)
    engine = EmbeddedBackend(
        redis=redis, keys=keys, bus=EventBus(redis, keys), clock=ManualClock(), callbacks=callbacks
    )
    for user in ("alice", "bob"):
        await engine.accounts.ensure_account(user)
    return engine


async def _close(redis: Any) -> None:
    await redis.aclose()
    await redis.connection_pool.disconnect()


async def _send(engine: EmbeddedBackend, text: str) -> None:
    created = await engine.messages.create_message(
        "alice", Content(elemType=ElemType.V2TIM_ELEM_TYPE_TEXT, textElem=TextElem(text=text))
    )
    await engine.messages.send_c2c_message("alice", "s1", created.id, "bob", SendOptions())


async def test_the_send_path_costs_nothing_more_with_callbacks_off_and_after_callbacks_on(
    redis_url: str, sdkappid: int
) -> None:
    """Off: no hook is awaited. After-callbacks on: the XADD rides in the send's own write pipeline,
    so a send makes as many Redis round trips as with callbacks off."""
    off_count, on_count = _Counter(), _Counter()
    off = await _engine(redis_url, sdkappid, None, off_count)

    async def never(*_: Any) -> Any:
        raise AssertionError("a before-callback hook was awaited with callbacks off")

    off.callbacks.before_c2c_send = never  # type: ignore[method-assign,assignment]
    await _send(off, "warm up")
    before = off_count.n
    await _send(off, "off")
    off_trips = off_count.n - before
    sender = CallbackSender("http://127.0.0.1:1/unused", None, sdkappid, ManualClock(), 1.0)
    after_only = Callbacks(off._redis, Keys(sdkappid), ManualClock(), sender, commands={wire.C2C_AFTER_SEND})
    on = await _engine(redis_url, sdkappid, after_only, on_count)
    await _send(on, "warm up")
    before = on_count.n
    await _send(on, "on")
    assert on_count.n - before == off_trips
    queued = await on._redis.xrange(Keys(sdkappid).callback_queue())
    assert len(queued) == 2  # both sends queued their after-callback
    await sender.aclose()
    await _close(off._redis)
    await _close(on._redis)


async def test_origin_and_forbid_callback_control(redis_url: str, sdkappid: int) -> None:
    """A REST action's callbacks say RESTAPI and the admin; ForbidCallbackControl silences them."""
    counter = _Counter()
    sender = CallbackSender("http://127.0.0.1:1/unused", None, sdkappid, ManualClock(), 1.0)
    keys = Keys(sdkappid)
    redis = open_redis(redis_url)
    # the after-callbacks only: a before-callback would wait for the (absent) endpoint
    after = wire.SUPPORTED_COMMANDS - set(wire.BEFORE_COMMANDS)
    callbacks = Callbacks(redis, keys, ManualClock(), sender, commands=after)
    engine = await _engine(redis_url, sdkappid, callbacks, counter)

    async def in_rest_call(forbid: list[str]) -> None:
        act_as(wire.REST_API, "10.1.2.3", "administrator")
        forbid_callbacks(forbid)
        await _send(engine, "from the admin")

    await asyncio.create_task(in_rest_call([]))
    await asyncio.create_task(in_rest_call(["ForbidAfterSendMsgCallback"]))
    assert current_origin().platform == "Unknown"  # each request's origin stays in its own task
    jobs = [decode(fields["job"]) for _, fields in await redis.xrange(keys.callback_queue())]
    assert [(j.command, j.platform, j.clientIP) for j in jobs] == [(wire.C2C_AFTER_SEND, "RESTAPI", "10.1.2.3")]
    await sender.aclose()
    await _close(redis)
    await _close(engine._redis)
