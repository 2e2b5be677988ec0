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
from chipqa.answering.gather import Sentence, TermMatcher
from chipqa.answering.parties import NAME, name_pair, party_names, plural_anaphor
from chipqa.answering.periods import last_period, period_conflicts, period_in, published_in
from chipqa.answering.understand import Question
from chipqa.core.figures import Figure, currencies_match

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

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_CLAUSE_BREAK = re.compile(
    r"[;:()—–]|,\s*(?:while|whereas|but|and|with|including|compared|up from|down from|versus|against|of which)\b"
    r"|\s(?:while|whereas|but|versus)\s",
    re.IGNORECASE,
)
_SUPERLATIVE = re.compile(
    r"\b(largest|biggest|most|top|leading|leader|highest|greatest|lowest|smallest|fewest|least|record)\b", re.I
)
_BM25_K1, _BM25_B, _BM25_AVG = 1.2, 0.75, 25.0
# How far back in its section a sentence's subject may have been named ("the company" refers back).
EARLIER_CHARS = 1500
_HARDWARE = {n.rstrip("s") for n in lang.HARDWARE_NOUNS}
# A party named as the subject of the verb whose object is the figure: "Lambda had bought", "Vultr ordered".
# (Not "shipped" or "delivered": their subject is the supplier.)
_VERBS_OF_HAVING = "|".join(
    sorted(
        {
            *lang.VERB_CLASSES["order"].split(),
            *lang.VERB_CLASSES["operate"].split(),
            "received",
            "installed",
            "deployed",
        },
        key=len,
        reverse=True,
    )
)
_BUYER_BEFORE = re.compile(
    rf"(?P<name>(?:[A-Z][\w&'’.-]*\s+){{0,3}}[A-Z][\w&'’.-]*)\s+(?:(?:has|have|had|will|would|also|reportedly|"
    rf"already|now|then)\s+){{0,2}}(?:{_VERBS_OF_HAVING})\s+(?:(?:about|around|roughly|approximately|some|nearly|"
    rf"almost|over|more\s+than|at\s+least|up\s+to|an\s+estimated)\s+)?$"
)
# Between two model codes of a list: a comma, "and", "or", a slash, perhaps a maker's name ("and AMD MI300X").
_PRODUCT_LIST_GAP = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|&)\s+|/)(?:[A-Z][A-Za-z]+\s+){0,2}")
# The buyer named after a figure: "36,000 stacks ordered from Micron by Penang Lumina".
_AGENT_AFTER = re.compile(
    r"\b(?:ordered|bought|purchased|acquired|booked|placed|reserved|taken)\b[^.;]{0,60}?\bby\s+((?:[A-Z][\w&'’.-]*\s*){1,4})"
)
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z][\w-]*[A-Za-z0-9](?![\w-])")


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


