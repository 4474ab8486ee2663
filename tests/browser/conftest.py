"""Browser tests: Debian's Chromium, driven by Playwright, against a live server started here.

The server is the real app on its own temporary SQLite file and in-process Redis, loaded with the
demo data, served by werkzeug on a free port in a background thread. Each test opens fresh browser
contexts (one per person) and saves a screenshot of each step, and of every open page on failure,
under test-artifacts/browser/<test>/.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from server import create_app
from server.db import db
from server.demo import STAFF, load_demo
from server.storage import document_storage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    # A fake camera (a test pattern), so the counter's camera scanning can be driven.
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
#: How long an expectation waits for the page; generous for a loaded CI machine, tiny next to 10 s.
EXPECT_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str


@pytest.fixture(scope="session")
def live_server(app_config: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on its own database, with the demo merchant, staff of every role and the admin."""
    database = tmp_path_factory.mktemp("browser-db") / "console.sqlite3"
    app = create_app({**app_config, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": None,
                      "UPLOAD_DIR": str(tmp_path_factory.mktemp("browser-uploads"))})
    with app.app_context():
        db.create_all()
        load_demo(db.session, storage=document_storage())
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser | None]:
    """Debian's Chromium, launched once; None when it is not installed (each test then fails, never skips)."""
    if not CHROMIUM.exists():
        yield None
        return
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell that the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """test-artifacts/browser/<test>/, emptied of the screenshots of an earlier run."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
def new_page(browser: Browser | None, live_server: LiveServer, artifacts: Path,
             request: pytest.FixtureRequest) -> Iterator[Callable[[str], Page]]:
    """Open a page in a fresh browser context (its own cookies), named for its screenshots.

    Script errors on any page fail the test; on failure every open page is photographed."""
    opened: dict[str, Page] = {}
    script_errors: list[str] = []

    def open_page(person: str) -> Page:
        if browser is None:
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) "
                        "to run the browser tests")
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: script_errors.append(f"{person}: {error}"))
        opened[person] = page
        return page

    yield open_page
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        for person, page in opened.items():
            page.screenshot(path=artifacts / f"failure-{person}.png", full_page=True)
    for page in opened.values():
        page.context.close()
    assert not script_errors, f"script errors in the console: {script_errors}"


@pytest.fixture
def screenshot(artifacts: Path) -> Callable[[Page, str], None]:
    """Save the page as test-artifacts/browser/<test>/<step>.png."""

    def take(page: Page, step: str) -> None:
        page.screenshot(path=artifacts / f"{step}.png", full_page=True)

    return take


@pytest.fixture
def sign_in() -> Callable[[Page, str, str, str], None]:
    """Sign in through the login form of /console or /platform and wait to leave it."""

    def submit_login(page: Page, console: str, username: str, password: str) -> None:
        page.goto(f"/{console}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/login" not in url)

    return submit_login


@pytest.fixture
def sign_in_staff(sign_in: Callable[[Page, str, str, str], None]) -> Callable[[Page, str], None]:
    """Sign in to /console as one of the demo staff (server/demo.py) by username."""
    passwords = {username: password for username, password, _role, _store in STAFF}
    return lambda page, username: sign_in(page, "console", username, passwords[username])
