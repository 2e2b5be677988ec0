"""The web UI in headless Chromium, as a person uses it: a conversation, the queue, Stop, the first-use build,
the phone layout, the documents tab (nothing a user did not ask to delete is deleted), and basic auth.

Screenshots land in docs/screenshots/ (named in the README)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import CHROMIUM_ARGS, ROOT, chromium_path, screenshot, slow_generator
from chipqa.app.service import ChipQA
from chipqa.app.web.server import RunningServer, start_background

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue trips pandas deprecation warnings that say nothing about chipqa.
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
ANSWER_MS = 120_000
FINAL = "#chat .qa-answer[data-state=final]"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def serve() -> Iterator[Callable[[ChipQA], RunningServer]]:
    running: list[RunningServer] = []

    def start(app: ChipQA) -> RunningServer:
        running.append(start_background(app))
        return running[-1]

    yield start
    for server in running:
        server.stop()


def _shared(seed_app: ChipQA, **kwargs: Any) -> ChipQA:
    """A ChipQA over the session's seed index (no second build), with other settings or LLMs."""
    llms = kwargs.pop("llms", None)
    return ChipQA(
        seed_app.settings.model_copy(update=kwargs),
        store=seed_app.store,
        embed_model=seed_app.embed_model,
        retriever=seed_app.retriever,
        llms=llms,
    )


def _open(chromium: Any, url: str, viewport: dict[str, int], **context: Any) -> Any:
    page = chromium.new_context(viewport=viewport, **context).new_page()
    page.goto(url, timeout=60_000)
    page.locator("#question textarea").wait_for()
    return page


def _ask(page: Any, question: str, finals: int) -> Any:
    from playwright.sync_api import expect

    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    expect(page.locator(FINAL)).to_have_count(finals, timeout=ANSWER_MS)
    return page.locator(FINAL).last


