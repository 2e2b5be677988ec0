"""Answer a question: understand → retrieve → gather → select → verify → compose.

Code decides what may be said. The LLM drafts one sentence over the best evidence; the draft is a signal for
selection and, when verification accepts it, the answer's wording. A stronger LLM makes more drafts pass and
more picks agree; it never bypasses verification.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from chipqa.answering import compose as c
from chipqa.answering.draft import Drafter, OnToken, draft
from chipqa.answering.gather import DocumentInfo, Sentence, TermMatcher, gather, to_document_info
from chipqa.answering.ranker import Model, load_model
from chipqa.answering.select import Candidate, Decision, decide, figure_candidates
from chipqa.answering.understand import Lexicon, Question, understand, validate
from chipqa.answering.verify import accept_draft, unsupported
from chipqa.core.errors import BackendError
from chipqa.core.figures import Figure, format_value, parse_figures
from chipqa.core.models import Answer, Passage

# Evidence sentences the LLM sees.
EVIDENCE_SENTENCES = 4


@dataclass
class AskResult:
    """The answer record and the passages retrieval returned (for the eval and the UI)."""

    answer: Answer
    passages: list[Passage] = field(default_factory=list)


class Retriever(Protocol):
    """What answering needs of the index (chipqa.index.retrieval.HybridRetriever)."""

    @property
    def vocabulary(self) -> Lexicon: ...

    def refresh(self) -> None: ...
    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]: ...
    def document(self, doc_id: str) -> object | None: ...


class Answerer:
    """Turns a question into a verified, cited Answer. Holds no state between questions."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Drafter | None,
        top_k: int = 10,
        max_question_chars: int = 1000,
        model: Model | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.top_k = top_k
        self.max_question_chars = max_question_chars
        self.model = model or load_model()

    @property
    def llm_label(self) -> str:
        return self.generator.label if self.generator else "none (extractive)"

    def ask(self, question: str, top_k: int | None = None, on_token: OnToken | None = None) -> AskResult:
        started = time.perf_counter()
        text = validate(question, self.max_question_chars)
        self.retriever.refresh()
        q = understand(text, self.retriever.vocabulary)
        passages = self.retriever.retrieve(retrieval_query(q), top_k or self.top_k)
        for query in item_queries(q):  # each compared name's own evidence, after the question's
            seen = {(p.doc_id, p.start) for p in passages}
            passages += [
                p for p in self.retriever.retrieve(query, top_k or self.top_k) if (p.doc_id, p.start) not in seen
            ]
        retrieved_at = time.perf_counter()
        sentences = gather(passages, self._document)
        if q.operation in ("max", "min") and not q.choice and passages:
            sentences += gather(whole_documents(passages, self._document), self._document)
        draft_text, generate_ms, notes = "", 0.0, []
        if self.generator is not None and q.wants_figure and not q.unknown and sentences:
            evidence = _evidence(q, sentences, self.model)
            if evidence:
                gen_started = time.perf_counter()
                try:
                    draft_text = draft(self.generator, q.focus, [s.text for s in evidence], on_token)
                except BackendError as exc:
                    notes.append(f"LLM unavailable, answered from the evidence alone ({exc})")
                generate_ms = (time.perf_counter() - gen_started) * 1000
        decision = decide(q, sentences, self.model, draft_text)
        answer = compose(q, decision, passages, self.llm_label, draft_text)
        if notes:
            answer = c.with_notes(answer, notes)
        answer.timings_ms = {
            "retrieve": round((retrieved_at - started) * 1000, 1),
            "generate": round(generate_ms, 1),
            "total": round((time.perf_counter() - started) * 1000, 1),
        }
        return AskResult(answer, passages)

    def _document(self, doc_id: str) -> DocumentInfo | None:
        return to_document_info(self.retriever.document(doc_id))


