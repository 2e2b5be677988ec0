"""Tests for chipqa.ingest.cleaning: which lines of a page are the article, and the title and date read from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipqa.ingest.cleaning import (
    clean_inline,
    content_spans,
    find_date,
    find_publisher,
    guess_title,
    iter_lines,
    parse_date,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARTICLE_LINES = ["Nvidia shipped 10,000 H100 GPUs to Microsoft in 2024.", "The order was worth $400 million."]
ARTICLE = "\n\n".join(ARTICLE_LINES)


def kept(text: str) -> list[str]:
    """The text of every line content_spans keeps, checking that each span is the exact stripped line."""
    spans = content_spans(text)
    for s, e in spans:
        assert text[s:e] == text[s:e].strip() != ""
    return [text[s:e] for s, e in spans]


def seed_text(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def test_spans_are_exact_offsets_of_stripped_lines() -> None:
    text = "  Headline of the story here  \n\n\tFirst paragraph, indented.\n   \nLast line"
    starts = [text.index(w) for w in ("Headline", "First", "Last")]
    ends = [starts[0] + 26, starts[1] + 26, len(text)]
    assert list(iter_lines(text)) == list(zip(starts, ends, strict=True))
    assert kept(text) == ["Headline of the story here", "First paragraph, indented.", "Last line"]


@pytest.mark.parametrize(
    "heading",
    [
        "Recent Posts",
        "Related Articles:",
        "More Stories",
        "You may also like",
        "Read more",
        "Most Read",
        "Trending",
        "Latest News",
        "Also read",
    ],
)
def test_trailer_heading_drops_it_and_everything_after(heading: str) -> None:
    text = f"{ARTICLE}\n\n{heading}\n\nSEC Sues Musk for Hiding Twitter Stakes\n\nAnother story."
    assert kept(text) == ARTICLE_LINES


def test_trailer_words_inside_a_sentence_do_not_end_the_article() -> None:
    text = "Recent posts on the forum say Nvidia sold 5,000 chips.\nMore stories will follow, the firm said."
    assert kept(text) == text.splitlines()


@pytest.mark.parametrize(
    "line",
    [
        "5 minutes ago",
        "1 minute ago",
        "2 hours ago",
        "13 days ago",
        "Comments are closed.",
        "Comments are closed",
        "Leave a reply",
        "3 Comments",
        "Advertisement",
        "Share this article",
        "© 2025 The Daily Guardian",
        "https://example.com/story?id=4",
    ],
)
def test_noise_lines_are_dropped(line: str) -> None:
    text = f"Nvidia shipped 10,000 GPUs.\n\n{line}\n\nThe order was worth $400 million."
    assert kept(text) == ["Nvidia shipped 10,000 GPUs.", "The order was worth $400 million."]


def test_noise_words_within_article_sentences_are_kept() -> None:
    lines = [
        "5 minutes ago, Nvidia confirmed the order of 20,000 chips.",
        "Comments are closed on the call, but Nvidia said 43% of sales came from China.",
        "Readers can share this figure: 230,000 Hopper GPUs.",
    ]
    assert kept("\n".join(lines)) == lines


def test_author_bio_pair_is_dropped() -> None:
    text = (
        f"{ARTICLE}\n\nNisha Srivastava\n\nNisha Srivastava is an influential blog writer and content editor "
        "associated with The Daily Guardian, with over 10 years of experience in writing."
    )
    assert kept(text) == ARTICLE_LINES


@pytest.mark.parametrize(
    "pair",
    [
        # A name line followed by news about that person is article text, not a bio.
        "Jensen Huang\nJensen Huang said Nvidia will ship 10,000 GPUs to Saudi Arabia.",
        # A bio-like paragraph about someone other than the name line above it.
        "Microsoft Leads The Market\nAnalysts, including one reporter, counted 485,000 Hopper chips.",
    ],
)
def test_name_line_without_its_own_bio_is_kept(pair: str) -> None:
    assert kept(pair) == pair.splitlines()


@pytest.mark.parametrize(
    "line",
    [
        "__[External link](https://www.tomshardware.com/news/x?utm_source=substack)__",
        "[Read the report](https://x.y/z)",
        "_[Source](http://a.b)_",
    ],
)
def test_markdown_link_only_lines_are_dropped(line: str) -> None:
    assert kept(f"Intro of the story.\n\n{line}\n\nNext line.") == ["Intro of the story.", "Next line."]


def test_markdown_link_inside_a_sentence_is_kept() -> None:
    line = "ByteDance ordered [$1 billion](https://example.com) of Nvidia GPUs in 2023."
    assert kept(line) == [line]


@pytest.mark.parametrize("rule", ["|:---|---:|", "|---|---|", "| --- | :---: |", "|:----------|---------:|"])
def test_markdown_table_rule_lines_are_dropped_and_rows_kept(rule: str) -> None:
    text = f"| name | share |\n{rule}\n| Nvidia | 43% |"
    assert kept(text) == ["| name | share |", "| Nvidia | 43% |"]


def test_seed_000_keeps_the_article_and_drops_bio_and_recent_posts() -> None:
    lines = kept(seed_text("000"))
    joined = "\n".join(lines)
    assert (
        "Despite strong competition, Microsoft remained the leader in AI hardware, purchasing an impressive "
        "485,000 Hopper chips." in joined
    )
    assert lines[-1].startswith("While Microsoft continues to dominate")
    for boilerplate in (
        "Nisha Srivastava",
        "Recent Posts",
        "SEC Sues Musk",
        "Skydives From 13,000 Feet",
        "77th Army Day",
        "minutes ago",
        "minute ago",
    ):
        assert boilerplate not in joined


def test_seed_004_drops_the_comments_notice() -> None:
    lines = kept(seed_text("004"))
    assert "Comments are closed." not in lines
    assert lines[-1].startswith("This substantial financial commitment is crucial for ByteDance")
    assert len(lines) == 4


def test_seed_003_drops_link_and_table_rule_lines_but_keeps_table_rows() -> None:
    lines = kept(seed_text("003"))
    assert not any(line.startswith("__[External link]") for line in lines)
    assert not any(set(line) <= set("|:- ") for line in lines)
    assert any(line.startswith("| Export Control Risks") for line in lines)


def test_guess_title_skips_a_section_label() -> None:
    text = "Business\n\nAI Race Heats Up: Tencent and ByteDance Buy GPUs\n\nThe body starts here."
    assert guess_title(text, content_spans(text)) == "AI Race Heats Up: Tencent and ByteDance Buy GPUs"


def test_guess_title_strips_markdown_and_source_note() -> None:
    text = seed_text("003")
    assert guess_title(text, content_spans(text)) == (
        "ByteDance and Other Chinese Tech Giants Invest Heavily in Nvidia's HPC Products"
    )


def test_guess_title_of_a_long_lead_is_its_first_sentence_clipped() -> None:
    lead = "ByteDance plans to spend heavily on chips this year, people said " * 4 + ". Second sentence."
    title = guess_title(lead, content_spans(lead))
    assert len(title) <= 120
    assert title.endswith("…")
    assert lead.startswith(title[:-1])


def test_guess_title_of_empty_spans_is_empty() -> None:
    assert guess_title("", ()) == ""


def test_clean_inline_removes_decoration_and_link_targets() -> None:
    assert clean_inline("## __Big **news**__ on [Nvidia](https://n.com) `H20`") == "Big news on Nvidia H20"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("# Title, (from page [20230701](https://kghosh.substack.com/p/20230701).)", "2023-07-01"),
        ("Published: March 5, 2024\n\nBody.", "2024-03-05"),
        ("Updated 2024-11-02 by staff", "2024-11-02"),
        ("Posted on January 15, 2025", "2025-01-15"),
        ("No date here, only 2024 as a year.", None),
        ("from page [20231399](x)", None),
    ],
)
def test_find_date(text: str, date: str | None) -> None:
    assert find_date(text) == date


def test_seed_003_date() -> None:
    assert find_date(seed_text("003")) == "2023-07-01"


@pytest.mark.parametrize(
    ("text", "date", "publisher"),
    [
        (
            "SEOUL, June 12, 2025 (Orbis Wire) - Quintara said on Thursday it would buy 4,000 chips.",
            "2025-06-12",
            "Orbis Wire",
        ),
        (
            "LISBON, Portugal, 3 March 2031 /Kestrel Newswire/ -- Velomar today announced",
            "2031-03-03",
            "Kestrel Newswire",
        ),
        (
            "Velomar orders more chips\n\nBy Ana Souza | The Harbour Ledger | June 3, 2029\n\nVelomar said.",
            "2029-06-03",
            "The Harbour Ledger",
        ),
        ("Velomar orders more chips\n\nBy Ana Souza, Senior Correspondent\n\nVelomar said.", None, None),
        (
            "Velomar orders more chips\n\nBy Ana Souza for Orbis Daily\n\nPublished: 12 June 2030\n\nText.",
            "2030-06-12",
            "Orbis Daily",
        ),
        ("Quintara doubles down\n\nLast updated 15 December 2025\n\nQuintara bought 9,000 units.", "2025-12-15", None),
        ("Quintara doubles down\n\nUpdated: 2026-01-02\n\nPublished on Jan. 5th, 2025\n\nBody.", "2025-01-05", None),
        ("Quintara doubles down\n\nThursday, June 12, 2025\n\nBody text here.", "2025-06-12", None),
        (
            "Quintara doubles down\n\nBody.\n\n© 2031 Halcyon Media Group. All rights reserved.",
            None,
            "Halcyon Media Group",
        ),
        ("Body.\n\nPublisher: The Kestrel Review", None, "The Kestrel Review"),
        (
            "Mira Lind\n\nMira Lind is a technology writer at The Orbis Ledger, covering chips.",
            None,
            "The Orbis Ledger",
        ),
        ("Velomar said revenue rose in 2031 and that June 12 was a record day.", None, None),
        ("SEOUL, June 31, 2025 (Orbis Wire) - an impossible date", None, "Orbis Wire"),
    ],
)
def test_dates_and_publishers_from_page_conventions(text: str, date: str | None, publisher: str | None) -> None:
    spans = content_spans(text)
    assert find_date(text, spans) == date
    assert find_publisher(text, spans) == publisher


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("June 12, 2025", "2025-06-12"),
        ("12 June 2025", "2025-06-12"),
        ("Sept. 3rd, 2030", "2030-09-03"),
        ("2031-04-05T09:30:00+09:00", "2031-04-05"),
        ("20230701", "2023-07-01"),
        ("February 30, 2025", None),
        ("June 2025", None),
        ("1850-01-01", None),
    ],
)
def test_parse_date(raw: str, iso: str | None) -> None:
    assert parse_date(raw) == iso


def test_html_meta_tags_give_date_and_site_name(tmp_path: Path) -> None:
    from chipqa.ingest.loading import load_document

    page = tmp_path / "velomar.html"
    page.write_text(
        "<html><head><title>Velomar buys chips</title>"
        '<meta property="og:site_name" content="The Orbis Ledger">'
        '<meta property="article:published_time" content="2031-04-05T09:30:00+09:00">'
        '<meta property="article:modified_time" content="2031-05-01T10:00:00Z">'
        "</head><body><article><h1>Velomar buys chips</h1><p>Velomar bought 4,000 ZX-900 chips.</p>"
        "</article></body></html>"
    )
    doc = load_document(page, 10**6)
    assert (doc.date, doc.publisher) == ("2031-04-05", "The Orbis Ledger")
    page.write_text(
        '<html><body><p>Quintara shipped 12 units.</p><time datetime="2030-02-03">Feb 3</time></body></html>'
    )
    doc = load_document(page, 10**6)
    assert (doc.date, doc.publisher) == ("2030-02-03", None)


def test_every_seed_that_states_a_date_or_publisher_gets_it() -> None:
    """Only 003 states a date (its page id); 000 names its publication in the author bio, 003 its page's host.
    The others state neither (000's "9 minutes ago" lines are relative, in a trailer)."""
    found = {}
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text()
        spans = content_spans(text)
        found[path.name[:3]] = (find_date(text, spans), find_publisher(text, spans))
    assert found == {
        "000": (None, "The Daily Guardian"),
        "001": (None, None),
        "002": (None, None),
        "003": ("2023-07-01", "kghosh.substack.com"),
        "004": (None, None),
    }


_PIECES = st.sampled_from(
    [
        "Nvidia",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        " \n",
        ".",
        "U.S.",
        "Recent Posts",
        "5 minutes ago",
        "|---|",
        "Comments are closed.",
        "Jane Doe",
        "Jane Doe is a writer.",
        "[x](http://y)",
        "485,000",
        "€",
        "\u2028",
        "\r",
    ]
)


@given(st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=40).map("".join))
@settings(max_examples=300, deadline=None)
def test_content_spans_are_ordered_disjoint_single_lines(text: str) -> None:
    previous_end = 0
    for s, e in content_spans(text):
        assert previous_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        assert len(text[s:e].splitlines()) == 1
        previous_end = e
