"""The console in headless Chromium: what a manager and a demo approver see and click.

Needs Debian's chromium (`apt-get install chromium`; `.ci/run` installs it) and playwright-python.
Screenshots go to a temporary folder, or to COUNTERSIGN_SCREENSHOTS (e.g. docs/screenshots).
"""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.principals import Principal
from tests.console.conftest import HOSTILE, Console, ConsoleFactory
from tests.history.conftest import AGENTS, History

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"No browser: {CHROMIUM} is not installed (apt-get install chromium), "
            "so the console's browser tests did not run."
        )
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="playwright-python is not installed"
    )
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("COUNTERSIGN_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def open_page(browser: Any, c: Console, viewport: dict[str, int] = LAPTOP) -> Any:
    context = await browser.new_context(
        viewport=viewport, accept_downloads=True, base_url=c.base_url
    )
    page = await context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: page.dialogs.append(dialog.message))  # a script ran
    return page


async def sign_in(page: Any, c: Console, shots: Path | None = None) -> None:
    await page.goto("/login")
    await page.fill("#token", c.auditor_token)
    if shots:
        await page.screenshot(path=shots / "sign-in.png")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/")


async def fill_history(c: Console, count: int) -> None:
    """Some weeks of varied requests through the store, as tests/history does."""
    agents = {name: Principal(name=name, owner=f"U0OWNER{n:02d}") for n, name in enumerate(AGENTS)}
    clock: ManualClock = c.runtime.clock  # type: ignore[assignment]
    await History(c.runtime, clock, agents, random.Random(7)).add(count, spacing=1500)


async def test_manager_signs_in_filters_history_and_downloads_csv(
    console: ConsoleFactory, browser: Any, shots: Path
) -> None:
    async with console() as c:
        await fill_history(c, 300)
        page = await open_page(browser, c)
        await sign_in(page, c, shots)
        assert await page.locator("h1").first.inner_text() != ""
        await page.screenshot(path=shots / "pending.png", full_page=True)
        await page.click("text=History")
        await page.select_option("select[name=status]", "denied")
        await page.fill("input[name=agent]", "infra-bot")
        await page.click("button:has-text('Filter')")
        await page.wait_for_url("**/history?*status=denied*")
        rows = page.locator("table.history tbody tr")
        assert await rows.count() > 0
        for text in await rows.all_inner_texts():
            assert "DENIED" in text.upper() and "infra-bot" in text
        await page.screenshot(path=shots / "history.png", full_page=True)
        async with page.expect_download() as waiting:
            await page.click("text=Download CSV")
        download = await waiting.value
        table = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
        assert table and {(r["outcome"], r["agent"]) for r in table} == {("denied", "infra-bot")}
        await page.goto("/dashboard?period=all")
        assert await page.locator("svg.chart").count() == 3
        await page.screenshot(path=shots / "dashboard.png", full_page=True)
        phone = await open_page(browser, c, PHONE)
        await sign_in(phone, c)
        await phone.screenshot(path=shots / "pending-phone.png")
        await phone.goto("/dashboard?period=all")
        await phone.screenshot(path=shots / "dashboard-phone.png", full_page=True)


async def test_request_with_a_large_diff_renders_safely(
    console: ConsoleFactory, browser: Any, shots: Path
) -> None:
    async with console() as c:
        request_id = await c.submit()
        page = await open_page(browser, c)
        await sign_in(page, c)
        await page.click(f"a[href='/requests/{request_id}']")
        await page.wait_for_selector("pre.code-diff")
        added = page.locator("pre.code-diff .gi")
        assert await added.count() > 1500
        scrolls = "e => e.scrollHeight > e.clientHeight * 10"  # the diff scrolls inside its box
        assert await page.locator("pre.code-diff").evaluate(scrolls)
        summary = await page.locator("h1.summary").inner_text()
        assert HOSTILE in summary  # shown as text, not run
        assert page.dialogs == []
        await page.screenshot(path=shots / "request.png", full_page=True)
        phone = await open_page(browser, c, PHONE)
        await sign_in(phone, c)
        await phone.goto(f"/requests/{request_id}")
        await phone.screenshot(path=shots / "request-phone.png")
        assert phone.dialogs == []


async def test_dev_mode_demo_approvers_approve_twice(
    console: ConsoleFactory, browser: Any, shots: Path
) -> None:
    async with console(dev=True) as c:
        request_id = await c.submit(diff="")
        page = await open_page(browser, c)
        await sign_in(page, c)
        await page.goto(f"/requests/{request_id}")
        await page.screenshot(path=shots / "request-dev-voting.png", full_page=True)
        for user, expected in (("U0ALICE01", "pending"), ("U0BOB0002", "approved")):
            form = page.locator(f"form.vote:has(input[value='{user}'])")
            await form.locator("button.approve").click()
            await page.wait_for_selector(".notice")
            assert f"the request is {expected}" in await page.locator(".notice").inner_text()
        assert "APPROVED" in (await page.locator(".card-top").inner_text()).upper()
        assert await page.locator(".timeline li.approve").count() == 2
        await page.screenshot(path=shots / "request-approved.png", full_page=True)
