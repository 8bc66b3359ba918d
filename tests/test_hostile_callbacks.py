"""A hostile or broken callback endpoint (IMQL_CALLBACK_URL) against the embedded engine: defects an
adversarial review found, each kept as a guard; its docstring says what is expected and why.

Standards applied (README "Callbacks"; MAPPING.md section 5; FIXTURES.md A4, C1, C8, C24): a
misbehaving endpoint never crashes a request (only Tencent's documented failure rule applies), a
rewrite (`MsgBody` / `CloudCustomData` in a before-send answer) never stores content the API itself
would refuse, and a send that is repeated with the same id returns the first result.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.engine.callbacks.sender import CallbackRejected, CallbackSender, CallbackUnavailable
from gateway.v4 import callbacks as wire
from tests.support.actors import Actor
from tests.support.callback_receiver import OK_ANSWER as OK
from tests.support.callback_receiver import CallbackReceiver, Received, Reply
from tests.support.clients import HTTPClient
from tests.support.groups import member
from tests.support.messages import HISTORY, device
from tests.support.servers import InProcessGateway, start_in_process
from tests.test_callback_http import SDKAPPID, answering, post, raw_endpoint, response, sender_for
from tests.test_media import IMAGE, png, upload

TOKEN = "xxxxyyyy"  # FIXTURES.md A4's token
BODY_LIMIT = 12 * 1024  # BACKGROUND.md section 5: "Message content <= 12 KB"; the API answers 8001 past it
ANSWER_MAX_BYTES = 4 * 1024 * 1024  # gateway/engine/callbacks/plain_http.py: "past this the exchange fails"


@dataclass
class World:
    server: InProcessGateway
    client: HTTPClient
    receiver: CallbackReceiver


@pytest.fixture
async def world(settings: Settings, clock: ManualClock) -> AsyncIterator[World]:
    """A gateway whose callbacks (every command, fail-open as Tencent) go to a local receiver."""
    receiver = CallbackReceiver()
    await receiver.start()
    running = await start_in_process(replace(settings, callback_url=receiver.url, callback_token=TOKEN), clock)
    http = HTTPClient(running.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    yield World(running, http, receiver)
    await http.aclose()
    await running.stop()
    await receiver.stop()


def before_send_answers(answer: dict[str, Any]) -> Any:
    """The receiver's decision: `answer` to both before-send callbacks, the OK answer to the rest."""

    def decide(r: Received) -> Reply | None:
        return Reply({**OK, **answer}) if r.command in (wire.C2C_BEFORE_SEND, wire.GROUP_BEFORE_SEND) else None

    return decide


def text_body(text: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]


async def c2c_history(reader: Actor, peer: str) -> Any:
    return await reader.call(HISTORY, {"u": peer, "n": 20, "last": None})


# ---- rewrites the API would refuse ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        {"MsgBody": text_body("x" * (64 * 1024))},
        {"MsgBody": text_body("ok"), "CloudCustomData": "c" * (64 * 1024)},
    ],
    ids=["text", "cloudCustomData"],
)
async def test_a_c2c_rewrite_past_the_body_limit_is_not_stored(world: World, answer: dict[str, Any]) -> None:
    """A rewrite is the message "as it is stored and delivered" (README, Callbacks), so it must meet
    the send's own limit: a body plus cloudCustomData over 12 KB is refused with 8001 when the
    sender sends it (BACKGROUND.md section 5; gateway/engine/message_core.py require_body_fits).
    The before-callback's answer must not smuggle 64 KB past it: such an answer is one "imql cannot
    store" and counts as a failed callback (fail-open: the original goes), or the send is refused.
    Before the fix, the 64 KB message is stored and delivered: require_body_fits runs before the callback and
    never on its rewrite."""
    world.receiver.decide = before_send_answers(answer)
    alice = await device(world.client, world.server, "alice")
    bob = await device(world.client, world.server, "bob")
    await alice.send(await alice.create_text("hello"), "bob")
    page = (await c2c_history(bob, "alice")).ok()["getC2CHistoryMessageList"]
    sizes = [len(m["textElem"]["text"]) + len(m["cloudCustomData"]) for m in page]
    assert all(size <= BODY_LIMIT for size in sizes), f"stored message bodies of {sizes} bytes"
    await alice.ws.close()
    await bob.ws.close()


async def test_a_group_rewrite_past_the_body_limit_is_not_stored(world: World) -> None:
    """As for C2C (Group.CallbackBeforeSendMsg answers "as in C1", FIXTURES.md C8): a 64 KB rewrite of
    a group message must not reach the members nor the group's history."""
    olive, mike = [await member(world.client, world.server, n) for n in ("olive", "mike")]
    gid = await olive.create("public", m=[{"userID": "mike"}])
    await mike.messages()  # the tips of his joining
    world.receiver.decide = before_send_answers({"MsgBody": text_body("x" * (64 * 1024))})
    await olive.send(gid, "hello")
    history = await mike.q(
        f'{{ getGroupHistoryMessageList(groupID: "{gid}", count: 5) {{ elemType textElem {{ text }} }} }}'
    )
    sizes = [len(m["textElem"]["text"]) for m in history["getGroupHistoryMessageList"] if m["textElem"]]
    assert all(size <= BODY_LIMIT for size in sizes), f"stored group messages of {sizes} bytes"
    await olive.ws.close()
    await mike.ws.close()


