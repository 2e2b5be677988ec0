"""Find the article inside a page's text: content spans, title, publication date and publisher, by general rules.

Boilerplate is excluded from indexing, not cut from the stored text, so citation offsets always point
into the text exactly as stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

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


# ---------------------------------------------------------------------------------------------------------
# Publication date and publisher: what a reader needs to cite the source. Each rule is a convention of news
# pages (a "Published:" label, a wire dateline, a byline, a copyright line, an author bio); the most explicit
# one that matches wins, and a page that states nothing gets None rather than a guess.

_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
# One stated date: 2025-06-12 (with an optional time), June 12, 2025, or 12 June 2025.
DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|{_MONTH}\s+\d{{1,2}}{_ORD},?\s+\d{{4}}|\d{{1,2}}{_ORD}\s+{_MONTH},?\s+\d{{4}})"
)
_WEEKDAY = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)?"
_PUBLISHED = re.compile(
    rf"\b(?:published|posted|publication date|first published|date)\s*(?:on|:)?\s*:?\s*{_WEEKDAY}(?P<date>{DATE})",
    re.IGNORECASE,
)
_UPDATED = re.compile(
    rf"\b(?:last\s+)?(?:updated|modified|revised)\s*(?:on|:)?\s*:?\s*{_WEEKDAY}(?P<date>{DATE})", re.IGNORECASE
)
# "SEOUL, June 12, 2025 (Agency) -", "SAN JOSE, Calif., March 3, 2025 /PRNewswire/ --"
_DATELINE = re.compile(
    rf"^[A-Z][A-Z .'’-]{{1,40}},\s*(?:[A-Z][a-z]+\.?,\s*)?{_WEEKDAY}(?P<date>{DATE})\s*"
    r"(?:\((?P<agency>[^()]{2,40})\)|/(?P<wire>[^/]{2,40})/)?\s*[-–—]"
)
# "By Jane Doe | Example News | June 12, 2025", "By Jane Doe, Example News, 12 June 2025"
_BYLINE = re.compile(r"^by\s+(?P<rest>.{3,200})$", re.IGNORECASE)
_ROLE = re.compile(
    r"\b(writer|editor|journalist|author|reporter|contributor|columnist|correspondent|staff|analyst|desk|team)\b",
    re.IGNORECASE,
)
_ALONE = re.compile(rf"^{_WEEKDAY}(?P<date>{DATE})$")
_PAGE_ID = re.compile(r"\bpage\s*\[?(?P<date>\d{8})\]?")
_LABELLED_PUBLISHER = re.compile(r"^(?:publisher|source|publication|published by)\s*:?\s+(?P<name>.{2,60})$", re.I)
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:©\s*)?(?:(?:19|20)\d\d\s*(?:[-–]\s*(?:19|20)\d\d)?\s*)?(?P<name>[^.|\n]{2,60}?)"
    r"\s*(?:[.|]|all rights reserved|$)",
    re.IGNORECASE | re.MULTILINE,
)
# "Jane Doe is a technology writer at The Daily Planet" (an author bio names where the author writes).
_PUBLICATION = r"(?P<name>(?:The\s+)?[A-Z][\w&'’.-]*(?:\s+(?:of\s+|and\s+|&\s+|the\s+)?[A-Z][\w&'’.-]*){0,5})"
_BIO = re.compile(
    r"\b(?:is|was)\s+(?:an?|the)\s+[^.]{0,80}?\b(?:writer|editor|journalist|reporter|contributor|columnist"
    rf"|correspondent|blogger)\b[^.]{{0,40}}?\b(?:at|with|for|of|associated with)\s+{_PUBLICATION}"
)
_SOURCE_URL = re.compile(r"\b(?:from\s+(?:page\s+)?\[[^\]]*\]\(|source:\s*)(?P<url>https?://[^\s)]+)", re.IGNORECASE)
_NOT_A_NAME = re.compile(r"^(?:the\s+)?(?:author|authors|staff|writers?|editors?|reporters?|all rights)$", re.I)


def parse_date(raw: str) -> str | None:
    """A stated date ("June 12, 2025", "12 June 2025", "2025-06-12T08:00Z", "20230701") as YYYY-MM-DD."""
    from datetime import date

    raw = raw.strip()
    m = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", raw)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        words = re.findall(r"[A-Za-z]+|\d+", raw)
        months = [i + 1 for w in words for i, name in enumerate(_MONTH_NAMES) if name.startswith(w.lower()[:3])]
        numbers = [int(w) for w in words if w.isdigit()]
        if len(months) != 1 or len(numbers) != 2:
            return None
        month, (day, year) = months[0], sorted(numbers, key=lambda n: n > 31)
    if not 1900 <= year <= 2099:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_date(text: str, spans: Sequence[tuple[int, int]] | None = None) -> str | None:
    """The publication date a page states, as YYYY-MM-DD: a "Published" label, a dateline, a byline or a
    lone date line near the top, an "Updated" label, or a page id such as "page [20230701]"; else None."""
    lines = [text[s:e] for s, e in (spans if spans is not None else iter_lines(text))]
    head = lines[:12]
    found: list[str | None] = []
    found.extend(_first(_PUBLISHED, lines))
    for line in head:
        m = _DATELINE.match(line) or _ALONE.match(line)
        if m:
            found.append(m.group("date"))
        by = _BYLINE.match(line)
        if by:
            found.extend(m.group(0) for m in re.finditer(DATE, by.group("rest"), re.IGNORECASE))
    found.extend(_first(_UPDATED, lines))
    found.extend(_first(_PAGE_ID, lines))
    return next((d for d in (parse_date(raw) for raw in found if raw) if d), None)


def find_publisher(text: str, spans: Sequence[tuple[int, int]] | None = None) -> str | None:
    """The publication's name a page states: a "Publisher:"/"Source:" label, a wire agency in the dateline,
    a byline, a copyright line, an author bio ("… a writer at The Daily Planet") or the host of the page's
    own URL ("from page [..](https://example.substack.com/…)"); else None."""
    lines = [text[s:e] for s, e in (spans if spans is not None else iter_lines(text))]
    candidates: list[str] = []
    for line in lines:
        m = _LABELLED_PUBLISHER.match(line)
        if m and not m.group("name").lower().startswith("http"):
            candidates.append(m.group("name"))
    for line in lines[:12]:
        dateline = _DATELINE.match(line)
        if dateline:
            candidates.append(dateline.group("agency") or dateline.group("wire") or "")
        by = _BYLINE.match(line)
        if by:
            candidates.extend(_byline_publisher(by.group("rest")))
    candidates.extend(m.group("name") for m in _COPYRIGHT.finditer(text))  # often a footer, outside the spans
    candidates.extend(m.group("name") for m in _BIO.finditer(text))
    candidates.extend(_host(m.group("url")) for m in _SOURCE_URL.finditer(text))
    for name in candidates:
        name = clean_inline(name).strip(" ,;:-–—|")
        if 2 <= len(name) <= 60 and not _NOT_A_NAME.match(name) and not re.fullmatch(r"[\d\s,-]+", name):
            return name
    return None


def _byline_publisher(rest: str) -> list[str]:
    """The part of a byline after the author that is neither a date nor a role ("By Jane Doe, Example News")."""
    rest = re.sub(DATE, "", rest, flags=re.IGNORECASE)
    parts = [p.strip() for p in re.split(r"\s*(?:[|,·•]|\s[-–—]\s|\bfor\b)\s*", rest) if p.strip()]
    return [p for p in parts[1:] if p[:1].isupper() and not _ROLE.search(p) and "@" not in p]


def _first(pattern: re.Pattern[str], lines: Sequence[str]) -> list[str]:
    for line in lines:
        m = pattern.search(line)
        if m:
            return [m.group("date")]
    return []


def _host(url: str) -> str:
    from urllib.parse import urlparse

    host = urlparse(url).hostname or ""
    return host[4:] if host.startswith("www.") else host
