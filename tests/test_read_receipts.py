"""Message read receipts end to end: sendMessageReadReceipts, getMessageReadReceipts,
getGroupMessageReadMemberList (paged, read and unread) and onRecvMessageReadReceipts."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engine import receipts as receipts_module
from gateway.errors import Code
from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway

EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvMessageReadReceiptsEvent { type receiptList { msgID userID groupID readCount unreadCount isPeerRead } }
} }"""
RECEIPTS = "query($m: [String!]!) { getMessageReadReceipts(msgIDList: $m) { msgID userID groupID readCount unreadCount isPeerRead timestamp } }"
MEMBERS = """query($m: String!, $f: Int!, $n: Long, $c: Int!) {
  getGroupMessageReadMemberList(msgID: $m, filter: $f, nextSeq: $n, count: $c) { nextSeq isFinished memberInfoList { userID } } }"""


class User(Actor):
    async def send(self, text: str, *, to: str = "", group: str = "", receipt: bool = True) -> str:
        created = (await self.q("mutation($t: String!) { createTextMessage(text: $t) { id } }", {"t": text}))[
            "createTextMessage"
        ]["id"]
        where = f'groupID: "{group}"' if group else f'receiver: "{to}"'
        sent = await self.q(
            f'mutation {{ sendMessage(id: "{created}", {where}, needReadReceipt: {str(receipt).lower()}) {{ msgID }} }}'
        )
        return str(sent["sendMessage"]["msgID"])

    async def read(self, *msg_ids: str) -> Any:
        return await self.call(
            "mutation($m: [String!]!) { sendMessageReadReceipts(msgIDList: $m) }", {"m": list(msg_ids)}
        )

    async def receipts(self) -> list[dict[str, Any]]:
        """The next receipts event (new messages and tips on the same listener are passed over)."""
        while True:
            event = await self.ws.next_event(self.op)
            if event["__typename"] == "RecvMessageReadReceiptsEvent":
                return list(event["receiptList"])

    async def members(self, msg_id: str, read_filter: int, next_seq: int, count: int) -> dict[str, Any]:
        page = await self.q(MEMBERS, {"m": msg_id, "f": read_filter, "n": next_seq, "c": count})
        result = page["getGroupMessageReadMemberList"]
        return {**result, "memberInfoList": [m["userID"] for m in result["memberInfoList"]]}


async def user(client: HTTPClient, server: InProcessGateway, name: str) -> User:
    return await User.online(client, server.ws_url, name, EVENTS)


async def test_c2c_receipts_reach_the_sender_once(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await user(client, server, "alice"), await user(client, server, "bob")
    asked = await alice.send("did you read this?", to="bob")
    plain = await alice.send("no receipt wanted", to="bob", receipt=False)
    assert (await alice.q(RECEIPTS, {"m": [asked]}))["getMessageReadReceipts"][0]["isPeerRead"] is False
    assert (await bob.read(asked, plain)).ok()
    assert await alice.receipts() == [
        {"msgID": asked, "userID": "bob", "groupID": "", "readCount": 1, "unreadCount": 0, "isPeerRead": True}
    ]
    assert (await bob.read(asked)).ok()
    await alice.quiet()  # a reader's receipt is recorded once
    (receipt,) = (await alice.q(RECEIPTS, {"m": [asked]}))["getMessageReadReceipts"]
    assert (receipt["userID"], receipt["isPeerRead"], receipt["timestamp"] > 0) == ("bob", True, True)
    # receipts leave the conversation's unread count alone
    assert (await bob.q("{ getTotalUnreadMessageCount }"))["getTotalUnreadMessageCount"] == 2
    # the receipts of someone else's message, and bad lists
    assert (await bob.call(RECEIPTS, {"m": [asked]})).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await bob.read()).codes == [Code.ERR_INVALID_PARAMETERS]
    carol = await user(client, server, "carol")
    other = await carol.send("hi bob", to="bob")
    assert (await bob.read(asked, other)).codes == [Code.ERR_INVALID_PARAMETERS]  # two conversations
    assert (await carol.read(asked)).codes == [Code.ERR_INVALID_CONVERSATION]  # not carol's conversation


async def test_group_receipts_count_and_list_readers(client: HTTPClient, server: InProcessGateway) -> None:
    alice = await user(client, server, "alice")
    bob, carol = await user(client, server, "bob"), await user(client, server, "carol")
    await client.login("dave")
    gid = (
        await alice.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "team",'
            ' memberListMap: [{userID: "bob"}, {userID: "carol"}, {userID: "dave"}]) }'
        )
    )["createGroup"]
    msg = await alice.send("standup in 5", group=gid)
    assert (await bob.read(msg)).ok()
    assert await alice.receipts() == [
        {"msgID": msg, "userID": "bob", "groupID": gid, "readCount": 1, "unreadCount": 2, "isPeerRead": False}
    ]
    assert (await carol.read(msg)).ok()
    assert [(r["readCount"], r["unreadCount"]) for r in await alice.receipts()] == [(2, 1)]
    (receipt,) = (await alice.q(RECEIPTS, {"m": [msg]}))["getMessageReadReceipts"]
    assert (receipt["readCount"], receipt["unreadCount"]) == (2, 1)
    assert await alice.members(msg, 0, 0, 100) == {"nextSeq": 0, "isFinished": True, "memberInfoList": ["bob", "carol"]}
    assert await alice.members(msg, 1, 0, 100) == {"nextSeq": 0, "isFinished": True, "memberInfoList": ["dave"]}
    first = await alice.members(msg, 0, 0, 1)
    assert (first["memberInfoList"], first["isFinished"]) == (["bob"], False)
    second = await alice.members(msg, 0, first["nextSeq"], 1)
    assert second["memberInfoList"] == ["carol"]
    # only the sender may list, only group messages, and filter is 0 or 1
    assert (await bob.call(MEMBERS, {"m": msg, "f": 0, "n": 0, "c": 10})).codes == [Code.ERR_NO_PERMISSION]
    c2c = await alice.send("dm", to="bob")
    assert (await alice.call(MEMBERS, {"m": c2c, "f": 0, "n": 0, "c": 10})).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call(MEMBERS, {"m": msg, "f": 2, "n": 0, "c": 10})).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call(MEMBERS, {"m": msg, "f": 0, "n": 0, "c": 0})).codes == [Code.ERR_INVALID_PARAMETERS]


async def test_unread_members_page_across_roster_chunks(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receipts_module, "_ROSTER_CHUNK", 2)  # pages cross the roster reads' edges
    alice, carol = await user(client, server, "alice"), await user(client, server, "carol")
    names = ["bob", "carol", "dave", "erin", "frank", "gina"]
    for name in names:
        if name != "carol":  # carol is logged in above; a second login would replace her session
            await client.login(name)
    members = ", ".join(f'{{userID: "{n}"}}' for n in names)
    gid = (
        await alice.q(
            f'mutation {{ createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "g", memberListMap: [{members}]) }}'
        )
    )["createGroup"]
    msg = await alice.send("hello all", group=gid)
    assert (await carol.read(msg)).ok()
    seen: list[str] = []
    next_seq, pages = 0, 0
    while True:
        page = await alice.members(msg, 1, next_seq, 2)
        seen += page["memberInfoList"]
        pages += 1
        if page["isFinished"]:
            break
        next_seq = page["nextSeq"]
    assert seen == ["bob", "dave", "erin", "frank", "gina"]  # roster order, without the reader and the sender
    assert pages == 3
