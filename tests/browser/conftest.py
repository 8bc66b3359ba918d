"""Browser tests: Debian's headless Chromium (/usr/bin/chromium, installed by scripts/ensure-chromium)
driven by Playwright, against real gateways on real Redis. Playwright's own browser downloads are
never used: the browser is launched from its executable path (IMQL_CHROMIUM names another one).

Fixtures:
- `chromium`: one headless Browser per module (each test opens its own contexts: isolated storage);
- `shots`: `await shots(page, "what it shows")` saves the page as a numbered PNG under
  test-artifacts/browser/<test name>/ (git-ignored), one per step of the test, so a run (a failed
  one above all) can be looked at as the user would have seen it.

The tests of a module share the module's event loop (the Browser lives in it): their async
fixtures are declared with loop_scope="module" too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path(os.environ.get("IMQL_CHROMIUM", "/usr/bin/chromium"))
_CHROMIUM_INSTALLED = CHROMIUM.is_file()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

Shots = Callable[[Page, str], Awaitable[Path]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    if not _CHROMIUM_INSTALLED:
        pytest.skip(f"no Chromium at {CHROMIUM}: scripts/ensure-chromium could not install Debian's chromium package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # no sandbox as root (CI runs as root); no GPU on these machines
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser
        await browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken = 0

    async def shoot(page: Page, step: str) -> Path:
        nonlocal taken
        taken += 1
        path = folder / f"{taken:02d}-{re.sub(r'[^A-Za-z0-9]+', '-', step).strip('-').lower()}.png"
        await page.screenshot(path=str(path))
        return path

    return shoot