def whole_documents(
    passages: list[Passage], document: Callable[[str], DocumentInfo | None], limit: int = 2
) -> list[Passage]:
    """Every line of the documents of the best passages, as passages ranked after the retrieved ones: "the
    largest order in the list" is taken over the whole list, not the part retrieval happened to return."""
    from chipqa.answering.gather import layout_of

    out: list[Passage] = []
    for doc_id in dict.fromkeys(p.doc_id for p in passages[:limit]):
        doc = document(doc_id)
        if doc is None:
            continue
        for line in layout_of(doc.text).lines:
            if line.kind in ("text", "table_row", "question"):
                out.append(Passage(doc_id, doc.title, line.start, line.end, doc.text[line.start : line.end]))
    return out


def retrieval_query(q: Question) -> str:
    """The question, with the index's spelling of names it writes otherwise ("SKT" → "SK Telecom")."""
    extra = [t.forms[0] for t in q.terms if t.forms and t.forms[0].lower() not in q.focus.lower()]
    return f"{q.focus} {' '.join(extra)}" if extra else q.focus


def item_queries(q: Question) -> list[str]:
    """For a comparison or a sum over named parties ("Kakao or FPT Smart Cloud"), one query per name with the
    other compared names left out: the question's own retrieval may return one name's passages only."""
    if len(q.items) < 2:
        return []
    out = []
    for item in q.items:
        focus = q.focus
        for other in q.items:
            if other is not item:
                focus = focus.replace(other.text, " ")
        out.append(re.sub(r"\s+", " ", f"{focus} {item.forms[0]}").strip())
    return out


def _evidence(q: Question, sentences: list[Sentence], model: Model) -> list[Sentence]:
    """The sentences of the best candidates, for the LLM to draft from."""
    chosen: list[Sentence] = []
    for cand in figure_candidates(q, sentences, model):
        if cand.sentence not in chosen:
            chosen.append(cand.sentence)
        if len(chosen) >= EVIDENCE_SENTENCES:
            break
    return chosen


def compose(q: Question, d: Decision, passages: list[Passage], llm: str, draft_text: str = "") -> Answer:
    """The answer record for a decision; any figure the text would state unsupported turns it into an abstention."""
    if d.kind == "abstain":
        return c.abstention(q.text, d.reason, passages, llm)
    cites = c.Citations()
    matcher = TermMatcher(q.terms)
    required = [i for i, t in enumerate(q.terms) if not t.optional]
    builder = _COMPOSERS[d.kind]
    text, figures, conflicts = builder(q, d, cites, matcher, required, draft_text)
    used = sorted({n for f in figures for n in f.citations}) or [x.n for x in cites.items]
    cited = [cites.items[n - 1].text for n in used]
    missing = unsupported(text, [*cited, q.focus], figures, years_only=1)
    if missing:  # composition is meant to make this impossible; never show an unsupported figure
        return c.abstention(
            q.text, f"An answer was found but could not be verified ({', '.join(missing)}).", passages, llm
        )
    return c.finish(q.text, text, figures, cites, llm, conflicts)


Parts = tuple[str, list, list]
Composer = Callable[[Question, Decision, c.Citations, TermMatcher, list[int], str], Parts]


