"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against live_server, and
what every browser test shares: the page, signing in and the screenshots."""

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery"  # every staff user a browser test creates has it
SHOTS = Path("/tmp/shots")
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI and missing at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A 1366×768 page; `page.outside` lists every request not answered by our own server."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.outside = []
    page.on("request", lambda request: page.outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:")) else None)
    yield page
    context.close()


def sign_in(page, live_server, username: str, *, then: str = "/") -> None:
    """Sign in on the login page (password PASSWORD) and wait until it has led to `then`."""
    page.goto(f"{live_server.url}/login/?next={quote(then)}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    target = f"{live_server.url}{then}"
    page.wait_for_url(lambda url: url == target)  # a string would be a glob: `then` may hold a "?"


def shoot(page, name: str, *, folder: Path = SHOTS) -> None:
    """The page at 1366×768 and at phone width, into `folder`; the page is left at 1366×768."""
    folder.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=folder / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})
