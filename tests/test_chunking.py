"""Tests for chipqa.ingest.chunking: sentence splitting and chunks that are exact spans of the stored text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipqa.core.models import Document
from chipqa.ingest.chunking import chunk_document, split_sentences
from chipqa.ingest.cleaning import content_spans
from chipqa.ingest.loading import load_document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def sentences(text: str, start: int = 0, end: int | None = None) -> list[str]:
    """The sentences of text[start:end], checking that every span is exact, trimmed and in range."""
    spans = split_sentences(text, start, end)
    stop = len(text) if end is None else end
    previous = start
    for s, e in spans:
        assert previous <= s < e <= stop
        assert text[s:e] == text[s:e].strip()
        previous = e
    return [text[s:e] for s, e in spans]


def make_doc(text: str) -> Document:
    return Document(doc_id="doc", text=text, title="t", source="mem", content_spans=content_spans(text))


def test_us_abbreviation_does_not_end_a_sentence() -> None:
    text = (
        "But wait, there's a catch. Recently, U.S. export restrictions have made it trickier for Chinese "
        "companies. Furthermore, rumors suggest the orders may not clear."
    )
    assert sentences(text) == [
        "But wait, there's a catch.",
        "Recently, U.S. export restrictions have made it trickier for Chinese companies.",
        "Furthermore, rumors suggest the orders may not clear.",
    ]


def test_splits_at_sentence_ends() -> None:
    text = "Nvidia sold 10,000 GPUs. AMD sold 5,000! Did Intel sell any? 2024 was a record year."
    assert sentences(text) == [
        "Nvidia sold 10,000 GPUs.",
        "AMD sold 5,000!",
        "Did Intel sell any?",
        "2024 was a record year.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The restrictions cost Nvidia $5.5 billion in revenue this year.",
        "Chips such as the H20, e.g. the ones sold to Tencent, are in demand.",
        "Nvidia Corp. said demand was strong in the quarter.",
        "Exports from the U.S. fell while U.K. buyers waited.",
    ],
)
def test_decimals_and_abbreviations_stay_in_one_sentence(text: str) -> None:
    assert sentences(text) == [text]


def test_sentence_end_after_closing_quote() -> None:
    text = 'ByteDance called the allegations "untrue." Still, it bought chips.'
    assert sentences(text) == ['ByteDance called the allegations "untrue."', "Still, it bought chips."]


def test_offsets_are_exact_within_a_window() -> None:
    text = "Header line\n  Microsoft bought 485,000 chips.  Meta bought 224,000.  \nFooter"
    start, end = text.index("  Microsoft"), text.index("\nFooter")
    spans = split_sentences(text, start, end)
    assert [text[s:e] for s, e in spans] == ["Microsoft bought 485,000 chips.", "Meta bought 224,000."]
    assert spans[0][0] == text.index("Microsoft")
    assert spans[1][1] == text.index("224,000.") + len("224,000.")


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("   \n\t ") == []


def test_chunks_group_sentences_of_one_line_up_to_max_chars() -> None:
    line = "One short sentence. Two short sentence. Three short sentence."
    doc = make_doc(f"{line}\nA second line.")
    chunks = chunk_document(doc, max_chars=40)
    assert [c.text for c in chunks] == [
        "One short sentence. Two short sentence.",
        "Three short sentence.",
        "A second line.",
    ]
    assert [c.chunk_id for c in chunks] == ["doc#00000", "doc#00001", "doc#00002"]


def test_max_chars_one_gives_one_sentence_per_chunk() -> None:
    doc = make_doc("Nvidia sold 10,000 GPUs. AMD sold 5,000. Intel sold none.")
    assert [c.text for c in chunk_document(doc, max_chars=1)] == [
        "Nvidia sold 10,000 GPUs.",
        "AMD sold 5,000.",
        "Intel sold none.",
    ]


def test_boilerplate_outside_content_spans_is_never_chunked() -> None:
    doc = make_doc("Microsoft bought 485,000 chips.\n\nComments are closed.\n\nRecent Posts\n\nSEC Sues Musk")
    assert [c.text for c in chunk_document(doc)] == ["Microsoft bought 485,000 chips."]


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.stem[:3])
def test_seed_chunks_are_exact_spans_of_the_file(path: Path) -> None:
    doc = load_document(path, max_bytes=10**7)
    assert doc.text == path.read_text(encoding="utf-8")
    chunks = chunk_document(doc)
    assert chunks
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.doc_id == path.stem
        assert c.text == doc.text[c.start : c.end]
        assert any(s <= c.start and c.end <= e for s, e in doc.content_spans)


_PIECES = st.sampled_from(
    [
        "Nvidia",
        "bought",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        ".",
        ". ",
        "! ",
        "? ",
        "U.S. ",
        "e.g. ",
        "Inc. ",
        "$5.5",
        "485,000",
        "”",
        '"',
        "’",
        "(",
        ")",
        "- ",
        "* ",
        "# ",
        "Recent Posts\n",
        "5 minutes ago\n",
        "Comments are closed.",
        "| a | b |\n|---|---|\n",
        "\u2028",
        "\x0c",
        "é",
    ]
)


@given(
    text=st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=60).map("".join),
    max_chars=st.integers(min_value=1, max_value=120),
)
@settings(max_examples=300, deadline=None)
def test_chunks_are_exact_disjoint_spans_within_content(text: str, max_chars: int) -> None:
    doc = make_doc(text)
    chunks = chunk_document(doc, max_chars=max_chars)
    previous_end = 0
    covered: set[int] = set()
    for i, c in enumerate(chunks):
        assert c.index == i
        assert c.text == doc.text[c.start : c.end] == c.text.strip() != ""
        assert previous_end <= c.start < c.end
        assert any(s <= c.start and c.end <= e for s, e in doc.content_spans)
        covered.update(range(c.start, c.end))
        previous_end = c.end
    # Nothing of the article is lost between chunks: every visible character of a content span is in one.
    for s, e in doc.content_spans:
        assert all(k in covered for k in range(s, e) if not text[k].isspace())
