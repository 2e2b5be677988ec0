"""Answer a question: retrieve, pick evidence, let the LLM draft, then verify every figure before it is shown.

The LLM works on a few well-chosen evidence sentences. Code decides what may be said: a draft whose
figures are not in the cited sentences, or that misses the best-supported figure, is replaced by an
answer composed from the evidence itself. A stronger LLM makes more drafts pass; it never bypasses the check.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from chipqa.answering.evidence import (
    Candidate,
    Sentence,
    YearsInForce,
    candidates,
    citation_span,
    mentions,
    sentences_of,
)
from chipqa.answering.grounding import stated_figures, unsupported
from chipqa.answering.question import GENERIC, Question, analyze, validate
from chipqa.core.errors import BackendError
from chipqa.core.figures import Figure, format_value, parse_figures, same_quantity
from chipqa.core.models import Answer, Citation, ConflictRecord, FigureRecord, Passage
from chipqa.core.text import clip
from chipqa.index.retrieval import HybridRetriever
from chipqa.llm.backends import Generator

OnToken = Callable[[str], None]

# A second source's figure is shown as a conflict when its score is at least this share of the best one.
CONFLICT_RATIO = 0.65
# The LLM's pick among grounded candidates wins when it scores at least this share of the best.
LLM_PICK_RATIO = 0.85
EVIDENCE_SENTENCES = 4
_REFUSAL = re.compile(
    r"\b(not (mentioned|stated|provided|given|specified)|no information|cannot|can't|unknown)\b", re.I
)


@dataclass
class AskResult:
    """The answer record and the passages retrieval returned (for the eval and the UI)."""

    answer: Answer
    passages: list[Passage] = field(default_factory=list)


class Answerer:
    """Turns a question into a verified, cited Answer."""

    def __init__(
        self,
        retriever: HybridRetriever,
        generator: Generator | None,
        top_k: int = 8,
        max_question_chars: int = 1000,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.top_k = top_k
        self.max_question_chars = max_question_chars

    @property
    def llm_label(self) -> str:
        return self.generator.label if self.generator else "none (extractive)"

    def ask(self, question: str, top_k: int | None = None, on_token: OnToken | None = None) -> AskResult:
        started = time.perf_counter()
        text = validate(question, self.max_question_chars)
        self.retriever.refresh()
        q = analyze(self.retriever.correct(text))
        q = replace(q, text=text, keyword_weights=tuple(self.retriever.vocabulary.idf(k) for k in q.keywords))
        passages = self.retriever.retrieve(q.focus, top_k or self.top_k)
        retrieved_at = time.perf_counter()
        builder = _Builder(q, passages, self.llm_label)
        entities, unknown = self._resolve_entities(q)
        sentences = sentences_of(passages)
        years = self.retriever.years_in_force
        cands = candidates(q, sentences, entities, years) if not unknown else []
        draft, generate_ms, llm_note = "", 0.0, None
        evidence = _evidence_sentences(q, sentences, cands)
        if self.generator and evidence and not unknown:
            gen_started = time.perf_counter()
            try:
                draft = self._draft(q, evidence, on_token)
            except BackendError as exc:
                llm_note = f"LLM unavailable, answered from the evidence alone ({exc})"
            generate_ms = (time.perf_counter() - gen_started) * 1000
        answer = builder.build(q, entities, unknown, sentences, cands, evidence, draft, years)
        if llm_note:
            answer.notes.append(llm_note)
        answer.timings_ms = {
            "retrieve": round((retrieved_at - started) * 1000, 1),
            "generate": round(generate_ms, 1),
            "total": round((time.perf_counter() - started) * 1000, 1),
        }
        return AskResult(answer, passages)

    def _resolve_entities(self, q: Question) -> tuple[tuple[str, ...], list[str]]:
        """Entities as the index spells them, plus names typed in lower case ("amazon gpu count").

        A name the index never mentions ("Apple", "aapl") makes the question unanswerable here.
        """
        vocab = self.retriever.vocabulary
        resolved, unknown = [], []
        for entity in q.entities:
            words = re.findall(r"[A-Za-z0-9]+", entity.replace(".", ""))
            if all(w.lower() in vocab or w.lower().rstrip("s") in vocab for w in words):
                resolved.append(entity)
            else:
                unknown.append(entity)
        strange = []
        for word in re.findall(r"\b[a-z][a-z0-9]+\b", q.focus):
            if word in GENERIC:
                continue
            if word in vocab.names and not any(mentions(e, word) for e in resolved):
                resolved.append(word)
            elif vocab.is_unknown(word):
                strange.append(word)
        # An unknown lower-case word is taken for a name ("aapl") only when nothing else names a subject.
        if strange and not resolved:
            unknown.extend(strange)
        return tuple(resolved), unknown

    def _draft(self, q: Question, evidence: list[Sentence], on_token: OnToken | None) -> str:
        assert self.generator is not None
        prompt = build_prompt(q.focus, [s.text for s in evidence])
        gate = FigureGate(on_token)
        parts = []
        for delta in self.generator.stream(prompt):
            parts.append(delta)
            gate.feed(delta)
            if "\n" in "".join(parts):
                break
        return "".join(parts).split("\n")[0].strip()


class FigureGate:
    """Streams a draft up to its first figure; the rest waits until the whole answer is verified."""

    def __init__(self, on_token: OnToken | None) -> None:
        self.on_token = on_token
        self.held = False

    def feed(self, delta: str) -> None:
        if self.on_token is None or self.held:
            return
        cut = re.search(r"[\d$€£¥]", delta)
        if cut:
            self.held = True
            delta = delta[: cut.start()]
        if delta:
            self.on_token(delta)


_EXAMPLE = (
    "Evidence:\n[1] Acme Corp bought 12,000 servers in 2023.\n[2] Beta Inc spent $3 billion on data centres.\n"
    "Question: How much did Beta Inc spend on data centres?\nAnswer: Beta Inc spent $3 billion on data centres [2].\n\n"
)


def build_prompt(question: str, evidence: list[str]) -> str:
    """A short completion prompt: one worked example, then the numbered evidence and the question."""
    lines = "\n".join(f"[{i}] {text}" for i, text in enumerate(evidence, 1))
    return (
        "Answer the question in one sentence using only the evidence, and cite it like [1].\n\n"
        f"{_EXAMPLE}Evidence:\n{lines}\nQuestion: {question}\nAnswer:"
    )


def _evidence_sentences(q: Question, sentences: list[Sentence], cands: list[Candidate]) -> list[Sentence]:
    """The sentences the LLM sees: those holding the best candidates, then the best-ranked others."""
    chosen: list[Sentence] = []
    for c in cands:
        if c.sentence not in chosen:
            chosen.append(c.sentence)
        if len(chosen) >= EVIDENCE_SENTENCES - 1:
            break
    if not q.wants_figure or len(chosen) < EVIDENCE_SENTENCES:
        for s in sentences:
            if s not in chosen and len(chosen) < EVIDENCE_SENTENCES:
                chosen.append(s)
    return chosen


class _Builder:
    """Composes the answer record for one question; citations are numbered as they are used."""

    def __init__(self, q: Question, passages: list[Passage], llm: str) -> None:
        self.q = q
        self.passages = passages
        self.llm = llm
        self.citations: list[Citation] = []

    def cite(self, sentence: Sentence, entities: tuple[str, ...] = ()) -> int:
        start, end = citation_span(self.q, sentence, entities)
        p = sentence.passage
        for c in self.citations:
            if c.doc_id == p.doc_id and c.start == start and c.end == end:
                return c.n
        text = p.text[start - p.start : end - p.start]
        self.citations.append(Citation(len(self.citations) + 1, p.doc_id, p.title, start, end, text, published=p.date))
        return len(self.citations)

    def record(
        self, fig: Figure, n: list[int], computed: bool = False, inputs: list[str] | None = None
    ) -> FigureRecord:
        return FigureRecord(fig.text, fig.value, fig.unit, n, computed, inputs or [])

    def build(
        self,
        q: Question,
        entities: tuple[str, ...],
        unknown: list[str],
        sentences: list[Sentence],
        cands: list[Candidate],
        evidence: list[Sentence],
        draft: str,
        years: YearsInForce,
    ) -> Answer:
        if unknown:
            return self.abstain(f"The indexed sources never mention {', '.join(unknown)}.")
        if q.operation in ("difference", "sum") and len(entities) >= 2:
            return self.arithmetic(q, entities, sentences, years) or self.abstain(
                "The indexed sources do not give both figures needed to compute this."
            )
        if q.wants_figure:
            if not cands:
                return self.abstain("The indexed sources do not state this figure.")
            if q.operation in ("max", "min"):
                return self.superlative(q, cands, entities, sentences, years)
            return self.lookup(q, cands, evidence, draft, entities)
        return self.descriptive(q, sentences, evidence, draft, entities)

    def lookup(
        self,
        q: Question,
        cands: list[Candidate],
        evidence: list[Sentence],
        draft: str,
        entities: tuple[str, ...],
    ) -> Answer:
        best = cands[0]
        picked = _llm_pick(draft, cands)
        if picked is not None and picked.score >= LLM_PICK_RATIO * best.score:
            best = picked
        others = _conflicting(best, cands)
        if others:
            return self.conflict(q, [best, *others], entities)
        n = self.cite(best.sentence, entities)
        text = self._accept_draft(draft, evidence, best, n)
        if text is None:
            text = f"{_phrase(best.figure)} [{n}]: “{self.citations[n - 1].text}”"
        return self.finish(text, [self.record(best.figure, [n])])

    def conflict(self, q: Question, group: list[Candidate], entities: tuple[str, ...]) -> Answer:
        records, parts, conflict_figs = [], [], []
        for c in group:
            n = self.cite(c.sentence, entities)
            records.append(self.record(c.figure, [n]))
            conflict_figs.append(self.record(c.figure, [n]))
            parts.append(f"{_phrase(c.figure)} [{n}] (“{clip(self.citations[n - 1].text)}”)")
        text = "The sources give different figures: " + "; ".join(parts) + "."
        answer = self.finish(text, records)
        answer.conflicts = [ConflictRecord(q.focus, conflict_figs)]
        return answer

    def superlative(
        self,
        q: Question,
        cands: list[Candidate],
        entities: tuple[str, ...],
        sentences: list[Sentence],
        years: YearsInForce,
    ) -> Answer:
        """Largest or smallest figure: among the named parties' own figures, else among the strong candidates."""
        parties = [e for e in entities if _is_party(e, q, sentences, years)]
        pool: list[Candidate] = []
        if len(parties) >= 2:
            for party in parties:
                own = [c for c in candidates(q, sentences, (party,), years) if c.subject and mentions(c.subject, party)]
                pool.extend(own[:1])
        if len(pool) < 2:
            pool = [c for c in cands if c.score >= 0.5 * cands[0].score]
        pick = (max if q.operation == "max" else min)(pool, key=lambda c: c.figure.value)
        n = self.cite(pick.sentence, entities)
        who = f"{pick.subject}, with " if pick.subject else ""
        word = "largest" if q.operation == "max" else "smallest"
        text = (
            f"{who}{_phrase(pick.figure)} [{n}] — the {word} such figure in the retrieved sources: "
            f"“{self.citations[n - 1].text}”"
        )
        return self.finish(text, [self.record(pick.figure, [n])])

    def arithmetic(
        self, q: Question, entities: tuple[str, ...], sentences: list[Sentence], years: YearsInForce
    ) -> Answer | None:
        """Difference or sum of the figures the question's parties ("Meta", "Amazon") are each tied to."""
        inputs: list[tuple[str, Candidate]] = []
        for party in (e for e in entities if _is_party(e, q, sentences, years)):
            own = [c for c in candidates(q, sentences, (party,), years) if c.subject and mentions(c.subject, party)]
            if not own:
                return None
            inputs.append((party, own[0]))
        if len(inputs) < 2 or (q.operation == "difference" and len(inputs) != 2):
            return None
        kinds = {c.figure.kind if c.figure.kind != "number" else "count" for _, c in inputs}
        currencies = {c.figure.currency for _, c in inputs}
        if len(kinds) > 1 or len(currencies) > 1:
            return None
        values = [c.figure.value for _, c in inputs]
        if q.operation == "sum":
            value, sign, verb = sum(values), " + ", "total"
        else:
            value, sign, verb = abs(values[0] - values[1]), " − ", "difference"
        numbers = [self.cite(c.sentence, (party,)) for party, c in inputs]
        first = inputs[0][1].figure
        result = parse_figures(format_value(_with_value(first, value)))[0]
        computed = FigureRecord(
            result.text, value, first.unit, sorted(set(numbers)), True, [c.figure.text for _, c in inputs]
        )
        terms = sign.join(f"{party} {c.figure.text} [{n}]" for (party, c), n in zip(inputs, numbers, strict=True))
        text = f"{result.text} ({verb}, computed from the cited figures): {terms}."
        records = [self.record(c.figure, [n]) for (_, c), n in zip(inputs, numbers, strict=True)]
        return self.finish(text, [computed, *records])

    def descriptive(
        self,
        q: Question,
        sentences: list[Sentence],
        evidence: list[Sentence],
        draft: str,
        entities: tuple[str, ...],
    ) -> Answer:
        pool = [s for s in sentences if all(mentions(f"{s.passage.title} {s.passage.text}", e) for e in entities)]
        if not pool:
            return self.abstain("The indexed sources do not answer this.")
        best = pool[0]
        n = self.cite(best, entities)
        text = self._accept_draft(draft, evidence, None, n) or f"“{self.citations[n - 1].text}” [{n}]"
        figs = [self.record(f, [n]) for f in stated_figures(text) if f.kind != "year"]
        return self.finish(text, figs)

    def _accept_draft(self, draft: str, evidence: list[Sentence], best: Candidate | None, n: int) -> str | None:
        """The LLM's sentence, if it states the chosen figure and nothing the cited evidence lacks."""
        body = re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", draft).strip()
        if not body or len(body) > 300 or _REFUSAL.search(body):
            return None
        figs = [f for f in parse_figures(body) if f.kind != "year"]
        if best is not None and not any(same_quantity(f, best.figure) for f in figs):
            return None
        if best is None and figs:
            return None
        cited = self.citations[n - 1].text
        if unsupported(body, [cited]) or not wording_supported(body, f"{cited} {self.q.focus}"):
            return None
        return f"{body.rstrip('.')} [{n}]."

    def abstain(self, reason: str) -> Answer:
        related = [
            Citation(i, p.doc_id, p.title, p.start, p.end, p.text, published=p.date)
            for i, p in enumerate(self.passages[:3], 1)
        ]
        return Answer(
            question=self.q.text,
            answer=f"{reason} The closest passages are listed as related, not as support.",
            abstained=True,
            grounded=True,
            related=related,
            llm=self.llm,
        )

    def finish(self, text: str, figures: list[FigureRecord]) -> Answer:
        used = sorted({n for f in figures for n in f.citations})
        cited_texts = [self.citations[n - 1].text for n in used] or [c.text for c in self.citations]
        missing = unsupported(text, cited_texts, figures)
        if missing:  # composition is meant to make this impossible; never show an unsupported figure
            return self.abstain(f"An answer could be drafted but not verified ({', '.join(missing)}).")
        return Answer(
            question=self.q.text,
            answer=text,
            abstained=False,
            grounded=True,
            figures=figures,
            citations=self.citations,
            llm=self.llm,
        )


