"""At phone width the sidebar folds into a menu; everything is reachable by keyboard."""

import pytest
from playwright.sync_api import Page, expect

from tests.files import write_tiny_gguf
from tests.ui.browser import PHONE

pytestmark = pytest.mark.browser


def test_the_menu_and_the_file_picker_work_by_keyboard_at_phone_width(
    signed_in_page: Page, tmp_path
) -> None:
    page = signed_in_page
    page.set_viewport_size(PHONE)
    models_link = page.get_by_role("link", name="Models")
    expect(models_link).to_be_hidden()

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    expect(page.locator("#page-chat")).to_be_visible()

    menu = page.get_by_role("button", name="Menu")
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(models_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    expect(models_link).to_be_hidden()  # the menu folds away once a page is chosen

    picker = page.get_by_label("Choose files…")
    picker.focus()
    focus_ring = page.evaluate(
        "getComputedStyle(document.querySelector('label[for=upload-input]')).boxShadow"
    )
    assert focus_ring != "none", "the focused file picker shows no focus"
    # It is the browser's own file input, so Space opens the browser's chooser; headless Chromium
    # opens that only now and then, so the file is handed to the focused input directly.
    picker.set_input_files(write_tiny_gguf(tmp_path / "picked.gguf"))
    card = page.locator(".upload", has_text="picked.gguf")
    expect(card.get_by_label("Model name")).to_have_value("picked")
    card.get_by_role("button", name="Remove").click()
    expect(card).to_have_count(0)
