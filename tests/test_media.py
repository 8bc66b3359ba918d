"""Media end to end: uploads by the GraphQL multipart request spec over real HTTP, image facts and
renditions, signed per-user URLs (getMessageOnlineUrl, downloadMessage) served by the gateway,
their expiry and tampering, limits, and the multipart CSRF rule."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from PIL import Image

from gateway.clock import ManualClock
from gateway.errors import Code
from gateway.session import media as media_module
from tests.support.clients import GraphQLReply, HTTPClient
from tests.support.servers import InProcessGateway

IMAGE = """mutation($f: Upload) { createImageMessage(file: $f) { id messageInfo { elemType
  imageElem { imageList { type UUID url width height size } } } } }"""
ONLINE = """query($m: String!) { getMessageOnlineUrl(msgID: $m) {
  imageElem { imageList { type url width } } soundElem { url duration } videoElem { videoUrl snapshotUrl snapshotWidth }
  fileElem { url fileName fileSize } } }"""


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def upload(
    client: HTTPClient, token: str | None, query: str, files: dict[str, tuple[str, bytes, str]], **variables: Any
) -> GraphQLReply:
    """One multipart request: `files` maps a variable name to (filename, bytes, content type)."""
    operations = {"query": query, "variables": {**variables, **dict.fromkeys(files)}}
    mapping = {str(i): [f"variables.{name}"] for i, name in enumerate(files)}
    parts = {str(i): spec for i, spec in enumerate(files.values())}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps(mapping)},
        files=parts,
        headers=headers,
    )
    return GraphQLReply(response.status_code, response.json())


async def send(client: HTTPClient, token: str, created: str, to: str) -> str:
    reply = await client.gql(f'mutation {{ sendMessage(id: "{created}", receiver: "{to}") {{ msgID }} }}', token=token)
    return str(reply.ok()["sendMessage"]["msgID"])


async def test_an_uploaded_image_gets_its_facts_renditions_and_signed_urls(
    client: HTTPClient, server: InProcessGateway, clock: ManualClock
) -> None:
    alice, bob, carol = [await client.login(n) for n in ("alice", "bob", "carol")]
    original = png(1000, 500)
    created = (await upload(client, alice, IMAGE, {"f": ("cat.png", original, "image/png")})).ok()["createImageMessage"]
    images = created["messageInfo"]["imageElem"]["imageList"]
    assert [(i["type"], i["width"], i["height"]) for i in images] == [
        ("V2TIM_IMAGE_TYPE_ORIGIN", 1000, 500),
        ("V2TIM_IMAGE_TYPE_THUMB", 198, 99),
        ("V2TIM_IMAGE_TYPE_LARGE", 720, 360),
    ]
    assert images[0]["size"] == len(original)
    # no URL is stored: each reader gets one signed for them (here the sender, alice)
    assert all(i["UUID"] and parse_qs(urlparse(i["url"]).query)["u"] == ["alice"] for i in images)
    msg = await send(client, alice, created["id"], "bob")
    online = (await client.gql(ONLINE, {"m": msg}, token=bob)).ok()["getMessageOnlineUrl"]
    urls = {i["type"]: i["url"] for i in online["imageElem"]["imageList"]}
    assert urls["V2TIM_IMAGE_TYPE_ORIGIN"].startswith(server.base_url + "/media/")
    fetched = await client.http.get(urls["V2TIM_IMAGE_TYPE_ORIGIN"])
    assert (fetched.status_code, fetched.content) == (200, original)
    assert (fetched.headers["content-type"], fetched.headers["x-content-type-options"]) == ("image/png", "nosniff")
    thumb = await client.http.get(urls["V2TIM_IMAGE_TYPE_THUMB"])
    assert Image.open(io.BytesIO(thumb.content)).size == (198, 99)
    # downloadMessage: one URL, for the rendition asked
    large = await client.gql(
        f'mutation {{ downloadMessage(msgID: "{msg}", imageType: V2TIM_IMAGE_TYPE_LARGE) }}', token=bob
    )
    assert Image.open(io.BytesIO((await client.http.get(large.ok()["downloadMessage"])).content)).size == (720, 360)
    # not carol's message: no URL for her; a URL made out to bob does not become hers
    assert (await client.gql(ONLINE, {"m": msg}, token=carol)).codes == [Code.ERR_INVALID_CONVERSATION]
    url = urlparse(urls["V2TIM_IMAGE_TYPE_ORIGIN"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    forged = await client.http.get(f"{url.path}?{urlencode({**query, 'u': 'carol'})}")
    assert forged.status_code == 403
    assert forged.json()["errors"][0]["extensions"]["code"] == Code.ERR_NO_PERMISSION
    # an expiry that only looks like a number ("²" passes str.isdigit, int() refuses it) is refused too
    for expires in ("\u00b2", "9" * 5000):
        assert (await client.http.get(f"{url.path}?{urlencode({**query, 'e': expires})}")).status_code == 403
    # URLs lapse after an hour
    await clock.advance(3601)
    assert (await client.http.get(urls["V2TIM_IMAGE_TYPE_ORIGIN"])).status_code == 403


async def test_sound_video_and_file_uploads(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = [await client.login(n) for n in ("alice", "bob")]
    sound = (
        await upload(
            client,
            alice,
            "mutation($f: Upload) { createSoundMessage(file: $f, duration: 3) { id } }",
            {"f": ("hi.aac", b"AAC" * 100, "audio/aac")},
        )
    ).ok()["createSoundMessage"]["id"]
    video = (
        await upload(
            client,
            alice,
            'mutation($f: Upload, $s: Upload) { createVideoMessage(file: $f, snapshot: $s, type: "mp4", duration: 9) { id } }',
            {"f": ("clip.mp4", b"MP4" * 1000, "video/mp4"), "s": ("shot.png", png(64, 48), "image/png")},
        )
    ).ok()["createVideoMessage"]["id"]
    document = (
        await upload(
            client,
            alice,
            "mutation($f: Upload) { createFileMessage(file: $f) { id } }",
            {"f": ("notes.txt", b"hello world", "text/plain")},
        )
    ).ok()["createFileMessage"]["id"]
    found = {}
    for created in (sound, video, document):
        msg = await send(client, alice, created, "bob")
        found[created] = (await client.gql(ONLINE, {"m": msg}, token=bob)).ok()["getMessageOnlineUrl"]
    assert (await client.http.get(found[sound]["soundElem"]["url"])).content == b"AAC" * 100
    assert found[sound]["soundElem"]["duration"] == 3
    clip = found[video]["videoElem"]
    assert (await client.http.get(clip["videoUrl"])).content == b"MP4" * 1000
    assert clip["snapshotWidth"] == 64
    assert (await client.http.get(clip["snapshotUrl"])).status_code == 200
    file_elem = found[document]["fileElem"]
    assert (file_elem["fileName"], file_elem["fileSize"]) == ("notes.txt", 11)  # the upload's own name
    served = await client.http.get(file_elem["url"])
    assert (served.content, served.headers["content-type"]) == (b"hello world", "application/octet-stream")
    assert "sandbox" in served.headers["content-security-policy"]


async def test_media_given_by_url_keep_their_url(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = [await client.login(n) for n in ("alice", "bob")]
    created = (
        await client.gql(
            'mutation { createImageMessage(imagePath: "https://cdn.example.com/a.png") { id } }', token=alice
        )
    ).ok()["createImageMessage"]["id"]
    msg = await send(client, alice, created, "bob")
    online = (await client.gql(ONLINE, {"m": msg}, token=bob)).ok()["getMessageOnlineUrl"]
    assert online["imageElem"]["imageList"][0]["url"] == "https://cdn.example.com/a.png"
    text = (await client.gql('mutation { createTextMessage(text: "x") { id } }', token=alice)).ok()
    plain = await send(client, alice, text["createTextMessage"]["id"], "bob")
    assert (await client.gql(ONLINE, {"m": plain}, token=bob)).codes == [Code.ERR_INVALID_PARAMETERS]


async def test_upload_refusals(client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = await client.login("alice")
    not_an_image = await upload(client, alice, IMAGE, {"f": ("x.png", b"not a picture", "image/png")})
    assert not_an_image.codes == [Code.ERR_INVALID_PARAMETERS]
    empty = await upload(client, alice, IMAGE, {"f": ("x.png", b"", "image/png")})
    assert empty.codes == [Code.ERR_INVALID_PARAMETERS]
    both = await upload(
        client,
        alice,
        'mutation($f: Upload) { createImageMessage(file: $f, imagePath: "https://x/a.png") { id } }',
        {"f": ("a.png", png(4, 4), "image/png")},
    )
    assert both.codes == [Code.ERR_INVALID_PARAMETERS]
    neither = await client.gql("mutation { createImageMessage { id } }", token=alice)
    assert neither.codes == [Code.ERR_INVALID_PARAMETERS]
    monkeypatch.setattr(media_module, "IMAGE_MAX_BYTES", 100)
    too_big = await upload(client, alice, IMAGE, {"f": ("big.png", png(64, 64), "image/png")})
    assert too_big.codes == [Code.ERR_INVALID_PARAMETERS]
    # CSRF: a multipart request without the Authorization header is refused before anything is read
    csrf = await upload(client, None, IMAGE, {"f": ("a.png", png(4, 4), "image/png")})
    assert (csrf.status, csrf.codes) == (400, [Code.ERR_INVALID_PARAMETERS])
    assert (await client.http.get("/media/../../etc/passwd?u=a&e=1&s=x")).status_code in (403, 404)


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels (a real header with its CRC, one tiny IDAT): what a
    decompression bomb looks like before it is decoded, without making one here."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


async def test_images_are_bounded_by_pixels_not_only_bytes(client: HTTPClient, server: InProcessGateway) -> None:
    alice = await client.login("alice")
    bomb = _huge_png_header(12_000, 12_000)  # 144 megapixels in under a hundred bytes
    mid = _huge_png_header(8_000, 8_000)  # 64: past our limit, short of Pillow's own guard
    assert len(bomb) < 100
    for picture in (bomb, mid):
        refused = await upload(client, alice, IMAGE, {"f": ("bomb.png", picture, "image/png")})
        assert refused.codes == [Code.ERR_INVALID_PARAMETERS]
        assert "over 50 megapixels" in refused.errors[0]["extensions"]["desc"]
    assert list((server.settings.data_dir / "media").glob("*")) == []  # nothing was kept
