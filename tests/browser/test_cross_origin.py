"""A page served from another origin (its own little HTTP server on another port) uses the gateway
from headless Chromium as a front-end team's app would: it logs in (the development app's
/dev/login, as a vite dev server without its proxy does, and the login mutation) and queries with
fetch (JSON bodies and the Authorization header: each needs a CORS preflight, which the browser is
seen sending and passing) and subscribes over WebSocket with graphql-ws. A page on an origin not in
IMQL_ALLOWED_ORIGINS gets nothing: the browser refuses its fetch after the preflight, and the
gateway refuses its WebSocket handshake."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from gateway.config import DEV_SECRET_KEY, Settings
from tests.browser.conftest import Shots
from tests.support.clients import HTTPClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway, start_in_process

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The page: everything it does is in plain fetch and graphql-ws (the gateway's own copy of the
# browser bundle, loaded cross-origin like any CDN script), and it writes what happened into the
# document, so the screenshots show it.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>an app on another origin</title>
<script src="GATEWAY/playground/graphql-ws.min.js"></script></head>
<body><h1>an app on <span id="origin"></span></h1><ol id="log"></ol>
<script>
document.getElementById("origin").textContent = location.origin;
const log = (line) => { const li = document.createElement("li"); li.textContent = line; document.getElementById("log").append(li); };
async function gql(query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  const answer = await fetch("GATEWAY/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return answer.json();
}
window.app = {
  async login(userID, userSig) {
    try {
      const body = await gql("mutation($u: String!, $s: String!) { login(userID: $u, userSig: $s) { token } }", { u: userID, s: userSig });
      window.token = body.data.login.token;
      log("logged in as " + userID);
      return "ok";
    } catch (e) { log("login failed: " + e); return "failed: " + e; }
  },
  async devLogin(userID) {
    try {
      const answer = await fetch("GATEWAY/dev/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userID }) });
      const body = await answer.json();
      window.token = body.token;
      log("logged in through /dev/login as " + body.userID);
      return "ok";
    } catch (e) { log("/dev/login failed: " + e); return "failed: " + e; }
  },
  async me() {
    const body = await gql("{ getLoginUser }", {}, window.token);
    log("getLoginUser: " + body.data.getLoginUser);
    return body.data.getLoginUser;
  },
  subscribe(token) {
    window.events = []; window.wsErrors = [];
    return new Promise((resolve) => {
      const client = graphqlWs.createClient({
        url: "GATEWAY".replace(/^http/, "ws") + "/graphql",
        connectionParams: { authorization: "Bearer " + (token || window.token) },
        retryAttempts: 0,
        on: { connected: () => { log("WebSocket connected"); resolve("connected"); },
              closed: (e) => { log("WebSocket closed: " + e.code); resolve("closed " + e.code); } },
      });
      client.subscribe(
        { query: "subscription { advancedMsgListener { ... on RecvNewMessageEvent { message { sender textElem { text } } } } }" },
        { next: (r) => { window.events.push(r.data.advancedMsgListener.message); log("message from " + r.data.advancedMsgListener.message.sender + ": " + r.data.advancedMsgListener.message.textElem.text); },
          error: (e) => window.wsErrors.push(String(e && e.code || e)), complete: () => {} },
      );
    });
  },
};
</script></body></html>
"""


