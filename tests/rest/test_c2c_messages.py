"""`openim/*` one-to-one commands over real HTTP on a real gateway: each admin write is the IM
action it stands for, heard by the users' real listener subscriptions as an SDK call would be."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.clock import ManualClock
from gateway.errors import Code
from tests.rest.conftest import ADMIN, RestClient
from tests.support.actors import actor
from tests.support.clients import HTTPClient
from tests.support.conversations import EVENTS as CONVERSATION_EVENTS
from tests.support.messages import HISTORY, Device, device
from tests.support.servers import InProcessGateway

SEND = "openim/sendmsg"
TEXT = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}]


def text(words: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": words}}]


def golden_send(sender: str, receiver: str, **more: Any) -> dict[str, Any]:
    """FIXTURES B1's first request, between our users."""
    body = {
        "SyncOtherMachine": 1,
        "From_Account": sender,
        "To_Account": receiver,
        "MsgSeq": 93847636,
        "MsgRandom": 1287657,
        "MsgBody": TEXT,
        "CloudCustomData": "your cloud custom data",
    }
    body.update(more)
    return body


async def history(dev: Device, peer: str, n: int = 20) -> list[dict[str, Any]]:
    return list((await dev.q(HISTORY, {"u": peer, "n": n}))["getC2CHistoryMessageList"])


