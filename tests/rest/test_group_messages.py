"""REST v4 group messages over real HTTP: `group_open_http_svc/{send_group_msg, group_msg_get_simple,
group_msg_recall, modify_group_msg, get_group_msg_receipt(_detail), send_group_system_notification}`
and `openim_msg_ext_http_svc/group_{set,get}_key_values`, with the members' real subscriptions."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from gateway.engine.message_core import AT_ALL
from tests.rest.conftest import RestClient
from tests.support.clients import HTTPClient
from tests.support.groups import Member, member
from tests.support.servers import InProcessGateway

SEND = "group_open_http_svc/send_group_msg"
HISTORY = "group_open_http_svc/group_msg_get_simple"
RECALL = "group_open_http_svc/group_msg_recall"
MODIFY = "group_open_http_svc/modify_group_msg"
RECEIPT = "group_open_http_svc/get_group_msg_receipt"
RECEIPT_DETAIL = "group_open_http_svc/get_group_msg_receipt_detail"
NOTIFY = "group_open_http_svc/send_group_system_notification"
EXT_SET = "openim_msg_ext_http_svc/group_set_key_values"
EXT_GET = "openim_msg_ext_http_svc/group_get_key_values"

CONV = "conversationID unreadCount lastMessage { msgID sender textElem { text } }"
CONV_EVENTS = f"""subscription {{ conversationListener {{ __typename
  ... on NewConversationEvent {{ type conversationList {{ {CONV} }} }}
  ... on ConversationChangedEvent {{ type conversationList {{ {CONV} }} }}
  ... on TotalUnreadMessageCountChangedEvent {{ type totalUnreadCount }} }} }}"""
CHANGE_EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvMessageModifiedEvent { type message { msgID cloudCustomData textElem { text } } }
  ... on RecvMessageExtensionsChangedEvent { type msgID extensions { extensionKey extensionValue } }
  ... on RecvMessageExtensionsDeletedEvent { type msgID extensionKeys } } }"""

# FIXTURES B3: the member request (two elements), the @ request and the targeted request
B3_MEMBER = {
    "GroupId": "@TGS#2C5SZEAEF",
    "From_Account": "leckie",
    "Random": 8912345,
    "MsgBody": [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}},
        {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 6, "Data": "abc\u0000\u0001"}},
    ],
}
B3_AT: dict[str, Any] = {
    "GroupId": "@TGS#2C5SZEAEF",
    "Random": 8912345,
    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red @all @tommy @brennanli packet"}}],
    "GroupAtInfo": [
        {"GroupAtAllFlag": 1},
        {"GroupAtAllFlag": 0, "GroupAt_Account": "tommy"},
        {"GroupAtAllFlag": 0, "GroupAt_Account": "brennanli"},
    ],
}
B3_TARGETED = {
    "GroupId": "@TGS#12DEVUDHQ",
    "Random": 2784275388,
    "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "1cddddddddq1"}}],
    "To_Account": ["brennanli2", "brennanli3"],
}


class Room:
    """A Meeting group of olive (owner), mike and nora, each watching messages and conversations."""

    def __init__(self, gid: str, members: tuple[Member, Member, Member], conv_ops: list[str], change_ops: list[str]):
        self.gid = gid
        self.olive, self.mike, self.nora = members
        self.members = members
        self.conv_ops = dict(zip((m.name for m in members), conv_ops, strict=True))
        self.change_ops = dict(zip((m.name for m in members), change_ops, strict=True))

    async def conversations(self, m: Member) -> list[dict[str, Any]]:
        return await m.drain(self.conv_ops[m.name])

    async def changes(self, m: Member) -> list[dict[str, Any]]:
        return await m.drain(self.change_ops[m.name])

    async def drain(self) -> None:
        """Every member's every stream until it is quiet: the twelve quiet spells run side by side."""
        streams = [
            (m, op)
            for m in self.members
            for op in (m.msgs_op, m.groups_op, self.conv_ops[m.name], self.change_ops[m.name])
        ]
        await asyncio.gather(*(m.drain(op) for m, op in streams))


