"""The Models page: files dropped on the zone, chunked upload with progress, resume, import."""

import math
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.files import write_tiny_gguf
from tests.ui.browser import save_screenshots
from tests.ui.conftest import UPLOAD_CHUNK_SIZE

# Chunks travel as raw bodies, their index in the query string.
CHUNK_URL = re.compile(r"/v1/chunked-upload/chunk\?")

pytestmark = pytest.mark.browser

# The same file (name, bytes and modification time) as a person would drop it twice.
LAST_MODIFIED = 1_700_000_000_000

# A real drop: a File built from the bytes inside the page, in a DataTransfer, dispatched as
# dragenter, dragover and drop on the zone, the way the browser does for a file from the desktop.
DROP_FILE = """
([name, bytes, lastModified]) => {
  const file = new File([new Uint8Array(bytes)], name, {
    type: "application/octet-stream", lastModified,
  });
  const dataTransfer = new DataTransfer();
  dataTransfer.items.add(file);
  const zone = document.getElementById("upload-zone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer }));
  }
}
"""

# Records each step an upload card goes through: its state and its progress bar's value.
WATCH_PROGRESS = """
() => {
  window.uploadSteps = [];
  new MutationObserver(() => {
    for (const card of document.querySelectorAll(".upload")) {
      const bar = card.querySelector("progress");
      const status = card.querySelector(".upload-status").textContent;
      const step = [card.dataset.state, bar.hasAttribute("value") ? bar.value : null, status];
      if (JSON.stringify(window.uploadSteps.at(-1)) !== JSON.stringify(step)) {
        window.uploadSteps.push(step);
      }
    }
  }).observe(document.getElementById("upload-list"), {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
}
"""


# Records each status a model's row shows, in order.
WATCH_BADGES = """
(name) => {
  window.badges = [];
  new MutationObserver(() => {
    const row = [...document.querySelectorAll("#models-rows tr")]
      .find((candidate) => candidate.textContent.includes(name));
    const badge = row?.querySelector(".badge").textContent;
    if (badge && window.badges.at(-1) !== badge) window.badges.push(badge);
  }).observe(document.getElementById("models-rows"), { subtree: true, childList: true });
}
"""


def chunk_count(path: Path) -> int:
    return math.ceil(path.stat().st_size / UPLOAD_CHUNK_SIZE)


def drop_file(page: Page, path: Path) -> None:
    page.evaluate(DROP_FILE, [path.name, list(path.read_bytes()), LAST_MODIFIED])


def open_models(page: Page) -> None:
    page.get_by_role("link", name="Models").click()
    expect(page.locator("#models-state")).to_be_hidden()


def test_a_dropped_gguf_uploads_with_progress_then_becomes_ready(
    signed_in_page: Page, tmp_path
) -> None:
    page = signed_in_page
    gguf = write_tiny_gguf(tmp_path / "Tiny Drop.Q8.gguf")
    open_models(page)
    page.evaluate(WATCH_PROGRESS)

    drop_file(page, gguf)
    card = page.locator(".upload", has_text="Tiny Drop.Q8.gguf")
    expect(card.get_by_label("Model name")).to_have_value("tiny-drop.q8")
    card.get_by_label("Model name").fill("tiny-drop")
    card.get_by_role("button", name="Upload").click()

    expect(card.locator(".upload-status")).to_have_text("Ready as tiny-drop:latest.")
    steps = page.evaluate("window.uploadSteps")
    uploading = [value for state, value, _ in steps if state == "uploading" and value]
    assert uploading == sorted(uploading), steps
    assert chunk_count(gguf) >= 4
    assert len(set(uploading)) >= chunk_count(gguf) - 1, f"the bar moved through {steps}"
    assert any(re.search(r"\d+% · .*B/s · .* left", status) for _, _, status in steps), steps
    assert "importing" in {state for state, _, _ in steps}, steps
    assert steps[-1][:2] == ["ready", 100]

    row = page.locator("#models-rows tr", has_text="tiny-drop")
    expect(row.locator(".badge")).to_have_text("Ready")
    expect(row).to_contain_text("GGUF")
    expect(row).to_contain_text(re.compile(r"\d KB"))
    save_screenshots(page, "models")
    expect(page.locator("#chat-model option", has_text="tiny-drop")).to_have_count(1)


