"""Features of an answer candidate: how well a figure (or, for open questions, a sentence) fits a question.

Each feature is a number in [0, 1] with one plain meaning, computed by a pure function from the question, the
sentence and its context. How much each one counts is not decided here: `ranker.json` holds weights fitted on
the tune split of the development corpus (`python -m chipqa.evaluation.fit`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from chipqa.answering import language as lang
from chipqa.answering.attribution import Attribution
from chipqa.answering.clauses import (
    SUBPART,
    clause_around,
    guided_before,
    kind_fit,
    modifier_after,
    shared_count,
    unit_fit,
    window,
)
from chipqa.answering.gather import Sentence, TermMatcher, layout_of, left_out, line_span
from chipqa.answering.periods import last_period, period_conflicts, period_in, published_in
from chipqa.answering.understand import Question
from chipqa.core.figures import Figure, currencies_match, same_family

FIGURE_FEATURES = (
    "kind",
    "currency",
    "bare_number",
    "terms_sentence",
    "terms_context",
    "terms_doc",
    "terms_lead",
    "optional_terms",
    "unit_match",
    "subpart",
    "attach",
    "nearest_to_term",
    "foreign_before",
    "referent",
    "other_subject",
    "foreign_modifier",
    "modifier_match",
    "keywords_near",
    "keywords_sentence",
    "keywords_context",
    "quantity_near",
    "header_match",
    "dense",
    "bm25",
    "rank",
    "sentence_bm25",
    "period_match",
    "period_conflict",
    "tense_conflict",
    "future_clause",
    "collective",
    "whole_of",
    "part_of",
    "qualified",
    "superlative",
    "mixed_products",
    "foreign_agent",
    "foreign_code_before",
    "code_missing",
    "negated",
    "was_before",
    "earlier_match",
    "verb_match",
    "fraction_word",
    "table_row",
    "heading_line",
    "follows",
    "llm_agrees",
)
SENTENCE_FEATURES = (
    "terms_sentence",
    "terms_context",
    "terms_doc",
    "terms_lead",
    "referent",
    "keywords_sentence",
    "keywords_context",
    "dense",
    "bm25",
    "rank",
    "sentence_bm25",
    "answer_shape",
    "question_line",
    "heading_line",
    "period_match",
    "period_conflict",
    "superlative",
    "short",
    "follows",
)

_SUPERLATIVE = re.compile(
    r"\b(largest|biggest|most|top|leading|leader|highest|greatest|lowest|smallest|fewest|least|record)\b", re.I
)
_BM25_K1, _BM25_B, _BM25_AVG = 1.2, 0.75, 25.0
# How far back in its section a sentence's subject may have been named ("the company" refers back).
EARLIER_CHARS = 1500


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_bm25(q: Question, text: str) -> float:
    """BM25 of a sentence for the question's keywords, with the index's IDF (unnormalized)."""
    stems = lang.content_stems(text)
    if not stems:
        return 0.0
    counts: dict[str, int] = {}
    for s in stems:
        counts[s] = counts.get(s, 0) + 1
    score = 0.0
    norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * len(stems) / _BM25_AVG)
    for keyword, weight in zip(q.keywords, q.weights, strict=False):
        tf = counts.get(keyword, 0)
        if tf:
            score += weight * tf * (_BM25_K1 + 1) / (tf + norm)
    return score


class Scorer(Attribution):
    """Computes features for one question's sentences; per-question normalisers are set up once."""

    def __init__(self, q: Question, sentences: Sequence[Sentence]) -> None:
        self.q = q
        self.matcher = TermMatcher(q.terms)
        self.required = [i for i, t in enumerate(q.terms) if not t.optional]
        self.optional = [i for i, t in enumerate(q.terms) if t.optional]
        self.term_stems = {
            lang.stem(w) for t in q.terms for form in t.forms for w in re.findall(r"[a-z0-9]+", form.lower())
        }
        weights = dict(zip(q.keywords, q.weights, strict=False))
        self.keywords = {k: w for k, w in weights.items() if k not in self.term_stems}
        self.quantity = [k for k in q.quantity if k in self.keywords]
        bm25 = [sentence_bm25(q, f"{_fact_label(s)} {s.text}") for s in sentences]
        self._bm25 = {id(s): b for s, b in zip(sentences, bm25, strict=True)}
        self._max_bm25 = max(bm25, default=0.0) or 1.0
        passages = [s.passage for s in sentences]
        dense = [p.dense for p in passages if p.dense is not None]
        self._min_dense = min(dense, default=0.0)
        self._max_passage_bm25 = max((p.bm25 or 0.0 for p in passages), default=0.0) or 1.0
        self._doc_cover: dict[str, float] = {}

    # --- shared pieces -------------------------------------------------------------------------------
    def _retrieval(self, s: Sentence) -> dict[str, float]:
        p = s.passage
        dense = p.dense if p.dense is not None else self._min_dense - 0.05
        return {
            "dense": max(0.0, min(1.0, dense)),
            "bm25": (p.bm25 or 0.0) / self._max_passage_bm25,
            "rank": 1.0 / (1.0 + s.rank),
            "sentence_bm25": self._bm25.get(id(s), 0.0) / self._max_bm25,
        }

    def _terms(self, s: Sentence) -> dict[str, float]:
        context = f"{s.text} \n {s.context_text}"
        earlier = s.earlier_text[-EARLIER_CHARS:]
        doc = self._doc_cover.get(s.doc_id)
        if doc is None:
            doc = self.matcher.covered(f"{s.doc.title} \n {s.doc.text}", self.required)
            self._doc_cover[s.doc_id] = doc
        return {
            "terms_sentence": self.matcher.covered(s.text, self.required),
            "terms_context": self.matcher.covered(context, self.required),
            "terms_doc": doc,
            "terms_lead": self.matcher.covered(s.lead_text, self.required),
            # Named in the sentence, its context, the headline and lead, or earlier in its section; or described
            # later in its section as the question describes it ("The Basel-based drugmaker").
            "named": 1.0 if self._named(s, f"{context} \n {s.lead_text} \n {earlier}") else 0.0,
            "optional_terms": self.matcher.covered(context, self.optional) if self.optional else 0.5,
            "label_tied": self._label_tied(s),
        }

    def _named(self, s: Sentence, around: str) -> bool:
        """Every required term is named in `around`, or given as a name later in the sentence's paragraph ("to be
        called Bluebonnet") when the sentence names the asked party, or described later in the sentence's section
        the way the question describes it."""
        missing = [i for i in self.required if self.matcher.strength(i, around) == 0]
        if not missing:
            return True
        layout = layout_of(s.doc.text)
        line = layout.lines[layout.line_at(s.end)]
        parties = [i for i in self.required if not self.q.terms[i].product and i not in missing]
        if line.kind == "text" and any(self.matcher.strength(i, s.text) > 0 for i in parties):
            # The sentence names the asked party, and the name it leaves out is given later in its paragraph:
            # "..., and the system, to be called Bluebonnet, ..." names what the list's figures are part of.
            rest = "" if left_out(s.doc.text, layout, s.end, line.end) else s.doc.text[s.end : line.end]
            missing = [
                i
                for i in missing
                if not any(
                    lang.NAMING_BEFORE.search(rest[max(0, a - 25) : a]) for a, _, _ in self.matcher.spans(i, rest)
                )
            ]
            if not missing:
                return True
        if not all(self.q.terms[i].noun for i in missing):
            return False
        end = layout.section_end(s.end)
        # the rest of the section's lines, none the index left out as addressed to a model
        after = " \n ".join(
            s.doc.text[max(s.end, ln.start) : ln.end]
            for ln in (layout.lines[i] for i in line_span(layout, s.end, end))
            if ln.end > s.end and ln.start < end and not left_out(s.doc.text, layout, ln.start, ln.end)
        )
        return all(self._described(i, after) for i in missing)

    def _described(self, i: int, text: str) -> bool:
        """Whether text describes its subject the way the question does with term i ("the Basel drugmaker"):
        the term, perhaps "-based" or a possessive, and within two more words the question's noun ("Basel-based
        drugmaker", "Wrocław's technical university")."""
        noun = lang.stem(self.q.terms[i].noun)
        for _, end, _ in self.matcher.spans(i, text):
            words = re.findall(r"[^\W\d_]+", re.sub(r"^(?:['’]s|-based|\s+based)", "", text[end : end + 40]))[:3]
            if any(lang.stem(w.lower()) == noun for w in words):
                return True
        return False

    def _label_tied(self, s: Sentence) -> float:
        """1 when the sentence opens the section of a heading or label line ("**Isomorphic Labs**" over "9,216
        Ironwood TPU chips · ...") and the two together name every required term, or the section describes the
        rest as the question does ("The Basel-based drugmaker ..."): the label is its subject."""
        label = s.label_text
        return 1.0 if label and self._named(s, f"{label} \n {s.text}") else 0.0

    def _keywords(self, text: str) -> float:
        if not self.keywords:
            return 0.5
        stems = set(lang.content_stems(text))
        total = sum(self.keywords.values())
        return sum(w for k, w in self.keywords.items() if k in stems) / total if total else 0.0

    def _periods(
        self, clause: str, sentence: str, s: Sentence, header: str = "", lead: str = ""
    ) -> tuple[float, float]:
        """(match, conflict): how closely the question's periods are named — in the figure's table column
        header ("Delivered (as of Jan 2026)") or clause, its sentence, its context, the last period named before
        it in its section, the publication date — and whether the clause or sentence names another period
        instead. A clause that names no period takes the one the sentence names before it (`lead`, the sentence
        up to the clause's end): in "Q2 FY27 (July–September 2026) revenue was JPY 48.6 billion" the figure is
        Q2's, though the aside closes its clause."""
        if not self.q.periods:
            return 0.5, 0.0
        in_force = last_period(s.earlier_text)
        published = s.doc.published or ""
        for text, strength in ((header, 1.0), (clause, 1.0), (sentence, 0.7), (s.context_text, 0.4), (in_force, 0.3)):
            if text and any(period_in(p, text) for p in self.q.periods):
                return strength, 0.0
        scope = clause if not clause or last_period(clause) else lead or clause
        conflict = 1.0 if any(period_conflicts(p, scope or sentence) for p in self.q.periods) else 0.0
        if not conflict and published and any(published_in(p, published) for p in self.q.periods):
            return 0.2, 0.0
        if not conflict and in_force and any(period_conflicts(p, in_force) for p in self.q.periods):
            conflict = 0.5  # the section speaks of another period, and the sentence names none
        return 0.0, conflict

    def _published_elsewhere(self, s: Sentence, match: float) -> float:
        """1 when the question asks about a year that nothing cited names (sentence, context, section) and the
        source was published in another year: "How many did IREN order in 2024?" is not answered by a 2025
        report's "9,600 Nvidia B300 GPUs"."""
        years = {y for p in self.q.periods for y in p.years}
        published = (s.doc.published or "")[:4]
        if match > 0.0 or not years or not published.isdigit() or any(p.fiscal for p in self.q.periods):
            return 0.0  # a fiscal year is not the calendar year of publication
        low = s.text.lower()
        if any(p.month and re.search(rf"\b{lang.MONTHS[p.month - 1]}\b", low) for p in self.q.periods):
            return 0.0  # "by November 30": the asked month, its year left to the reader
        return 0.0 if int(published) in years else 1.0

    # --- figure candidates --------------------------------------------------------------------------
    def figure_features(
        self, s: Sentence, fig: Figure, figures: Sequence[Figure], draft_figures: Sequence[Figure] = ()
    ) -> dict[str, float]:
        q, text = self.q, s.text
        clause_start, clause_end = clause_around(text, fig.start, fig.end)
        clause = text[clause_start:clause_end]
        words_near = window(text, fig.start, fig.end, 8)
        # a bare number in a list that leaves its noun out counts what the list's first figure counts
        shared = shared_count(text, fig, figures)
        counted = shared or fig
        modifier = modifier_after(text, counted)
        if shared:
            words_near = f"{words_near} {modifier}"
        header = s.header_at(fig.start)
        features = {**self._retrieval(s), **self._terms(s)}
        features["kind"] = kind_fit(q.asks, counted)
        features["currency"] = (
            0.5
            if not q.currency
            else 1.0
            if fig.kind == "money" and currencies_match(fig.currency, q.currency)
            else 0.0
        )
        features["bare_number"] = 1.0 if counted.kind == "number" and q.asks == "count" else 0.0
        features["attach"] = self._attach(text, fig, figures)
        # a count of something else ("16 racks" beside "1,152 GPUs" for a GPU question) is no rival
        rivals = [
            self._attach(text, f, figures)
            for f in figures
            if f.start != fig.start and f.kind == fig.kind and unit_fit(q.unit, f) > 0
        ]
        features["nearest_to_term"] = (
            1.0 if features["attach"] > 0 and all(features["attach"] > r for r in rivals) else 0.0
        )
        same_kind = [
            f
            for f in figures
            if (f.kind == fig.kind or {f.kind, fig.kind} <= {"count", "number"}) and unit_fit(q.unit, f) > 0
        ]
        features["sole_of_kind"] = 1.0 if len(same_kind) == 1 else 0.0
        features["foreign_before"] = self._foreign_before(s, fig, clause_start)
        features["owned_elsewhere"] = self._owned_elsewhere(text, fig, figures)
        features["buyer_before"] = self._buyer_before(text, fig, clause_start)
        earlier = [f for f in figures if f.end <= fig.start]
        if not features["buyer_before"] and earlier and lang.PART_OF.match(text[fig.end : fig.end + 16]):
            # "Lambda had bought roughly 41,000 GPUs, about 9,000 of them B300s": a part of another's figure
            features["buyer_before"] = self._buyer_before(text, earlier[-1], 0)
        features["referent"] = self._referent(s)
        features["other_subject"] = self._other_subject(s)
        features["row_mismatch"] = self._row_mismatch(s)
        parties = [i for i in self.required if not self.q.terms[i].code]
        features["party_in_sentence"] = 1.0 if not parties or self.matcher.present(text, parties) else 0.0
        features["foreign_modifier"], features["modifier_match"] = self._modifier(modifier, text)
        features["keywords_near"] = self._keywords(f"{words_near} {header}")
        features["keywords_sentence"] = self._keywords(text)
        features["keywords_context"] = self._keywords(s.context_text)
        if self.quantity:
            near = set(lang.content_stems(f"{words_near} {header}"))
            if near & lang.HARDWARE_STEMS:  # chips, GPUs and accelerators count the same thing
                near |= lang.HARDWARE_STEMS
            features["quantity_near"] = sum(k in near for k in self.quantity) / len(self.quantity)
        else:
            features["quantity_near"] = 0.5
        features["header_match"] = self._keywords(header) if header else 0.0
        features["period_match"], features["period_conflict"] = self._periods(
            clause, text, s, header, text[:clause_end]
        )
        features["published_elsewhere"] = self._published_elsewhere(s, features["period_match"])
        features["unit_match"] = unit_fit(q.unit, counted)
        features["subpart"] = 1.0 if SUBPART.search(text[max(0, fig.start - 30) : fig.start]) else 0.0
        future = bool(lang.FUTURE.search(clause))
        features["future_clause"] = 1.0 if future else 0.0
        features["guidance"] = 1.0 if lang.GUIDANCE.search(clause) or guided_before(text, fig) else 0.0
        features["done_clause"] = 1.0 if not future and lang.DONE_VERB.search(clause) else 0.0
        features["intended"] = 1.0 if lang.INTENT.search(text[max(clause_start, fig.start - 60) : fig.start]) else 0.0
        features["tense_conflict"] = (
            1.0 if (q.tense == "past" and future) or (q.tense == "future" and not future) else 0.0
        )
        features["collective"] = self._collective(clause, fig)
        features["whole_of"] = 1.0 if lang.WHOLE_OF.search(text[max(0, fig.start - 24) : fig.start]) else 0.0
        features["part_of"] = 1.0 if lang.PART_OF.match(text[fig.end : fig.end + 16]) else 0.0
        features["qualified"] = 1.0 if fig.qualifier else 0.0
        features["superlative"] = 1.0 if q.operation in ("max", "min") and _SUPERLATIVE.search(clause) else 0.0
        features["mixed_products"] = self._mixed(text, fig, figures, clause_start, clause_end)
        features["foreign_agent"] = self._foreign_agent(text, fig, clause_end)
        features["foreign_code_before"], features["code_missing"] = self._codes(
            text, fig, figures, clause_start, modifier
        )
        features["code_elsewhere"] = self._code_elsewhere(text, fig, figures, modifier)
        features["negated"] = 1.0 if lang.NEGATION.search(clause) else 0.0
        features["was_before"] = 1.0 if lang.WAS_BEFORE.search(text[max(0, fig.start - 40) : fig.start]) else 0.0
        asks_earlier = bool(lang.ASKS_EARLIER.search(q.focus.lower()))
        # "250 racks, up from 140", "81% in Q2 2025, down from 84%": the new value of a change the sentence states
        later = [g for g in figures if g.start >= fig.end and same_family(fig, g)]
        gap = text[fig.end : later[0].start] if later else ""
        # "40 more than the 240 racks": the figure is the difference itself, neither the new nor the old value
        features["stated_difference"] = 1.0 if lang.STATED_DIFFERENCE.match(text[fig.end : fig.end + 48]) else 0.0
        features["revised_from"] = (
            1.0
            if later and len(gap) <= 80 and lang.WAS_BEFORE.search(gap) and not features["stated_difference"]
            else 0.0
        )
        features["earlier_match"] = 1.0 if (features["was_before"] == 1.0) == asks_earlier else 0.0
        features["verb_match"] = self._verb_match(text, fig, clause_start, clause_end)
        features["fraction_word"] = 1.0 if fig.kind == "percent" and not re.search(r"\d", fig.text) else 0.0
        features["table_row"] = 1.0 if s.kind == "table_row" else 0.0
        features["follows"] = 1.0 if s.follows else 0.0
        features["heading_line"] = 1.0 if s.kind == "heading" else 0.0
        features["llm_agrees"] = 1.0 if any(_same(fig, d) for d in draft_figures) else 0.0
        return features

    def _attach(self, text: str, fig: Figure, figures: Sequence[Figure]) -> float:
        """How directly a required term is tied to the figure: 1 right before it, less with distance or another
        figure in between; 0 when no required term is in the sentence."""
        best = 0.0
        starts = [f.start for f in figures if f.start != fig.start]
        for i in self.required or self.optional:
            for start, end, strength in self.matcher.spans(i, text):
                if end <= fig.start:
                    blocked = any(end <= st < fig.start for st in starts)
                    distance = fig.start - end
                    weight = 0.25 if blocked else 1.0
                else:
                    blocked = any(fig.end <= st < start for st in starts)
                    distance = max(0, start - fig.end)
                    weight = 0.15 if blocked else 0.6
                best = max(best, strength * weight / (1.0 + distance / 40.0))
        return best

    def _verb_match(self, text: str, fig: Figure, clause_start: int, clause_end: int) -> float:
        """1 when the verb nearest the figure is of the question's kind (ordered for ordered, delivered for
        received, added for added), 0 when it is of another kind, 0.5 when either says none."""
        asked = {k for k in self.q.keywords if k.startswith("~") and k != "~hardware"}
        if not asked:
            return 0.5
        best: tuple[int, str] | None = None
        for m in re.finditer(r"[^\W\d_]+", text[clause_start:clause_end]):
            marks = lang.verb_classes([lang.stem(m.group(0))])
            marks = [c for c in marks if c != "~hardware"]
            if not marks:
                continue
            start = clause_start + m.start()
            distance = fig.start - start - len(m.group(0)) if start < fig.start else start - fig.end
            if best is None or abs(distance) < best[0]:
                best = (abs(distance), marks[0])
        if best is None:
            return 0.5
        return 1.0 if best[1] in asked else 0.0

    # --- sentences for open questions ----------------------------------------------------------------
    def sentence_features(self, s: Sentence) -> dict[str, float]:
        q, text = self.q, s.text
        features = {**self._retrieval(s), **self._terms(s)}
        del features["optional_terms"]
        features["keywords_sentence"] = self._keywords(text)
        features["keywords_context"] = self._keywords(s.context_text)
        features["referent"] = self._referent(s)
        features["answer_shape"] = 1.0 if answer_phrase(q, s, self) else 0.0
        features["question_line"] = 1.0 if s.kind == "question" else 0.0
        features["heading_line"] = 1.0 if s.kind == "heading" else 0.0
        features["period_match"], features["period_conflict"] = self._periods(text, text, s)
        features["superlative"] = 1.0 if q.operation in ("max", "min") and _SUPERLATIVE.search(text) else 0.0
        features["short"] = 1.0 if len(text.split()) < 6 else 0.0
        features["follows"] = 1.0 if s.follows else 0.0
        return features


def _same(a: Figure, b: Figure) -> bool:
    from chipqa.core.figures import same_quantity

    return same_quantity(a, b)


def answer_phrase(q: Question, s: Sentence, scorer: Scorer | None = None) -> str | None:
    """The short phrase of a sentence that answers an open question, verbatim, or None when it holds none."""
    from chipqa.answering.phrases import extract

    return extract(q, s.text, scorer.matcher if scorer else TermMatcher(q.terms))


def logistic(weights: dict[str, float], bias: float, features: dict[str, float]) -> float:
    z = bias + sum(weights.get(name, 0.0) * value for name, value in features.items())
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _fact_label(s: Sentence) -> str:
    """The label over a fact line that opens with its figure ("### 1. Škoda Auto" over "3,072 Nvidia B300 GPUs ·
    $140 million"), which names what the line is about; "" for any other sentence."""
    return s.label_text if re.match(r"[\s*_-]*(?:[$€£¥]|[A-Z]{2,3}\$?\s?)?\d", s.text) else ""
