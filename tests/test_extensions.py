"""Message extensions end to end: set / get / delete, conditional writes and 23001, concurrent
writers, limits, 23004, and onRecvMessageExtensionsChanged / Deleted on every party's devices."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.engine import extensions as extensions_module
from gateway.errors import Code
from tests.support.actors import Actor
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway

EVENTS = """subscription { advancedMsgListener { __typename
  ... on RecvMessageExtensionsChangedEvent { type msgID extensions { extensionKey extensionValue extensionVersion } }
  ... on RecvMessageExtensionsDeletedEvent { type msgID extensionKeys }
} }"""
SET = """mutation($m: String!, $e: [MessageExtensionInput!]!) { setMessageExtensions(msgID: $m, extensions: $e) {
  resultCode extension { extensionKey extensionValue extensionVersion } } }"""
GET = "query($m: String!) { getMessageExtensions(msgID: $m) { extensionKey extensionValue extensionVersion } }"
DELETE = "mutation($m: String!, $k: [String!]!) { deleteMessageExtensions(msgID: $m, keys: $k) { resultCode } }"


class Party(Actor):
    async def send(self, to: str, *, extensible: bool = True, group: bool = False) -> str:
        created = (await self.q('mutation { createTextMessage(text: "vote: lunch place?") { id } }'))[
            "createTextMessage"
        ]["id"]
        where = f'groupID: "{to}"' if group else f'receiver: "{to}"'
        flag = str(extensible).lower()
        sent = await self.q(
            f'mutation {{ sendMessage(id: "{created}", {where}, isSupportMessageExtension: {flag}) {{ msgID }} }}'
        )
        return str(sent["sendMessage"]["msgID"])

    async def set(self, msg_id: str, *items: dict[str, Any]) -> Any:
        return await self.call(SET, {"m": msg_id, "e": list(items)})

    async def next_extension_event(self) -> dict[str, Any]:
        while True:
            event = await self.event()
            if event["__typename"].startswith("RecvMessageExtensions"):
                return event


async def party(client: HTTPClient, server: InProcessGateway, name: str) -> Party:
    return await Party.online(client, server.ws_url, name, EVENTS)


def ext(key: str, value: str, version: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"extensionKey": key, "extensionValue": value}
    if version is not None:
        item["extensionVersion"] = version
    return item


async def test_set_get_delete_and_their_events(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await party(client, server, "alice"), await party(client, server, "bob")
    msg = await alice.send("bob")
    results = await alice.set(msg, ext("alice", "noodles"), ext("bob", ""))
    assert [r["resultCode"] for r in results.ok()["setMessageExtensions"]] == [0, 0]
    changed = await bob.next_extension_event()
    assert changed == {
        "__typename": "RecvMessageExtensionsChangedEvent",
        "type": "onRecvMessageExtensionsChanged",
        "msgID": msg,
        "extensions": [
            {"extensionKey": "alice", "extensionValue": "noodles", "extensionVersion": 1},
            {"extensionKey": "bob", "extensionValue": "", "extensionVersion": 1},
        ],
    }
    assert (await bob.q(GET, {"m": msg}))["getMessageExtensions"] == changed["extensions"]  # convergence
    assert (await bob.q(DELETE, {"m": msg, "k": ["bob"]}))["deleteMessageExtensions"] == [{"resultCode": 0}]
    deleted = await alice.next_extension_event()
    assert (deleted["type"], deleted["extensionKeys"]) == ("onRecvMessageExtensionsDeleted", ["bob"])
    assert [e["extensionKey"] for e in (await alice.q(GET, {"m": msg}))["getMessageExtensions"]] == ["alice"]


async def test_conditional_writes_and_concurrent_writers(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await party(client, server, "alice"), await party(client, server, "bob")
    msg = await alice.send("bob")
    await alice.set(msg, ext("place", "noodles"))
    # bob changes it knowing version 1; alice, still at version 1, loses and learns the current value
    assert (await bob.set(msg, ext("place", "tacos", 1))).ok()["setMessageExtensions"][0]["resultCode"] == 0
    lost = (await alice.set(msg, ext("place", "sushi", 1))).ok()["setMessageExtensions"][0]
    assert lost == {
        "resultCode": Code.ERR_EXTENSION_CONFLICT,
        "extension": {"extensionKey": "place", "extensionValue": "tacos", "extensionVersion": 2},
    }
    # ten writers who all read version 2: exactly one wins
    replies = await asyncio.gather(*(alice.set(msg, ext("place", f"choice {i}", 2)) for i in range(10)))
    codes = sorted(r.ok()["setMessageExtensions"][0]["resultCode"] for r in replies)
    assert codes == [0] + [Code.ERR_EXTENSION_CONFLICT] * 9
    (now,) = (await alice.q(GET, {"m": msg}))["getMessageExtensions"]
    assert now["extensionVersion"] == 3
    # without a version a write applies whatever happened before
    assert (await bob.set(msg, ext("place", "anything"))).ok()["setMessageExtensions"][0]["resultCode"] == 0


async def test_extension_limits_and_refusals(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, _ = await party(client, server, "alice"), await party(client, server, "bob")
    plain = await alice.send("bob", extensible=False)
    assert (await alice.set(plain, ext("k", "v"))).codes == [Code.ERR_EXTENSION_NOT_ENABLED]
    assert (await alice.call(GET, {"m": plain})).codes == [Code.ERR_EXTENSION_NOT_ENABLED]
    msg = await alice.send("bob")
    for items in (
        [ext(f"k{i}", "v") for i in range(21)],
        [ext("k" * 101, "v")],
        [ext("k", "v" * 1025)],
        [ext("", "v")],
        [ext("k", "1"), ext("k", "2")],
        [],
    ):
        assert (await alice.set(msg, *items)).codes == [Code.ERR_INVALID_PARAMETERS]
    monkeypatch.setattr(extensions_module, "PER_MESSAGE_MAX", 3)
    assert (await alice.set(msg, ext("a", "1"), ext("b", "1"))).ok()
    assert (await alice.set(msg, ext("c", "1"), ext("d", "1"))).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.set(msg, ext("a", "2"), ext("c", "1"))).ok()  # changing a key adds none
    assert len((await alice.q(GET, {"m": msg}))["getMessageExtensions"]) == 3


async def test_group_members_hear_of_changes(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob, carol = [await party(client, server, n) for n in ("alice", "bob", "carol")]
    gid = (
        await alice.q(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_WORK, groupName: "lunch",'
            ' memberListMap: [{userID: "bob"}, {userID: "carol"}]) }'
        )
    )["createGroup"]
    msg = await alice.send(gid, group=True)
    assert (await bob.set(msg, ext("bob", "yes"))).ok()
    for member in (alice, carol):
        event = await member.next_extension_event()
        assert event["extensions"][0]["extensionValue"] == "yes"