def _is_party(entity: str, q: Question, sentences: list[Sentence], years: YearsInForce) -> bool:
    """An entity that some figure belongs to (a buyer), as opposed to a shared term such as "Hopper"."""
    return any(c.subject and mentions(c.subject, entity) for c in candidates(q, sentences, (entity,), years))


_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "into",
        "was",
        "were",
        "are",
        "has",
        "have",
        "had",
        "its",
        "their",
        "than",
        "then",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "while",
        "about",
        "after",
        "before",
        "over",
        "under",
        "also",
        "been",
        "being",
        "such",
        "these",
        "those",
        "there",
        "here",
        "they",
        "them",
        "will",
        "would",
        "could",
        "should",
        "can",
        "may",
        "might",
        "does",
        "did",
        "done",
        "per",
        "each",
        "other",
        "some",
        "more",
        "most",
        "very",
        "just",
        "only",
    ]
)
WORDING_SUPPORT = 0.75


def wording_supported(draft: str, source: str, threshold: float = WORDING_SUPPORT) -> bool:
    """Most of the draft's content words come from the cited text or the question (no invented claims)."""

    def stems(text: str) -> list[str]:
        words = re.findall(r"[a-z][a-z0-9]+", text.lower().replace("’", "'"))
        return [w[:5] for w in words if len(w) > 3 and w not in _STOPWORDS]

    words = stems(draft)
    if not words:
        return True
    allowed = set(stems(source))
    return sum(w in allowed for w in words) / len(words) >= threshold


def _llm_pick(draft: str, cands: list[Candidate]) -> Candidate | None:
    figs = parse_figures(draft)
    for c in cands:
        if any(same_quantity(f, c.figure) for f in figs):
            return c
    return None


def _conflicting(best: Candidate, cands: list[Candidate]) -> list[Candidate]:
    """Other documents' best figures for the same question, when they disagree with the chosen one."""
    out: list[Candidate] = []
    seen_docs = {best.doc_id}
    for c in cands:
        if c.doc_id in seen_docs or c.score < CONFLICT_RATIO * best.score:
            continue
        seen_docs.add(c.doc_id)
        if not same_quantity(c.figure, best.figure) and c.figure.kind == best.figure.kind:
            out.append(c)
    return out[:2]


def _phrase(fig: Figure) -> str:
    if fig.kind in ("count", "number") and fig.unit and fig.unit.lower() not in fig.text.lower():
        return f"{fig.text} {fig.unit}"
    return fig.text


def _with_value(fig: Figure, value: float) -> Figure:
    return replace(fig, value=value, qualifier=None)
