"""Playwright fixtures: Debian's Chromium, logged-in pages under the app's own CSP, screenshots."""

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the tests' ORM calls stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Directives every page must be served with; the pages work under them (no inline scripts).
REQUIRED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}
PASSWORD = "correct-horse-battery"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, (
        "Chromium is missing: install Debian's chromium package (apt-get install chromium)."
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def csp_problem(response) -> str | None:
    """Why a page's real Content-Security-Policy header falls short of REQUIRED_CSP, if it does."""
    header = response.headers.get("content-security-policy", "")
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip()
    )
    missing = {name: value for name, value in REQUIRED_CSP.items() if directives.get(name) != value}
    return f"{response.url} lacks {missing} in its CSP {header!r}" if missing else None


class BrowserSession:
    """Opens one browser context per user, logged in through the real login form."""

    def __init__(self, chromium, live_server):
        self.chromium = chromium
        self.base_url = live_server.url
        self.contexts = []
        self.pages = []
        self.errors: list[str] = []

    def anonymous(self, *, viewport: dict | None = None, name: str = "anonymous"):
        """A page in a context of its own, logged in as nobody; its errors and CSP are watched too."""
        context = self.chromium.new_context(
            base_url=self.base_url, accept_downloads=True, viewport=viewport or {"width": 1280, "height": 860}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("response", lambda response: self.check_csp(name, response))
        page.on("pageerror", lambda error: self.errors.append(f"{name}: {error}"))
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"{name}: {message.text} at {message.location}")
                if message.type == "error"
                and not message.text.startswith("Failed to load resource")
                else None
            ),
        )
        self.contexts.append(context)
        self.pages.append((name, page))
        return page

    def login(self, user, *, password: str = PASSWORD, viewport: dict | None = None):
        page = self.anonymous(viewport=viewport, name=user.username)
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(self.base_url + "/")
        return page

    def check_csp(self, username: str, response) -> None:
        # Documents only: a download (export) is not rendered, so its policy does not matter.
        if response.request.resource_type != "document" or "/export." in response.url:
            return
        problem = csp_problem(response)
        if problem:
            self.errors.append(f"{username}: {problem}")

    def close(self, failed_test: str | None):
        if failed_test:
            ARTIFACTS.mkdir(exist_ok=True)
            for username, page in self.pages:
                try:
                    page.screenshot(
                        path=str(ARTIFACTS / f"{failed_test}-{username}.png"), full_page=True
                    )
                except (
                    Exception
                ):  # the page may already be gone; the other screenshots still matter
                    pass
        for context in self.contexts:
            context.close()


@pytest.fixture
def browser_session(request, chromium, live_server):
    session = BrowserSession(chromium, live_server)
    yield session
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    session.close(re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name) if failed else None)
