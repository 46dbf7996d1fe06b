"""Signing in with the access token, the live Ollama light, signing out."""

import pytest
from playwright.sync_api import Page, expect

from tests.ui.browser import save_screenshots, sign_in

pytestmark = pytest.mark.browser


def stored_token(page: Page) -> str | None:
    return page.evaluate("localStorage.getItem('authToken')")


def test_a_wrong_token_is_refused_and_the_right_one_accepted(page: Page, ui_server) -> None:
    page.goto("/")
    dialog = page.get_by_role("dialog", name="Sign in to PremRunner")
    expect(dialog).to_be_visible()
    save_screenshots(page, "sign-in")

    page.get_by_label("Access token").fill("not-the-right-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#auth-error")).to_contain_text("not right")
    expect(dialog).to_be_visible()
    assert stored_token(page) is None

    page.get_by_label("Access token").fill(ui_server.token)
    page.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#app")).to_have_attribute("data-signed-in", "true")
    assert stored_token(page) == ui_server.token


def test_a_signed_in_visit_keeps_the_token_and_shows_ollama_live(signed_in_page: Page) -> None:
    status = signed_in_page.locator("#ollama-status")
    expect(status).to_have_attribute("data-status", "running")  # pushed over the WebSocket
    expect(status).to_contain_text("running")
    expect(status).to_contain_text("v0.")

    signed_in_page.reload()
    expect(signed_in_page.locator("#app")).to_have_attribute("data-signed-in", "true")
    expect(signed_in_page.locator("#auth-dialog")).to_be_hidden()


def test_logout_forgets_the_token_and_asks_again(signed_in_page: Page) -> None:
    signed_in_page.get_by_role("button", name="Log out").click()
    expect(signed_in_page.get_by_role("dialog", name="Sign in to PremRunner")).to_be_visible()
    assert stored_token(signed_in_page) is None


def test_a_token_the_server_stops_accepting_signs_out_on_the_first_401(page: Page, ui_server):
    sign_in(page, ui_server.token)
    page.evaluate("localStorage.setItem('authToken', 'a-token-that-was-revoked')")
    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("dialog", name="Sign in to PremRunner")).to_be_visible()
    assert stored_token(page) is None
