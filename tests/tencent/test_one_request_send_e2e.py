"""The one-request send (sendTextMessage, sendCustomMessage) on the Tencent Cloud backend, against
imql's own REST v4 server standing in for Tencent (the `pair` of tests/tencent/test_backend_e2e.py):
it goes to Tencent first as sendMessage's send does, reaches native users, is mirrored once, and a
repeat with the same idempotencyKey is one message on Tencent and in the mirror."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.errors import Code
from tests.support.messages import HISTORY, Device, device
from tests.support.tencent_pair import Pair
from tests.tencent.test_groups_e2e import both, next_text, tencent_history, texts

SEND_TEXT = """mutation($t: String!, $to: String, $g: String, $k: String) {
  sendTextMessage(text: $t, receiver: $to, groupID: $g, idempotencyKey: $k) { msgID seq createdID textElem { text } } }"""
SEND_CUSTOM = """mutation($d: String!, $to: String) {
  sendCustomMessage(data: $d, receiver: $to) { msgID elemType customElem { data } } }"""


async def history(dev: Device, peer: str) -> list[dict[str, Any]]:
    return list((await dev.q(HISTORY, {"u": peer, "n": 20}))["getC2CHistoryMessageList"])


async def test_a_one_request_c2c_send_goes_to_tencent_then_to_the_mirror(pair: Pair) -> None:
    bob = await device(pair.at_cloud, pair.cloud, "bob")  # a native user
    alice = await device(pair.at_gateway, pair.gateway, "alice")
    sent = (await alice.call(SEND_TEXT, {"t": "one request", "to": "bob", "k": "k-1"})).ok()["sendTextMessage"]
    assert sent["createdID"] == ""
    heard = (await bob.event())["message"]
    assert heard["textElem"] == {"text": "one request"}
    again = (await alice.call(SEND_TEXT, {"t": "one request", "to": "bob", "k": "k-1"})).ok()["sendTextMessage"]
    assert again == sent
    custom = (await alice.call(SEND_CUSTOM, {"d": "payload", "to": "bob"})).ok()["sendCustomMessage"]
    assert custom["customElem"] == {"data": "payload"}
    assert (await bob.event())["message"]["customElem"]["data"] == "payload"
    await asyncio.sleep(0.5)  # time for the echo callbacks to come back and be dropped
    assert [m["msgID"] for m in await history(alice, "bob")] == [custom["msgID"], sent["msgID"]]
    assert len(await history(bob, "alice")) == 2  # on Tencent once each
    await bob.quiet()


async def test_a_one_request_group_send_is_one_message_on_tencent(pair: Pair) -> None:
    alice, bob = await both(pair, "alice", "bob")
    gid = await alice.create("Work", "one request", m=[{"userID": "bob"}])
    first = (await alice.call(SEND_TEXT, {"t": "to all", "g": gid, "k": "g-1"})).ok()["sendTextMessage"]
    again = (await alice.call(SEND_TEXT, {"t": "to all", "g": gid, "k": "g-1"})).ok()["sendTextMessage"]
    assert again == first
    assert (await next_text(bob))["msgID"] == first["msgID"]
    on_tencent = [m for m in (await tencent_history(pair, gid)).values() if m["MsgBody"] and not m["IsSystemMsg"]]
    assert [m["MsgSeq"] for m in on_tencent] == [first["seq"]]
    assert await texts(alice, gid) == [(first["seq"], "alice", "to all")]
    # a refusal is the same as sendMessage's: a topic the group does not have
    refused = await alice.call(SEND_TEXT, {"t": "x", "g": f"{gid}@TOPIC#_t"})
    assert refused.codes == [Code.ERR_GROUP_NOT_FOUND]
