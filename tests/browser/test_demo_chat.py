"""The demo web chat (/demo/, clients/demo) in two headless Chromium contexts, alice and bob, on a
real `imql serve` process with the development app on real Redis: messages both ways, unread
badges, pins, infinite scroll, read receipts, the typing indicator, an image and its thumbnail,
and the gateway restarted mid-conversation (same port) with messages sent meanwhile through
another replica: after the pages reconnect and resume from their cursors, nothing is missing
and nothing is shown twice. Logging out: the button ends the session on the gateway, and a session
ended elsewhere sends the page back to its log-in form, saying so.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from gateway.config import DEV_SECRET_KEY, Settings
from tests.browser.conftest import Shots
from tests.conftest import REDIS_URL
from tests.support.clients import HTTPClient
from tests.support.messages import send_text
from tests.support.servers import GatewayProcess, spawn_gateway, start_in_process

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

EARLIER = 25  # bob's messages before the pages open: more than the demo's page of 20
WAIT_MS = 15_000  # a bound for each awaited condition, never a measurement


def dev_env(sdkappid: int, data_dir: Path) -> dict[str, str]:
    """`imql serve` with the development app (no secret key) under the test's own SDKAppID."""
    return {
        "IMQL_SDKAPPID": str(sdkappid),
        "IMQL_SECRET_KEY": "",
        "IMQL_REDIS_URL": REDIS_URL,
        "IMQL_DATA_DIR": str(data_dir),
        "IMQL_RATE_LIMIT": "0",
    }


@pytest_asyncio.fixture(loop_scope="module")
async def gateway(sdkappid: int, tmp_path: Path) -> AsyncIterator[GatewayProcess]:
    running = await spawn_gateway(dev_env(sdkappid, tmp_path))
    yield running
    running.terminate()


async def open_demo(chromium: Browser, base_url: str, user: str) -> tuple[BrowserContext, Page]:
    context = await chromium.new_context(viewport={"width": 1000, "height": 640})
    page = await context.new_page()
    await page.goto(f"{base_url}/demo/?user={user}")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_test_id("link")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    return context, page


def row(page: Page, peer: str) -> Locator:
    return page.locator(f'[data-conversation="c2c_{peer}"]')


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


