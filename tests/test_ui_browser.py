"""The web UI: pure rendering checks, and a headless-chromium walk through ask → cite → upload → ask."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from chipqa.app.service import ChipQA
from chipqa.app.web.ui import (
    SourceDoc,
    decorate_answer,
    passage_context,
    render_answer,
    render_sources,
    render_turn_sources,
)
from chipqa.core.models import Answer, Citation, ConflictRecord, FigureRecord

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOC = "Microsoft Leads\n\nDespite competition, Microsoft bought 485,000 Hopper chips. Others bought fewer."
DOC += "\n\nEnd."
EVIL = "<script>alert(1)</script>"


def _citation(n: int = 1, doc_id: str = "d1", text: str = "Microsoft bought 485,000 Hopper chips.") -> Citation:
    start = DOC.index(text) if text in DOC else 0
    return Citation(n, doc_id, "Microsoft Leads", start, start + len(text), text)


def test_passage_context_is_the_enclosing_paragraph() -> None:
    c = _citation()
    before, cited, after = passage_context(DOC, c.start, c.end)
    assert (before, cited, after) == ("Despite competition, ", c.text, " Others bought fewer.")
    long_doc = "x " * 2000 + c.text + " y" * 2000
    start = long_doc.index(c.text)
    before, cited, after = passage_context(long_doc, start, start + len(c.text), limit=200)
    assert cited == c.text and before.startswith("…") and after.endswith("…")
    assert len(before) + len(after) < 200


def test_figures_are_bolded_and_tied_to_their_citation() -> None:
    fig = FigureRecord("230,000", 230000.0, "GPUs", [1])
    html = decorate_answer("Tencent bought 230,000 GPUs [1], not 1,230,000 [2].", [fig], [_citation()], turn=4)
    assert html.count('class="fig"') == 1  # not inside "1,230,000"
    assert '<strong class="fig" data-turn="4" data-n="1"' in html
    assert 'class="cite" data-turn="4" data-n="1"' in html
    assert 'data-n="2"' not in html  # [2] names no citation: plain text, not a dead link


def test_everything_shown_is_escaped() -> None:
    c = Citation(1, "d1", f"Title {EVIL}", 0, len(EVIL), EVIL)
    answer = Answer(
        question=f"Q {EVIL}",
        answer=f"<img src=x onerror=alert(1)> {EVIL} [1]",
        abstained=False,
        grounded=True,
        figures=[FigureRecord("<b>1</b>", 1.0, "<i>", [1])],
        citations=[c],
        notes=[EVIL],
        llm=EVIL,
    )
    docs = {"d1": SourceDoc(EVIL + "\n\n<iframe src=x></iframe>", "<u>2024</u>")}
    shown = render_answer(answer, 1, docs) + render_turn_sources(answer, 1, docs)
    for raw in ("<script", "<img", "<iframe", "<b>1", "<u>", "<i>"):
        assert raw not in shown
    assert "&lt;script&gt;" in shown


def test_conflicts_are_side_by_side_and_abstentions_say_so() -> None:
    c1 = _citation(1, "d1")
    c2 = Citation(2, "d2", "Other", 0, 30, "Microsoft bought 450,000 chips.")
    conflict = Answer(
        question="How many?",
        answer="The sources give different figures: 485,000 [1]; 450,000 [2].",
        abstained=False,
        grounded=True,
        figures=[
            FigureRecord("485,000", 485000.0, "chips", [1]),
            FigureRecord("450,000", 450000.0, "chips", [2]),
        ],
        citations=[c1, c2],
        conflicts=[
            ConflictRecord(
                "q",
                [
                    FigureRecord("485,000", 485000.0, "chips", [1]),
                    FigureRecord("450,000", 450000.0, "chips", [2]),
                ],
            )
        ],
    )
    docs = {"d1": SourceDoc(DOC, "2024-05-01"), "d2": SourceDoc(None)}
    shown = render_answer(conflict, 2, docs)
    assert shown.count('class="qa-conflict-card"') == 2 and "2024-05-01" in shown
    sources = render_turn_sources(conflict, 2, docs)
    assert sources.count('<mark class="cited">') == 2
    assert "no longer in the index" in sources  # d2 was removed after the answer

    related = Citation(1, "d1", "Microsoft Leads", c1.start, c1.end, c1.text)
    abstained = Answer(
        "How many GPUs did Apple buy?",
        "The indexed sources never mention Apple.",
        True,
        True,
        related=[related],
    )
    assert "Not in the corpus" in render_answer(abstained, 3)
    sources = render_turn_sources(abstained, 3, {"d1": SourceDoc(DOC)})
    assert "Not in the corpus" in sources and '<mark class="related">' in sources


def test_only_the_latest_answers_sources_are_visible() -> None:
    panel = render_sources(
        [
            (1, '<div class="src-turn" data-turn="1">a</div>'),
            (2, '<div class="src-turn" data-turn="2">b</div>'),
        ]
    )
    assert 'class="src-turn src-hidden" data-turn="1"' in panel
    assert 'class="src-turn" data-turn="2"' in panel


@pytest.mark.browser
# Gradio's queue trips pandas deprecation warnings that say nothing about chipqa.
@pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_ask_cite_upload_and_ask_again(make_app: Callable[..., ChipQA], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect, sync_playwright

    from chipqa.app.web.ui import start_background

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    app = make_app(corpus_dir=corpus)
    app.ingest()
    upload = tmp_path / "upload" / "zephyr_labs.txt"
    upload.parent.mkdir()
    upload.write_text("Zephyr Labs expands its AI cluster\n\nZephyr Labs bought 12,345 Blackwell GPUs in 2025.\n")
    ARTIFACTS.mkdir(exist_ok=True)
    answer_timeout = 180_000

    running = start_background(app)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(running.url, timeout=120_000)

            def ask(question: str, nth: int) -> None:
                page.locator("#question textarea").fill(question)
                page.locator("#ask").click()
                answers = page.locator("#chat .qa-answer[data-state=final]")
                expect(answers).to_have_count(nth, timeout=answer_timeout)

            ask("How many Hopper GPUs did Microsoft buy?", 1)
            answer = page.locator("#chat .qa-answer[data-state=final]").last
            expect(answer).to_contain_text("485,000")
            expect(answer.locator("strong.fig").first).to_have_text("485,000")
            page.screenshot(path=str(ARTIFACTS / "ui-answer.png"))

            answer.locator(".qa-text button.cite").first.click()
            card = page.locator("#sources .src-card.active")
            expect(card).to_have_count(1)
            expect(card.locator("mark.cited")).to_contain_text("485,000")
            page.screenshot(path=str(ARTIFACTS / "ui-citation.png"))

            page.get_by_role("tab", name="Documents").click()
            expect(page.locator("#documents")).to_contain_text("ByteDance")
            page.locator("#upload input[type=file]").set_input_files(str(upload))
            expect(page.locator("#doc-status")).to_contain_text("zephyr_labs added", timeout=answer_timeout)
            expect(page.locator("#documents")).to_contain_text("Zephyr Labs expands its AI cluster")
            expect(page.locator("#status")).to_contain_text("6 documents")
            page.screenshot(path=str(ARTIFACTS / "ui-upload.png"))
            assert (corpus / "zephyr_labs.txt").read_text() == upload.read_text()

            page.get_by_role("tab", name="Ask").click()
            ask("How many Blackwell GPUs did Zephyr Labs buy?", 2)
            answer = page.locator("#chat .qa-answer[data-state=final]").last
            expect(answer).to_contain_text("12,345")
            answer.locator(".qa-text button.cite").first.click()
            card = page.locator("#sources .src-card.active")
            expect(card.locator("mark.cited")).to_contain_text("12,345")
            expect(card).to_contain_text("zephyr_labs")
            page.screenshot(path=str(ARTIFACTS / "ui-upload-answer.png"))
            browser.close()
    finally:
        running.stop()


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_the_ui_works_behind_basic_auth(seed_app: ChipQA) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect, sync_playwright

    from chipqa.app.web.ui import start_background

    app = ChipQA(
        seed_app.settings.model_copy(update={"ui_auth": "analyst:c0rrect-horse"}),
        store=seed_app.store,
        embed_model=seed_app.embed_model,
        retriever=seed_app.retriever,
    )
    running = start_background(app)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            assert browser.new_context().request.get(running.url).status == 401
            page = browser.new_context(http_credentials={"username": "analyst", "password": "c0rrect-horse"}).new_page()
            page.goto(running.url, timeout=120_000)
            # The UI's own calls (queue, streaming) must carry the credentials too.
            page.get_by_role("button", name="What share of AI hardware spending did Nvidia capture in 2024?").click()
            answer = page.locator("#chat .qa-answer[data-state=final]")
            expect(answer).to_contain_text("43%", timeout=180_000)
            browser.close()
    finally:
        running.stop()