async def test_sendmsg_is_an_sdk_send_for_both_users(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    alice, alice_phone, bob = (
        await device(client, server, "alice", "web"),
        await device(client, server, "alice", "ios"),
        await device(client, server, "bob"),
    )
    alice_convs = await actor(client, server.ws_url, "alice", CONVERSATION_EVENTS, platform="android")
    bob_convs = await actor(client, server.ws_url, "bob", CONVERSATION_EVENTS, platform="android")
    await alice_convs.drain(quiet=0.3)
    await bob_convs.drain(quiet=0.3)
    answer = await rest.ok(SEND, golden_send("alice", "bob"))
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode", "MsgTime", "MsgKey", "MsgId"}
    assert isinstance(answer["MsgTime"], int)
    assert isinstance(answer["MsgId"], str)
    received = (await bob.event())["message"]
    assert received["msgID"] == answer["MsgId"]
    assert answer["MsgKey"] == f"{received['seq']}_1287657_{answer['MsgTime']}"
    assert (received["sender"], received["isSelf"], received["textElem"]) == ("alice", False, {"text": "hi, beauty"})
    assert received["cloudCustomData"] == "your cloud custom data"
    # SyncOtherMachine 1: every device of alice's hears of it as her own message
    for dev in (alice, alice_phone):
        mine = (await dev.event())["message"]
        assert (mine["msgID"], mine["isSelf"], mine["userID"]) == (answer["MsgId"], True, "bob")
    # both conversation lists change as for an SDK send
    (bob_new,) = [e for e in await bob_convs.drain(quiet=0.3) if e["type"] == "onNewConversation"]
    assert bob_new["conversationList"][0]["conversationID"] == "c2c_alice"
    assert bob_new["conversationList"][0]["unreadCount"] == 1
    assert bob_new["conversationList"][0]["lastMessage"]["msgID"] == answer["MsgId"]
    (alice_new,) = [e for e in await alice_convs.drain(quiet=0.3) if e["type"] == "onNewConversation"]
    assert alice_new["conversationList"][0]["conversationID"] == "c2c_bob"
    assert await history(bob, "alice") == [received]


async def test_sync_other_machine_2_leaves_the_sender_out(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    answer = await rest.ok(SEND, golden_send("alice", "bob", SyncOtherMachine=2, MsgLifeTime=3600))
    assert (await bob.event())["message"]["msgID"] == answer["MsgId"]
    await alice.quiet()
    assert await history(alice, "bob") == []
    assert [m["msgID"] for m in await history(bob, "alice")] == [answer["MsgId"]]
    convs = await alice.q("{ getConversationList(count: 10) { conversationList { conversationID } } }")
    assert convs["getConversationList"]["conversationList"] == []


async def test_the_admin_skips_the_blacklist_and_may_send_as_itself(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    await bob.q('mutation { addToBlackList(userIDList: ["alice"]) { userID } }')
    assert (await alice.send(await alice.create_text("blocked"), "bob")).codes == [Code.ERR_SENDER_BLOCKED]
    await rest.ok(SEND, golden_send("alice", "bob"))
    assert (await bob.event())["message"]["sender"] == "alice"
    # no From_Account: the admin account sends (and exists from then on)
    answer = await rest.ok(SEND, {"To_Account": "bob", "MsgBody": text("from the app")})
    received = (await bob.event())["message"]
    assert (received["sender"], received["msgID"]) == (ADMIN, answer["MsgId"])


async def test_a_repeated_sendmsg_returns_the_first_message(
    rest: RestClient, client: HTTPClient, server: InProcessGateway
) -> None:
    bob = await device(client, server, "bob")
    await client.login("alice")
    answers = await asyncio.gather(*(rest.ok(SEND, golden_send("alice", "bob")) for _ in range(4)))
    assert len({a["MsgKey"] for a in answers}) == 1
    await bob.event()
    await bob.quiet()
    other = await rest.ok(SEND, golden_send("alice", "bob", MsgRandom=1287658))
    assert other["MsgKey"] != answers[0]["MsgKey"]


async def test_sendmsg_refusals_change_nothing(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    bob = await device(client, server, "bob")
    await client.login("alice")
    body = golden_send("alice", "bob")
    await rest.fails(SEND, {k: v for k, v in body.items() if k != "To_Account"}, 90009)
    await rest.fails(SEND, {k: v for k, v in body.items() if k != "MsgBody"}, 90002)
    await rest.fails(SEND, dict(body, MsgBody=[{"MsgType": "TIMNoSuchElem", "MsgContent": {}}]), 90002)
    await rest.fails(SEND, dict(body, MsgRandom="abc"), 90009)
    await rest.fails(SEND, dict(body, SyncOtherMachine=3), 90009)
    await rest.fails(SEND, dict(body, SendMsgControl=["Nope"]), 90009)
    await rest.fails(SEND, dict(body, To_Account="ghost"), Code.ERR_RECEIVER_NOT_FOUND)
    await rest.fails(SEND, dict(body, From_Account="ghost"), Code.ERR_RECEIVER_NOT_FOUND)
    await rest.fails(SEND, dict(body, MsgBody=text("x" * 13000)), 93000)
    await bob.quiet()
    assert await history(bob, "alice") == []


async def test_send_controls_and_options(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    bob = await device(client, server, "bob")
    await client.login("alice")
    answer = await rest.ok(
        SEND,
        golden_send(
            "alice",
            "bob",
            SendMsgControl=["NoUnread", "NoLastMsg"],
            IsNeedReadReceipt=1,
            SupportMessageExtension=1,
            OfflinePushInfo={"PushFlag": 0, "Title": "t", "Desc": "Content to push offline"},
        ),
    )
    got = (await bob.event())["message"]
    assert got["msgID"] == answer["MsgId"]
    assert (got["isExcludedFromUnreadCount"], got["isExcludedFromLastMessage"]) == (True, True)
    assert (got["needReadReceipt"], got["isSupportMessageExtension"]) == (True, True)
    assert got["offlinePushInfo"] == {"title": "t", "desc": "Content to push offline"}
    unread = await rest.ok("openim/get_c2c_unread_msg_num", {"To_Account": "bob"})
    assert unread["AllC2CUnreadMsgNum"] == 0
    # MsgLifeTime 0: online users only, nothing stored
    await rest.ok(SEND, golden_send("alice", "bob", MsgLifeTime=0, MsgRandom=5))
    assert (await bob.event())["message"]["textElem"] == {"text": "hi, beauty"}
    assert [m["msgID"] for m in await history(bob, "alice")] == [answer["MsgId"]]


async def test_batchsendmsg(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    bob, carol = await device(client, server, "bob"), await device(client, server, "carol")
    await client.login("alice")
    body = {"From_Account": "alice", "To_Account": ["bob", "rong", "carol"], "MsgRandom": 7, "MsgBody": TEXT}
    answer = await rest.call("openim/batchsendmsg", body)
    assert answer["ActionStatus"] == "SomeError"
    assert answer["ErrorCode"] == 0
    assert answer["ErrorList"] == [{"To_Account": "rong", "ErrorCode": 70107}]
    assert isinstance(answer["MsgKey"], str)
    for dev in (bob, carol):
        assert (await dev.event())["message"]["textElem"] == {"text": "hi, beauty"}
    everyone = await rest.ok("openim/batchsendmsg", dict(body, To_Account=["bob", "carol"], MsgRandom=8))
    assert "ErrorList" not in everyone
    too_many = [f"u{i}" for i in range(501)]
    await rest.fails("openim/batchsendmsg", dict(body, To_Account=too_many), 90009)
    await rest.fails("openim/batchsendmsg", dict(body, To_Account="bob"), 90009)
    assert len(await history(bob, "alice")) == 2


async def test_importmsg(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    bob = await device(client, server, "bob")
    await client.login("alice")
    old = {
        "SyncFromOldSystem": 2,
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgSeq": 827092,
        "MsgRandom": 1287657,
        "MsgTimeStamp": 1556178721,
        "MsgBody": TEXT,
        "CloudCustomData": "your cloud custom data",
    }
    assert set(await rest.ok("openim/importmsg", old)) == {"ActionStatus", "ErrorInfo", "ErrorCode"}
    await rest.ok("openim/importmsg", old)  # a repeat is dropped
    await bob.quiet()  # history: nobody hears of it
    (imported,) = await history(bob, "alice")
    assert (imported["timestamp"], imported["isRead"]) == (1556178721, False)
    roam = {"Operator_Account": "bob", "Peer_Account": "alice", "MaxCnt": 5, "MinTime": 0, "MaxTime": 2**32 - 1}
    (item,) = (await rest.ok("openim/admin_getroammsg", roam))["MsgList"]
    assert (item["MsgRandom"], item["MsgTimeStamp"], item["From_Account"]) == (1287657, 1556178721, "alice")
    unread = await rest.ok("openim/get_c2c_unread_msg_num", {"To_Account": "bob", "Peer_Account": ["alice"]})
    assert unread["C2CUnreadMsgNumList"] == [{"Peer_Account": "alice", "C2CUnreadMsgNum": 0}]
    live = dict(old, SyncFromOldSystem=5, MsgRandom=99, MsgTimeStamp=1556178800)
    await rest.ok("openim/importmsg", live)
    assert (await bob.event())["message"]["timestamp"] == 1556178800
    unread = await rest.ok("openim/get_c2c_unread_msg_num", {"To_Account": "bob", "Peer_Account": ["alice"]})
    assert unread["C2CUnreadMsgNumList"] == [{"Peer_Account": "alice", "C2CUnreadMsgNum": 1}]
    for bad in ({"SyncFromOldSystem": 3}, {"MsgTimeStamp": None}, {"From_Account": "ghost", "MsgRandom": 1}):
        await rest.fails("openim/importmsg", dict(old, **bad), 90009 if "From_Account" not in bad else 20003)
    assert len(await history(bob, "alice")) == 2


async def test_admin_getroammsg_pages(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    await client.login("alice")
    await client.login("bob")
    start = int(clock.now())
    keys = []
    for i in range(5):
        who, peer = ("alice", "bob") if i % 2 == 0 else ("bob", "alice")
        keys.append((await rest.ok(SEND, golden_send(who, peer, MsgBody=text(f"msg {i}"), MsgRandom=i)))["MsgKey"])
        await clock.advance(10)
    request = {
        "Operator_Account": "bob",
        "Peer_Account": "alice",
        "MaxCnt": 2,
        "MinTime": start,
        "MaxTime": start + 100,
    }
    first = await rest.ok("openim/admin_getroammsg", request)
    assert set(first) == {
        "ActionStatus", "ErrorInfo", "ErrorCode", "Complete", "MsgCnt", "LastMsgTime", "LastMsgKey", "MsgList"
    }  # fmt: skip
    assert (first["Complete"], first["MsgCnt"], first["LastMsgKey"]) == (0, 2, keys[3])
    assert [m["MsgKey"] for m in first["MsgList"]] == [keys[3], keys[4]]  # oldest first within a page
    item = first["MsgList"][1]
    assert set(item) == {
        "From_Account", "To_Account", "MsgSeq", "MsgRandom", "MsgTimeStamp", "MsgFlagBits", "IsPeerRead", "MsgKey",
        "MsgBody", "CloudCustomData",
    }  # fmt: skip
    assert (item["From_Account"], item["To_Account"], item["MsgRandom"]) == ("alice", "bob", 4)
    assert item["MsgBody"] == text("msg 4")
    assert item["MsgTimeStamp"] == first["LastMsgTime"] + 10
    rest_of = dict(request, MaxCnt=10, MaxTime=first["LastMsgTime"], LastMsgKey=first["LastMsgKey"])
    second = await rest.ok("openim/admin_getroammsg", rest_of)
    assert (second["Complete"], second["MsgCnt"]) == (1, 3)
    assert [m["MsgKey"] for m in second["MsgList"]] == keys[:3]
    # the old field names, and a time window
    old_names = {
        "From_Account": "alice",
        "To_Account": "bob",
        "MaxCnt": 10,
        "MinTime": start + 10,
        "MaxTime": start + 20,
    }
    window = await rest.ok("openim/admin_getroammsg", old_names)
    assert [m["MsgKey"] for m in window["MsgList"]] == keys[1:3]
    assert window["MsgList"][0]["To_Account"] == "alice"
    await rest.fails("openim/admin_getroammsg", dict(request, LastMsgKey="nope"), 90054)
    await rest.fails("openim/admin_getroammsg", dict(request, Peer_Account="ghost"), 20003)
    await rest.fails("openim/admin_getroammsg", {k: v for k, v in request.items() if k != "MaxCnt"}, 90009)


async def test_admin_msgwithdraw_has_no_time_limit(
    rest: RestClient, client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    sent = await rest.ok(SEND, golden_send("alice", "bob"))
    await bob.event()
    await alice.event()
    await clock.advance(3600)  # far past the SDK's 2 minutes
    withdraw = {"From_Account": "alice", "To_Account": "bob", "MsgKey": sent["MsgKey"]}
    answer = await rest.ok("openim/admin_msgwithdraw", withdraw)
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode"}
    for dev in (alice, bob):
        event = await dev.event()
        assert (event["type"], event["msgID"]) == ("onRecvMessageRevoked", sent["MsgId"])
    await rest.fails("openim/admin_msgwithdraw", withdraw, 20023)
    await rest.fails("openim/admin_msgwithdraw", dict(withdraw, MsgKey="1_2"), 90054)
    await rest.fails("openim/admin_msgwithdraw", dict(withdraw, MsgKey="999_2_3"), 20022)
    await rest.fails("openim/admin_msgwithdraw", dict(withdraw, From_Account="bob", To_Account="alice"), 20022)
    roam = {"Operator_Account": "bob", "Peer_Account": "alice", "MaxCnt": 5, "MinTime": 0, "MaxTime": 2**32 - 1}
    (item,) = (await rest.ok("openim/admin_getroammsg", roam))["MsgList"]
    assert item["MsgFlagBits"] == 8


async def test_read_marks_and_unread_counts(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    await client.login("carol")
    for i in range(2):
        await rest.ok(SEND, golden_send("alice", "bob", MsgRandom=i))
    await rest.ok(SEND, golden_send("carol", "bob", MsgRandom=9))
    for _ in range(3):
        await bob.event()
    unread = await rest.ok(
        "openim/get_c2c_unread_msg_num", {"To_Account": "bob", "Peer_Account": ["alice", "carol", "ghost"]}
    )
    assert unread["AllC2CUnreadMsgNum"] == 3
    assert unread["C2CUnreadMsgNumList"] == [
        {"Peer_Account": "alice", "C2CUnreadMsgNum": 2},
        {"Peer_Account": "carol", "C2CUnreadMsgNum": 1},
    ]
    assert unread["ErrorList"] == [{"Peer_Account": "ghost", "ErrorCode": 70107}]
    answer = await rest.ok("openim/admin_set_msg_read", {"Report_Account": "bob", "Peer_Account": "alice"})
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode"}
    receipt = await alice.event()
    while receipt["type"] == "onRecvNewMessage":  # alice's own synced sends come first
        receipt = await alice.event()
    assert receipt["type"] == "onRecvC2CReadReceipt"
    assert receipt["receiptList"][0]["userID"] == "bob"
    unread = await rest.ok("openim/get_c2c_unread_msg_num", {"To_Account": "bob"})
    assert unread == {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "AllC2CUnreadMsgNum": 1}
    mine = await history(alice, "bob")
    assert all(m["isPeerRead"] for m in mine)
    too_many = [f"u{i}" for i in range(11)]
    await rest.fails("openim/get_c2c_unread_msg_num", {"To_Account": "bob", "Peer_Account": too_many}, 90009)
    await rest.fails("openim/get_c2c_unread_msg_num", {"To_Account": "ghost"}, 20003)
    await rest.fails("openim/admin_set_msg_read", {"Report_Account": "bob", "Peer_Account": "ghost"}, 20003)
    await rest.fails("openim/admin_set_msg_read", {"Report_Account": "bob"}, 90009)
    assert (await rest.ok("openim/get_c2c_unread_msg_num", {"To_Account": "bob"}))["AllC2CUnreadMsgNum"] == 1


async def test_modify_c2c_msg(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    sent = await rest.ok(SEND, golden_send("alice", "bob"))
    await bob.event()
    await alice.event()
    modify = {
        "From_Account": "alice",
        "To_Account": "bob",
        "MsgKey": sent["MsgKey"],
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
        "CloudCustomData": "your cloud custom data",
    }
    answer = await rest.ok("openim/modify_c2c_msg", modify)
    assert set(answer) == {"ActionStatus", "ErrorInfo", "ErrorCode"}
    for dev in (bob, alice):
        event = await dev.event()
        assert event["type"] == "onRecvMessageModified"
        assert event["message"]["textElem"] == {"text": "hello"}
    (stored,) = await history(bob, "alice")
    assert stored["textElem"] == {"text": "hello"}
    await rest.fails("openim/modify_c2c_msg", dict(modify, MsgKey="1_2_3"), 20022)
    await rest.fails("openim/modify_c2c_msg", dict(modify, MsgKey="x"), 90054)
    await rest.fails("openim/modify_c2c_msg", {k: modify[k] for k in ("From_Account", "To_Account", "MsgKey")}, 90009)


async def test_delete_ramble_and_read_receipts(rest: RestClient, client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await device(client, server, "alice"), await device(client, server, "bob")
    first = await rest.ok(SEND, golden_send("alice", "bob", IsNeedReadReceipt=1, MsgRandom=1))
    second = await rest.ok(SEND, golden_send("alice", "bob", MsgRandom=2))
    for _ in range(2):
        await bob.event()
        await alice.event()
    receipt = {
        "Operator_Account": "bob",
        "Peer_Account": "alice",
        "C2CMsgInfo": [{"From_Account": "alice", "To_Account": "bob", "MsgKey": first["MsgKey"]}],
    }
    await rest.ok("openim/c2c_msg_read_receipt", receipt)
    event = await alice.event()
    assert event["__typename"] == "RecvMessageReadReceiptsEvent"
    bad_pair = dict(receipt, C2CMsgInfo=[{"From_Account": "bob", "To_Account": "alice", "MsgKey": first["MsgKey"]}])
    await rest.fails("openim/c2c_msg_read_receipt", bad_pair, 90009)
    ramble = {"Operator_Account": "bob", "Peer_Account": "alice", "MsgKeyList": [second["MsgKey"]]}
    await rest.ok("openim/delete_c2c_msg_ramble", ramble)
    assert [m["msgID"] for m in await history(bob, "alice")] == [first["MsgId"]]
    assert len(await history(alice, "bob")) == 2  # one-way
    await rest.fails("openim/delete_c2c_msg_ramble", dict(ramble, MsgKeyList=["bad"]), 90054)
    await rest.fails("openim/delete_c2c_msg_ramble", dict(ramble, MsgKeyList=["1_1_1"] * 31), 90009)
