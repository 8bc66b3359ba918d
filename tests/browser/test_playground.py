"""The playground (GET /graphql) in headless Chromium. With the development app, a newcomer sees a
live message from another user in at most 5 steps: "Two-user chat" (alice and bob side by side,
each logged in through "log in as", the token in each pane's Headers), run alice's subscription,
run bob's send (the Run menu, then SendToAlice). The test counts the steps it takes. "Log in as"
also works for any user ID in the single pane. With a real app there is no such control, and
/dev/login refuses (tests/browser/test_demo_chat.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from gateway.config import DEV_SECRET_KEY, Settings
from tests.browser.conftest import Shots
from tests.support.clients import HTTPClient
from tests.support.servers import InProcessGateway, start_in_process

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_STEPS = 5  # issue 18: a live message from another user in at most 5 steps
WAIT_MS = 15_000


@pytest_asyncio.fixture(loop_scope="module")
async def dev_gateway(settings: Settings) -> AsyncIterator[InProcessGateway]:
    running = await start_in_process(dataclasses.replace(settings, secret_key=DEV_SECRET_KEY))
    yield running
    await running.stop()


class Steps:
    """A newcomer's actions, counted: each click or typed field is one step."""

    def __init__(self, page: Page, shots: Shots) -> None:
        self.page = page
        self.shots = shots
        self.taken: list[str] = []

    async def __call__(self, what: str, action: Awaitable[Any]) -> None:
        await action
        self.taken.append(what)
        await self.shots(self.page, f"step {len(self.taken)} {what}")


async def until_online(gateway: InProcessGateway, user: str) -> None:
    """Until the user's subscription is open on the gateway (getUserStatus says ONLINE only then):
    what a person's pause between two clicks gives, made certain."""
    http = HTTPClient(gateway.base_url, gateway.settings.sdkappid, gateway.settings.secret_key)
    try:
        token = await http.login("observer")
        query = "query($u: [String!]!) { getUserStatus(userIDList: $u) { statusType } }"
        for _ in range(300):
            status = (await http.gql(query, {"u": [user]}, token=token)).ok()["getUserStatus"]
            if status and status[0]["statusType"] == "V2TIM_USER_STATUS_ONLINE":
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{user} never came online")
    finally:
        await http.aclose()


def response_of(pane: Locator) -> Locator:
    return pane.locator(".result-window")


def headers_of(pane: Locator) -> Locator:
    return pane.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)").last


async def test_a_newcomer_sees_a_live_message_from_another_user_in_five_steps(
    chromium: Browser, dev_gateway: InProcessGateway, shots: Shots
) -> None:
    context = await chromium.new_context(viewport={"width": 1600, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(f"{dev_gateway.base_url}/graphql")
        step = Steps(page, shots)
        await shots(page, "the playground opens")

        await step("open the two-user chat", page.get_by_role("button", name="Two-user chat").click())
        alice, bob = page.locator('[data-pane="alice"]'), page.locator('[data-pane="bob"]')
        for pane, user in ((alice, "alice"), (bob, "bob")):
            await expect(pane.get_by_test_id("logged-in-as")).to_have_text(f"✓ {user}", timeout=WAIT_MS)
            await expect(headers_of(pane)).to_contain_text('"Authorization": "Bearer ')

        await step("run alice's subscription", alice.locator(".graphiql-execute-button").click())
        # subscribed: the button turns into "stop" while the subscription runs
        await expect(alice.locator(".graphiql-execute-button")).to_have_attribute(
            "aria-label", "Stop query (Ctrl-Enter)"
        )
        await until_online(dev_gateway, "alice")
        await step("open bob's Run menu", bob.locator(".graphiql-execute-button").click())
        await step("run SendToAlice", page.get_by_role("menuitem", name="SendToAlice").click())

        await expect(response_of(bob)).to_contain_text('"sender": "bob"', timeout=WAIT_MS)
        await expect(response_of(bob)).to_contain_text("ran CreateHello first")
        await expect(response_of(alice)).to_contain_text("Hi alice, it's bob", timeout=WAIT_MS)
        await expect(response_of(alice)).to_contain_text('"sender": "bob"')
        await shots(page, "alice sees bob's message live")
        assert len(step.taken) <= MAX_STEPS, step.taken
    finally:
        await context.close()


async def test_log_in_as_any_user_fills_the_authorization_header(
    chromium: Browser, dev_gateway: InProcessGateway, shots: Shots
) -> None:
    context = await chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(f"{dev_gateway.base_url}/graphql")
        await page.get_by_label("user ID to log in as").fill("carol")
        await page.get_by_role("button", name="Log in as").click()
        await expect(page.get_by_test_id("logged-in-as")).to_have_text("✓ carol", timeout=WAIT_MS)
        await page.get_by_role("tab", name="Me").click()
        await expect(headers_of(page.locator("body"))).to_contain_text("Bearer ")
        await page.locator(".graphiql-execute-button").click()
        await expect(response_of(page.locator("body"))).to_contain_text('"getLoginUser": "carol"', timeout=WAIT_MS)
        await shots(page, "carol's query")
        # a user ID the gateway refuses: the control says so, and the header is left as it was
        await page.get_by_label("user ID to log in as").fill("x" * 33)  # over 32 bytes: 7003
        await page.get_by_role("button", name="Log in as").click()
        await expect(page.get_by_role("alert")).to_have_text("failed")
    finally:
        await context.close()


async def test_no_log_in_as_with_a_real_app(
    chromium: Browser, settings: Settings, tmp_path: Path, shots: Shots
) -> None:
    real = await start_in_process(settings)  # the test app's own secret key: not the development app
    context = await chromium.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{real.base_url}/graphql")
        await expect(page.locator(".graphiql-execute-button")).to_be_visible(timeout=WAIT_MS)
        await expect(page.get_by_role("button", name="Log in as")).to_have_count(0)
        await expect(page.get_by_role("button", name="Two-user chat")).to_have_count(0)
        await shots(page, "a real app's playground")
    finally:
        await context.close()
        await real.stop()
