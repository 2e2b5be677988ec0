"""From retrieved passages to evidence sentences and scored figure candidates (pure functions).

A candidate is one figure in one sentence. Its score adds the sentence's relevance (passage rank and
question-word overlap) to how closely the figure is tied to the entities the question names: in
"Meta acquired 224,000, Amazon 196,000" the figure for Amazon is the one Amazon directly precedes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chipqa.answering.question import Question
from chipqa.core.figures import Figure, parse_figures, same_quantity
from chipqa.core.models import Passage
from chipqa.core.text import addressed_to_model
from chipqa.ingest.chunking import split_sentences

_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9&'’.-]*[A-Za-z0-9]")
_NOT_NAMES = frozenset(
    [
        "The",
        "This",
        "That",
        "These",
        "Those",
        "In",
        "On",
        "At",
        "As",
        "For",
        "By",
        "A",
        "An",
        "And",
        "But",
        "However",
        "Both",
        "Meanwhile",
    ]
)
_COUNT_KINDS = ("count", "number")
# Measured on the eval set (README, "Answer selection"): question-word overlap (IDF-weighted) against how
# closely a figure is tied to the entities the question names.
OVERLAP_WEIGHT = 2.0
ASSOCIATION_WEIGHT = 1.5


@dataclass(frozen=True)
class Sentence:
    """One sentence of a retrieved passage, with its absolute span in the document."""

    passage: Passage
    rank: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Candidate:
    """A figure in an evidence sentence, as a possible answer."""

    figure: Figure
    sentence: Sentence
    score: float
    subject: str | None

    @property
    def doc_id(self) -> str:
        return self.sentence.passage.doc_id


def sentences_of(passages: list[Passage]) -> list[Sentence]:
    """Every sentence of the passages, in rank order; instruction-like sentences are dropped."""
    out = []
    for rank, p in enumerate(passages):
        for s, e in split_sentences(p.text):
            text = p.text[s:e]
            if addressed_to_model(text):
                continue
            out.append(Sentence(p, rank, p.start + s, p.start + e, text))
    return out


def _norm(text: str) -> str:
    return re.sub(r"[.’']", "", text).lower()


def mentions(text: str, entity: str) -> bool:
    """Whole-word, case-insensitive mention ("U.S." matches "US"; "GPUs" matches "GPU")."""
    word = re.escape(_norm(entity).rstrip("s"))
    return re.search(rf"(?<![a-z0-9]){word}s?(?![a-z0-9])", _norm(text)) is not None


def kind_fits(q: Question, fig: Figure) -> bool:
    if fig.kind == "year" and q.expects != "year":
        return False
    if q.expects == "count":
        return fig.kind in _COUNT_KINDS
    if q.expects == "money" and q.currency and fig.kind == "money":
        return fig.currency == q.currency
    if q.expects in ("money", "percent", "year"):
        return fig.kind == q.expects
    return True


def relevance(q: Question, sentence: Sentence) -> float:
    """How well a sentence matches the question: retrieval rank plus question-word overlap."""
    words = {w[:5] for w in re.findall(r"[a-z0-9]+", _norm(sentence.text))}
    keys = [k[:5] for k in q.keywords]
    weights = q.keyword_weights if len(q.keyword_weights) == len(keys) else (1.0,) * len(keys)
    total = sum(weights)
    overlap = sum(w for k, w in zip(keys, weights, strict=True) if k in words) / total if total else 0.0
    return 0.6 / (1.0 + 0.2 * sentence.rank) + OVERLAP_WEIGHT * overlap


def entities_in_context(q: Question, sentence: Sentence, entities: tuple[str, ...]) -> bool:
    """Every entity is named in the title, the sentence, or earlier in its passage (not only after it)."""
    p = sentence.passage
    context = f"{p.title} {p.text[: sentence.end - p.start]}"
    return all(mentions(context, e) for e in entities)


def _association(sentence: Sentence, fig: Figure, entity: str, fig_starts: list[int]) -> float:
    """1 when the entity directly precedes the figure, less with distance or another figure between."""
    best = 0.0
    for m in re.finditer(re.escape(entity.rstrip("s")), sentence.text, re.IGNORECASE):
        if m.end() <= fig.start:
            between = any(m.end() <= s < fig.start for s in fig_starts)
            weight = 0.15 if between else 1.0
            distance = fig.start - m.end()
        else:
            between = any(fig.end <= s < m.start() for s in fig_starts)
            weight = 0.1 if between else 0.5
            distance = max(0, m.start() - fig.end)
        best = max(best, weight / (1.0 + distance / 60.0))
    return best


def subject_of(sentence: Sentence, fig: Figure) -> str | None:
    """The name written closest before the figure, e.g. "Amazon" in "Amazon 196,000"."""
    names = [m for m in _CAPITALISED.finditer(sentence.text[: fig.start]) if m.group(0) not in _NOT_NAMES]
    names = [m for m in names if not m.group(0).isupper() or len(m.group(0)) > 3]
    return names[-1].group(0) if names else None


YearsInForce = Callable[[str, int], set[str]]


def year_fits(q: Question, sentence: Sentence, figures: list[Figure], years_in_force: YearsInForce | None) -> bool:
    """A year the question names is the sentence's own, or the one its document last named before it."""
    if not q.years:
        return True
    own = {f.text for f in figures if f.kind == "year"}
    if own:
        return bool(own & set(q.years))
    context = years_in_force(sentence.passage.doc_id, sentence.start) if years_in_force else set()
    return bool(context & set(q.years))


