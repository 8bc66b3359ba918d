"""Read receipts on the Tencent Cloud backend end to end: the gateway against imql's own REST v4
server and callbacks standing in for Tencent (tests/support/tencent_pair.py).

A gateway user's C2C receipt reaches Tencent first (`openim/c2c_msg_read_receipt`) and the native
sender hears it; a native member's group receipt comes back by Group.CallbackAfterReadReceipt and
the gateway sender hears it once, with the counts and readers in the mirror; a gateway user's group
receipt is refused (Tencent documents no REST for it); a refusal upstream records nothing.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.errors import Code
from tests.support.tencent_pair import Pair
from tests.tencent.test_groups_e2e import settled
from tests.test_read_receipts import RECEIPTS, User, user


async def users(pair: Pair) -> tuple[User, User]:
    """alice on the gateway, bob on the cloud (a native user); the mirror knows bob."""
    alice = await user(pair.at_gateway, pair.gateway, "alice")
    bob = await user(pair.at_cloud, pair.cloud, "bob")
    await alice.q('{ getUsersInfo(userIDList: ["bob"]) { userID } }')
    return alice, bob


async def arrived(u: User, peer: str = "", group: str = "", text: str = "") -> str:
    """The msgID, as the user has it, of the text message `text` just sent to them."""
    while True:
        event = await u.ws.next_event(u.op)
        if event["__typename"] != "RecvNewMessageEvent":
            continue
        if group:
            page = await u.q(
                '{ getGroupHistoryMessageList(groupID: "%s", count: 5) { msgID textElem { text } } }' % group
            )
            found = page["getGroupHistoryMessageList"]
        else:
            page = await u.q('{ getC2CHistoryMessageList(userID: "%s", count: 5) { msgID textElem { text } } }' % peer)
            found = page["getC2CHistoryMessageList"]
        for m in found:
            if m["textElem"] and m["textElem"]["text"] == text:
                return str(m["msgID"])


async def test_a_gateway_users_c2c_receipt_reaches_the_native_sender_once(pair: Pair) -> None:
    alice, bob = await users(pair)
    asked = await bob.send("tell me you read this", to="alice")
    mine = await arrived(alice, peer="bob", text="tell me you read this")
    assert (await alice.read(mine)).ok()
    heard = await bob.receipts()
    assert [(r["msgID"], r["userID"], r["isPeerRead"]) for r in heard] == [(asked, "alice", True)]
    (receipt,) = (await bob.q(RECEIPTS, {"m": [asked]}))["getMessageReadReceipts"]
    assert (receipt["userID"], receipt["isPeerRead"]) == ("alice", True)
    assert (await alice.read(mine)).ok()  # recorded already: no second receipt
    await bob.quiet()


async def test_a_native_members_group_receipt_reaches_the_gateway_sender(pair: Pair) -> None:
    alice, bob = await users(pair)
    created = await alice.q(
        'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "read", memberListMap: [{userID: "bob"}]) }'
    )
    gid = created["createGroup"]
    mine = await alice.send("did everyone read this?", group=gid)
    assert (
        await arrived(bob, group=gid, text="did everyone read this?") == mine
    )  # Tencent's MsgSeq names it on both sides
    assert (await bob.read(mine)).ok()
    heard = await alice.receipts()
    assert [(r["msgID"], r["groupID"], r["readCount"], r["unreadCount"]) for r in heard] == [(mine, gid, 1, 0)]
    (counted,) = (await alice.q(RECEIPTS, {"m": [mine]}))["getMessageReadReceipts"]
    assert (counted["readCount"], counted["unreadCount"]) == (1, 0)
    assert (await alice.members(mine, 0, 0, 10))["memberInfoList"] == ["bob"]
    await settled(pair)
    await alice.quiet()  # one receipt, one event

    # the other way has no documented REST: refused, nothing recorded on either side
    theirs = await bob.send("and this?", group=gid)
    on_gateway = await arrived(alice, group=gid, text="and this?")
    assert on_gateway == theirs
    refused = await alice.read(on_gateway)
    assert refused.codes == [Code.ERR_SDK_INTERFACE_NOT_SUPPORT]
    assert "not available on the Tencent backend" in refused.errors[0]["message"]
    (theirs_receipt,) = (await bob.q(RECEIPTS, {"m": [theirs]}))["getMessageReadReceipts"]
    assert theirs_receipt["readCount"] == 0


async def test_a_receipt_tencent_cannot_take_records_nothing(pair: Pair) -> None:
    alice, bob = await users(pair)
    await bob.send("read me", to="alice")
    mine = await arrived(alice, peer="bob", text="read me")
    await pair.cloud.stop()  # Tencent unreachable
    reply = await alice.read(mine)
    assert reply.codes
    assert 0 not in reply.codes
    client = aioredis.Redis.from_url(str(pair.gateway.settings.redis_url))
    try:
        readers = [k async for k in client.scan_iter(match=f"*{pair.at_gateway.sdkappid}*:readers:*")]
    finally:
        await client.aclose()
    assert readers == []
