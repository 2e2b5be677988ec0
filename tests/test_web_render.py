"""The web UI's pure rendering: answer bubbles, source cards, the documents table, the document page."""

from __future__ import annotations

from chipqa.app.web.render import SourceDoc, Timing, copy_text, decorate_answer, meta_line, render_answer
from chipqa.app.web.sources import (
    document_page,
    documents_table,
    format_status,
    passage_context,
    render_sources,
    render_turn_sources,
    source_card,
)
from chipqa.core.models import Answer, Citation, ConflictRecord, FigureRecord

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


def _answer(**kw: object) -> Answer:
    c = _citation()
    base: dict[str, object] = {
        "question": "How many?",
        "answer": "Microsoft bought 485,000 Hopper chips [1].",
        "abstained": False,
        "grounded": True,
        "figures": [FigureRecord("485,000", 485000.0, "chips", [1])],
        "citations": [c],
    }
    base.update(kw)
    return Answer(**base)  # type: ignore[arg-type]


def test_figures_checked_is_said_only_where_figures_are_shown() -> None:
    assert "every figure checked" in meta_line(_answer())
    assert "every figure checked" not in meta_line(_answer(answer="Microsoft leads [1].", figures=[]))
    assert "every figure checked" not in meta_line(_answer(abstained=True, figures=[]))


def test_the_footer_counts_the_wait_and_names_an_index_build() -> None:
    shown = meta_line(_answer(timings_ms={"total": 707.0}), Timing(7800.0, 7100.0))
    assert "7.8 s (of which 7.1 s building the index on first use)" in shown and "707 ms" not in shown
    assert "707 ms" in meta_line(_answer(timings_ms={"total": 707.0}))


def test_a_resolved_follow_up_shows_what_was_answered() -> None:
    plain = render_answer(_answer(), 1)
    assert "Answering:" not in plain
    resolved = render_answer(_answer(question="And Meta?", resolved_question="How many GPUs did Meta buy?"), 2)
    assert "Answering: <q>How many GPUs did Meta buy?</q>" in resolved
    assert 'class="qa-edit" data-q="How many GPUs did Meta buy?"' in resolved
    assert 'class="qa-again" data-q="How many GPUs did Meta buy?"' in resolved


def test_copy_gives_the_answer_with_its_sources_as_text() -> None:
    docs = {"d1": SourceDoc(DOC, "2024-05-01", "The Orbis Ledger", "d1.txt")}
    text = copy_text(_answer(), docs)
    assert text.startswith("Microsoft bought 485,000 Hopper chips [1].\n\n[1] Microsoft Leads")
    assert "(The Orbis Ledger, 2024-05-01, d1.txt)" in text and "“Microsoft bought 485,000 Hopper chips.”" in text
    bubble = render_answer(_answer(), 1, docs)
    assert "\n" not in bubble  # one line of HTML: the chatbot's markdown must leave it alone
    assert 'class="qa-copy" data-copy="Microsoft bought 485,000 Hopper chips [1].&#10;&#10;[1]' in bubble


def test_a_source_card_names_title_publication_date_and_file_with_offsets_in_a_tooltip() -> None:
    c = _citation()
    card = source_card(c, 3, SourceDoc(DOC, "2024-05-01", "The Orbis Ledger", "d1.txt"), ["485,000"])
    assert '<span class="src-title">Microsoft Leads</span>' in card
    assert '<span class="src-pub">The Orbis Ledger</span>' in card and "2024-05-01" in card and "d1.txt" in card
    assert f'title="document d1, characters {c.start}–{c.end}"' in card
    assert f"chars {c.start}" not in card.replace('title="document d1', "")
    assert f'href="documents/d1?start={c.start}&amp;end={c.end}#cited"' in card
    unknown = source_card(c, 3, SourceDoc(DOC), [])
    assert "date not stated" in unknown and ">d1<" in unknown  # no file name known: the document id
    published = Citation(1, "d1", "T", c.start, c.end, c.text, source="d1.md", published="2023-07-01")
    assert "2023-07-01" in source_card(published, 1, SourceDoc(DOC), []) and "d1.md" in source_card(
        published, 1, SourceDoc(DOC), []
    )


def test_the_documents_table_labels_every_cell_and_escapes() -> None:
    docs = [
        {
            "doc_id": "b",
            "title": "Beta " + EVIL,
            "publisher": None,
            "date": None,
            "chunks": 2,
            "file": "b.md",
            "origin": "upload",
        },
        {
            "doc_id": "a",
            "title": "Alpha",
            "publisher": "The Orbis Ledger",
            "date": "2031-04-05",
            "chunks": 12,
            "file": "a.txt",
            "origin": "corpus",
        },
    ]
    table = documents_table(docs)
    assert "<script" not in table and table.index("Alpha") < table.index("Beta")
    assert table.count('data-label="Chunks"') == 2 and "uploaded" in table and "corpus folder" in table
    assert "2 documents" in table
    assert "no documents" in documents_table([])


def test_the_document_page_highlights_the_span_and_escapes() -> None:
    text = DOC + "\n\n" + EVIL
    start = text.index("Microsoft bought")
    page = document_page({"doc_id": "d1", "title": "Microsoft " + EVIL, "file": "d1.txt"}, text, start, start + 16)
    assert '<mark id="cited">Microsoft bought</mark>' in page and "<script>alert" not in page
    assert "<mark" not in document_page({"doc_id": "d1"}, text, 5, 10_000)  # a span outside the text


def test_the_header_says_when_the_index_is_being_built() -> None:
    building = {"index": {"documents": 0, "chunks": 0}, "problems": ["building the index from seeds: 3 of 9"]}
    assert format_status(building).startswith(
        "**Starting:** building the index"
    ) and "0** documents" not in format_status(building)
    ready = {"index": {"documents": 5, "chunks": 118}, "models": {"llm": "none"}, "problems": []}
    assert format_status(ready).startswith("**5** documents · **118** chunks")