def candidates(
    q: Question,
    sentences: list[Sentence],
    entities: tuple[str, ...] | None = None,
    years_in_force: YearsInForce | None = None,
) -> list[Candidate]:
    """Figures that could answer q, best first; figures of the wrong kind or out of context are left out."""
    entities = q.entities if entities is None else entities
    asked = parse_figures(q.focus)
    out = []
    for sent in sentences:
        figures = parse_figures(sent.text)
        if not figures or not entities_in_context(q, sent, entities):
            continue
        if not year_fits(q, sent, figures, years_in_force):
            continue
        starts = [f.start for f in figures]
        rel = relevance(q, sent)
        for fig in figures:
            # A figure the question itself states is what the user knows, not what they ask.
            if not kind_fits(q, fig) or any(same_quantity(fig, a) for a in asked):
                continue
            if q.unit_words and not _unit_fits(q, sent, fig):
                continue
            score = rel
            if entities:
                score += ASSOCIATION_WEIGHT * sum(_association(sent, fig, e, starts) for e in entities) / len(entities)
                score += 0.3 * sum(mentions(sent.text, e) for e in entities) / len(entities)
            if q.expects == "count" and fig.kind == "number" and not fig.unit:
                score -= 0.3  # a bare number (a table score, a rank) is rarely a count of things
            out.append(Candidate(fig, sent, score, subject_of(sent, fig)))
    out.sort(key=lambda c: -c.score)
    return out


def _unit_fits(q: Question, sentence: Sentence, fig: Figure) -> bool:
    """The counted thing ("Maia chips") is named next to the figure, not some other thing."""
    after = _norm(sentence.text[fig.end : fig.end + 60])
    return any(w[:5] in after for w in q.unit_words)


def citation_span(q: Question, sentence: Sentence, entities: tuple[str, ...]) -> tuple[int, int]:
    """The sentence's span, reaching back within its passage to the sentence that names a missing entity."""
    missing = [e for e in entities if not mentions(sentence.text, e)]
    start = sentence.start
    if missing:
        p = sentence.passage
        for s, _e in split_sentences(p.text):
            if p.start + s >= sentence.start:
                break
            if any(mentions(p.text[s : sentence.start - p.start], e) for e in missing):
                start = p.start + s
                break
    return start, sentence.end
