"""Message extensions on the Tencent Cloud backend end to end: the gateway against imql's own REST
v4 server and callbacks standing in for Tencent (tests/support/tencent_pair.py).

A gateway user's setMessageExtensions / deleteMessageExtensions reach Tencent first
(`openim_msg_ext_http_svc`) and then the mirror at Tencent's Seq of each key; a native user's (and
the app admin's) come back by C2C.CallbackAfterC2CMsgExtension / Group.CallbackAfterGroupMsgExtension
as the listener events an SDK user gets; the echo of the gateway's own write changes nothing; a
version the mirror knows is stale is refused before Tencent is asked; a refusal upstream leaves
the mirror as it was.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import Code
from tests.support.tencent_pair import Pair
from tests.tencent.test_groups_e2e import settled
from tests.test_extensions import DELETE, GET, Party, ext, party

SVC = "openim_msg_ext_http_svc"


async def extensions(p: Party, msg_id: str) -> dict[str, tuple[str, int]]:
    found = (await p.q(GET, {"m": msg_id}))["getMessageExtensions"]
    return {e["extensionKey"]: (e["extensionValue"], e["extensionVersion"]) for e in found}


async def received(p: Party, peer: str, group: bool = False) -> str:
    """The msgID, as the party has it, of the message just sent to it by `peer` (or in group `peer`)."""
    while (await p.event())["__typename"] != "RecvNewMessageEvent":
        pass
    if group:
        page = await p.q('{ getGroupHistoryMessageList(groupID: "%s", count: 1) { msgID } }' % peer)
        return str(page["getGroupHistoryMessageList"][0]["msgID"])
    page = await p.q('{ getC2CHistoryMessageList(userID: "%s", count: 1) { msgID } }' % peer)
    return str(page["getC2CHistoryMessageList"][0]["msgID"])


async def pair_of(pair: Pair) -> tuple[Party, Party]:
    """alice on the gateway, bob on the cloud (a native user), each listening; the mirror knows bob."""
    alice = await party(pair.at_gateway, pair.gateway, "alice")
    bob = await party(pair.at_cloud, pair.cloud, "bob")
    await alice.q('{ getUsersInfo(userIDList: ["bob"]) { userID } }')
    return alice, bob


def results(reply: Any) -> list[tuple[int, str, str, int]]:
    return [
        (
            r["resultCode"],
            r["extension"]["extensionKey"],
            r["extension"]["extensionValue"],
            r["extension"]["extensionVersion"],
        )
        for r in reply.ok()["setMessageExtensions"]
    ]


async def cloud_msg_key(pair: Pair, sender: str, receiver: str) -> str:
    """Tencent's MsgKey of the last message between the two (the app admin's history read)."""
    answer = await pair.admin(
        "openim/admin_getroammsg",
        {"Operator_Account": sender, "Peer_Account": receiver, "MaxCnt": 1, "MinTime": 0, "MaxTime": 2**31 - 1},
    )
    return str(answer["MsgList"][-1]["MsgKey"])


async def test_c2c_extensions_cross_both_ways_at_tencents_versions(pair: Pair) -> None:
    alice, bob = await pair_of(pair)
    mine = await alice.send("bob")
    theirs = await received(bob, "alice")
    assert results(await alice.set(mine, ext("lunch", "noodles"))) == [(0, "lunch", "noodles", 1)]
    # on Tencent, and the native user heard of it
    assert await extensions(bob, theirs) == {"lunch": ("noodles", 1)}
    heard = await bob.next_extension_event()
    assert heard["extensions"] == [{"extensionKey": "lunch", "extensionValue": "noodles", "extensionVersion": 1}]

    assert results(await bob.set(theirs, ext("dinner", "pizza"), ext("lunch", "rice", 1))) == [
        (0, "dinner", "pizza", 1),
        (0, "lunch", "rice", 2),
    ]
    changed = await alice.next_extension_event()
    assert (changed["type"], changed["msgID"]) == ("onRecvMessageExtensionsChanged", mine)
    assert {e["extensionKey"]: e["extensionVersion"] for e in changed["extensions"]} == {"dinner": 1, "lunch": 2}
    assert await extensions(alice, mine) == {"lunch": ("rice", 2), "dinner": ("pizza", 1)}

    # the version alice saw first is stale: refused from the mirror's versions, Tencent not asked
    assert results(await alice.set(mine, ext("lunch", "soup", 1))) == [
        (int(Code.ERR_EXTENSION_CONFLICT), "lunch", "rice", 2)
    ]
    assert await extensions(bob, theirs) == {"lunch": ("rice", 2), "dinner": ("pizza", 1)}

    assert (await alice.q(DELETE, {"m": mine, "k": ["dinner"]}))["deleteMessageExtensions"] == [{"resultCode": 0}]
    deleted = await bob.next_extension_event()
    assert (deleted["type"], deleted["extensionKeys"]) == ("onRecvMessageExtensionsDeleted", ["dinner"])
    assert (await bob.q(DELETE, {"m": theirs, "k": ["lunch"]}))["deleteMessageExtensions"] == [{"resultCode": 0}]
    gone = await alice.next_extension_event()
    assert (gone["type"], gone["extensionKeys"]) == ("onRecvMessageExtensionsDeleted", ["lunch"])
    assert await extensions(alice, mine) == {}

    await settled(pair)  # every echo of alice's own writes came back and was handled
    await alice.quiet()  # ... and told her nothing twice
    await bob.quiet()


async def test_the_apps_own_clear_reaches_the_gateway_user(pair: Pair) -> None:
    alice, bob = await pair_of(pair)
    theirs = await bob.send("alice")
    mine = await received(alice, "bob")
    await alice.set(mine, ext("a", "1"), ext("b", "2"))
    await bob.next_extension_event()
    key = await cloud_msg_key(pair, "bob", "alice")
    answer = await pair.admin(
        f"{SVC}/set_key_values", {"From_Account": "bob", "To_Account": "alice", "MsgKey": key, "OperateType": 3}
    )
    assert answer["ErrorCode"] == 0
    cleared = await alice.next_extension_event()
    assert (cleared["type"], sorted(cleared["extensionKeys"])) == ("onRecvMessageExtensionsDeleted", ["a", "b"])
    assert await extensions(alice, mine) == {}
    assert await extensions(bob, theirs) == {}


async def test_group_extensions_cross_both_ways(pair: Pair) -> None:
    alice, bob = await pair_of(pair)
    created = await alice.q(
        'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "votes", '
        'memberListMap: [{userID: "bob"}]) }'
    )
    gid = created["createGroup"]
    mine = await alice.send(gid, group=True)
    assert await received(bob, gid, group=True) == mine  # one identity on both sides: Tencent's MsgSeq
    assert results(await alice.set(mine, ext("alice", "yes"))) == [(0, "alice", "yes", 1)]
    assert (await bob.next_extension_event())["extensions"][0]["extensionValue"] == "yes"
    assert results(await bob.set(mine, ext("bob", "no"))) == [(0, "bob", "no", 1)]
    heard = await alice.next_extension_event()
    assert heard["extensions"] == [{"extensionKey": "bob", "extensionValue": "no", "extensionVersion": 1}]
    assert await extensions(alice, mine) == {"alice": ("yes", 1), "bob": ("no", 1)}

    history = await pair.admin("group_open_http_svc/group_msg_get_simple", {"GroupId": gid, "ReqMsgNumber": 5})
    seq = next(m["MsgSeq"] for m in history["RspMsgList"] if m["MsgBody"][0]["MsgType"] == "TIMTextElem")
    answer = await pair.admin(f"{SVC}/group_set_key_values", {"GroupId": gid, "MsgSeq": seq, "OperateType": 3})
    assert answer["ErrorCode"] == 0
    cleared = await alice.next_extension_event()
    assert sorted(cleared["extensionKeys"]) == ["alice", "bob"]
    assert await extensions(alice, mine) == {}
    await settled(pair)
    await alice.quiet()


async def test_an_extension_write_tencent_cannot_take_changes_nothing(pair: Pair) -> None:
    alice, bob = await pair_of(pair)
    mine = await alice.send("bob")
    await received(bob, "alice")
    await alice.set(mine, ext("k", "before"))
    await pair.cloud.stop()  # Tencent unreachable
    reply = await alice.set(mine, ext("k", "after"))
    assert reply.codes
    assert 0 not in reply.codes
    deleting = await alice.call(DELETE, {"m": mine, "k": ["k"]})
    assert deleting.codes
    assert await extensions(alice, mine) == {"k": ("before", 1)}