async def test_two_users_chat_through_the_demo(
    chromium: Browser, gateway: GatewayProcess, sdkappid: int, tmp_path: Path, shots: Shots
) -> None:
    expect.set_options(timeout=WAIT_MS)
    http = HTTPClient(gateway.base_url, sdkappid, DEV_SECRET_KEY)
    # before the pages open: a long history from bob (infinite scroll), one message from carol
    bob_api = await http.login("bob", platform="server")
    carol_api = await http.login("carol", platform="server")
    await http.login("alice", platform="server")  # alice's account, so messages to her can be sent
    for i in range(1, EARLIER + 1):
        await send_text(http, bob_api, f"earlier {i}", to="alice")
    await send_text(http, carol_api, "hello from carol", to="alice")

    alice_context, alice = await open_demo(chromium, gateway.base_url, "alice")
    bob_context, bob = await open_demo(chromium, gateway.base_url, "bob")
    try:
        # unread badges, newest conversation first
        await expect(row(alice, "bob").get_by_test_id("unread")).to_have_text(str(EARLIER))
        await expect(row(alice, "carol").get_by_test_id("unread")).to_have_text("1")
        await expect(alice.locator("[data-conversation]").first).to_have_attribute("data-conversation", "c2c_carol")
        await shots(alice, "alice sees unread badges")

        # a pin puts bob's conversation first
        await alice.get_by_role("button", name="pin bob").click()
        await expect(alice.locator("[data-conversation]").first).to_have_attribute("data-conversation", "c2c_bob")
        await expect(row(alice, "bob")).to_have_attribute("data-pinned", "true")
        await shots(alice, "bob pinned first")

        # opening reads it: the badge goes, the newest page shows; scrolling up brings the rest
        await row(alice, "bob").click()
        alice_pane = alice.get_by_test_id("messages")
        await expect(alice_pane.locator(".message", has_text=f"earlier {EARLIER}")).to_be_visible()
        await expect(row(alice, "bob").get_by_test_id("unread")).to_have_count(0)
        await alice.get_by_test_id("history-top").scroll_into_view_if_needed()
        await expect(alice_pane.locator(".message", has_text=re.compile(r"^earlier 1\b"))).to_have_count(1)
        await expect(alice.get_by_test_id("history-top")).to_have_text("beginning of the conversation")
        await expect(alice_pane.locator(".message")).to_have_count(EARLIER)
        await shots(alice, "alice scrolled to the beginning")

        # bob sees that alice read his messages
        await row(bob, "alice").click()
        bob_pane = bob.get_by_test_id("messages")
        last_of_bob = bob_pane.locator(".message", has_text=f"earlier {EARLIER}")
        await expect(last_of_bob.locator(".state")).to_have_attribute("data-read", "true")
        await shots(bob, "bob sees his messages read")

        # typing, then a message from alice, read by bob (a read receipt back to alice)
        await alice.get_by_label("message").press_sequentially("hi b")
        await expect(bob.get_by_test_id("typing")).to_be_visible()
        await shots(bob, "bob sees alice typing")
        await alice.get_by_label("message").press_sequentially("ob")
        await alice.get_by_role("button", name="Send").click()
        await expect(bob_pane.locator(".message.peer", has_text="hi bob")).to_be_visible()
        await expect(bob.get_by_test_id("typing")).to_have_count(0)
        await expect(alice_pane.locator(".message.self", has_text="hi bob").locator(".state")).to_have_attribute(
            "data-read", "true"
        )
        await shots(alice, "alice sees hi bob read")

        # an image from bob: alice gets its thumbnail, a signed /media URL that loads
        await bob.get_by_label("send an image").set_input_files(
            {"name": "photo.png", "mimeType": "image/png", "buffer": png(800, 600)}
        )
        thumb = alice_pane.locator(".message.peer img.thumb")
        await expect(thumb).to_have_attribute("src", re.compile(r"/media/"))
        loaded = await thumb.element_handle()
        await alice.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=loaded, timeout=WAIT_MS)
        assert 0 < await thumb.evaluate("img => img.naturalWidth") <= 198  # the THUMB rendition, not the original
        await shots(alice, "alice sees bob's image")

        # alice looks at carol's conversation: bob's next message is an unread badge
        await row(alice, "carol").click()
        await bob.get_by_label("message").fill("while you were away")
        await bob.get_by_role("button", name="Send").click()
        await expect(row(alice, "bob").get_by_test_id("unread")).to_have_text("1")
        await shots(alice, "unread badge for bob")
        await row(alice, "bob").click()
        await expect(row(alice, "bob").get_by_test_id("unread")).to_have_count(0)

        # the gateway restarts; meanwhile bob's other device sends through another replica
        gateway.terminate()
        await expect(alice.get_by_test_id("link")).to_have_attribute("data-state", "reconnecting")
        await shots(alice, "gateway down")
        replica = await start_in_process(
            Settings(sdkappid=sdkappid, secret_key=DEV_SECRET_KEY, redis_url=REDIS_URL, data_dir=tmp_path)
        )
        try:
            phone = HTTPClient(replica.base_url, sdkappid, DEV_SECRET_KEY)
            phone_token = await phone.login("bob", platform="android")
            for i in range(1, 4):
                await send_text(phone, phone_token, f"sent during the restart {i}", to="alice")
            await phone.aclose()
        finally:
            await replica.stop()
        restarted = await spawn_gateway(dev_env(sdkappid, tmp_path), port=gateway.port)
        gateway.proc, gateway.output = restarted.proc, gateway.output + restarted.output  # the fixture stops it
        for page in (alice, bob):
            link = page.get_by_test_id("link")
            await expect(link).to_have_attribute("data-state", "live")
            await expect(link).not_to_have_attribute("data-resumes", "0")
        for i in range(1, 4):
            await expect(alice_pane.locator(".message.peer", has_text=f"sent during the restart {i}")).to_have_count(1)
            await expect(bob_pane.locator(".message.self", has_text=f"sent during the restart {i}")).to_have_count(1)
        await shots(alice, "alice after the restart")

        # and the conversation goes on both ways
        await bob.get_by_label("message").fill("back again")
        await bob.get_by_role("button", name="Send").click()
        await expect(alice_pane.locator(".message.peer", has_text="back again")).to_have_count(1)
        await alice.get_by_label("message").fill("got everything")
        await alice.get_by_role("button", name="Send").click()
        await expect(bob_pane.locator(".message.peer", has_text="got everything")).to_have_count(1)
        # every message once: 25 earlier, hi bob, the image, while away, 3 during the restart, 2 after
        await expect(alice_pane.locator(".message")).to_have_count(EARLIER + 8)
        await shots(alice, "alice's whole conversation")
        await shots(bob, "bob's whole conversation")
    finally:
        await alice_context.close()
        await bob_context.close()
        await http.aclose()