def _lookup(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    pick = d.picks[0]
    fig = _fig(pick)
    numbers = cites.sentence(pick.sentence, matcher, required)
    accepted = accept_draft(
        draft_text, fig, pick.sentence.context_text + " " + pick.sentence.text, q.focus, matcher, required
    )
    if accepted:
        text = f"{accepted.rstrip('.')} {c.marks(numbers)}."
    else:
        text = f"{pick.shown or c.phrase(fig)} {c.marks(numbers)}: {c.quote(cites, numbers[0], sentence=pick.sentence)}"
    # A range is recorded as written ("JPY 55–57 billion"), so its lower end does not read as 55 yen.
    shown = replace(fig, text=pick.shown) if pick.shown else fig
    return text, [c.record(shown, numbers)], []


def _conflict(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    entries = []
    for pick in d.picks:
        numbers = cites.sentence(pick.sentence, matcher, required)
        entries.append((pick, numbers))
    dated = [e for e in entries if e[0].sentence.doc.published]
    latest = max(dated, key=lambda e: e[0].sentence.doc.published or "") if len(dated) == len(entries) else entries[0]
    ordered = [latest, *[e for e in entries if e is not latest]]
    parts = []
    for pick, numbers in ordered:
        when = pick.sentence.doc.published or "date unknown"
        quoted = c.quote(cites, numbers[0], 160, sentence=pick.sentence)
        parts.append(f"{c.phrase(_fig(pick))} {c.marks(numbers)} (published {when}: {quoted})")
    lead = (
        "The sources differ; the latest report first: " if latest is not entries[0] or dated else "The sources differ: "
    )
    text = lead + "; ".join(parts) + "."
    figures = [c.record(_fig(p), n) for p, n in ordered]
    conflict = c.conflict_record(q.focus, [(_fig(p), n, p.sentence.doc.published) for p, n in entries])
    return text, figures, [conflict]


def _arithmetic(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    numbers = [cites.sentence(p.sentence, matcher, []) for p in d.picks]
    first = _fig(d.picks[0])
    result = parse_figures(format_value(replace(first, value=d.value or 0.0, qualifier=None)))[0]
    sign, verb = (" + ", "total") if q.operation == "sum" else (" − ", "difference")
    terms = sign.join(
        f"{name} {_fig(p).text} {c.marks(n)}" for name, p, n in zip(d.names, d.picks, numbers, strict=False)
    )
    approx = "about " if any(_fig(p).qualifier for p in d.picks) else ""
    text = f"{approx}{c.phrase(result)} ({verb}, computed from the cited figures): {terms}."
    inputs = [_fig(p).text for p in d.picks]
    all_numbers = sorted({n for ns in numbers for n in ns})
    computed = c.record(result, all_numbers, computed=True, inputs=inputs)
    return text, [computed, *[c.record(_fig(p), n) for p, n in zip(d.picks, numbers, strict=True)]], []


def _choice(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    numbers = [cites.sentence(p.sentence, matcher, []) for p in d.picks]
    winner, rest = d.names[0], list(zip(d.names[1:], d.picks[1:], numbers[1:], strict=True))
    others = "; ".join(f"{name}: {c.phrase(_fig(p))} {c.marks(n)}" for name, p, n in rest)
    text = f"{winner}, with {c.phrase(_fig(d.picks[0]))} {c.marks(numbers[0])} (against {others})."
    return text, [c.record(_fig(p), n) for p, n in zip(d.picks, numbers, strict=True)], []


def _superlative(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    pick = d.picks[0]
    numbers = cites.sentence(pick.sentence, matcher, required)
    who = d.names[0] if d.names and d.names[0] else ""
    word = "largest" if q.operation != "min" else "smallest"
    lead = f"{who}, with {c.phrase(_fig(pick))}" if who else c.phrase(_fig(pick))
    quoted = c.quote(cites, numbers[0], sentence=pick.sentence)
    text = f"{lead} {c.marks(numbers)}, the {word} such figure in the cited source: {quoted}"
    return text, [c.record(_fig(pick), numbers)], []


def _open(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    pick = d.picks[0]
    numbers = cites.sentence(pick.sentence, matcher, required)
    quoted = c.quote(cites, numbers[0], 400, sentence=pick.sentence)
    phrase = d.phrase or ""
    text = (
        f"{phrase} — {quoted} {c.marks(numbers)}"
        if phrase and phrase != pick.sentence.text
        else f"{quoted} {c.marks(numbers)}"
    )
    figures = [c.record(f, numbers) for f in parse_figures(phrase) if f.kind != "year"]
    return text, figures, []


def _summary(
    q: Question, d: Decision, cites: c.Citations, matcher: TermMatcher, required: list[int], draft_text: str
) -> Parts:
    numbers = [cites.sentence(p.sentence)[0] for p in d.picks]
    text = " ".join(f"{p.sentence.text.rstrip()} {c.marks([n])}" for p, n in zip(d.picks, numbers, strict=True))
    return text, [], []


def _fig(pick: Candidate) -> Figure:
    assert pick.figure is not None
    return pick.figure


_COMPOSERS: dict[str, Composer] = {
    "lookup": _lookup,
    "conflict": _conflict,
    "arithmetic": _arithmetic,
    "choice": _choice,
    "superlative": _superlative,
    "open": _open,
    "summary": _summary,
}