class Scorer:
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
        bm25 = [sentence_bm25(q, s.text) for s in sentences]
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
            # Named in the sentence, its context, the headline and lead, or earlier in its section.
            "named": 1.0 if self.matcher.present(f"{context} \n {s.lead_text} \n {earlier}", self.required) else 0.0,
            "optional_terms": self.matcher.covered(context, self.optional) if self.optional else 0.5,
        }

    def _keywords(self, text: str) -> float:
        if not self.keywords:
            return 0.5
        stems = set(lang.content_stems(text))
        total = sum(self.keywords.values())
        return sum(w for k, w in self.keywords.items() if k in stems) / total if total else 0.0

    def _periods(self, clause: str, sentence: str, s: Sentence) -> tuple[float, float]:
        """(match, conflict): how closely the question's periods are named — in the figure's clause, its
        sentence, its context, the last period named before it in its section, the publication date — and
        whether the clause or sentence names another period instead."""
        if not self.q.periods:
            return 0.5, 0.0
        in_force = last_period(s.earlier_text)
        published = s.doc.published or ""
        for text, strength in ((clause, 1.0), (sentence, 0.7), (s.context_text, 0.4), (in_force, 0.3)):
            if text and any(period_in(p, text) for p in self.q.periods):
                return strength, 0.0
        conflict = 1.0 if any(period_conflicts(p, clause or sentence) for p in self.q.periods) else 0.0
        if not conflict and published and any(published_in(p, published) for p in self.q.periods):
            return 0.2, 0.0
        if not conflict and in_force and any(period_conflicts(p, in_force) for p in self.q.periods):
            conflict = 0.5  # the section speaks of another period, and the sentence names none
        return 0.0, conflict

    # --- figure candidates --------------------------------------------------------------------------
    def figure_features(
        self, s: Sentence, fig: Figure, figures: Sequence[Figure], draft_figures: Sequence[Figure] = ()
    ) -> dict[str, float]:
        q, text = self.q, s.text
        clause_start, clause_end = clause_around(text, fig.start, fig.end)
        clause = text[clause_start:clause_end]
        window = _window(text, fig.start, fig.end, 8)
        header = s.header_at(fig.start)
        features = {**self._retrieval(s), **self._terms(s)}
        features["kind"] = kind_fit(q.asks, fig)
        features["currency"] = (
            0.5
            if not q.currency
            else 1.0
            if fig.kind == "money" and currencies_match(fig.currency, q.currency)
            else 0.0
        )
        features["bare_number"] = 1.0 if fig.kind == "number" and q.asks == "count" else 0.0
        features["attach"] = self._attach(text, fig, figures)
        rivals = [self._attach(text, f, figures) for f in figures if f.start != fig.start and f.kind == fig.kind]
        features["nearest_to_term"] = (
            1.0 if features["attach"] > 0 and all(features["attach"] > r for r in rivals) else 0.0
        )
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
        modifier = _modifier(text, fig)
        features["foreign_modifier"], features["modifier_match"] = self._modifier(modifier, text)
        features["keywords_near"] = self._keywords(f"{window} {header}")
        features["keywords_sentence"] = self._keywords(text)
        features["keywords_context"] = self._keywords(s.context_text)
        if self.quantity:
            near = set(lang.content_stems(f"{window} {header}"))
            features["quantity_near"] = sum(k in near for k in self.quantity) / len(self.quantity)
        else:
            features["quantity_near"] = 0.5
        features["header_match"] = self._keywords(header) if header else 0.0
        features["period_match"], features["period_conflict"] = self._periods(clause, text, s)
        features["unit_match"] = unit_fit(q.unit, fig)
        features["subpart"] = 1.0 if _SUBPART.search(text[max(0, fig.start - 30) : fig.start]) else 0.0
        future = bool(lang.FUTURE.search(clause))
        features["future_clause"] = 1.0 if future else 0.0
        features["guidance"] = 1.0 if lang.GUIDANCE.search(clause) or _guided_before(text, fig) else 0.0
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

    def _foreign_before(self, s: Sentence, fig: Figure, clause_start: int) -> float:
        """1 when the party nearest before the figure is not one the question asks about: in a table row, the
        row's label; elsewhere the name nearest before it in its sentence (a maker's name before a model code,
        as in "Nvidia B200", names no party)."""
        text = s.text
        if s.kind == "table_row" and s.row_label:
            label = s.doc.text[s.row_label[0] : s.row_label[1]]
            return 0.0 if self._is_question_name(label) else 1.0
        names = party_names(text, 0, fig.start, self.q.names or None)
        if not names:
            return 0.0
        nearest = names[-1]
        if self._is_question_name(nearest.group(0)):
            return 0.0
        # A name of the question between it and the figure would have been nearer; this one is someone else's.
        if nearest.start() >= clause_start or not any(self._is_question_name(n.group(0)) for n in names):
            return 1.0
        return 0.5

    def _owned_elsewhere(self, text: str, fig: Figure, figures: Sequence[Figure]) -> float:
        """1 in a parallel list ("A bought 224,000, B 196,000 and C 169,000") when the name between the
        previous figure and this one is another party's while the asked party owns another figure of the
        same sentence the same way (the name at most two words before the figure): this figure is that other
        party's, not the asked one's."""
        if not self.q.names:
            return 0.0

        def owner(f: Figure) -> str | None:
            start = max((g.end for g in figures if g.end <= f.start), default=0)
            found = party_names(text, start, f.start, self.q.names)
            if not found or len(re.findall(r"[\w'’-]+", text[found[-1].end() : f.start])) > 2:
                return None  # a list pairs each name with the figure right after it ("Meta acquired 224,000")
            return found[-1].group(0)

        own = owner(fig)
        if own is None or self._is_question_name(own):
            return 0.0
        for other in figures:
            if other.start != fig.start and other.kind == fig.kind:
                name = owner(other)
                if name is not None and self._is_question_name(name):
                    return 1.0
        return 0.0

    def _buyer_before(self, text: str, fig: Figure, clause_start: int) -> float:
        """1 when the figure is what another party, named as the subject right before its verb, bought, got or
        runs ("said Lambda had bought roughly 41,000 GPUs"): the name, at most an auxiliary or an adverb, the
        verb, at most a qualifier, then the figure."""
        if not any(not self.q.terms[i].code for i in self.required):
            return 0.0  # the question names no party to tell apart
        m = _BUYER_BEFORE.search(text, clause_start, fig.start)
        if not m:
            return 0.0
        found = party_names(text, m.start("name"), m.end("name"), self.q.names or None)
        if not found or found[-1].end() != m.end("name"):
            return 0.0
        before = text[max(0, found[0].start() - 8) : found[0].start()]
        if re.search(r"\b(?:of|from|at|in|for|with|by|to|like|than)\s+$", before):
            return 0.0  # "the publisher of PUBG has ordered": the name ends a phrase, it is not the subject
        whole = text[found[0].start() : m.end("name")]  # "Varro Labs": NAME matches a word at a time
        if self._is_question_name(whole) or any(self._is_question_name(n.group(0)) for n in found):
            return 0.0
        return 1.0

    def _verb_match(self, text: str, fig: Figure, clause_start: int, clause_end: int) -> float:
        """1 when the verb nearest the figure is of the question's kind (ordered for ordered, delivered for
        received, added for added), 0 when it is of another kind, 0.5 when either says none."""
        asked = {k for k in self.q.keywords if k.startswith("~") and k != "~hardware"}
        if not asked:
            return 0.5
        best: tuple[int, str] | None = None
        for m in re.finditer(r"[A-Za-z]+", text[clause_start:clause_end]):
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

    def _mixed(self, text: str, fig: Figure, figures: Sequence[Figure], clause_start: int, clause_end: int) -> float:
        """1 when the figure counts several models at once ("10,900 GPUs, mostly H100, H200 and B200") while
        the question asks about only some of them; models that have figures of their own ("5,500 K9s and 3,500 H4s")
        are not mixed into this one."""
        after = [f.start for f in figures if f.start > fig.start]
        clause = text[clause_start : min([clause_end, *after])]
        # Codes written side by side name one product ("GB300 NVL72 rack-scale systems"), not a mix.
        products: list[list[str]] = []
        listed = False  # two products joined as a list: "H100, H200 and B200", "A100 and H800", "B200/B300"
        last_end = -2
        for m in _CODE.finditer(clause):
            gap = clause[last_end : m.start()]
            if products and not gap.strip():
                products[-1].append(m.group(0).upper())
            else:
                listed = listed or bool(products and _PRODUCT_LIST_GAP.fullmatch(gap))
                products.append([m.group(0).upper()])
            last_end = m.end()
        codes = {" ".join(p) for p in products}
        asked = [i for i, t in enumerate(self.q.terms) if t.code]
        unasked = [c for c in codes if not any(self.matcher.strength(i, c) > 0 for i in asked)]
        if not asked or len(codes) < 2 or not unasked:
            return 0.0  # a question that names every model counted ("A100 and H800 units") asks for the mix
        return 1.0 if listed or re.search(r"\b(mix|mostly|mainly|including)\b", clause) else 0.0

    def _foreign_agent(self, text: str, fig: Figure, clause_end: int) -> float:
        """1 when the clause names the figure's buyer after it as someone else ("36,000 stacks ordered ... by
        Penang Lumina")."""
        after = text[fig.end : clause_end]
        m = _AGENT_AFTER.search(after)
        if not m or m.group(1).split()[0].lower() in lang.MONTHS:
            return 0.0
        return 0.0 if self._is_question_name(m.group(1).strip()) else 1.0

    def _codes(
        self, text: str, fig: Figure, figures: Sequence[Figure], clause_start: int, modifier: str
    ) -> tuple[float, float]:
        """(foreign_code_before, code_missing) for a question that names a model: the model code nearest
        before the figure in its clause is another one ("the H200 fleet ran at 94% and the MI355X fleet at
        81%"); or the figure's own words do not name the asked model while the sentence ties it to another
        figure ("14,336 at year end: 8,192 H200s and 6,144 MI355X")."""
        asked = [i for i, t in enumerate(self.q.terms) if t.code]
        if not asked:
            return 0.0, 0.0
        before = [m for m in _CODE.finditer(text, clause_start, fig.start)]
        foreign = 0.0
        product = before[-1:]  # the nearest code and those written right before it: "GB300 NVL72" is one product
        for m in reversed(before[:-1]):
            if text[m.end() : product[0].start()].strip():
                break
            product.insert(0, m)
        if product and not any(self.matcher.strength(i, m.group(0)) > 0 for i in asked for m in product):
            foreign = 1.0
        in_modifier = any(self.matcher.strength(i, modifier) > 0 for i in asked)
        elsewhere = any(self.matcher.strength(i, text) > 0 for i in asked)
        others = [f for f in figures if f.start != fig.start]
        missing = (
            1.0
            if not in_modifier and elsewhere and others and foreign == 0.0 and not self._tied_before(text, fig, asked)
            else 0.0
        )
        return foreign, missing

    def _code_elsewhere(self, text: str, fig: Figure, figures: Sequence[Figure], modifier: str) -> float:
        """1 when the asked model is what another figure of the sentence counts ("14,336 at year end: 8,192
        H200s and 6,144 MI355X" for the H200s: 8,192 is theirs) and this figure's own words do not name it."""
        asked = [i for i, t in enumerate(self.q.terms) if t.code]
        if not asked or any(self.matcher.strength(i, modifier) > 0 for i in asked):
            return 0.0
        if self._tied_before(text, fig, asked) or lang.PART_OF.match(text[fig.end : fig.end + 16]):
            return 0.0  # "5,800 of them": a part of the figure that names the model
        for other in figures:
            counts = {other.kind, fig.kind} <= {"count", "number"}
            if other.start != fig.start and (counts or other.kind == fig.kind) and unit_fit(self.q.unit, other) > 0:
                words = _modifier(text, other)  # 4,160 GPUs beside 520 B200 systems are no rival
                if any(self.matcher.strength(i, words) > 0 for i in asked):
                    return 1.0
        return 0.0

    def _tied_before(self, text: str, fig: Figure, asked: list[int]) -> bool:
        """An asked model is named just before the figure ("MI355X fleet at 81%")."""
        window = text[max(0, fig.start - 30) : fig.start]
        return any(self.matcher.strength(i, window) > 0 for i in asked)

    def _row_mismatch(self, s: Sentence) -> float:
        """1 for a table row that does not itself name every party and model the question requires: a row is a
        record of its own, and the neighbouring rows are other buyers'."""
        if s.kind != "table_row":
            return 0.0
        needed = [i for i in self.required if not self.q.terms[i].optional]
        return 0.0 if self.matcher.present(s.text, needed) else 1.0

    def _other_subject(self, s: Sentence) -> float:
        """1 when a sentence that does not name the question's subject plainly belongs to another one: it says
        "Both companies" after a pair of names that leaves the subject out, or it stands under a heading that
        names someone else ("Foxconn's Kaohsiung AI factory" over "The company has ordered ...")."""
        if not self.required or self.matcher.present(s.text, self.required):
            return 0.0
        doc = s.doc.text
        if plural_anaphor(s.text):
            for a, b in [*reversed(s.before), *([s.heading] if s.heading else [])]:
                pair = name_pair(doc, a, b)
                if pair:
                    return 0.0 if any(self.matcher.strength(i, pair) > 0 for i in self.required) else 1.0
        if self.matcher.present(s.context_text, self.required):
            return 0.0
        if s.heading and s.kind != "table_row":
            heading = doc[s.heading[0] : s.heading[1]].strip("#* ")
            names = party_names(doc, *s.heading, self.q.names or None)
            if names and heading != s.doc.title and not any(self._is_question_name(n.group(0)) for n in names):
                return 0.5  # probably another party's section: weighed, not ruled out
        return 0.0

    def _referent(self, s: Sentence) -> float:
        """Whom a sentence that does not name the question's subject is about ("The company ordered ..."): the
        nearest party named before it (previous sentences, then its heading, then the article's lead): 1 when
        that is the question's, 0 when it is another party, 0.5 when the sentence names the subject itself or
        nothing before it names anyone."""
        if not self.required or self.matcher.present(s.text, self.required):
            return 0.5
        doc = s.doc.text
        spans = [*reversed(s.before), *([s.heading] if s.heading else []), *([s.lead] if s.lead else [])]
        if plural_anaphor(s.text):
            # "Both companies ordered ...", "They ...": the last pair of names joined by "and" before it.
            for a, b in spans:
                pair = name_pair(doc, a, b)
                if pair:
                    return 1.0 if any(self.matcher.strength(i, pair) > 0 for i in self.required) else 0.0
            return 0.5
        for a, b in spans:
            names = party_names(doc, a, b, self.q.names or None)
            if names:
                return 1.0 if any(self._is_question_name(n.group(0)) for n in names[-2:]) else 0.0
        return 0.5

    def _modifier(self, modifier: str, sentence: str) -> tuple[float, float]:
        """(foreign, match): what the figure counts, named right after it ("485,000 Hopper chips": its last
        name or code, a maker's prefix aside), is not / is a thing the question names. Foreign counts only when
        the question names a thing of its own that the sentence does not give."""
        names = [m.group(0) for m in NAME.finditer(modifier) if m.group(0).lower().rstrip("s") not in _HARDWARE]
        if not names:
            return 0.0, 0.0
        product = names[-1]
        if self._is_question_name(product) or self._names_question_term(modifier):
            return 0.0, 1.0  # "Hopper chips"; "Tensor Processing Units", a name of several words
        asked = [i for i in self.required if self.q.terms[i].product]
        return (1.0 if asked else 0.0), 0.0

    def _names_question_term(self, text: str) -> bool:
        return any(self.matcher.strength(i, text) >= 1.0 for i in range(len(self.q.terms)))

    def _is_question_name(self, name: str) -> bool:
        return any(self.matcher.strength(i, name) > 0 for i in range(len(self.q.terms))) or any(
            name.lower().startswith(t.text.lower()) or t.text.lower().startswith(name.lower() + " ")
            for t in self.q.terms
        )  # "Lambda Labs" asked, "Lambda" written: the short form of the same name

    def _collective(self, clause: str, fig: Figure) -> float:
        """1 when the figure is a total for several parties while the question asks about one."""
        if self.q.operation == "sum" or len(self.q.items) >= 2:
            return 0.0
        if lang.COLLECTIVE.search(clause):
            return 1.0
        names = [m.group(0) for m in NAME.finditer(clause)]
        joined = re.search(r"\b[A-Z][\w-]+(?:,\s*[A-Z][\w-]+)*\s+(?:and|&)\s+[A-Z][\w-]+\b", clause)
        return 0.5 if joined and len(names) >= 2 else 0.0

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