def test_a_follow_up_is_resolved_shown_and_cited(chromium: Any, seed_app: ChipQA, serve: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    running = serve(seed_app)
    page = _open(chromium, running.url, DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    expect(page.locator("#status")).to_contain_text("5 documents")
    screenshot(page, "desktop-start.png")
    first = _ask(page, "How many GPUs did Meta buy in 2024?", 1)
    expect(first.locator("strong.fig").first).to_have_text("224,000")
    assert first.locator(".qa-resolved").count() == 0  # nothing to resolve in a first question
    follow = _ask(page, "And Amazon?", 2)
    expect(follow.locator(".qa-resolved")).to_contain_text("Answering: How many GPUs did Amazon buy in 2024?")
    expect(follow.locator("strong.fig").first).to_have_text("196,000")
    expect(follow.locator(".qa-meta")).to_contain_text("every figure checked against its source")

    follow.locator(".qa-text button.cite").first.click()
    card = page.locator("#sources .src-card.active")
    expect(card).to_have_count(1)
    expect(card.locator(".src-title")).to_contain_text("AI Race Heats Up")
    expect(card.locator(".src-pub")).to_have_text("The Daily Guardian")
    expect(card.locator(".src-file")).to_have_text("000_be9f344685327539.txt")
    offsets = re.compile(r"document 000_be9f344685327539, characters \d+–\d+")
    expect(card.locator(".src-meta")).to_have_attribute("title", offsets)
    expect(card.locator("mark.cited")).to_contain_text("196,000")
    screenshot(page, "desktop-follow-up.png")

    follow.locator("button.qa-copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("196,000 units [1]: “Meta acquired 224,000, Amazon 196,000")  # [n] kept as text
    assert "The Daily Guardian" in copied and "000_be9f344685327539.txt" in copied and "196,000" in copied

    with page.context.expect_page() as opened:
        card.locator("a.src-open").click()
    whole = opened.value
    whole.wait_for_load_state()
    expect(whole.locator("mark#cited")).to_contain_text("Amazon 196,000")
    assert len(whole.locator("pre").inner_text()) > 3000  # the whole document, not the passage


def test_questions_sent_while_answering_wait_and_typed_text_survives(
    chromium: Any, seed_app: ChipQA, serve: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    generator, llm = slow_generator(words=14, delay_s=0.25)
    running = serve(_shared(seed_app, llm="local", llms={"local": generator}))
    page = _open(chromium, running.url, DESKTOP)
    box = page.locator("#question textarea")
    box.fill("How many GPUs did Meta buy in 2024?")
    box.press("Enter")
    expect(page.locator("#chat .qa-answer[data-state=pending] .qa-text")).to_contain_text("word", timeout=ANSWER_MS)
    expect(page.locator("#stop")).to_be_visible()
    box.fill("How many GPUs did Google buy in 2024?")
    box.press("Enter")  # sent while the first one streams: queued, not dropped
    expect(page.locator("#queued-list")).to_contain_text("Queued: How many GPUs did Google buy in 2024?")
    box.fill("a question I am still writing")
    screenshot(page, "desktop-queued.png")
    expect(page.locator(FINAL)).to_have_count(2, timeout=ANSWER_MS)
    expect(page.locator(FINAL).last).to_contain_text("169,000")
    assert box.input_value() == "a question I am still writing"
    expect(page.locator("#queued-list")).to_be_empty()
    expect(page.locator("#stop")).to_be_hidden()


def test_stop_ends_generation(chromium: Any, seed_app: ChipQA, serve: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    generator, llm = slow_generator(words=60, delay_s=0.3)
    running = serve(_shared(seed_app, llm="local", llms={"local": generator}))
    page = _open(chromium, running.url, DESKTOP)
    page.locator("#question textarea").fill("How many GPUs did Meta buy in 2024?")
    page.locator("#question textarea").press("Enter")
    expect(page.locator("#chat .qa-answer[data-state=pending] .qa-text")).to_contain_text("word", timeout=ANSWER_MS)
    page.locator("#stop").click()
    expect(page.locator("#chat .qa-answer[data-state=stopped]")).to_have_count(1, timeout=5_000)
    expect(page.locator("#chat .qa-answer[data-state=stopped]")).to_contain_text("Stopped before the answer")
    sent = llm.sent
    page.wait_for_timeout(1500)
    assert llm.sent <= sent + 1 < len(llm.words), "generation goes on after Stop"
    # The next question is answered as usual.
    llm.words = ["Meta ", "bought "]
    _ask(page, "How many GPUs did Amazon buy in 2024?", 1)
    expect(page.locator(FINAL).last).to_contain_text("196,000")


def test_first_use_build_shows_in_the_reply_and_the_header_follows(
    chromium: Any, make_app: Callable[..., ChipQA], tmp_path: Path, serve: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    for i in range(60):  # enough text that the build outlasts opening the page
        paragraphs = [f"Company{chr(65 + i % 26)}{i} bought {1000 + i * 7:,} accelerators in 20{10 + i % 15}." * 6]
        (corpus / f"extra_{i:02d}.txt").write_text(f"Extra article {i}\n\n" + "\n\n".join(paragraphs * 12))
    app = make_app(corpus_dir=corpus)
    running = serve(app)
    page = _open(chromium, running.url, DESKTOP)
    expect(page.locator("#status")).to_contain_text("building the index", timeout=30_000)
    page.locator("#question textarea").fill("How many GPUs did Meta buy in 2024?")
    page.locator("#question textarea").press("Enter")
    expect(page.locator("#chat .qa-answer[data-state=building]")).to_contain_text("Building the index")
    screenshot(page, "desktop-first-use-build.png")
    answer = page.locator(FINAL)
    expect(answer).to_have_count(1, timeout=ANSWER_MS * 3)
    expect(answer.locator(".qa-meta")).to_contain_text("building the index on first use")
    expect(page.locator("#status")).to_contain_text("65 documents", timeout=10_000)  # no reload needed
    expect(page.locator("#status")).not_to_contain_text("no documents")


def test_phone_layout(chromium: Any, seed_app: ChipQA, serve: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    running = serve(seed_app)
    page = _open(chromium, running.url, PHONE, is_mobile=True, has_touch=True)
    box = page.locator("#question textarea").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], "the input is below the fold"
    screenshot(page, "phone-start.png")
    answer = _ask(page, "How many GPUs did Amazon buy in 2024?", 1)
    answer.locator(".qa-text button.cite").first.tap()
    inline = answer.locator(".qa-inline .src-card")
    expect(inline).to_be_visible()
    expect(inline.locator("mark.cited")).to_contain_text("196,000")
    expect(inline.locator(".src-title")).to_be_in_viewport()  # scrolled to, not ~555 px away
    page.wait_for_timeout(1000)  # the page's own follow-up scrolls and the card's layout settle
    expect(inline.locator(".src-title")).to_be_in_viewport()
    text_box, card_box = answer.locator(".qa-text").bounding_box(), inline.bounding_box()
    assert text_box is not None and card_box is not None
    assert 0 <= card_box["y"] - (text_box["y"] + text_box["height"]) < 200, "the passage is not under its answer"
    screenshot(page, "phone-answer-source.png")

    page.get_by_role("tab", name="Documents").tap()
    cell = page.locator("#documents td[data-label=Chunks]").first
    expect(cell).to_be_visible()
    cell_box = cell.bounding_box()
    assert cell_box is not None and cell_box["width"] > 3 * cell_box["height"], "the table is squeezed"
    title = page.locator("#documents td[data-label=Title]").first.bounding_box()
    assert title is not None and title["width"] > 250
    screenshot(page, "phone-documents.png")


def test_removing_a_seed_deletes_no_file(
    chromium: Any, make_app: Callable[..., ChipQA], tmp_path: Path, serve: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    app = make_app(corpus_dir=corpus)
    app.ingest()
    upload = tmp_path / "incoming" / "zephyr_labs.txt"
    upload.parent.mkdir()
    upload.write_text("Zephyr Labs expands its AI cluster\n\nZephyr Labs bought 12,345 Blackwell GPUs in 2025.\n")
    running = serve(app)
    page = _open(chromium, running.url, DESKTOP)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#doc-status")).to_contain_text("zephyr_labs added", timeout=ANSWER_MS)
    expect(page.locator("#status")).to_contain_text("6 documents")  # the header follows an ingest
    assert (app.settings.uploads_dir / "zephyr_labs.txt").read_text() == upload.read_text()
    assert not (corpus / "zephyr_labs.txt").exists()

    seed = "000_be9f344685327539"
    page.locator("#doc-choice input").click()
    page.locator("#doc-choice input").fill(seed)
    page.get_by_role("option").filter(has_text=seed).click()
    expect(page.locator("#delete")).to_be_disabled()  # a seed's file is the user's: never offered for deletion
    page.locator("#remove").click()
    expect(page.locator("#confirm-text")).to_contain_text("AI Race Heats Up")
    expect(page.locator("#confirm-text")).to_contain_text("stays where it is")
    assert app.store.document(seed) is not None, "removed before the confirmation"
    screenshot(page, "desktop-remove-confirm.png")
    page.locator("#confirm-remove").click()
    expect(page.locator("#doc-status")).to_contain_text("is untouched")
    expect(page.locator("#status")).to_contain_text("5 documents")
    assert app.store.document(seed) is None
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before, "a file in the corpus folder changed"

    page.locator("#doc-choice input").fill("zephyr")
    page.get_by_role("option").filter(has_text="zephyr_labs").click()
    page.locator("#delete").click()
    expect(page.locator("#confirm-text")).to_contain_text("zephyr_labs.txt")
    page.locator("#confirm-delete").click()
    expect(page.locator("#doc-status")).to_contain_text("Deleted the uploaded file zephyr_labs.txt")
    assert not (app.settings.uploads_dir / "zephyr_labs.txt").exists()
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    assert app.ingest().added == [seed]  # the removed seed comes back with `chipqa ingest`


def test_api_docs_work_offline(chromium: Any, seed_app: ChipQA, serve: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    running = serve(seed_app)
    context = chromium.new_context(viewport=DESKTOP)
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(running.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.goto(f"{running.url}/api/docs")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible(timeout=30_000)
    expect(page.locator(".swagger-ui")).to_contain_text("/api/ask")
    assert outside == [], f"the docs page fetched {outside}"


def test_the_ui_works_behind_basic_auth(chromium: Any, seed_app: ChipQA, serve: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    running = serve(_shared(seed_app, ui_auth="analyst:c0rrect-horse"))
    assert chromium.new_context().request.get(running.url).status == 401
    page = _open(chromium, running.url, DESKTOP, http_credentials={"username": "analyst", "password": "c0rrect-horse"})
    # The UI's own calls (queue, streaming) must carry the credentials too.
    page.get_by_role("button", name="What share of AI hardware spending did Nvidia capture in 2024?").click()
    expect(page.locator(FINAL)).to_contain_text("43%", timeout=ANSWER_MS)
