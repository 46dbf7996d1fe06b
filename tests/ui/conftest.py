"""A real Chromium (Debian's, driven by Playwright) against a live PremRunner and the stand-in.

The stand-in writes a token every STANDIN_TOKEN_DELAY seconds, so an answer takes long enough
to watch it grow and to stop it half-way.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.ollama_standin.launcher import StandinServer
from tests.support.server import PremRunnerServer
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, sign_in

CHAT_MODEL = "tiny-llama"
EMBED_MODEL = "nomic-embed-text"
# Small chunks, so that even a tiny GGUF is uploaded in several parts.
UPLOAD_CHUNK_SIZE = 256

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def ui_standin(tmp_path_factory) -> Iterator[StandinServer]:
    """A stand-in Ollama that streams slowly enough to be watched and stopped."""
    server = StandinServer(
        tmp_path_factory.mktemp("ui-standin") / "models",
        env={
            "STANDIN_PRELOAD": f"{CHAT_MODEL},{EMBED_MODEL}",
            "STANDIN_TOKEN_DELAY": "0.05",
            "STANDIN_RESPONSE_TOKENS": "200",
            "STANDIN_CREATE_DELAY": "0.05",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory, ui_standin) -> Iterator[PremRunnerServer]:
    """A live PremRunner for the browser tests, on the slow stand-in."""
    server = PremRunnerServer(
        tmp_path_factory.mktemp("ui-data"),
        ollama_url=ui_standin.url,
        env={"DEFAULT_MODEL": CHAT_MODEL, "UPLOAD_CHUNK_SIZE": str(UPLOAD_CHUNK_SIZE)},
    )
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def browser_tab(browser: Browser, base_url: str, **context_options) -> Iterator[Page]:
    """A tab in a context of its own. The test fails on any uncaught script error, and on any
    request to another server: every asset is served by PremRunner itself (no CDN)."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, **context_options)
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: None if request.url.startswith(base_url) else elsewhere.append(request.url),
    )
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"Uncaught errors in the page: {errors}"
    assert not elsewhere, f"Requests to other servers: {elsewhere}"


@pytest.fixture
def page(browser: Browser, ui_server: PremRunnerServer) -> Iterator[Page]:
    """A fresh tab: nothing in localStorage, so the app asks for the token."""
    with browser_tab(browser, ui_server.url) as page:
        yield page


@pytest.fixture(scope="session")
def signed_in_state(browser: Browser, ui_server: PremRunnerServer) -> dict:
    """The browser storage (the token in localStorage) after signing in once."""
    with browser_tab(browser, ui_server.url) as page:
        sign_in(page, ui_server.token)
        return page.context.storage_state()


@pytest.fixture
def signed_in_page(
    browser: Browser, ui_server: PremRunnerServer, signed_in_state
) -> Iterator[Page]:
    """A tab that already holds the token, open on the app."""
    with browser_tab(browser, ui_server.url, storage_state=signed_in_state) as page:
        page.goto("/")
        expect(page.locator("#app")).to_have_attribute("data-signed-in", "true")
        yield page