async def test_demo_and_dev_login_are_development_app_only(sdkappid: int, tmp_path: Path) -> None:
    """With a real app (its own secret key) /demo/ is not served and /dev/login refuses, saying why."""
    real = await start_in_process(
        Settings(sdkappid=sdkappid, secret_key="a-real-apps-secret-key-0123", redis_url=REDIS_URL, data_dir=tmp_path)
    )
    try:
        async with httpx.AsyncClient(base_url=real.base_url) as http:
            demo = await http.get("/demo/")
            assert demo.status_code == 404
            assert "development app" in demo.text
            login = await http.post("/dev/login", json={"userID": "alice"})
            assert login.status_code == 403
            error = login.json()["errors"][0]
            assert "development app" in error["message"]
            assert error["extensions"]["code"] == 7013
            assert (await http.get("/dev")).status_code == 403
    finally:
        await real.stop()


async def test_dev_login_logs_in_as_the_login_mutation_does(sdkappid: int, tmp_path: Path) -> None:
    dev = await start_in_process(
        Settings(sdkappid=sdkappid, secret_key=DEV_SECRET_KEY, redis_url=REDIS_URL, data_dir=tmp_path)
    )
    client = HTTPClient(dev.base_url, sdkappid, DEV_SECRET_KEY)
    try:
        assert (await client.http.get("/dev")).json()["developmentApp"] is True
        login = await client.http.post("/dev/login", json={"userID": "dana"})
        assert login.status_code == 200
        body = login.json()
        assert body["userID"] == "dana"
        me = await client.gql("{ getLoginUser }", token=body["token"])
        assert me.ok() == {"getLoginUser": "dana"}
        # the UserSig it minted is a real one: the login mutation takes it too (another platform)
        again = await client.gql(
            'mutation($s: String!) { login(userID: "dana", userSig: $s, platform: "ios") { userID } }',
            {"s": body["userSig"]},
        )
        assert again.ok() == {"login": {"userID": "dana"}}
        # bad input: IM codes in imql's error shape, never a 500
        too_long = await client.http.post("/dev/login", json={"userID": "x" * 33})
        assert (too_long.status_code, too_long.json()["errors"][0]["extensions"]["code"]) == (400, 7003)
        for body_text in (b"not json", b"[]", b'{"userID": 5}', b'{"userID": "a", "platform": 1}'):
            refused = await client.http.post("/dev/login", content=body_text)
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"]["code"] == 6017
        bad_platform = await client.http.post("/dev/login", json={"userID": "dana", "platform": "no spaces"})
        assert bad_platform.json()["errors"][0]["extensions"]["code"] == 6017
    finally:
        await client.aclose()
        await dev.stop()


async def test_log_out_ends_the_session_and_a_session_ended_elsewhere_logs_the_page_out(
    chromium: Browser, sdkappid: int, tmp_path: Path, shots: Shots
) -> None:
    expect.set_options(timeout=WAIT_MS)
    dev = await start_in_process(
        Settings(sdkappid=sdkappid, secret_key=DEV_SECRET_KEY, redis_url=REDIS_URL, data_dir=tmp_path)
    )
    http = HTTPClient(dev.base_url, sdkappid, DEV_SECRET_KEY)
    context, page = await open_demo(chromium, dev.base_url, "erin")
    token_js = "JSON.parse(sessionStorage.getItem('imql-demo-login')).token"
    try:
        # the login is kept for the tab: a reload comes back logged in
        await page.reload()
        await expect(page.get_by_test_id("me")).to_have_text("erin")
        await expect(page.get_by_test_id("link")).to_have_attribute("data-state", "live")
        token = await page.evaluate(token_js)
        assert (await http.gql("{ getLoginUser }", token=token)).ok() == {"getLoginUser": "erin"}

        # the button: back to the log-in form, the token forgotten by the tab and refused by the gateway
        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("button", name="Log in")).to_be_visible()
        await expect(page.get_by_test_id("me")).to_have_count(0)
        await shots(page, "erin logged out")
        assert await page.evaluate("sessionStorage.getItem('imql-demo-login')") is None
        assert (await http.gql("{ getLoginUser }", token=token)).codes == [6014]
        await page.reload()
        await expect(page.get_by_role("button", name="Log in")).to_be_visible()

        # logged in again, then the session ends elsewhere (the logout mutation with the page's token):
        # the gateway ends the page's listeners, and the page goes back to the form saying why
        await page.get_by_label("user ID").fill("erin")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_test_id("link")).to_have_attribute("data-state", "live")
        again = await page.evaluate(token_js)
        assert again != token
        assert (await http.gql("mutation { logout }", token=again)).ok() == {"logout": True}
        await expect(page.get_by_role("alert")).to_contain_text("session ended")
        await expect(page.get_by_role("button", name="Log in")).to_be_visible()
        await shots(page, "erin's session ended elsewhere")
    finally:
        await context.close()
        await http.aclose()
        await dev.stop()