@pytest.fixture
async def room(client: HTTPClient, server: InProcessGateway) -> Room:
    members = (
        await member(client, server, "olive"),
        await member(client, server, "mike"),
        await member(client, server, "nora"),
    )
    gid = await members[0].create("Meeting")
    for m in members[1:]:
        await m.q(f'mutation {{ joinGroup(groupID: "{gid}") }}')
    conv_ops = [await m.ws.subscribe(CONV_EVENTS) for m in members]
    change_ops = [await m.ws.subscribe(CHANGE_EVENTS) for m in members]
    r = Room(gid, members, conv_ops, change_ops)
    await r.drain()
    return r


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


async def send(rest: RestClient, gid: str, t: str, random: int, **extra: Any) -> dict[str, Any]:
    return await rest.ok(SEND, {"GroupId": gid, "Random": random, "MsgBody": text(t), **extra})


async def last_seq(rest: RestClient, gid: str) -> int:
    answer = await rest.ok(HISTORY, {"GroupId": gid, "ReqMsgNumber": 1})
    return int(answer["RspMsgList"][0]["MsgSeq"]) if answer["RspMsgList"] else 0


# ---- send_group_msg -------------------------------------------------------------------------------
async def test_send_golden_shapes(rest: RestClient, room: Room) -> None:
    capture = {"GroupId": room.gid, "Random": 1132851996, "From_Account": "olive", "MsgBody": text("hello")}
    answer = await rest.ok(SEND, capture)
    assert set(answer) >= {"ActionStatus", "ErrorInfo", "ErrorCode", "MsgTime", "MsgSeq", "MsgId"}
    assert isinstance(answer["MsgTime"], int)
    assert isinstance(answer["MsgSeq"], int)
    assert isinstance(answer["MsgId"], str)
    at = dict(copy.deepcopy(B3_AT), GroupId=room.gid)
    at["GroupAtInfo"][1]["GroupAt_Account"], at["GroupAtInfo"][2]["GroupAt_Account"] = "mike", "nora"
    assert (await rest.ok(SEND, at))["MsgSeq"] == answer["MsgSeq"] + 1
    targeted = dict(B3_TARGETED, GroupId=room.gid, To_Account=["mike", "nora"])
    assert (await rest.ok(SEND, targeted))["MsgSeq"] == answer["MsgSeq"] + 2
    # imql messages carry one element: the two-element sample is refused, and takes no seq
    before = await last_seq(rest, room.gid)
    await rest.fails(SEND, dict(B3_MEMBER, GroupId=room.gid, From_Account="olive"), 10004)
    assert await last_seq(rest, room.gid) == before


async def test_send_as_member_is_an_sdk_send(rest: RestClient, room: Room) -> None:
    sdk = (await room.olive.send(room.gid, "from the sdk")).ok()["sendMessage"]
    sdk_events = {m.name: (await m.messages(), await room.conversations(m)) for m in (room.mike, room.nora)}
    answer = await send(rest, room.gid, "from rest", 7, From_Account="olive")
    assert answer["MsgSeq"] == sdk["seq"] + 1
    for m in (room.mike, room.nora):
        got = await m.messages()
        assert [(e["sender"], e["seq"], e["msgID"], e["textElem"]["text"], e["isSelf"]) for e in got] == [
            ("olive", answer["MsgSeq"], answer["MsgId"], "from rest", False)
        ]
        convs = await room.conversations(m)
        # the same listener events as the SDK send caused, and the conversation moved on
        assert [e["type"] for e in convs] == [e["type"] for e in sdk_events[m.name][1]]
        changed = [c for e in convs if e["type"] == "onConversationChanged" for c in e["conversationList"]]
        assert changed[-1]["lastMessage"]["msgID"] == answer["MsgId"]
        assert changed[-1]["unreadCount"] == 2
    # the sender's own devices hear of it too (no device of theirs sent it)
    mine = await room.olive.messages()
    assert [(e["msgID"], e["isSelf"]) for e in mine] == [(answer["MsgId"], True)]
    # and it is in everyone's history
    history = await room.nora.q(f'{{ getGroupHistoryMessageList(groupID: "{room.gid}", count: 1) {{ msgID }} }}')
    assert history["getGroupHistoryMessageList"][0]["msgID"] == answer["MsgId"]


