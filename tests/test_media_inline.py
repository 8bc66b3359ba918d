"""Media URLs inline: an uploaded element's URLs are signed for whoever reads the message, in
history, `lastMessage` and events, including a group event rendered once for every subscriber
(schema.media_urls), on the fast path and on Strawberry's."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway
from tests.test_listener_path import _renderer, drain
from tests.test_media import IMAGE, png, upload

IMAGE_URLS = "imageElem { imageList { type url } }"
EVENT = f"""subscription {{ advancedMsgListener {{ __typename
  ... on RecvNewMessageEvent {{ cursor message {{ msgID {IMAGE_URLS} }} }} }} }}"""
# the same through Strawberry's path (a fragment spread at the root is not a plain listener plan)
EVENT_SPREAD = f"""subscription {{ ...F }} fragment F on Subscription {{ advancedMsgListener {{
  ... on RecvNewMessageEvent {{ cursor message {{ msgID {IMAGE_URLS} }} }} }} }}"""


def _reader(url: str) -> str:
    return parse_qs(urlparse(url).query)["u"][0]


async def _check(client: HTTPClient, server: InProcessGateway, message: dict[str, object], reader: str) -> None:
    images = message["imageElem"]["imageList"]  # type: ignore[index]
    assert len(images) == 3
    for image in images:
        assert image["url"].startswith(server.base_url + "/media/"), image
        assert _reader(image["url"]) == reader
    assert (await client.http.get(images[0]["url"])).status_code == 200


async def _image_message(client: HTTPClient, token: str) -> str:
    created = (await upload(client, token, IMAGE, {"f": ("a.png", png(40, 20), "image/png")})).ok()
    return str(created["createImageMessage"]["id"])


async def test_history_and_last_message_carry_urls_signed_for_the_reader(
    client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    created = await _image_message(client, alice)
    sent = f'mutation {{ sendMessage(id: "{created}", receiver: "bob") {{ msgID {IMAGE_URLS} }} }}'
    await _check(client, server, (await client.gql(sent, token=alice)).ok()["sendMessage"], "alice")
    for token, peer, reader in ((bob, "alice", "bob"), (alice, "bob", "alice")):
        history = f'{{ getC2CHistoryMessageList(userID: "{peer}", count: 5) {{ msgID {IMAGE_URLS} }} }}'
        (message,) = (await client.gql(history, token=token)).ok()["getC2CHistoryMessageList"]
        await _check(client, server, message, reader)
    listed = f"{{ getConversationList(count: 10) {{ conversationList {{ lastMessage {{ {IMAGE_URLS} }} }} }} }}"
    (conversation,) = (await client.gql(listed, token=bob)).ok()["getConversationList"]["conversationList"]
    await _check(client, server, conversation["lastMessage"], "bob")


async def test_a_c2c_event_carries_urls_signed_for_its_reader(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    ws = await WSClient.connect(server.ws_url, bob)
    op = await ws.subscribe(EVENT)
    created = await _image_message(client, alice)
    await client.gql(f'mutation {{ sendMessage(id: "{created}", receiver: "bob") {{ msgID }} }}', token=alice)
    await _check(client, server, (await ws.next_event(op))["message"], "bob")
    await ws.close()


async def test_a_group_event_rendered_once_gets_each_readers_urls(client: HTTPClient, server: InProcessGateway) -> None:
    owner = await client.login("olive")
    gid = (
        await client.gql(
            'mutation { createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "pics") }', token=owner
        )
    ).ok()["createGroup"]
    members = []
    for name, document in (("m1", EVENT), ("m2", EVENT), ("m3", EVENT), ("s1", EVENT_SPREAD), ("s2", EVENT_SPREAD)):
        token = await client.login(name)
        (await client.gql(f'mutation {{ joinGroup(groupID: "{gid}") }}', token=token)).ok()
        ws = await WSClient.connect(server.ws_url, token)
        members.append((name, ws, await ws.subscribe(document)))
    for _, ws, op in members:
        await drain(ws, op)  # the join tips of those who joined later
    renderer = _renderer(server)
    before = renderer.renders
    created = await _image_message(client, owner)
    await client.gql(f'mutation {{ sendMessage(id: "{created}", groupID: "{gid}") {{ msgID }} }}', token=owner)
    for name, ws, op in members:
        await _check(client, server, (await ws.next_event(op))["message"], name)
        await ws.close()
    assert renderer.renders - before == 1  # the fast path's three subscribers: one render