_SUBPART = re.compile(
    r"\b(of which|including|of that|of this|of them|among them|of these)\s*(?:about |around |some )?$", re.I
)


def _guided_before(text: str, fig: Figure) -> bool:
    """Whether the sentence frames the figure as guidance before it ("Guidance for Q3 is revenue of $88 million",
    "X guided to revenue of $170 million, with AI revenue of about $120 million") and no result verb comes
    between; a semicolon ends the framing."""
    before = text[: fig.start].rsplit(";", 1)[-1]
    ends = [m.end() for m in lang.GUIDANCE.finditer(before)]
    return bool(ends) and not _RESULT_VERB.search(before, ends[-1])


_RESULT_VERB = re.compile(r"\b(was|were|reported|posted|came in|rose|fell|grew|totall?ed|reached)\b", re.I)


def unit_fit(unit: str | None, fig: Figure) -> float:
    """1 when a count counts what the question asks (chips for chips, racks for racks), 0 when it counts
    something else, 0.5 when either is unknown."""
    if unit is None or fig.kind not in ("count", "number") or not fig.unit:
        return 0.5
    noun = fig.unit.lower().rstrip("s")
    hardware = noun in {n.rstrip("s") for n in lang.HARDWARE_NOUNS} or bool(re.search(r"\d", noun))
    if unit == "hardware":
        return 1.0 if hardware else 0.0
    return 1.0 if noun == unit else 0.0


