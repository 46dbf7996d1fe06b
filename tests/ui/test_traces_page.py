"""The Traces page: the table, its filters, one trace's detail, and the chart."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.ui.browser import save_screenshots
from tests.ui.conftest import CHAT_MODEL, EMBED_MODEL

pytestmark = pytest.mark.browser


@pytest.fixture
def traced_question(ui_server) -> str:
    """Ask the model through the OpenAI API so there is a fresh trace to find."""
    question = "What is a trace? (asked by the traces page test)"
    response = ui_server.session().post(
        f"{ui_server.url}/v1/chat/completions",
        json={
            "model": CHAT_MODEL,
            "messages": [{"role": "user", "content": question}],
            "max_tokens": 3,
        },
        timeout=30,
    )
    response.raise_for_status()
    return question


@pytest.fixture
def more_than_a_page_of_traces(ui_server) -> None:
    """Over 20 calls (a page of the table), made quickly as embeddings, all recorded."""
    api = ui_server.session()
    for index in range(21):
        api.post(
            f"{ui_server.url}/v1/embeddings",
            json={"model": EMBED_MODEL, "input": f"text number {index}"},
            timeout=30,
        ).raise_for_status()
    deadline = time.monotonic() + 10
    while api.get(f"{ui_server.url}/v1/traces?limit=1").json()["total"] < 21:
        assert time.monotonic() < deadline, "the traces were not recorded"
        time.sleep(0.05)


def test_a_call_shows_in_the_table_and_its_detail(signed_in_page: Page, traced_question) -> None:
    page = signed_in_page
    page.get_by_role("link", name="Traces").click()

    row = page.locator("#traces-rows tr", has_text="/v1/chat/completions").first
    expect(row).to_contain_text(CHAT_MODEL)
    expect(row.locator(".badge")).to_have_text("success")
    expect(page.locator("#traces-chart .chart-bar").first).to_be_visible()
    save_screenshots(page, "traces")

    row.click()
    expect(page).to_have_url(re.compile(r"#/traces/[0-9a-f-]{36}$"))
    dialog = page.get_by_role("dialog", name="Trace")
    expect(dialog).to_contain_text(traced_question)
    expect(dialog.locator(".metric", has_text="Completion tokens")).to_contain_text("3")
    expect(dialog.locator(".trace-output")).not_to_be_empty()
    save_screenshots(page, "trace-detail")

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"#/traces$"))


def test_filters_narrow_the_table(signed_in_page: Page, traced_question) -> None:
    page = signed_in_page
    page.get_by_role("link", name="Traces").click()
    expect(page.locator("#traces-rows tr").first).to_be_visible()

    page.get_by_label("Status").select_option("error")
    expect(page.locator("#traces-state")).to_have_text("No traces match these filters.")
    expect(page.locator("#traces-rows tr")).to_have_count(0)

    page.get_by_role("button", name="Clear").click()
    page.locator("#traces-model").fill(CHAT_MODEL)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#traces-rows tr").first).to_contain_text(CHAT_MODEL)


def test_the_table_pages_through_older_traces(
    signed_in_page: Page, more_than_a_page_of_traces
) -> None:
    page = signed_in_page
    page.get_by_role("link", name="Traces").click()
    rows = page.locator("#traces-rows tr")
    expect(rows).to_have_count(20)
    page_info = page.locator("#traces-page-info")
    expect(page_info).to_contain_text("Page 1 of")
    expect(page.get_by_role("button", name="Newer")).to_be_disabled()
    newest = rows.first.get_attribute("data-trace-id")

    page.get_by_role("button", name="Older").click()
    expect(page_info).to_contain_text("Page 2 of")
    expect(page.locator(f'#traces-rows tr[data-trace-id="{newest}"]')).to_have_count(0)
    expect(rows.first).to_be_visible()

    page.get_by_role("button", name="Newer").click()
    expect(page_info).to_contain_text("Page 1 of")
    expect(rows.first).to_have_attribute("data-trace-id", newest)