class StaticSite:
    """The page on its own origin: http.server in a thread, on a free port."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[StaticSite, StaticSite]]:
    """Two origins serving the same app: the first is allowed, the second is not."""
    allowed, other = StaticSite(tmp_path), StaticSite(tmp_path)
    yield allowed, other
    allowed.close()
    other.close()


@pytest_asyncio.fixture(loop_scope="module")
async def gateway(settings: Settings, sites: tuple[StaticSite, StaticSite]) -> AsyncIterator[InProcessGateway]:
    allowed, _ = sites
    # the development app, so /dev/login (log in as anyone) is there, as for a vite dev server
    dev_app = dataclasses.replace(settings, secret_key=DEV_SECRET_KEY, allowed_origins=(allowed.origin,))
    running = await start_in_process(dev_app)
    yield running
    await running.stop()


async def preflights_of(page: Page) -> list[dict[str, Any]]:
    """The CORS preflights Chromium sends for the page, seen through the DevTools protocol (they
    are not requests of the page's own, so Playwright's request events do not show them)."""
    seen: list[dict[str, Any]] = []
    cdp = await page.context.new_cdp_session(page)
    cdp.on("Network.requestWillBeSent", lambda e: seen.append(e) if e["request"]["method"] == "OPTIONS" else None)
    cdp.on(
        "Network.responseReceived",
        lambda e: seen.append({"response": e["response"]}) if e.get("type") == "Preflight" else None,
    )
    await cdp.send("Network.enable")
    return seen


async def preflight_statuses(preflights: list[dict[str, Any]], count: int) -> list[int]:
    """The statuses of the first `count` preflight answers. DevTools reports an answer on its own
    channel, which may arrive after the page's fetch has already failed on it: wait for it (up
    to 10 s), then read."""
    deadline = asyncio.get_running_loop().time() + 10
    answers = [p for p in preflights if "response" in p]
    while len(answers) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        answers = [p for p in preflights if "response" in p]
    return [p["response"]["status"] for p in answers]


async def test_an_app_on_another_origin_logs_in_queries_and_subscribes(
    chromium: Browser,
    gateway: InProcessGateway,
    sites: tuple[StaticSite, StaticSite],
    tmp_path: Path,
    shots: Shots,
) -> None:
    allowed, _ = sites
    (tmp_path / "index.html").write_text(PAGE.replace("GATEWAY", gateway.base_url))
    http = HTTPClient(gateway.base_url, gateway.settings.sdkappid, gateway.settings.secret_key)
    context = await chromium.new_context()
    try:
        page = await context.new_page()
        preflights = await preflights_of(page)
        await page.goto(f"{allowed.origin}/index.html")
        # the development app's log-in-as, as a vite dev server on another origin uses it (no proxy)
        assert await page.evaluate("app.devLogin('carol')") == "ok"
        assert await page.evaluate("app.me()") == "carol"
        # the login mutation with a UserSig, as an app of a real app's does
        assert await page.evaluate("app.login('alice', sig)".replace("sig", repr(http.sig("alice")))) == "ok"
        assert await page.evaluate("app.me()") == "alice"
        statuses = [p["response"]["status"] for p in preflights if "response" in p]
        requested = [p["request"] for p in preflights if "request" in p]
        # a JSON body and an Authorization header: each endpoint's first request is preflighted
        assert {r["url"].removeprefix(gateway.base_url) for r in requested} == {"/dev/login", "/graphql"}, requested
        assert all(r["headers"].get("Origin") == allowed.origin for r in requested)
        assert statuses == [204] * len(requested)

        assert await page.evaluate("app.subscribe()") == "connected"  # (graphql-ws's ack: before the subscribe)
        await http.until_live(1)  # a message sent before the subscription follows alice's log is not its own
        bob = await http.login("bob")
        await http.login("alice", platform="server")  # another device: the page's session stays
        await send_text(http, bob, "hello from bob", to="alice")
        await expect(page.locator("#log li", has_text="message from bob: hello from bob")).to_have_count(1)
        await shots(page, "the allowed origin logged in, queried and got a message")
    finally:
        await context.close()
        await http.aclose()


async def test_an_origin_not_allowed_gets_nothing(
    chromium: Browser,
    gateway: InProcessGateway,
    sites: tuple[StaticSite, StaticSite],
    tmp_path: Path,
    shots: Shots,
) -> None:
    _, other = sites
    (tmp_path / "index.html").write_text(PAGE.replace("GATEWAY", gateway.base_url))
    http = HTTPClient(gateway.base_url, gateway.settings.sdkappid, gateway.settings.secret_key)
    token = await http.login("alice")
    context = await chromium.new_context()
    try:
        page = await context.new_page()
        preflights = await preflights_of(page)
        await page.goto(f"{other.origin}/index.html")
        outcome = await page.evaluate("app.login('alice', sig)".replace("sig", repr(http.sig("alice"))))
        assert outcome.startswith("failed: TypeError"), outcome  # fetch's network error: CORS refused
        outcome = await page.evaluate("app.devLogin('alice')")
        assert outcome.startswith("failed: TypeError"), outcome
        assert await preflight_statuses(preflights, 2) == [403, 403]
        # a valid token does not help: the gateway refuses the handshake from this origin
        assert (await page.evaluate(f"app.subscribe({token!r})")).startswith("closed ")
        await expect(page.locator("#log li", has_text="WebSocket connected")).to_have_count(0)
        await shots(page, "the other origin was refused")
    finally:
        await context.close()
        await http.aclose()
