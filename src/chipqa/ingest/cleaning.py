"""Find the article inside a page's text: content spans, title and date, by general rules.

Boilerplate is excluded from indexing, not cut from the stored text, so citation offsets always point
into the text exactly as stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A heading that starts a page's trailing list of unrelated links; everything after it is not the article.
_TRAILER_HEADING = re.compile(
    r"^(recent|related|popular|latest|trending|more|most read|top|editor'?s picks|you may also like|"
    r"read more|also read|read next|more from|more stories)(\s+(posts|stories|articles|news|reads|on \w+))?"
    r"\s*:?$",
    re.IGNORECASE,
)
_NOISE_LINE = re.compile(
    r"^(\d+\s+(second|minute|hour|day|week|month|year)s?\s+ago"
    r"|comments? (are|is) closed\.?"
    r"|leave a (comment|reply)"
    r"|\d+\s+comments?"
    r"|share (this|on)\b.*"
    r"|advertisement"
    r"|(sign up|subscribe)\b.*newsletter.*"
    r"|all rights reserved.*"
    r"|©.*"
    r"|\|?[\s:|-]+\|?"  # markdown table rule lines such as |:---|---:|
    r"|_*\[[^\]]*\]\([^)]*\)_*"  # a line that is only a markdown link
    r"|https?://\S+)$",
    re.IGNORECASE,
)
_BIO_WORDS = re.compile(
    r"\b(writer|editor|journalist|author|reporter|contributor|columnist|correspondent|blogger)\b",
    re.IGNORECASE,
)
_NAME_LINE = re.compile(r"^[A-Z][\w'.-]+(\s+[A-Z][\w'.-]+){1,3}$")

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE_PATTERNS = (
    re.compile(r"\b(?:published|updated|posted|date)\s*:?\s*(\d{4}-\d{2}-\d{2})", re.IGNORECASE),
    re.compile(rf"\b(?:published|updated|posted)\s*(?:on)?\s*:?\s*((?:{_MONTHS})\s+\d{{1,2}},\s+\d{{4}})", re.I),
    re.compile(r"\bpage\s*\[?(\d{8})\]?"),
)
_MD_DECOR = re.compile(r"^#+\s*|__|\*\*|`")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def iter_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line's non-blank content, in order."""
    pos = 0
    for raw in text.splitlines(keepends=True):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            yield pos + lead, pos + lead + len(stripped)
        pos += len(raw)


def content_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of lines that belong to the article: trailers, notices and author bios left out."""
    lines = list(iter_lines(text))
    keep = [True] * len(lines)
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        if _TRAILER_HEADING.match(line):
            for j in range(i, len(lines)):
                keep[j] = False
            break
        if _NOISE_LINE.match(line):
            keep[i] = False
        elif _NAME_LINE.match(line) and i + 1 < len(lines):
            nxt = text[lines[i + 1][0] : lines[i + 1][1]]
            # An author bio: a name line followed by a paragraph about that person's writing career.
            if nxt.startswith(line) and _BIO_WORDS.search(nxt):
                keep[i] = keep[i + 1] = False
    return tuple(span for span, k in zip(lines, keep, strict=True) if k)


def guess_title(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """The opening headline (after a lone section label such as "Business"), else the lead's first sentence."""
    opening = [clean_inline(text[s:e]) for s, e in spans[:2]]
    if opening and len(opening[0].split()) < 3 and len(opening) > 1:
        opening = opening[1:]  # a section label, not the headline
    if not opening:
        return ""
    first = opening[0]
    if len(first.split()) <= 25 and len(first) <= 200:
        return first
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return sentence if len(sentence) <= 120 else sentence[:117].rsplit(" ", 1)[0] + "…"


def clean_inline(line: str) -> str:
    """Markdown decoration and link targets removed, trailing '(from …)' notes dropped."""
    line = _MD_LINK.sub(r"\1", _MD_DECOR.sub("", line)).replace("__", "")
    line = re.sub(r",?\s*\(from [^)]*\)?\.?\)?\s*$", "", line)
    return line.strip(" ,")


def find_date(text: str) -> str | None:
    """A publication date stated in the text, as YYYY-MM-DD where it can be read."""
    from datetime import datetime

    for pattern in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        raw = m.group(1)
        for fmt in ("%Y-%m-%d", "%B %d, %Y", "%Y%m%d"):
            try:
                return datetime.strptime(raw, fmt).date().isoformat()
            except ValueError:
                continue
    return None
