"""The Chat page: streamed answers, Stop, conversations and their history, safe Markdown."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.browser import save_screenshots, standin_stats
from tests.ui.conftest import CHAT_MODEL

pytestmark = pytest.mark.browser

# Records the length of the newest answer's text each time it changes, to see it grow.
WATCH_ANSWER = """
() => {
  window.answerLengths = [];
  new MutationObserver(() => {
    const body = [...document.querySelectorAll(".message--assistant .message-body")].at(-1);
    if (!body || body.querySelector(".typing")) return;  // not "Thinking…": the answer itself
    if (window.answerLengths.at(-1) !== body.textContent.length) {
      window.answerLengths.push(body.textContent.length);
    }
  }).observe(document.getElementById("chat-thread"), {
    childList: true, subtree: true, characterData: true,
  });
}
"""


def open_chat(page: Page) -> None:
    page.get_by_role("link", name="Chat").click()
    page.locator("#chat-model").select_option(f"{CHAT_MODEL}:latest")


def ask(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("textbox", name="Message").press("Enter")


def last_answer(page: Page):
    return page.locator(".message--assistant").last


def set_options(page: Page, *, max_tokens: int, system: str = "", temperature: str = "") -> None:
    summary = page.locator("#chat-options summary")
    summary.click()
    page.get_by_label("System prompt").fill(system)
    page.get_by_label("Temperature").fill(temperature)
    page.get_by_label("Max tokens").fill(str(max_tokens))
    summary.click()


def test_an_answer_streams_in_token_by_token(signed_in_page: Page, ui_server) -> None:
    page = signed_in_page
    open_chat(page)
    set_options(page, max_tokens=12, system="You answer in one line.", temperature="0.3")
    page.evaluate(WATCH_ANSWER)
    ask(page, "Say hello")

    expect(page.locator(".message--user").last).to_have_text(re.compile("Say hello"))
    expect(last_answer(page).locator(".message-foot")).to_contain_text("12 tokens")
    lengths = page.evaluate("window.answerLengths")
    growing = [length for length in lengths if length > 0]
    assert len(growing) >= 5, f"the answer appeared in {len(growing)} steps: {lengths}"
    assert growing == sorted(growing)
    expect(page).to_have_url(re.compile(r"#/chat/[0-9a-f-]{36}$"))
    save_screenshots(page, "chat")

    # The options went with the question: the call's trace holds them.
    trace = ui_server.session().get(f"{ui_server.url}/v1/traces?limit=1").json()["traces"][0]
    assert trace["input"][0] == {"role": "system", "content": "You answer in one line."}
    assert trace["requestParams"]["temperature"] == 0.3


def test_a_refused_request_is_explained_in_place(signed_in_page: Page) -> None:
    page = signed_in_page
    open_chat(page)
    set_options(page, max_tokens=0)
    ask(page, "This cannot be answered")

    error = last_answer(page).get_by_role("alert")
    expect(error).to_have_text("'max_tokens' must be at least 1.")
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_stop_ends_the_generation_upstream(signed_in_page: Page, ui_standin) -> None:
    page = signed_in_page
    open_chat(page)
    cancelled_before = standin_stats(ui_standin.url)["cancelled_generations"]
    ask(page, "Tell me a long story")

    answer = last_answer(page)
    expect(answer.locator(".message-body")).not_to_have_text(re.compile(r"^(Thinking…)?$"))
    page.get_by_role("button", name="Stop").click()

    expect(answer.locator(".message-foot")).to_have_text("Stopped.")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    partial = answer.locator(".message-body").text_content()
    assert partial
    page.wait_for_timeout(300)
    assert answer.locator(".message-body").text_content() == partial, "tokens kept coming"

    def cancelled() -> int:
        return standin_stats(ui_standin.url)["cancelled_generations"]

    for _ in range(50):
        if cancelled() > cancelled_before:
            break
        page.wait_for_timeout(100)
    assert cancelled() > cancelled_before


def test_history_comes_back_after_a_reload(signed_in_page: Page) -> None:
    page = signed_in_page
    open_chat(page)
    set_options(page, max_tokens=6)
    ask(page, "Remember this question")
    expect(last_answer(page).locator(".message-foot")).to_contain_text("tokens")
    answer_text = last_answer(page).locator(".message-body").text_content()
    conversation_url = page.url

    page.reload()
    expect(page).to_have_url(conversation_url)
    expect(page.locator(".message--user .message-body")).to_have_text(["Remember this question"])
    expect(page.locator(".message--assistant .message-body")).to_have_text([answer_text])
    expect(page.locator(".conversation.is-current")).to_contain_text("Remember this question")


def test_conversations_can_be_started_switched_and_deleted(signed_in_page: Page) -> None:
    page = signed_in_page
    open_chat(page)
    set_options(page, max_tokens=4)
    ask(page, "First conversation")
    expect(last_answer(page).locator(".message-foot")).to_contain_text("tokens")

    page.get_by_role("button", name="New chat").click()
    expect(page.locator(".message")).to_have_count(0)
    ask(page, "Second conversation")
    expect(last_answer(page).locator(".message-foot")).to_contain_text("tokens")

    first = page.locator(".conversation", has_text="First conversation")
    first.locator(".conversation-open").click()
    expect(page.locator(".message--user .message-body")).to_have_text(["First conversation"])

    first.get_by_role("button", name=re.compile("Delete conversation")).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".conversation", has_text="First conversation")).to_have_count(0)
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator(".conversation", has_text="Second conversation")).to_have_count(1)


def test_model_output_cannot_inject_html_or_script(signed_in_page: Page) -> None:
    """The renderer the chat uses for answers, fed a hostile answer in the real page."""
    hostile = (
        "Hello <script>window.pwned = 'script'</script>\n\n"
        "<img src=x onerror=\"window.pwned = 'img'\">\n\n"
        "[click me](javascript:window.pwned='link') and [docs](https://example.org/a)\n\n"
        "```html\n<script>window.pwned = 'code'</script>\n```\n"
        "**bold <b onmouseover=alert(1)>x</b>** and `<i>code</i>`"
    )
    rendered = signed_in_page.evaluate(
        """async (text) => {
          const { renderMarkdown } = await import("/static/js/markdown.js");
          const box = document.createElement("div");
          box.append(renderMarkdown(text));
          document.body.append(box);
          await new Promise((resolve) => setTimeout(resolve, 200));
          return {
            elements: [...box.querySelectorAll("*")].map((node) => node.tagName.toLowerCase()),
            handlers: [...box.querySelectorAll("*")].flatMap((node) =>
              [...node.attributes].map((attribute) => attribute.name)
                .filter((name) => name.startsWith("on"))),
            links: [...box.querySelectorAll("a")].map((link) => link.href),
            code: box.querySelector("pre code").textContent,
            text: box.textContent,
            pwned: window.pwned ?? null,
          };
        }""",
        hostile,
    )
    assert rendered["pwned"] is None
    assert not {"script", "img", "b", "i"} & set(rendered["elements"])
    assert rendered["handlers"] == []
    assert rendered["links"] == ["https://example.org/a"]
    assert rendered["code"] == "<script>window.pwned = 'code'</script>"
    assert "<img src=x onerror=" in rendered["text"]
    assert {"strong", "code", "pre"} <= set(rendered["elements"])