async def test_a_rewrite_with_a_media_url_that_is_not_http_is_not_stored(world: World) -> None:
    """README (Messages): "Media are uploads or http(s) URLs"; the API refuses any other URL
    (gateway/session/messages.py media_url: "must be an http(s) URL"). A rewrite to an image whose
    URL is `javascript:...` is content the API would refuse, and a script URL handed to every
    receiver's client: it must count as an answer imql cannot apply (fail-open: the original text
    goes). Before the fix, it is stored and delivered as the message's image."""
    image = {"MsgType": "TIMImageElem", "MsgContent": {"ImageInfoArray": [{"Type": 1, "URL": "javascript:alert(1)"}]}}
    world.receiver.decide = before_send_answers({"MsgBody": [image]})
    alice = await device(world.client, world.server, "alice")
    bob = await device(world.client, world.server, "bob")
    await alice.send(await alice.create_text("hello"), "bob")
    page = (await c2c_history(bob, "alice")).ok()["getC2CHistoryMessageList"]
    urls = [i["url"] for m in page if m["imageElem"] for i in m["imageElem"]["imageList"]]
    assert not [u for u in urls if not u.startswith(("http://", "https://"))], f"stored media URLs {urls}"
    await alice.ws.close()
    await bob.ws.close()


async def test_a_rewrite_with_a_face_index_past_32_bits_leaves_the_history_readable(world: World) -> None:
    """The API takes a face's index as a GraphQL Int (createFaceMessage(index: Int), 32 bits) and
    serves it the same way. A rewrite answering `TIMFaceElem` with `Index` 2**40 is content the API
    would refuse; it must not be stored, because once stored every read of the conversation fails
    for the receiver ("Int cannot represent non 32-bit signed integer value", 6017). Before the fix, bob's
    history can no longer be read."""
    face = {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 2**40, "Data": "x"}}
    world.receiver.decide = before_send_answers({"MsgBody": [face]})
    alice = await device(world.client, world.server, "alice")
    bob = await device(world.client, world.server, "bob")
    await alice.send(await alice.create_text("hello"), "bob")
    page = await c2c_history(bob, "alice")
    assert page.body.get("errors") is None, page.body["errors"][0]["message"]
    await alice.ws.close()
    await bob.ws.close()


# ---- answers that crash a request ------------------------------------------------------------------------
FRIEND_ADD = "mutation($u: String!) { addFriend(userID: $u, addType: V2TIM_FRIEND_TYPE_BOTH) { resultCode } }"
ACCEPT = """mutation($u: String!) {
  acceptFriendApplication(userID: $u, responseType: V2TIM_FRIEND_ACCEPT_AGREE_AND_ADD) { resultCode } }"""


@pytest.mark.parametrize("result_item", [1, True], ids=["number", "boolean"])
async def test_a_friend_before_callback_answering_a_result_item_that_is_not_a_list_crashes_nothing(
    world: World, result_item: Any
) -> None:
    """Sns.CallbackPrevFriendAdd / PrevFriendResponse answers carry `ResultItem:[{To_Account,
    ResultCode, ResultInfo}]` (FIXTURES.md C24). An endpoint answering `"ResultItem": 1` (or `true`)
    is misbehaving, and must cost at most what a failed callback costs (README: a failed
    before-callback follows IMQL_CALLBACK_FAILURE_POLICY; open here, so the request goes on: 30539,
    bob confirms requests). Before the fix, addFriend fails with 7012 "internal error": hooks._friend_verdicts
    iterates `answer.get("ResultItem") or []`, a TypeError on a number. acceptFriendApplication goes
    through the same code."""
    alice = Actor(world.client, await world.client.login("alice"), "alice")
    bob = Actor(world.client, await world.client.login("bob"), "bob")
    bad = {**OK, "ResultItem": result_item}
    world.receiver.decide = lambda r: Reply(bad) if r.command == wire.PREV_FRIEND_ADD else None
    added = await alice.call(FRIEND_ADD, {"u": "bob"})
    assert added.codes == [], added.body
    world.receiver.decide = lambda r: Reply(bad) if r.command == wire.PREV_FRIEND_RESPONSE else None
    accepted = await bob.call(ACCEPT, {"u": "alice"})
    assert accepted.codes == [], accepted.body


