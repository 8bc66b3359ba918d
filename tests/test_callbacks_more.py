"""The rest of Tencent's after-callbacks (and Sns.CallbackPrevFriendResponse), sent by the embedded
engine to a real local HTTP receiver, each caused both by an SDK user (GraphQL) and, where a REST
command does the same, by the app's server (REST v4, OptPlatform RESTAPI, the admin as operator).

Every body is compared key by key (names and JSON types) with FIXTURES.md section C, then its values
with what was done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.v4 import callbacks as wire
from tests.rest.conftest import ADMIN, RestClient
from tests.support.actors import Actor
from tests.support.callback_receiver import OK_ANSWER as OK
from tests.support.callback_receiver import CallbackReceiver, Received, Reply
from tests.support.clients import HTTPClient
from tests.support.groups import CREATE
from tests.support.servers import InProcessGateway, start_in_process
from tests.tencent.fixtures import C3, C5, C15, C16, C20  # FIXTURES section C, kept once
from tests.test_callbacks import TOKEN, assert_shape, check_request_line

# ---- FIXTURES.md section C samples -----------------------------------------------------------------
C6 = {
    "CallbackCommand": "C2C.CallbackAfterC2CMsgExtension",
    "From_Account": "user1",
    "To_Account": "user2",
    "MsgKey": "93847636_1287657_1764688415",
    "OperateType": 1,
    "ExtensionList": [{"Key": "k1", "Value": "v1", "Seq": 1}],
    "Seq": 1,
    "EventTime": 1764688540182,
}
C17 = {
    "CallbackCommand": "Group.CallbackAfterGroupAttrChanged",
    "GroupId": "@TGS#2J4SZEAEL",
    "Type": "Public",
    "Operator_Account": "leckie",
    "OptionType": "set",
    "GroupAttr": [{"key": "key1", "value": "value1"}],
    "EventTime": "1670574414123",
}
C18 = {
    "CallbackCommand": "Group.CallbackAfterReadReceipt",
    "GroupId": "@TGS#2TTV7VSII",
    "Type": "Public",
    "GroupMsgReceiptList": [
        {"MsgSeq": 1, "ReadNum": 1, "UnreadNum": 6, "ReadReceiptMembers": [{"Member_Account": "user0"}]}
    ],
    "EventTime": "1670574414123",
}
C21 = {
    "CallbackCommand": "Group.CallbackAfterGroupMsgExtension",
    "GroupId": "test",
    "MsgSeq": 10,
    "OperateType": 1,
    "ExtensionList": [{"Key": "key2", "Value": "value2", "Seq": 56}],
    "Seq": 56,
    "EventTime": 1764688294360,
}
# C24's note: "Sns.CallbackPrevFriendResponse [D 43467] is similar"
PREV_RESPONSE = {
    "CallbackCommand": "Sns.CallbackPrevFriendResponse",
    "Requester_Account": "id",
    "From_Account": "id",
    "ResponseFriendItem": [
        {"To_Account": "id1", "Remark": "", "TagName": "", "ResponseAction": "Response_Action_AgreeAndAdd"}
    ],
    "EventTime": 1631777344870,
}

SEND = """mutation($t: String!, $to: String, $g: String, $x: Boolean, $r: Boolean) {
  sendMessage(id: $t, receiver: $to, groupID: $g, isSupportMessageExtension: $x, needReadReceipt: $r) {
    msgID seq timestamp } }"""
MODIFY = """mutation($m: String!, $t: String!, $c: String) {
  modifyMessage(message: {msgID: $m, textElem: {text: $t}, cloudCustomData: $c}) { msgID } }"""
SET_EXT = """mutation($m: String!, $e: [MessageExtensionInput!]!) {
  setMessageExtensions(msgID: $m, extensions: $e) { resultCode } }"""
DELETE_EXT = "mutation($m: String!, $k: [String!]!) { deleteMessageExtensions(msgID: $m, keys: $k) { resultCode } }"


def text_body(text: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]


@dataclass
class Setup:
    server: InProcessGateway
    client: HTTPClient
    rest: RestClient
    receiver: CallbackReceiver
    clock: ManualClock

    async def user(self, name: str, platform: str = "web") -> Actor:
        return Actor(self.client, await self.client.login(name, platform=platform))

    def check(self, got: Received, platform: str) -> None:
        check_request_line(got, self.server.settings.sdkappid, got.command, platform, self.clock.now())

    @property
    def ms(self) -> int:
        return int(self.clock.now() * 1000)


@pytest.fixture
async def world(settings: Settings, clock: ManualClock) -> AsyncIterator[Setup]:
    """A gateway whose callbacks (every command) go to a local receiver, signed with TOKEN."""
    receiver = CallbackReceiver()
    await receiver.start()
    running = await start_in_process(replace(settings, callback_url=receiver.url, callback_token=TOKEN), clock)
    http = HTTPClient(running.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    yield Setup(running, http, RestClient(http), receiver, clock)
    await http.aclose()
    await running.stop()
    await receiver.stop()


async def send(user: Actor, text: str, *, to: str | None = None, group: str | None = None, **flags: bool) -> Any:
    created = (await user.q("mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text}))[
        "createTextMessage"
    ]["id"]
    variables = {"t": created, "to": to, "g": group, "x": flags.get("ext", False), "r": flags.get("receipt", False)}
    return (await user.q(SEND, variables))["sendMessage"]


async def sent_key(world: Setup, count: int = 1) -> str:
    """The MsgKey of the count-th C2C message sent (from its after-send callback)."""
    return str((await world.receiver.wait_for(wire.C2C_AFTER_SEND, count))[-1].body["MsgKey"])


# ---- C2C -------------------------------------------------------------------------------------------
async def test_c2c_read_reports_by_the_sdk_and_by_rest(world: Setup) -> None:
    alice, bob, carol = [await world.user(u) for u in ("alice", "bob", "carol")]
    await send(alice, "one", to="bob")
    await send(alice, "two", to="bob")
    await send(carol, "three", to="bob")
    # UnreadMsgNum is the receiver's total one-to-one unread (every conversation), as Tencent counts it
    assert (await world.receiver.wait_for(wire.C2C_AFTER_SEND, 3))[-1].body["UnreadMsgNum"] == 3
    await world.clock.advance(5)
    assert await bob.q('mutation { markC2CMessageAsRead(userID: "alice") }')
    (by_sdk,) = await world.receiver.wait_for(wire.C2C_AFTER_READ)
    world.check(by_sdk, "Web")
    assert_shape(by_sdk.body, C3)
    assert by_sdk.body == {
        **C3,
        "Report_Account": "bob",
        "Peer_Account": "alice",
        "LastReadTime": int(world.clock.now()),
        "UnreadMsgNum": 1,
    }
    await world.rest.ok("openim/admin_set_msg_read", {"Report_Account": "bob", "Peer_Account": "carol"})
    by_rest = (await world.receiver.wait_for(wire.C2C_AFTER_READ, 2))[1]
    world.check(by_rest, wire.REST_API)
    assert_shape(by_rest.body, C3)
    assert (by_rest.body["Report_Account"], by_rest.body["Peer_Account"], by_rest.body["UnreadMsgNum"]) == (
        "bob",
        "carol",
        0,
    )


async def test_c2c_modifications_by_the_sdk_and_by_rest(world: Setup) -> None:
    alice = await world.user("alice", "android")
    await world.user("bob")
    sent = await send(alice, "helo", to="bob")
    key = await sent_key(world)
    assert await alice.q(MODIFY, {"m": sent["msgID"], "t": "hello", "c": "edited"})
    (by_sdk,) = await world.receiver.wait_for(wire.C2C_AFTER_MODIFY)
    world.check(by_sdk, "Android")
    assert_shape(by_sdk.body, C5)
    seq, random, time = (int(p) for p in key.split("_"))
    assert by_sdk.body == {
        "CloudCustomData": "edited",
        "MsgBody": text_body("hello"),
        "CallbackCommand": wire.C2C_AFTER_MODIFY,
        "Operator_Account": "alice",
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgRandom": random,
        "MsgSeq": seq,
        "MsgTime": time,
        "MsgKey": key,
        "EventTime": world.ms,
    }
    assert (seq, time) == (sent["seq"], sent["timestamp"])
    change = {"From_Account": "alice", "To_Account": "bob", "MsgKey": key, "MsgBody": text_body("hello!")}
    await world.rest.ok("openim/modify_c2c_msg", change)
    by_rest = (await world.receiver.wait_for(wire.C2C_AFTER_MODIFY, 2))[1]
    world.check(by_rest, wire.REST_API)
    assert_shape(by_rest.body, C5)
    assert (by_rest.body["Operator_Account"], by_rest.body["MsgBody"], by_rest.body["CloudCustomData"]) == (
        ADMIN,
        text_body("hello!"),
        "edited",
    )


async def test_c2c_extensions_by_the_sdk_and_by_rest(world: Setup) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    sent = await send(alice, "lunch?", to="bob", ext=True)
    key = await sent_key(world)
    items = [{"extensionKey": "k1", "extensionValue": "v1"}, {"extensionKey": "k2", "extensionValue": "v2"}]
    assert await bob.q(SET_EXT, {"m": sent["msgID"], "e": items})
    (set_by_sdk,) = await world.receiver.wait_for(wire.C2C_AFTER_EXTENSION)
    world.check(set_by_sdk, "Web")
    assert_shape(set_by_sdk.body, C6)
    assert set_by_sdk.body == {
        "CallbackCommand": wire.C2C_AFTER_EXTENSION,
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgKey": key,
        "OperateType": 1,
        "ExtensionList": [{"Key": "k1", "Value": "v1", "Seq": 1}, {"Key": "k2", "Value": "v2", "Seq": 1}],
        "Seq": 1,
        "EventTime": world.ms,
    }
    assert await alice.q(DELETE_EXT, {"m": sent["msgID"], "k": ["k1"]})
    deleted = (await world.receiver.wait_for(wire.C2C_AFTER_EXTENSION, 2))[1]
    assert (deleted.body["OperateType"], deleted.body["ExtensionList"]) == (2, [{"Key": "k1", "Value": "", "Seq": 1}])
    # REST: OperateType 1 (set), then 3 (clear: Tencent's sample has an empty list)
    base = {"From_Account": "alice", "To_Account": "bob", "MsgKey": key}
    await world.rest.ok(
        "openim_msg_ext_http_svc/set_key_values",
        {**base, "OperateType": 1, "ExtensionList": [{"Key": "k2", "Value": "v3", "Seq": 0}]},
    )
    await world.rest.ok("openim_msg_ext_http_svc/set_key_values", {**base, "OperateType": 3})
    by_rest = (await world.receiver.wait_for(wire.C2C_AFTER_EXTENSION, 4))[2:]
    for got in by_rest:
        world.check(got, wire.REST_API)
        assert_shape(got.body, C6)
    assert [(g.body["OperateType"], g.body["ExtensionList"], g.body["Seq"]) for g in by_rest] == [
        (1, [{"Key": "k2", "Value": "v3", "Seq": 2}], 2),
        (3, [], 0),
    ]


# ---- groups ----------------------------------------------------------------------------------------
async def make_group(owner: Actor, members: list[str], group_type: str = "PUBLIC") -> str:
    variables = {
        "t": f"V2TIM_GROUP_TYPE_{group_type}",
        "n": "g",
        "m": [{"userID": m} for m in members],
        "a": "V2TIM_GROUP_ADD_ANY",
    }
    return str((await owner.q(CREATE, variables))["createGroup"])


async def test_group_modifications_and_extensions_by_the_sdk_and_by_rest(world: Setup) -> None:
    olive, mike = await world.user("olive"), await world.user("mike")
    gid = await make_group(olive, ["mike"])
    sent = await send(olive, "helo", group=gid, ext=True)
    assert await olive.q(MODIFY, {"m": sent["msgID"], "t": "hello", "c": None})
    (by_sdk,) = await world.receiver.wait_for(wire.GROUP_AFTER_MODIFY)
    world.check(by_sdk, "Web")
    assert_shape(by_sdk.body, C20)
    assert by_sdk.body == {
        "MsgBody": text_body("hello"),
        "CallbackCommand": wire.GROUP_AFTER_MODIFY,
        "Operator_Account": "olive",
        "GroupId": gid,
        "TopicId": "",
        "MsgSeq": sent["seq"],
        "EventTime": world.ms,
    }
    await world.rest.ok(
        "group_open_http_svc/modify_group_msg", {"GroupId": gid, "MsgSeq": sent["seq"], "MsgBody": text_body("hi")}
    )
    by_rest = (await world.receiver.wait_for(wire.GROUP_AFTER_MODIFY, 2))[1]
    world.check(by_rest, wire.REST_API)
    assert_shape(by_rest.body, C20)
    assert (by_rest.body["Operator_Account"], by_rest.body["MsgBody"]) == (ADMIN, text_body("hi"))
    # extensions
    assert await mike.q(SET_EXT, {"m": sent["msgID"], "e": [{"extensionKey": "key2", "extensionValue": "value2"}]})
    (ext_by_sdk,) = await world.receiver.wait_for(wire.GROUP_AFTER_EXTENSION)
    world.check(ext_by_sdk, "Web")
    assert_shape(ext_by_sdk.body, C21)
    assert ext_by_sdk.body == {
        "CallbackCommand": wire.GROUP_AFTER_EXTENSION,
        "GroupId": gid,
        "MsgSeq": sent["seq"],
        "OperateType": 1,
        "ExtensionList": [{"Key": "key2", "Value": "value2", "Seq": 1}],
        "Seq": 1,
        "EventTime": world.ms,
    }
    delete = {"GroupId": gid, "MsgSeq": sent["seq"], "OperateType": 2, "ExtensionList": [{"Key": "key2"}]}
    await world.rest.ok("openim_msg_ext_http_svc/group_set_key_values", delete)
    ext_by_rest = (await world.receiver.wait_for(wire.GROUP_AFTER_EXTENSION, 2))[1]
    world.check(ext_by_rest, wire.REST_API)
    assert_shape(ext_by_rest.body, C21)
    assert (ext_by_rest.body["OperateType"], ext_by_rest.body["ExtensionList"]) == (
        2,
        [{"Key": "key2", "Value": "", "Seq": 1}],
    )


ROLE = "mutation($g: String!, $u: String!, $r: V2TIM_GroupMemberRole!) { setGroupMemberRole(groupID: $g, userID: $u, role: $r) }"
CARD = "mutation($g: String!, $u: String!, $c: String) { setGroupMemberInfo(groupID: $g, userID: $u, nameCard: $c) }"


async def test_member_fields_and_owner_changes_by_the_sdk_and_by_rest(world: Setup) -> None:
    olive, _mike, nora = [await world.user(u) for u in ("olive", "mike", "nora")]
    gid = await make_group(olive, ["mike", "nora"])
    assert await olive.q(ROLE, {"g": gid, "u": "mike", "r": "V2TIM_GROUP_MEMBER_ROLE_ADMIN"})
    assert await nora.q(CARD, {"g": gid, "u": "nora", "c": "N."})
    # a mute or custom data changes no field Tencent's callback has: no callback
    assert await olive.q('mutation { muteGroupMember(groupID: "%s", userID: "nora", seconds: 60) }' % gid)
    member = "/v4/group_open_http_svc/modify_group_member_info"
    await world.rest.ok(member[4:], {"GroupId": gid, "Member_Account": "nora", "NameCard": "jacky"})
    await world.rest.ok(member[4:], {"GroupId": gid, "Member_Account": "nora", "Role": "Admin"})
    changes = await world.receiver.wait_for(wire.GROUP_AFTER_MEMBER_FIELD, 4)
    for got, platform in zip(changes, ["Web", "Web", wire.REST_API, wire.REST_API], strict=True):
        world.check(got, platform)
        assert_shape(got.body, C15)
        assert (got.body["GroupId"], got.body["Type"], got.body["EventTime"]) == (gid, "Public", str(world.ms))
    assert [
        (g.body["Operator_Account"], g.body["Member_Account"], g.body["Role"], g.body["NameCard"]) for g in changes
    ] == [
        ("olive", "mike", "Admin", ""),
        ("nora", "nora", "Member", "N."),
        (ADMIN, "nora", "Member", "jacky"),
        (ADMIN, "nora", "Admin", "jacky"),
    ]
    # the owner: by the SDK, then by REST
    assert await olive.q('mutation { transferGroupOwner(groupID: "%s", userID: "mike") }' % gid)
    await world.rest.ok("group_open_http_svc/change_group_owner", {"GroupId": gid, "NewOwner_Account": "nora"})
    owners = await world.receiver.wait_for(wire.GROUP_AFTER_OWNER, 2)
    for got, platform in zip(owners, ["Web", wire.REST_API], strict=True):
        world.check(got, platform)
        assert_shape(got.body, C16)
    assert [
        (g.body["GroupId"], g.body["Operator_Account"], g.body["OldOwner_Account"], g.body["NewOwner_Account"])
        for g in owners
    ] == [(gid, "olive", "olive", "mike"), (gid, ADMIN, "mike", "nora")]
    assert len(world.receiver.of(wire.GROUP_AFTER_MEMBER_FIELD)) == 4  # an owner change is not a field change


ATTRS = "mutation($g: String!, $a: [KeyValueInput!]!) { %s(groupID: $g, attributes: $a) }"


async def test_group_attribute_changes_by_the_sdk_and_by_rest(world: Setup) -> None:
    olive = await world.user("olive")
    gid = await make_group(olive, [], "MEETING")
    pairs = [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "values"}]
    assert await olive.q(ATTRS % "initGroupAttributes", {"g": gid, "a": pairs})
    assert await olive.q(ATTRS % "setGroupAttributes", {"g": gid, "a": [{"key": "key2", "value": "v2"}]})
    assert await olive.q('mutation { deleteGroupAttributes(groupID: "%s", keys: ["key1"]) }' % gid)
    svc = "group_open_http_svc/"
    await world.rest.ok(svc + "modify_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "key3", "value": "v3"}]})
    await world.rest.ok(svc + "delete_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "key3"}]})
    await world.rest.ok(svc + "set_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "key4", "value": "v4"}]})
    await world.rest.ok(svc + "clear_group_attr", {"GroupId": gid})
    changes = await world.receiver.wait_for(wire.GROUP_AFTER_ATTR, 7)
    for got, platform in zip(changes, ["Web"] * 3 + [wire.REST_API] * 4, strict=True):
        world.check(got, platform)
        assert_shape(got.body, C17)
        assert (got.body["GroupId"], got.body["Type"]) == (gid, "ChatRoom")
    assert [(g.body["Operator_Account"], g.body["OptionType"], g.body["GroupAttr"]) for g in changes] == [
        ("olive", "set", pairs),
        ("olive", "modify", [{"key": "key2", "value": "v2"}]),
        ("olive", "delete", [{"key": "key1", "value": ""}]),
        (ADMIN, "modify", [{"key": "key3", "value": "v3"}]),
        (ADMIN, "delete", [{"key": "key3", "value": ""}]),
        (ADMIN, "set", [{"key": "key4", "value": "v4"}]),
        (ADMIN, "clear", []),
    ]


async def test_group_read_receipts_by_the_sdk(world: Setup) -> None:
    """No REST command reads group messages for a member (Tencent has none), so only the SDK."""
    olive, mike = await world.user("olive"), await world.user("mike")
    await world.user("nora")
    gid = await make_group(olive, ["mike", "nora"])
    first = await send(olive, "one", group=gid, receipt=True)
    second = await send(olive, "two", group=gid, receipt=True)
    read = "mutation($m: [String!]!) { sendMessageReadReceipts(msgIDList: $m) }"
    assert await mike.q(read, {"m": [first["msgID"], second["msgID"]]})
    (got,) = await world.receiver.wait_for(wire.GROUP_AFTER_READ_RECEIPT)
    world.check(got, "Web")
    assert_shape(got.body, C18)
    receipt = {"ReadNum": 1, "UnreadNum": 1, "ReadReceiptMembers": [{"Member_Account": "mike"}]}
    assert got.body == {
        "CallbackCommand": wire.GROUP_AFTER_READ_RECEIPT,
        "GroupId": gid,
        "Type": "Public",
        "GroupMsgReceiptList": [{"MsgSeq": first["seq"], **receipt}, {"MsgSeq": second["seq"], **receipt}],
        "EventTime": str(world.ms),
    }
    assert await mike.q(read, {"m": [first["msgID"]]})  # read already: nothing new, no callback
    assert len(world.receiver.of(wire.GROUP_AFTER_READ_RECEIPT)) == 1


# ---- friend responses ------------------------------------------------------------------------------------
ADD = "mutation($u: String!) { addFriend(userID: $u, addType: V2TIM_FRIEND_TYPE_BOTH) { resultCode } }"
ACCEPT = "mutation($u: String!) { acceptFriendApplication(userID: $u, responseType: V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD) { resultCode resultInfo } }"
REFUSE = "mutation($u: String!) { refuseFriendApplication(userID: $u) { resultCode resultInfo } }"
FRIENDS = "{ getFriendList { userID } }"


async def test_prev_friend_response_lets_the_app_refuse_an_answer(world: Setup) -> None:
    alice, bob, carol = [await world.user(u) for u in ("alice", "bob", "carol")]
    for requester in (alice, carol):
        assert (await requester.q(ADD, {"u": "bob"}))["addFriend"]["resultCode"] == 30539  # bob confirms
    refusing = {**OK, "ResultItem": [{"To_Account": "alice", "ResultCode": 38010, "ResultInfo": "not yet"}]}
    world.receiver.decide = lambda r: Reply(refusing) if r.command == wire.PREV_FRIEND_RESPONSE else None
    refused = (await bob.q(ACCEPT, {"u": "alice"}))["acceptFriendApplication"]
    assert (refused["resultCode"], refused["resultInfo"]) == (38010, "not yet")
    assert (await bob.q(FRIENDS))["getFriendList"] == []
    world.receiver.decide = lambda _: None
    assert (await bob.q(ACCEPT, {"u": "alice"}))["acceptFriendApplication"]["resultCode"] == 0
    assert (await bob.q(FRIENDS))["getFriendList"] == [{"userID": "alice"}]
    assert (await bob.q(REFUSE, {"u": "carol"}))["refuseFriendApplication"]["resultCode"] == 0
    asked = await world.receiver.wait_for(wire.PREV_FRIEND_RESPONSE, 3)
    for got in asked:
        world.check(got, "Web")
        assert_shape(got.body, PREV_RESPONSE)
        assert (got.body["Requester_Account"], got.body["From_Account"], got.body["EventTime"]) == (
            "bob",
            "bob",
            world.ms,
        )
    assert [g.body["ResponseFriendItem"] for g in asked] == [
        [{"To_Account": "alice", "Remark": "", "TagName": "", "ResponseAction": "Response_Action_AgreeAndAdd"}],
        [{"To_Account": "alice", "Remark": "", "TagName": "", "ResponseAction": "Response_Action_AgreeAndAdd"}],
        [{"To_Account": "carol", "Remark": "", "TagName": "", "ResponseAction": "Response_Action_Reject"}],
    ]