def kind_fit(asks: str, fig: Figure) -> float:
    """1 for the kind asked, 0.5 for a plain number asked as a count, 0 otherwise."""
    if fig.kind == "year":
        return 1.0 if asks == "year" else 0.0
    if asks == "figure":
        return 1.0
    if asks == "count":
        return 1.0 if fig.kind == "count" else 0.5 if fig.kind == "number" else 0.0
    return 1.0 if fig.kind == asks else 0.0


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause holding text[start:end]: between the nearest breaks (";", "—", ", while", ...) around it."""
    left, right = 0, len(text)
    for m in _CLAUSE_BREAK.finditer(text):
        if m.end() <= start:
            left = m.end()
        elif m.start() >= end:
            right = m.start()
            break
    return left, right


def _window(text: str, start: int, end: int, words: int) -> str:
    """Up to `words` words on each side of text[start:end], within the figure's clause."""
    clause_start, clause_end = clause_around(text, start, end)
    before = [m for m in _WORD.finditer(text, clause_start, start)][-words:]
    after = [m for m in _WORD.finditer(text, end, clause_end)][:words]
    left = before[0].start() if before else start
    right = after[-1].end() if after else end
    return text[left:right]


def _modifier(text: str, fig: Figure) -> str:
    """The words right after a figure that say what it counts, up to its count noun ("Hopper chips")."""
    rest = text[fig.end : fig.end + 60]
    m = re.match(r"\s*((?:[\w’'.-]+\s+){0,3}[\w’'.-]+)", rest)
    if not m:
        return ""
    words = m.group(1).split()
    out = []
    for w in words:
        if w.lower() in lang.STOPWORDS and w.lower() not in ("of",):
            break
        out.append(w)
        if w.lower().rstrip("s") in {n.rstrip("s") for n in lang.HARDWARE_NOUNS}:
            break
    return " ".join(out)


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