async def test_send_without_sender_is_the_admin(rest: RestClient, room: Room) -> None:
    answer = await send(rest, room.gid, "notice", 9)
    for m in room.members:
        got = await m.messages()
        assert [(e["sender"], e["msgID"]) for e in got] == [("administrator", answer["MsgId"])]
        changed = [c for e in await room.conversations(m) for c in e.get("conversationList", [])]
        assert changed[-1]["lastMessage"]["sender"] == "administrator"
    history = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 1})
    assert history["RspMsgList"][0]["From_Account"] == "administrator"
    assert history["RspMsgList"][0]["MsgRandom"] == 9


async def test_send_options(rest: RestClient, room: Room) -> None:
    # @ marks, in order, @all as the SDK marks it
    at = {"GroupAtInfo": [{"GroupAtAllFlag": 1}, {"GroupAtAllFlag": 0, "GroupAt_Account": "mike"}]}
    await send(rest, room.gid, "@all @mike", 1, From_Account="olive", **at)
    assert (await room.mike.messages())[0]["groupAtUserList"] == [AT_ALL, "mike"]
    await room.drain()
    # targeted: only the receivers (and the sender's devices)
    targeted = await send(rest, room.gid, "psst", 2, From_Account="olive", To_Account=["mike"])
    assert [e["msgID"] for e in await room.mike.messages()] == [targeted["MsgId"]]
    assert await room.nora.messages() == []
    await room.drain()
    # NoUnread leaves the unread count alone; High priority is 1 in history
    unread = await send(
        rest, room.gid, "quiet", 3, From_Account="olive", SendMsgControl=["NoUnread"], MsgPriority="High"
    )
    convs = [c for e in await room.conversations(room.nora) for c in e.get("conversationList", [])]
    assert convs[-1]["unreadCount"] == 1  # the @ message only (the targeted one was not for nora)
    history = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 1})
    assert history["RspMsgList"][0]["MsgSeq"] == unread["MsgSeq"]
    assert history["RspMsgList"][0]["MsgPriority"] == 1
    await room.drain()
    # online only: delivered, not stored (a placeholder in history)
    online = await send(rest, room.gid, "live", 4, From_Account="olive", OnlineOnlyFlag=1)
    assert [e["msgID"] for e in await room.mike.messages()] == [online["MsgId"]]
    history = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 1})
    assert history["RspMsgList"][0]["IsPlaceMsg"] == 1
    # the same Random again within 5 minutes is the same message
    again = await send(rest, room.gid, "quiet", 3, From_Account="olive")
    assert (again["MsgSeq"], again["MsgId"]) == (unread["MsgSeq"], unread["MsgId"])
    assert await room.mike.messages() == []


async def test_send_skips_mutes_but_not_membership(rest: RestClient, room: Room, client: HTTPClient) -> None:
    await room.olive.q(f'mutation {{ muteGroupMember(groupID: "{room.gid}", userID: "mike", seconds: 600) }}')
    assert (await room.mike.send(room.gid, "muted")).codes == [10017]
    await send(rest, room.gid, "the admin speaks for mike", 5, From_Account="mike")
    await client.login("stranger")
    before = await last_seq(rest, room.gid)
    body = {"GroupId": room.gid, "Random": 6, "MsgBody": text("x")}
    await rest.fails(SEND, dict(body, From_Account="stranger"), 10007)
    await rest.fails(SEND, dict(body, From_Account="nobody"), 10004)
    assert await last_seq(rest, room.gid) == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"GroupId": None}, 10004),
        ({"Random": None}, 10004),
        ({"Random": "x"}, 10004),
        ({"MsgBody": None}, 10004),
        ({"MsgBody": [{"MsgType": "TIMNoSuchElem", "MsgContent": {}}]}, 10004),
        ({"To_Account": [f"u{i}" for i in range(51)]}, 10004),
        ({"GroupAtInfo": [{"GroupAtAllFlag": 0}]}, 10004),
        ({"MsgPriority": "Urgent"}, 10004),
        ({"SendMsgControl": ["NoUnread"], "OnlineOnlyFlag": 1}, 10004),
        ({"TopicId": "@TGS#other@TOPIC#_x"}, 10004),
        ({"GroupId": "@TGS#none"}, 10010),
    ],
)
async def test_send_refusals_change_nothing(rest: RestClient, room: Room, change: dict[str, Any], code: int) -> None:
    body = {"GroupId": room.gid, "Random": 11, "From_Account": "olive", "MsgBody": text("x")}
    body.update(change)
    before = await last_seq(rest, room.gid)
    await rest.fails(SEND, {k: v for k, v in body.items() if v is not None}, code)
    assert await last_seq(rest, room.gid) == before
    assert await room.mike.messages() == []


