"""The one-request send (sendTextMessage, sendCustomMessage): createTextMessage / createCustomMessage
and sendMessage in one request, end to end over real HTTP and WebSocket on real Redis. It must
answer and deliver exactly what the two-step send does, refuse what it refuses with the same codes
and store nothing then, keep no created message (nor, without an idempotencyKey, any claim), and
with a key return the first result of a repeat."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gateway.errors import Code
from gateway.keys import Keys
from tests.support.clients import GraphQLReply, HTTPClient
from tests.support.engine import embedded
from tests.support.groups import Member, member
from tests.support.messages import HISTORY, MSG, SEND, Device, device
from tests.support.servers import InProcessGateway

SEND_TEXT = f"""mutation($t: String!, $to: String, $g: String, $o: Boolean! = false, $c: String, $l: String,
                     $k: String) {{
  sendTextMessage(text: $t, receiver: $to, groupID: $g, onlineUserOnly: $o, cloudCustomData: $c,
                  localCustomData: $l, idempotencyKey: $k, offlinePushInfo: {{title: "t", desc: "d"}}) {{ {MSG} }} }}"""
SEND_CUSTOM = f"""mutation($d: String, $e: String, $x: String, $to: String, $g: String, $c: String, $k: String) {{
  sendCustomMessage(data: $d, desc: $e, extension: $x, receiver: $to, groupID: $g, cloudCustomData: $c,
                    idempotencyKey: $k, offlinePushInfo: {{title: "t", desc: "d"}}) {{ {MSG} }} }}"""
CREATE_CUSTOM = (
    "mutation($d: String, $e: String, $x: String) { createCustomMessage(data: $d, desc: $e, extension: $x) { id } }"
)
GROUP_HISTORY = f"""query($g: String!) {{ getGroupHistoryMessageList(groupID: $g, count: 20) {{ {MSG} }} }}"""
TIPS = "V2TIM_ELEM_TYPE_GROUP_TIPS"
# what differs between two sends of the same content: the message's identity, place and time
PER_MESSAGE = {"msgID", "id", "createdID", "seq", "timestamp"}


def shape(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in PER_MESSAGE}


async def send_text(sender: Device | Member, text: str, **variables: Any) -> GraphQLReply:
    return await sender.call(SEND_TEXT, {"t": text, **variables})


async def c2c_history(user: Device, peer: str) -> list[dict[str, Any]]:
    return list((await user.q(HISTORY, {"u": peer, "n": 20}))["getC2CHistoryMessageList"])


async def claims_of(server: InProcessGateway, user: str) -> list[str]:
    """The created messages and send claims kept for `user` (Keys.created_message)."""
    pattern = Keys(server.settings.sdkappid).created_message(user, "*")
    return [k async for k in server.gateway.redis.scan_iter(match=pattern)]


@pytest.fixture
async def chat(client: HTTPClient, server: InProcessGateway) -> tuple[Device, Device, Device]:
    """alice on two devices, bob on one."""
    return (
        await device(client, server, "alice", "web"),
        await device(client, server, "alice", "ios"),
        await device(client, server, "bob"),
    )


async def test_a_text_sent_in_one_request_is_what_the_two_step_send_delivers(
    chat: tuple[Device, Device, Device], server: InProcessGateway
) -> None:
    alice, alice_phone, bob = chat
    options = {"c": "cloud", "l": "only mine"}
    two_step = (await alice.send(await alice.create_text("same words"), "bob", **options)).ok()["sendMessage"]
    two_step_received = (await bob.event())["message"]
    await alice_phone.event()
    one = (await send_text(alice, "same words", to="bob", **options)).ok()["sendTextMessage"]
    assert one["createdID"] == ""  # no created message behind it
    assert one["msgID"]
    assert one["msgID"] != two_step["msgID"]
    assert one["seq"] == two_step["seq"] + 1
    assert shape(one) == shape(two_step)
    received = (await bob.event())["message"]
    assert received["msgID"] == one["msgID"]
    assert shape(received) == shape(two_step_received)
    assert received["localCustomData"] == ""  # the sender's own copy only
    synced = (await alice_phone.event())["message"]  # the sender's other devices, as for sendMessage
    assert synced["msgID"] == one["msgID"]
    assert synced["isSelf"] is True
    await alice.quiet()  # the sending device is not told of its own send
    assert (await c2c_history(bob, "alice"))[0] == received
    assert await claims_of(server, "alice") == []  # no draft, no claim: nothing but the message


async def test_a_custom_message_sent_in_one_request(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    elem = {"d": "payload", "e": "a description", "x": "ext"}
    created = (await alice.q(CREATE_CUSTOM, elem))["createCustomMessage"]["id"]
    two_step = (await alice.send(created, "bob")).ok()["sendMessage"]
    two_step_received = (await bob.event())["message"]
    one = (await alice.call(SEND_CUSTOM, {**elem, "to": "bob"})).ok()["sendCustomMessage"]
    assert one["customElem"] == {"data": "payload", "desc": "a description", "extension": "ext"}
    assert one["elemType"] == "V2TIM_ELEM_TYPE_CUSTOM"
    assert shape(one) == shape(two_step)
    received = (await bob.event())["message"]
    assert received["msgID"] == one["msgID"]
    assert shape(received) == shape(two_step_received)
    # omitted fields are empty, as createCustomMessage's are
    bare = (await alice.call(SEND_CUSTOM, {"to": "bob"})).ok()["sendCustomMessage"]
    assert bare["customElem"] == {"data": "", "desc": "", "extension": ""}


async def test_an_idempotency_key_makes_a_repeat_return_the_first_result(
    chat: tuple[Device, Device, Device], server: InProcessGateway
) -> None:
    alice, _, bob = chat
    first = (await send_text(alice, "once", to="bob", k="order-42")).ok()["sendTextMessage"]
    again = await asyncio.gather(*(send_text(alice, "once", to="bob", k="order-42") for _ in range(5)))
    assert {r.ok()["sendTextMessage"]["msgID"] for r in again} == {first["msgID"]}
    assert again[0].ok()["sendTextMessage"] == first
    assert len(await c2c_history(bob, "alice")) == 1
    assert (await bob.event())["message"]["msgID"] == first["msgID"]
    await bob.quiet()  # told once
    # another key, or none, is another message
    other = (await send_text(alice, "once", to="bob", k="order-43")).ok()["sendTextMessage"]
    unkeyed = (await send_text(alice, "once", to="bob")).ok()["sendTextMessage"]
    assert len({first["msgID"], other["msgID"], unkeyed["msgID"]}) == 3
    assert len(await claims_of(server, "alice")) == 2  # the two keys' claims only


async def test_the_same_key_of_different_users_is_independent(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    mine = (await send_text(alice, "from alice", to="bob", k="shared-key")).ok()["sendTextMessage"]
    theirs = (await send_text(bob, "from bob", to="alice", k="shared-key")).ok()["sendTextMessage"]
    assert mine["msgID"] != theirs["msgID"]
    assert theirs["textElem"] == {"text": "from bob"}
    assert [m["textElem"]["text"] for m in await c2c_history(alice, "bob")] == ["from bob", "from alice"]


async def test_bad_arguments_are_refused_and_store_nothing(
    chat: tuple[Device, Device, Device], server: InProcessGateway
) -> None:
    alice, _, bob = chat
    assert (await send_text(alice, "nowhere")).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await send_text(alice, "x", to="bob", k="k" * 129)).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await send_text(alice, "x", to="bob", k="")).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await alice.call(SEND_CUSTOM, {"d": "x"})).codes == [Code.ERR_INVALID_PARAMETERS]
    assert (await send_text(alice, "x", to="bad\nid")).codes == [Code.ERR_INVALID_USERID]
    assert (await send_text(alice, "x", to="ghost")).codes == [Code.ERR_RECEIVER_NOT_FOUND]
    assert (await send_text(alice, "x", g="nogroup")).codes == [Code.ERR_GROUP_NOT_FOUND]
    # the body limit, as sendMessage of a created message refuses it (the text alone, or with cloudCustomData)
    big = "x" * (12 * 1024 + 1)
    assert (await alice.send(await alice.create_text(big), "bob")).codes == [Code.ERR_MSG_BODY_TOO_LARGE]
    assert (await send_text(alice, big, to="bob")).codes == [Code.ERR_MSG_BODY_TOO_LARGE]
    assert (await send_text(alice, big, to="bob", k="big")).codes == [Code.ERR_MSG_BODY_TOO_LARGE]
    assert (await alice.call(SEND_CUSTOM, {"d": big, "to": "bob"})).codes == [Code.ERR_MSG_BODY_TOO_LARGE]
    assert await c2c_history(bob, "alice") == []
    await bob.quiet()
    # nothing kept for the refused sends but the created message made above for sendMessage
    assert len(await claims_of(server, "alice")) == 1
    # a refused keyed send claimed nothing: the key sends once the message fits
    ok = (await send_text(alice, "fits", to="bob", k="big")).ok()["sendTextMessage"]
    assert ok["textElem"] == {"text": "fits"}


async def test_blacklist_mute_and_friends_rules_refuse_with_sendmessages_codes(
    chat: tuple[Device, Device, Device], server: InProcessGateway
) -> None:
    alice, _, bob = chat
    await bob.q('mutation { addToBlackList(userIDList: ["alice"]) { resultCode } }')
    assert (await alice.send(await alice.create_text("x"), "bob")).codes == [Code.ERR_SENDER_BLOCKED]
    assert (await send_text(alice, "x", to="bob")).codes == [Code.ERR_SENDER_BLOCKED]
    assert (await send_text(alice, "x", to="bob", k="blocked")).codes == [Code.ERR_SENDER_BLOCKED]
    await bob.q('mutation { deleteFromBlackList(userIDList: ["alice"]) { resultCode } }')
    # the app admin's one-to-one mute (REST setnospeaking)
    messages = embedded(server.gateway.backend).messages
    await messages.set_global_mute("alice", int(time.time()) + 3600, None)
    assert (await alice.send(await alice.create_text("x"), "bob")).codes == [Code.ERR_SENDER_MUTED]
    assert (await send_text(alice, "x", to="bob")).codes == [Code.ERR_SENDER_MUTED]
    await messages.set_global_mute("alice", 0, None)
    assert await c2c_history(bob, "alice") == []
    await bob.quiet()
    # the refused keyed send left its key free
    sent = (await send_text(alice, "now", to="bob", k="blocked")).ok()["sendTextMessage"]
    assert (await bob.event())["message"]["msgID"] == sent["msgID"]


async def test_receive_options_apply(chat: tuple[Device, Device, Device]) -> None:
    alice, _, bob = chat
    await bob.q('mutation { setC2CReceiveMessageOpt(userIDList: ["alice"], opt: V2TIM_NOT_RECEIVE_MESSAGE) }')
    sent = (await send_text(alice, "unheard", to="bob")).ok()["sendTextMessage"]
    assert sent["status"] == "V2TIM_MSG_STATUS_SEND_SUCC"
    await bob.quiet()  # not delivered, as sendMessage's is not


async def test_group_sends_in_one_request(client: HTTPClient, server: InProcessGateway) -> None:
    owner = await member(client, server, "olive")
    nora = await member(client, server, "nora")
    stranger = await member(client, server, "sam")
    gid = await owner.create("Meeting")
    assert await nora.q('mutation($g: String!) { joinGroup(groupID: $g, message: "hi") }', {"g": gid})
    await owner.group_events()
    await nora.group_events()
    await owner.messages()
    await nora.messages()
    created = await owner.create_text("to all")
    two_step_variables = {"id": created, "to": None, "g": gid, "o": False, "c": None, "l": None, "x": False}
    two_step = (await owner.call(SEND, two_step_variables)).ok()["sendMessage"]
    one = (await send_text(owner, "to all", g=gid)).ok()["sendTextMessage"]
    assert one["createdID"] == ""
    assert one["seq"] == two_step["seq"] + 1
    assert shape(one) == shape(two_step)
    received = await nora.messages()
    assert [m["msgID"] for m in received] == [two_step["msgID"], one["msgID"]]
    assert shape(received[1]) == shape(received[0])
    custom = (await owner.call(SEND_CUSTOM, {"d": "c", "g": gid})).ok()["sendCustomMessage"]
    assert custom["customElem"]["data"] == "c"
    # a key repeats the first result in groups too
    keyed = (await send_text(owner, "keyed", g=gid, k="g-1")).ok()["sendTextMessage"]
    assert (await send_text(owner, "keyed", g=gid, k="g-1")).ok()["sendTextMessage"]["msgID"] == keyed["msgID"]
    history = [
        m for m in (await nora.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"] if m["elemType"] != TIPS
    ]
    assert [m["msgID"] for m in history] == [keyed["msgID"], custom["msgID"], one["msgID"], two_step["msgID"]]
    # a stranger cannot send into the group; a muted member is refused as sendMessage refuses them
    assert (await send_text(stranger, "let me in", g=gid)).codes == [Code.ERR_NO_PERMISSION]
    assert (await stranger.call(SEND_CUSTOM, {"d": "x", "g": gid})).codes == [Code.ERR_NO_PERMISSION]
    assert await owner.q(f'mutation {{ muteGroupMember(groupID: "{gid}", userID: "nora", seconds: 60) }}')
    assert (await nora.send(gid, "muted")).codes == [Code.ERR_GROUP_MEMBER_MUTED]
    assert (await send_text(nora, "muted", g=gid)).codes == [Code.ERR_GROUP_MEMBER_MUTED]
    assert (await send_text(nora, "muted", g=gid, k="m")).codes == [Code.ERR_GROUP_MEMBER_MUTED]
    history = (await owner.q(GROUP_HISTORY, {"g": gid}))["getGroupHistoryMessageList"]
    assert len([m for m in history if m["elemType"] != TIPS]) == 4  # nothing stored for the refusals
    assert await claims_of(server, "olive") == [Keys(server.settings.sdkappid).created_message("olive", "key:g-1")]