# ---- idempotent sends --------------------------------------------------------------------------------------
async def test_a_repeat_of_a_send_while_its_before_callback_is_pending_is_not_delivered_twice(world: World) -> None:
    """README (Messages): "sending the same id again returns the first result". A client that
    repeats a send (its first request looks stuck: the before-callback holds it up to
    IMQL_CALLBACK_TIMEOUT, 2 s) must not make a second delivery. Before the fix, the repeat finds the first
    send's claim with nothing stored yet, takes it for a crashed send (MessageCore.lost_claim) and
    writes the message itself, asking the app again; then the first send writes it too: bob gets
    onRecvNewMessage twice for one msgID (and the app two C2C.CallbackAfterSendMsg)."""
    first_seen: list[Received] = []

    def slow_first(r: Received) -> Reply | None:
        if r.command == wire.C2C_BEFORE_SEND and not first_seen:
            first_seen.append(r)
            return Reply(delay=1.0)
        return None

    world.receiver.decide = slow_first
    alice = await device(world.client, world.server, "alice")
    bob = await device(world.client, world.server, "bob")
    created = await alice.create_text("once")
    first = asyncio.create_task(alice.send(created, "bob"))
    await world.receiver.wait_for(wire.C2C_BEFORE_SEND)  # the first send is waiting for the app
    second = await alice.send(created, "bob")
    first_reply = await first
    first_id = first_reply.ok()["sendMessage"]["msgID"]
    if not second.codes:  # a repeat may also be told to retry later; if it answers, it is the first result
        assert second.ok()["sendMessage"]["msgID"] == first_id
    events = [e for e in await bob.drain() if e["type"] == "onRecvNewMessage"]
    assert [e["message"]["msgID"] for e in events] == [first_id]
    await alice.ws.close()
    await bob.ws.close()


async def test_the_before_send_body_of_an_uploaded_image_has_its_urls_and_format(world: World) -> None:
    """An image element's MsgContent is `UUID`, `ImageFormat` (JPG 1, GIF 2, PNG 3, BMP 4, other
    255) and `ImageInfoArray:[{Type, Size, Width, Height, URL}]` (BACKGROUND.md section 1.4), and
    gateway/v4/msgbody.py says "an uploaded file's key is turned into a URL by the caller's
    media_url" (the engine's: a URL signed for the admin). The app's moderation needs that URL to
    look at the picture. Before the fix, c2C.CallbackBeforeSendMsg for an uploaded PNG carries `"URL": ""` in
    every rendition and `"ImageFormat": 255`: uploads keep their key in UUID and an empty url, and
    msgbody_from_content signs / inspects only the url."""
    alice = await device(world.client, world.server, "alice")
    await world.client.login("bob")
    made = await upload(world.client, alice.token, IMAGE, {"f": ("cat.png", png(50, 40), "image/png")})
    assert (await alice.send(made.ok()["createImageMessage"]["id"], "bob")).codes == []
    (before,) = await world.receiver.wait_for(wire.C2C_BEFORE_SEND)
    (elem,) = before.body["MsgBody"]
    content = elem["MsgContent"]
    assert [i["URL"] for i in content["ImageInfoArray"] if not i["URL"]] == [], content
    assert content["ImageFormat"] == 3, content
    await alice.ws.close()


# ---- the answer's size --------------------------------------------------------------------------------------
async def test_a_compressed_answer_is_bounded_once_decoded() -> None:
    """plain_http caps an answer at ANSWER_MAX_BYTES (4 MB: "a callback's answer is a small JSON
    object: past this the exchange fails"), but counts the bytes on the wire: a 16 KB gzip body
    that decodes to 16 MB is accepted, and the same 4 MB of gzip would decode to about 4 GB in the
    gateway's memory. The decoded answer must be bounded the same way (CallbackUnavailable, as for
    a plain answer over the cap)."""
    big = b'{"ErrorCode": 0, "Pad": "' + b" " * (4 * ANSWER_MAX_BYTES) + b'"}'
    packed = gzip.compress(big)
    assert len(packed) < ANSWER_MAX_BYTES // 100
    async with raw_endpoint(answering(response(packed, extra=b"Content-Encoding: gzip\r\n"))) as endpoint:
        sender = sender_for(endpoint.port)
        try:
            with pytest.raises((CallbackUnavailable, CallbackRejected)):
                await post(sender)
        finally:
            await sender.aclose()


async def test_an_answer_over_the_cap_fails_through_httpx_too() -> None:
    """The cap must not depend on the client: test_callback_http's premise is that failures "map
    onto CallbackUnavailable / CallbackRejected as with httpx". An endpoint URL with credentials
    (`http://user:pass@host/...`), https or a proxy is served by httpx (sender.plain_endpoint),
    which reads any answer whole: a 5 MB answer, refused by the plain client, is accepted, and an
    endless one is read into memory until the timeout."""
    big = b'{"ErrorCode": 0, "Pad": "' + b"x" * (ANSWER_MAX_BYTES + 1024 * 1024) + b'"}'
    async with raw_endpoint(answering(response(big))) as endpoint:
        url = f"http://app:secret@127.0.0.1:{endpoint.port}/im/callback"
        sender = CallbackSender(url, TOKEN, SDKAPPID, ManualClock(), 5.0)
        try:
            assert sender._plain is None  # served by httpx
            with pytest.raises((CallbackUnavailable, CallbackRejected)):
                await post(sender)
        finally:
            await sender.aclose()
