"""IMQL_PUBLIC_URL: the gateway's address as the world reaches it, at the head of the media URLs it
hands out where no client request says where it is: the app's callbacks, the server API's answers,
and messages sent to Tencent (whose own clients open them for as long as Tencent keeps the message).
Unset, those URLs stay relative (/media/...), as before the setting existed."""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.clock import ManualClock
from gateway.config import ConfigError, Settings, load_settings
from gateway.media.signing import LASTING_URL_TTL_SECONDS, URL_TTL_SECONDS
from gateway.v4 import callbacks as wire
from tests.support.callback_receiver import CallbackReceiver
from tests.support.clients import HTTPClient
from tests.support.messages import device
from tests.support.servers import InProcessGateway, start_in_process
from tests.support.tencent_pair import eventually, running_pair
from tests.test_media import IMAGE, png, upload

PUBLIC = "https://chat.example.com/im"
IMAGE_URLS = """query($u: String!) { getC2CHistoryMessageList(userID: $u, count: 5) {
  imageElem { imageList { type url } } } }"""


# ---- the setting -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("https://chat.example.com", "https://chat.example.com"),
        ("https://chat.example.com/", "https://chat.example.com"),
        ("http://10.0.0.5:8080/im/", "http://10.0.0.5:8080/im"),
        ("", None),
    ],
)
def test_the_public_url_is_kept_without_its_trailing_slash(raw: str, kept: str | None) -> None:
    assert load_settings({"IMQL_PUBLIC_URL": raw}).public_url == kept


@pytest.mark.parametrize(
    "raw",
    [
        "chat.example.com",
        "ftp://chat.example.com",
        "https://",
        "https://chat.example.com/?a=1",
        "https://chat.example.com/#top",
        "https://user:pw@chat.example.com",
        "https://chat.example.com:99999",
    ],
)
def test_a_public_url_that_is_not_an_http_base_is_refused_at_start(raw: str) -> None:
    with pytest.raises(ConfigError, match="IMQL_PUBLIC_URL"):
        load_settings({"IMQL_PUBLIC_URL": raw})


# ---- the app's callbacks -------------------------------------------------------------------------------
async def before_send_image_urls(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver
) -> tuple[list[str], InProcessGateway]:
    """The rendition URLs in c2C.CallbackBeforeSendMsg of an uploaded image, and the gateway (running)."""
    server = await start_in_process(replace(settings, callback_url=receiver.url, callback_token="t"), clock)
    client = HTTPClient(server.base_url, settings.sdkappid, settings.secret_key, now=clock.now)
    alice = await device(client, server, "alice")
    await client.login("bob")
    made = await upload(client, alice.token, IMAGE, {"f": ("cat.png", png(50, 40), "image/png")})
    assert (await alice.send(made.ok()["createImageMessage"]["id"], "bob")).codes == []
    (before,) = await receiver.wait_for(wire.C2C_BEFORE_SEND)
    (elem,) = before.body["MsgBody"]
    await alice.ws.close()
    await client.aclose()
    return [i["URL"] for i in elem["MsgContent"]["ImageInfoArray"]], server


async def test_callback_media_urls_begin_with_the_public_url_and_open_on_the_gateway(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    urls, server = await before_send_image_urls(replace(settings, public_url=PUBLIC), clock, receiver)
    try:
        assert urls
        assert all(u.startswith(f"{PUBLIC}/media/") for u in urls), urls
        async with HTTPClient(server.base_url, settings.sdkappid, settings.secret_key).http as http:
            for url in urls:  # the proxy in front strips /im: the rest is the gateway's own path
                answer = await http.get(url.removeprefix(PUBLIC))
                assert answer.status_code == 200, (url, answer.status_code)
    finally:
        await server.stop()


async def test_without_a_public_url_callback_media_urls_stay_relative(
    settings: Settings, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    urls, server = await before_send_image_urls(settings, clock, receiver)
    await server.stop()
    assert urls
    assert all(u.startswith("/media/") for u in urls), urls


# ---- messages sent to Tencent ---------------------------------------------------------------------------
async def test_an_upload_sent_through_tencent_names_a_lasting_public_url(settings: Settings, redis_url: str) -> None:
    """A native user (the cloud's) reads the image by the URL the gateway gave Tencent: absolute, and
    valid for as long as Tencent may keep the message, where an app user's own URLs last an hour."""
    async with running_pair(settings, redis_url, gateway_changes={"public_url": PUBLIC}) as pair:
        alice = await device(pair.at_gateway, pair.gateway, "alice")
        bob_token = await pair.at_cloud.login("bob")
        made = await upload(pair.at_gateway, alice.token, IMAGE, {"f": ("cat.png", png(50, 40), "image/png")})
        assert (await alice.send(made.ok()["createImageMessage"]["id"], "bob")).codes == []
        seen: list[str] = []

        async def bob_has_it() -> bool:
            reply = await pair.at_cloud.gql(IMAGE_URLS, {"u": "alice"}, token=bob_token)
            images = [m["imageElem"] for m in reply.ok()["getC2CHistoryMessageList"] if m["imageElem"]]
            seen[:] = [i["url"] for image in images for i in image["imageList"]]
            return bool(seen)

        await eventually(bob_has_it)
        assert all(u.startswith(f"{PUBLIC}/media/") for u in seen), seen
        for url in seen:
            expires = int(parse_qs(urlsplit(url).query)["e"][0])
            assert expires > time.time() + LASTING_URL_TTL_SECONDS - 3600, url
            answer = await pair.at_gateway.http.get(url.removeprefix(PUBLIC))
            assert answer.status_code == 200, (url, answer.status_code)
        # the sender's own URL, through the gateway's API, is still an hour's
        mine = await pair.at_gateway.gql(IMAGE_URLS, {"u": "bob"}, token=alice.token)
        (image,) = [m["imageElem"] for m in mine.ok()["getC2CHistoryMessageList"] if m["imageElem"]]
        for rendition in image["imageList"]:
            expires = int(parse_qs(urlsplit(rendition["url"]).query)["e"][0])
            assert expires <= time.time() + URL_TTL_SECONDS + 60, rendition["url"]
        await alice.ws.close()