# ---- group_msg_get_simple -------------------------------------------------------------------------
async def test_history_golden_and_ranges(rest: RestClient, room: Room) -> None:
    sent = [await send(rest, room.gid, f"m{i}", 100 + i, From_Account="mike") for i in range(3)]
    top = sent[-1]["MsgSeq"]
    answer = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgSeq": top, "ReqMsgNumber": 2})
    assert answer["GroupId"] == room.gid
    assert answer["IsFinished"] == 1
    items = answer["RspMsgList"]
    assert [i["MsgSeq"] for i in items] == [top, top - 1]
    for item in items:
        assert {"From_Account", "IsPlaceMsg", "MsgBody", "MsgPriority", "MsgRandom", "MsgSeq", "MsgTimeStamp"} <= set(
            item
        )
        assert isinstance(item["MsgPriority"], int)
        assert isinstance(item["MsgTimeStamp"], int)
    assert items[0]["MsgBody"] == text("m2")
    assert (items[0]["From_Account"], items[0]["MsgRandom"], items[0]["IsPlaceMsg"]) == ("mike", 102, 0)
    # the whole history: the join tips come first (seqs count tips, as Tencent's do)
    everything = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 20})
    seqs = [i["MsgSeq"] for i in everything["RspMsgList"]]
    assert seqs == list(range(top, 0, -1))
    assert everything["RspMsgList"][-1]["IsSystemMsg"] == 1
    assert everything["RspMsgList"][-1]["MsgBody"][0]["MsgType"] == "TIMGroupTipElem"
    # over 20: twenty, and IsFinished 0
    for i in range(20):
        await send(rest, room.gid, f"n{i}", 200 + i)
    many = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 25})
    assert (len(many["RspMsgList"]), many["IsFinished"]) == (20, 0)
    await rest.fails(HISTORY, {"GroupId": room.gid}, 10004)
    await rest.fails(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 0}, 10004)
    await rest.fails(HISTORY, {"GroupId": "@TGS#none", "ReqMsgNumber": 1}, 10010)


# ---- group_msg_recall -----------------------------------------------------------------------------
async def test_recall(rest: RestClient, room: Room, clock: Any) -> None:
    sent = await send(rest, room.gid, "oops", 300, From_Account="nora")
    await room.drain()
    await clock.advance(3600)  # the admin's recall has no time limit
    golden = {"GroupId": room.gid, "MsgSeqList": [{"MsgSeq": 1}, {"MsgSeq": sent["MsgSeq"]}, {"MsgSeq": 9999}]}
    answer = await rest.ok(RECALL, golden)
    assert answer["RecallRetList"] == [
        {"MsgSeq": 1, "RetCode": 10032},  # the group's creation tips
        {"MsgSeq": sent["MsgSeq"], "RetCode": 0},
        {"MsgSeq": 9999, "RetCode": 10030},
    ]
    for m in room.members:
        events = [e for e in await m.drain(m.msgs_op) if e["type"] == "onRecvMessageRevoked"]
        assert [e["msgID"] for e in events] == [sent["MsgId"]]
    again = await rest.ok(RECALL, {"GroupId": room.gid, "MsgSeqList": [{"MsgSeq": sent["MsgSeq"]}]})
    assert again["RecallRetList"] == [{"MsgSeq": sent["MsgSeq"], "RetCode": 10030}]
    history = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgSeq": sent["MsgSeq"], "ReqMsgNumber": 1})
    assert history["RspMsgList"] == []
    with_recalled = {"GroupId": room.gid, "ReqMsgSeq": sent["MsgSeq"], "ReqMsgNumber": 1, "WithRecalledMsg": 1}
    item = (await rest.ok(HISTORY, with_recalled))["RspMsgList"][0]
    assert (item["IsPlaceMsg"], item["MsgBody"]) == (2, [])
    # eleven seqs: refused, nothing recalled
    other = await send(rest, room.gid, "keep", 301)
    eleven = [{"MsgSeq": other["MsgSeq"]}] * 11
    await rest.fails(RECALL, {"GroupId": room.gid, "MsgSeqList": eleven}, 10004)
    await rest.fails(RECALL, {"GroupId": room.gid}, 10004)
    kept = await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 1})
    assert kept["RspMsgList"][0]["IsPlaceMsg"] == 0


