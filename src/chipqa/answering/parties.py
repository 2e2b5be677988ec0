"""Parties: which names in a text can name a buyer or seller, whom "Both companies" refers back to, and whose
figure a candidate is (for superlatives and choices)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chipqa.answering import language as lang
from chipqa.core.text import PERIOD_TOKEN, UPPER, YEAR

if TYPE_CHECKING:
    from chipqa.answering.gather import Sentence
    from chipqa.answering.select import Candidate
    from chipqa.answering.understand import Question

NAME = re.compile(rf"(?<![\w-])(?:{UPPER}[\w&'’.-]*[^\W_]|[A-Za-z]*\d[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*|[A-Z]{{2,}})")

_PLURAL_ANAPHOR = re.compile(
    r"^\W*(?:both|the two|they|the pair|the companies|the firms|the groups|the carriers|the labs|each of them"
    r"|together,? they|all three|the three)\b",
    re.IGNORECASE,
)


_NAME_PAIR = re.compile(
    rf"\b({UPPER}[\w&'’.-]*(?:\s+{UPPER}[\w&'’.-]*)*)\s+(?:and|&)\s+({UPPER}[\w&'’.-]*(?:\s+{UPPER}[\w&'’.-]*)*)"
)


def plural_anaphor(text: str) -> bool:
    """The sentence's subject refers back to several parties ("Both companies", "They")."""
    return _PLURAL_ANAPHOR.match(text) is not None


def name_pair(text: str, start: int, end: int) -> str | None:
    """The last "X and Y" pair of names in text[start:end], as written ("Tencent and ByteDance")."""
    pairs = list(_NAME_PAIR.finditer(text, start, end))
    return pairs[-1].group(0) if pairs else None


def party_names(text: str, start: int, end: int, names: frozenset[str] | None = None) -> list[re.Match[str]]:
    """Names in text[start:end] that can name a party: no model codes, no maker's name right before a model code
    ("Nvidia" in "Nvidia B200"), and, given the corpus's `names` (words it capitalises), none of the ordinary
    words a heading capitalises ("Totals", "Rack-scale")."""
    out = []
    for m in NAME.finditer(text, start, end):
        if not is_name(text, m) or re.search(r"\d", m.group(0)):
            continue
        if names is not None and not any(w.lower() in names for w in re.findall(r"[^\W\d_]+", m.group(0))):
            continue
        if re.match(
            r"(?:['’]s)?\s+(?:[A-Z][a-z]+\s+)?(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]+", text[m.end() : m.end() + 32]
        ):
            continue  # "Nvidia B200", "AMD Instinct MI355X": a maker's name before a model code
        if names_product(text, m.end()):
            continue  # "AMD Instinct GPUs", "Nvidia chips": a product, not a party
        out.append(m)
    return out


def names_product(text: str, end: int) -> bool:
    """Whether a name ending at `end` is followed, perhaps after one more capitalised word, by a hardware noun
    ("AMD Instinct GPUs", "Kestrel K9 accelerators"): it names a product, not a party."""
    after = re.match(r"\s+(?:[A-Z][\w-]*\s+)?([A-Za-z]+)", text[end : end + 32])
    return bool(after and after.group(1).lower() in lang.HARDWARE_NOUNS)


def is_name(text: str, m: re.Match[str]) -> bool:
    """A capitalised word that names someone: not a sentence opener, month, or "-based" adjective."""
    word = m.group(0)
    low = word.lower().rstrip(".")
    if low in lang.STOPWORDS or low in lang.MONTHS or low.endswith("-based") or low in lang.HARDWARE_NOUNS:
        return False
    if low in lang.GENERIC_CAPS or low in lang.WEEKDAYS:
        return False
    if YEAR.fullmatch(word) or PERIOD_TOKEN.fullmatch(word):
        return False
    opening = m.start() == 0 or text[: m.start()].rstrip().endswith((".", "!", "?", ":", '"', "“"))
    return not (opening and low in lang.QUESTION_OPENERS)


_PARTY_NAME = re.compile(rf"(?<![\w-]){UPPER}[\w&'’.-]*[^\W_](?:\s+(?:(?:of|de|&)\s+)?{UPPER}[\w&'’.-]*[^\W_])*")


def party_of(c: Candidate, q: Question) -> str | None:
    """The party a figure belongs to: the name nearest before it in its sentence; for "Both companies ..." the
    pair named before; else the row label, the names of the previous sentences ("the company" refers back),
    or the heading above (a listicle's label; not a newspaper's section label)."""
    s, fig = c.sentence, c.figure
    if fig is None:
        return None
    text, doc = s.text, s.doc.text
    names = [m for m in _PARTY_NAME.finditer(text, 0, fig.start) if _party_like(text, m)]
    if names:
        return _clean(names[-1].group(0))
    spans = [*reversed(s.before), *([s.heading] if s.heading and not _section_label(s) else [])]
    if plural_anaphor(text):
        for a, b in spans:
            pair = name_pair(doc, a, b)
            if pair:
                return pair
    if s.row_label:
        found = [m for m in _PARTY_NAME.finditer(doc, *s.row_label) if _party_like(doc, m)]
        if found:
            return _clean(found[0].group(0))
    for a, b in spans:
        found = [m for m in _PARTY_NAME.finditer(doc, a, b) if _party_like(doc, m)]
        if found:
            return _clean(found[0].group(0) if (a, b) == s.heading else found[-1].group(0))
    return None


def _section_label(s: Sentence) -> bool:
    """A newspaper's section label above the headline ("Business"), which names no party."""
    if s.heading is None:
        return False
    text = s.doc.text[s.heading[0] : s.heading[1]].strip("#* ")
    return len(text.split()) <= 2 and text.lower() not in s.doc.title.lower()


def _party_like(text: str, m: re.Match[str]) -> bool:
    first = m.group(0).split()[0].lower().strip("*#")
    if m.group(0).lower() in lang.GENERIC_CAPS or first.endswith("-based"):
        return False
    if first in lang.STOPWORDS or first in lang.QUESTION_OPENERS or first in lang.MONTHS:
        return len(m.group(0).split()) > 1 and m.group(0).split()[1].lower() not in lang.STOPWORDS
    return not re.search(r"\d", m.group(0)) and not m.group(0).lower().endswith("-based")


def _clean(name: str) -> str:
    words = name.strip("*#: ").split()
    while words and (words[0].lower() in lang.STOPWORDS or words[0].lower() in lang.QUESTION_OPENERS):
        words = words[1:]
    return re.sub(r"['’]s$", "", " ".join(words))
