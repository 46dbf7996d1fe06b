"""Helpers for the browser tests: Debian's Chromium, signing in, screenshots."""

import requests
from playwright.sync_api import Page, expect

from tests.support.server import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, token: str) -> None:
    """Open the app and sign in through the token dialog."""
    page.goto("/")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app")).to_have_attribute("data-signed-in", "true")


def save_screenshots(page: Page, name: str) -> None:
    """Save test-artifacts/`name`.png at desktop width and `name`-phone.png at phone width."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)  # the chart redraws for the new width
    page.screenshot(path=ARTIFACTS / f"{name}-phone.png")
    page.set_viewport_size(DESKTOP)


def standin_stats(standin_url: str) -> dict:
    """The stand-in's counters (`cancelled_generations`, ...)."""
    return requests.get(f"{standin_url}/__standin/stats", timeout=5).json()