# ---- modify_group_msg -----------------------------------------------------------------------------
async def test_modify(rest: RestClient, room: Room) -> None:
    sent = await send(rest, room.gid, "draft", 400, From_Account="mike")
    await room.drain()
    golden = {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"], "CloudCustomData": "your cloud custom data"}
    answer = await rest.ok(MODIFY, golden)
    assert set(answer) == {"ActionStatus", "ErrorCode", "ErrorInfo"}
    await rest.ok(MODIFY, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"], "MsgBody": text("final")})
    for m in room.members:
        events = await room.changes(m)
        assert [(e["type"], e["message"]["msgID"]) for e in events] == [("onRecvMessageModified", sent["MsgId"])] * 2
        assert events[-1]["message"]["cloudCustomData"] == "your cloud custom data"
        assert events[-1]["message"]["textElem"]["text"] == "final"
    item = (await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 1}))["RspMsgList"][0]
    assert (item["MsgBody"], item["CloudCustomData"]) == (text("final"), "your cloud custom data")
    custom = [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "x"}}]
    await rest.fails(MODIFY, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"], "MsgBody": custom}, 10004)
    await rest.fails(MODIFY, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"]}, 10004)
    await rest.fails(MODIFY, {"GroupId": room.gid, "MsgSeq": 9999, "CloudCustomData": "x"}, 10004)
    unchanged = (await rest.ok(HISTORY, {"GroupId": room.gid, "ReqMsgNumber": 1}))["RspMsgList"][0]
    assert unchanged["MsgBody"] == text("final")


# ---- read receipts --------------------------------------------------------------------------------
async def test_read_receipts(rest: RestClient, room: Room) -> None:
    asked = await send(rest, room.gid, "read me", 500, From_Account="olive", NeedReadReceipt=1)
    plain = await send(rest, room.gid, "no receipt", 501, From_Account="olive")
    await room.mike.q("mutation($m: [String!]!) { sendMessageReadReceipts(msgIDList: $m) }", {"m": [asked["MsgId"]]})
    body = {"GroupId": room.gid, "MsgSeqList": [{"MsgSeq": asked["MsgSeq"]}, {"MsgSeq": plain["MsgSeq"]}]}
    answer = await rest.ok(RECEIPT, body)
    assert answer["GroupMsgReceiptList"] == [
        {"Code": 0, "MsgSeq": asked["MsgSeq"], "ReadNum": 1, "UnreadNum": 1},
        {"Code": 10062, "MsgSeq": plain["MsgSeq"], "ReadNum": 0, "UnreadNum": 0},
    ]
    detail = {"GroupId": room.gid, "MsgSeq": asked["MsgSeq"], "Filter": 1, "Cursor": "", "Count": 5}
    unread = await rest.ok(RECEIPT_DETAIL, detail)
    assert unread["UnreadList"] == [{"Unread_Account": "nora"}]
    assert (unread["MsgSeq"], unread["IsFinish"], unread["Cursor"]) == (asked["MsgSeq"], 1, "")
    read = await rest.ok(RECEIPT_DETAIL, dict(detail, Filter=0))
    assert read["ReadList"] == [{"Read_Account": "mike"}]
    await rest.fails(RECEIPT_DETAIL, dict(detail, Count=201), 10004)
    await rest.fails(RECEIPT_DETAIL, dict(detail, MsgSeq=plain["MsgSeq"]), 10062)
    await rest.fails(RECEIPT, {"GroupId": room.gid}, 10004)
    await rest.fails(RECEIPT, {"GroupId": "@TGS#none", "MsgSeqList": [{"MsgSeq": 1}]}, 10010)


# ---- message extensions ---------------------------------------------------------------------------
async def test_extensions(rest: RestClient, room: Room) -> None:
    sent = await send(rest, room.gid, "vote", 600, From_Account="olive", SupportMessageExtension=1)
    plain = await send(rest, room.gid, "plain", 601, From_Account="olive")
    await room.drain()
    items = [{"Key": "k1", "Value": "v1", "Seq": 0}, {"Key": "k2", "Value": "v2", "Seq": 0}]
    golden = {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"], "OperateType": 1, "ExtensionList": items}
    answer = await rest.ok(EXT_SET, golden)
    assert answer["ExtensionList"] == [
        {"ErrorCode": 0, "Extension": {"Key": "k1", "Value": "v1", "Seq": 1}},
        {"ErrorCode": 0, "Extension": {"Key": "k2", "Value": "v2", "Seq": 1}},
    ]
    # the admin's Seq is not checked: a stale Seq still writes
    await rest.ok(EXT_SET, dict(golden, ExtensionList=[{"Key": "k1", "Value": "v9", "Seq": 0}]))
    for m in room.members:
        events = await room.changes(m)
        assert [e["type"] for e in events] == ["onRecvMessageExtensionsChanged"] * 2
        assert events[0]["extensions"] == [
            {"extensionKey": "k1", "extensionValue": "v1"},
            {"extensionKey": "k2", "extensionValue": "v2"},
        ]
    got = await rest.ok(EXT_GET, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"]})
    assert {k: got[k] for k in ("CompleteFlag", "LatestSeq", "ClearSeq")} == {
        "CompleteFlag": 1,
        "LatestSeq": 2,
        "ClearSeq": 0,
    }
    assert got["ExtensionList"] == [{"Key": "k2", "Value": "v2", "Seq": 1}, {"Key": "k1", "Value": "v9", "Seq": 2}]
    newer = await rest.ok(EXT_GET, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"], "StartSeq": 2})
    assert [e["Key"] for e in newer["ExtensionList"]] == ["k1"]
    await rest.ok(EXT_SET, dict(golden, OperateType=2, ExtensionList=[{"Key": "k2", "Value": "", "Seq": 1}]))
    events = await room.changes(room.nora)
    assert [(e["type"], e["extensionKeys"]) for e in events] == [("onRecvMessageExtensionsDeleted", ["k2"])]
    await rest.ok(EXT_SET, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"], "OperateType": 3})
    cleared = await rest.ok(EXT_GET, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"]})
    assert cleared["ExtensionList"] == []
    await room.drain()
    # refusals, each changing nothing
    await rest.fails(EXT_SET, dict(golden, MsgSeq=plain["MsgSeq"]), 23002)
    await rest.fails(EXT_SET, dict(golden, MsgSeq=9999), 23004)
    await rest.fails(EXT_GET, {"GroupId": room.gid, "MsgSeq": 9999}, 23004)
    many = [{"Key": f"k{i}", "Value": "v", "Seq": 0} for i in range(21)]
    await rest.fails(EXT_SET, dict(golden, ExtensionList=many), 10004)
    await rest.fails(EXT_SET, dict(golden, ExtensionList=[{"Key": "k", "Value": "x" * 1001}]), 10004)
    await rest.fails(EXT_SET, dict(golden, OperateType=4), 10004)
    assert (await rest.ok(EXT_GET, {"GroupId": room.gid, "MsgSeq": sent["MsgSeq"]}))["ExtensionList"] == []
    assert await room.changes(room.mike) == []


# ---- send_group_system_notification ---------------------------------------------------------------
async def test_system_notification_cap(rest: RestClient, room: Room) -> None:
    golden = {"GroupId": room.gid, "ToMembers_Account": ["mike", "nora"], "Content": "Hello World"}
    await rest.ok(NOTIFY, golden)
    for m in (room.mike, room.nora):
        assert [e["customData"] for e in await m.group_events()] == ["Hello World"]
    too_many = dict(golden, ToMembers_Account=[f"u{i}" for i in range(501)])
    await rest.fails(NOTIFY, too_many, 10004)
    assert await room.mike.group_events() == []