def test_an_upload_cut_off_resumes_after_a_reload_with_only_the_missing_chunks(
    signed_in_page: Page, tmp_path
) -> None:
    page = signed_in_page
    gguf = write_tiny_gguf(tmp_path / "resumable.gguf", name="resumable")
    open_models(page)

    # The connection fails for good after two chunks.
    sent: list[int] = []

    def two_chunks_then_fail(route) -> None:
        index = int(parse_qs(urlsplit(route.request.url).query)["chunkIndex"][0])
        if len(sent) < 2:
            sent.append(index)
            route.continue_()
        else:
            route.abort("connectionreset")

    page.route(CHUNK_URL, two_chunks_then_fail)
    drop_file(page, gguf)
    card = page.locator(".upload", has_text="resumable.gguf")
    card.get_by_role("button", name="Upload").click()
    expect(card.locator(".upload-status")).to_contain_text("Upload interrupted")
    expect(card.get_by_role("button", name="Resume")).to_be_visible()

    # The person reloads the page and drops the same file again.
    page.reload()
    page.unroute(CHUNK_URL)
    expect(page.locator("#app")).to_have_attribute("data-signed-in", "true")

    resent: list[int] = []
    page.on(
        "request",
        lambda request: resent.append(request.url) if "/chunk?" in request.url else None,
    )
    drop_file(page, gguf)
    chunks = chunk_count(gguf)
    expect(card.locator(".upload-status")).to_contain_text(
        f"2 of {chunks} parts are already on the server"
    )
    expect(card.get_by_label("Model name")).to_be_disabled()
    card.get_by_role("button", name="Upload").click()

    expect(card.locator(".upload-status")).to_have_text("Ready as resumable:latest.")
    assert sent == [0, 1]
    assert len(resent) == chunks - 2


def upload_through_the_api(ui_server, path: Path, **fields: str) -> None:
    """Upload a model file whole, as another client would, with extra form fields."""
    with path.open("rb") as handle:
        ui_server.session().post(
            f"{ui_server.url}/v1/models/upload",
            files={"file": (path.name, handle)},
            data=fields,
            timeout=30,
        ).raise_for_status()


def test_a_failed_import_shows_its_error_and_can_be_retried(
    signed_in_page: Page, ui_server, tmp_path
) -> None:
    page = signed_in_page
    gguf = write_tiny_gguf(tmp_path / "broken.gguf", name="broken")
    upload_through_the_api(ui_server, gguf, name="broken", template="{{ .Unclosed")
    open_models(page)
    row = page.locator("#models-rows tr", has_text="broken")
    expect(row.locator(".badge")).to_have_text("Failed")
    expect(row.locator(".model-error")).to_contain_text("template error")

    page.evaluate(WATCH_BADGES, "broken")
    row.get_by_role("button", name="Retry").click()
    # The row follows the new attempt live, and it fails again for the same reason.
    page.wait_for_function(
        "window.badges.includes('Importing') && window.badges.at(-1) === 'Failed'"
    )
    expect(row.locator(".model-error")).to_contain_text("template error")


def test_deleting_a_model_asks_first(signed_in_page: Page, ui_server, tmp_path) -> None:
    page = signed_in_page
    upload_through_the_api(ui_server, write_tiny_gguf(tmp_path / "doomed.gguf"), name="doomed")
    open_models(page)
    row = page.locator("#models-rows tr", has_text="doomed")
    expect(row.locator(".badge")).to_have_text("Ready")

    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete doomed")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()

    row.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#models-rows tr", has_text="doomed")).to_have_count(0)
    names = [
        model["name"]
        for model in ui_server.session().get(f"{ui_server.url}/v1/models").json()["models"]
    ]
    assert "doomed:latest" not in names
