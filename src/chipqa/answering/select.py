"""Select the answer: score every candidate with the fitted model, then decide what kind of answer it is.

A lookup shows the most probable figure; a second document's figure for the same subject and quantity is a
conflict, shown as a timeline; a difference or sum is computed from one figure per compared name; a superlative
or a choice names the party with its figure; an open question gets a sentence and the phrase in it that answers.
Below the model's threshold, chipqa abstains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from chipqa.answering import features as feat
from chipqa.answering import language as lang
from chipqa.answering.gather import Sentence
from chipqa.answering.parties import party_of
from chipqa.answering.phrases import extract
from chipqa.answering.ranker import Model
from chipqa.answering.understand import Question, Term, with_terms
from chipqa.core.figures import Figure, parse_figures, same_family, same_quantity

# A figure whose sentence ties it fully to the question (subject, model and period named with it, nothing
# else in between) is answered from this share of the threshold up. Chosen on the tune splits: 1.0, 0.6 and
# 0.4 gave figure accuracy 0.569, 0.575 and 0.580 on dev-tune2 (0.582 on dev-tune each) at the same wrong rate.
TIED_SHARE = 0.4
# One verified figure per compared name is taken from this share of the threshold up: the comparison is
# shown with every input cited, and fails (abstains) when any name has none.
ITEM_SHARE = 0.5
# A conflicting report must be about as probable as the chosen figure (share of its probability).
CONFLICT_SHARE = 0.6
# Candidates from the best document that a superlative is taken over: at least this share of the best one.
POOL_SHARE = 0.35

DecisionKind = Literal["abstain", "lookup", "conflict", "arithmetic", "superlative", "choice", "open", "summary"]
# A summary quotes at most this many sentences, from the document its best sentence is in.
SUMMARY_SENTENCES = 4


@dataclass(frozen=True)
class Candidate:
    """A possible answer: a figure in a sentence (or, for an open question, the sentence), with its score."""

    sentence: Sentence
    figure: Figure | None
    features: dict[str, float]
    score: float
    shown: str | None = None  # how the answer states it, when more than the figure ("$88 million to $92 million")


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    picks: tuple[Candidate, ...] = ()
    reason: str = ""
    names: tuple[str, ...] = ()  # the party each pick belongs to (arithmetic, choice, superlative)
    value: float | None = None  # a computed difference or sum
    phrase: str | None = None  # the answer phrase of an open question


def figure_candidates(q: Question, sentences: Sequence[Sentence], model: Model, draft: str = "") -> list[Candidate]:
    """Every figure of a fitting kind in the sentences, most probable first."""
    scorer = feat.Scorer(q, sentences)
    draft_figures = parse_figures(draft) if draft else []
    out = []
    for s in sentences:
        figures = parse_figures(s.text)
        ends = _range_ends(s.text, figures)
        for i, fig in enumerate(figures):
            if i - 1 in ends or feat.kind_fit(q.asks, fig) == 0.0 or any(abs(fig.value - v) < 1e-9 for v in q.stated):
                continue  # the upper end of a range is stated with its lower end
            features = scorer.figure_features(s, fig, figures, draft_figures)
            shown = s.text[fig.start : figures[i + 1].end] if i in ends else None
            out.append(Candidate(s, fig, features, model.figure.probability(features), shown))
    out.sort(key=lambda c: -c.score)
    return out


def _range_ends(text: str, figures: Sequence[Figure]) -> set[int]:
    """Indices of figures that open a range with the next one ("$88 million to $92 million", "5-6%")."""
    return {
        i
        for i, (a, b) in enumerate(zip(figures, figures[1:], strict=False))
        if re.fullmatch(r"\s*(?:-|–|—|to)\s*", text[a.end : b.start]) and same_family(a, b) and a.value < b.value
    }


def sentence_candidates(q: Question, sentences: Sequence[Sentence], model: Model) -> list[Candidate]:
    """Every sentence as the answer to an open question, most probable first."""
    scorer = feat.Scorer(q, sentences)
    out = [Candidate(s, None, (f := scorer.sentence_features(s)), model.sentence.probability(f)) for s in sentences]
    out.sort(key=lambda c: -c.score)
    return out


def decide(q: Question, sentences: Sequence[Sentence], model: Model, draft: str = "") -> Decision:
    """What to answer, from the scored candidates."""
    if q.unknown:
        return Decision("abstain", reason=f"The indexed sources never mention {', '.join(q.unknown)}.")
    if not sentences:
        return Decision("abstain", reason="The index holds nothing close to this question.")
    if q.operation in ("difference", "sum"):
        return _arithmetic(q, sentences, model, draft)
    if q.choice and len(q.items) >= 2:
        return _choice(q, sentences, model, draft)
    if q.wants_figure:
        cands = [c for c in figure_candidates(q, sentences, model, draft) if verified(q, c)]
        if not cands or not confident(cands[0], model):
            return Decision("abstain", reason="The indexed sources do not state this figure.")
        if q.operation in ("max", "min"):
            return _superlative(q, cands, model)
        if lang.INCREMENT_QUESTION.search(q.focus.lower()):
            cands = _stated_difference_first(cands, model)
        others = conflicting(cands[0], cands, model)
        if others:
            return Decision("conflict", picks=(cands[0], *others))
        return Decision("lookup", picks=(cands[0],))
    if q.asks == "party" and q.operation in ("max", "min"):
        count_q = replace(q, asks="count")
        cands = [c for c in figure_candidates(count_q, sentences, model, draft) if verified(count_q, c)]
        if cands and cands[0].score >= model.figure.threshold:
            return _superlative(count_q, cands, model)
    return _open(q, sentences, model)


def confident(c: Candidate, model: Model) -> bool:
    """Probable enough to show: above the model's threshold, or fully tied to the question by its own sentence
    and above a share of it."""
    if c.score >= model.figure.threshold:
        return True
    return fully_tied(c) and c.score >= TIED_SHARE * model.figure.threshold


def fully_tied(c: Candidate) -> bool:
    """The sentence itself names every required term, the figure is the one nearest to them, of the kind and
    unit asked, and nothing in the sentence ties it to another party, model or period."""
    f = c.features
    return (
        (
            (f.get("terms_sentence", 0.0) >= 0.999 and f.get("nearest_to_term", 0.0) >= 1.0)
            # a fact line under its label: the line's only figure of the kind asked
            or (
                f.get("label_tied", 0.0) >= 1.0
                and (f.get("nearest_to_term", 0.0) >= 1.0 or f.get("sole_of_kind", 0.0) >= 1.0)
            )
        )
        and f.get("foreign_before", 1.0) == 0.0
        and f.get("kind", 0.0) >= 1.0
        and f.get("unit_match", 0.0) >= 0.5
        and f.get("period_conflict", 1.0) == 0.0
        and f.get("foreign_code_before", 1.0) == 0.0
        and f.get("code_missing", 1.0) == 0.0
        and f.get("mixed_products", 1.0) == 0.0
        and f.get("was_before", 1.0) == 0.0
        and f.get("negated", 1.0) == 0.0
    )


def verified(q: Question, c: Candidate) -> bool:
    """The claim can hold: every term the question requires is named in the sentence, its context (heading,
    previous sentences, table header) or the article's title and lead, and the citation then includes where;
    a sentence that leaves its subject to context ("The company ordered ...") is not about another party; the
    sentence does not speak of another period than the one asked; a count counts what was asked (GPUs, not
    racks); a table row is the asked party's and model's own; the figure is not named as another product's
    (after it, or before it: "the H200 fleet ran at 94%"), another buyer's ("ordered ... by X", "X had bought
    ..."), or, in a list, another party's ("A bought 5, B 3"), or in another currency; a question about a
    result is not answered with guidance, nor one about an earlier value with the new value of a change ("250,
    up from 140"), nor one about what was done with an intention ("intends to order about 25,000"); and when nothing
    cited names the asked year, the source was not published in it."""
    f = c.features
    return (
        f.get("named", 1.0) >= 1.0
        and f.get("other_subject", 0.0) < 1.0
        and f.get("period_conflict", 0.0) < 1.0
        and f.get("unit_match", 0.5) > 0.0
        and f.get("row_mismatch", 0.0) < 1.0
        and f.get("foreign_modifier", 0.0) < 1.0
        and f.get("foreign_agent", 0.0) < 1.0
        and f.get("owned_elsewhere", 0.0) < 1.0
        and f.get("buyer_before", 0.0) < 1.0
        and f.get("code_elsewhere", 0.0) < 1.0
        and not (f.get("foreign_code_before", 0.0) >= 1.0 and f.get("modifier_match", 0.0) < 1.0)
        and f.get("currency", 0.5) > 0.0
        and not (f.get("revised_from", 0.0) >= 1.0 and lang.ASKS_EARLIER.search(q.focus.lower()))
        and f.get("mixed_products", 0.0) < 1.0
        and not (
            f.get("guidance", 0.0) >= 1.0 and q.tense == "past" and not lang.GUIDANCE_QUESTION.search(q.focus.lower())
        )
        and not (f.get("intended", 0.0) >= 1.0 and (q.tense == "past" or lang.DONE_QUESTION.search(q.focus.lower())))
        and f.get("published_elsewhere", 0.0) < 1.0
        and not (q.tense == "future" and f.get("done_clause", 0.0) >= 1.0)
    )


def conflicting(best: Candidate, cands: Sequence[Candidate], model: Model) -> list[Candidate]:
    """Other documents' best figures for the same subject and quantity that disagree with the chosen one."""
    assert best.figure is not None
    out: list[Candidate] = []
    seen = {best.sentence.doc_id}
    floor = max(model.conflict, CONFLICT_SHARE * best.score)
    for c in cands:
        if c.sentence.doc_id in seen or c.figure is None:
            continue
        seen.add(c.sentence.doc_id)
        if c.score < floor or not same_family(c.figure, best.figure) or _close(c.figure, best.figure):
            continue
        if not _same_unit(c.figure, best.figure):
            continue  # 140 racks and 10,080 GPUs are different quantities; 18,000 GPUs and 10,080 chips are not
        if c.features.get("foreign_modifier", 0) or c.features.get("foreign_before", 0) >= 1.0:
            continue
        out.append(c)
    return out[:2]


def _same_unit(a: Figure, b: Figure) -> bool:
    """Counts of the same kind of thing (GPUs and chips are both hardware; racks are not)."""
    if a.kind not in ("count", "number") or b.kind not in ("count", "number"):
        return True
    ua, ub = feat.unit_fit("hardware", a), feat.unit_fit("hardware", b)
    if ua != ub:
        return ua == 0.5 or ub == 0.5  # a bare number may count either
    return ua == 1.0 or (a.unit or "").lower().rstrip("s") == (b.unit or "").lower().rstrip("s")


def _close(a: Figure, b: Figure) -> bool:
    return same_quantity(a, b) or abs(a.value - b.value) <= 0.01 * max(abs(a.value), abs(b.value))


def item_question(q: Question, item: Term) -> Question:
    """The question about one compared name: the other compared names left out, the rest kept."""
    others = [t for t in q.terms if t not in q.items]
    terms = tuple(sorted([*others, item], key=lambda t: t.at))
    # The other compared names are no keywords of this one's figure ("FPT" does not point to Kakao's row).
    own = {lang.stem(w) for form in item.forms for w in re.findall(r"\w+", form.lower())}
    dropped = {
        lang.stem(w) for t in q.items if t is not item for form in t.forms for w in re.findall(r"\w+", form.lower())
    } - own
    kept = [(k, w) for k, w in zip(q.keywords, q.weights, strict=False) if k not in dropped]
    sub = replace(with_terms(q, terms), keywords=tuple(k for k, _ in kept), weights=tuple(w for _, w in kept))
    sub = replace(sub, quantity=tuple(k for k in q.quantity if k not in dropped))
    return replace(sub, operation=None, choice=False, items=())


def _per_item(q: Question, sentences: Sequence[Sentence], model: Model, draft: str) -> list[Candidate | None]:
    """One verified figure per compared name (or per compared period), or None where none is strong enough."""
    picks: list[Candidate | None] = []
    asks = q.asks if q.asks in ("count", "money", "percent") else "count"
    if len(q.items) >= 2:
        subs = [replace(item_question(q, item), asks=asks) for item in q.items]
    else:
        subs = [replace(q, periods=(p,), operation=None, asks=asks) for p in q.periods[:3]]
    used: set[tuple[str, int]] = set()
    for sub in subs:
        cands = [c for c in figure_candidates(sub, sentences, model, draft) if verified(sub, c)]
        cands = [c for c in cands if (c.sentence.doc_id, c.sentence.start + c.figure.start) not in used]  # type: ignore[union-attr]
        if len(q.items) < 2:  # per period: first the figures whose own sentence names the period
            floor = ITEM_SHARE * model.figure.threshold
            cands = sorted(cands, key=lambda c: not (c.features.get("period_match", 0.0) >= 0.7 and c.score >= floor))
        if not cands or cands[0].score < ITEM_SHARE * model.figure.threshold:
            picks.append(None)
            continue
        best = cands[0]
        used.add((best.sentence.doc_id, best.sentence.start + best.figure.start))  # type: ignore[union-attr]
        picks.append(best)
    return picks


def _item_names(q: Question) -> tuple[str, ...]:
    if len(q.items) >= 2:
        return tuple(t.text for t in q.items)
    return tuple(p.text for p in q.periods[:3])


def _arithmetic(q: Question, sentences: Sequence[Sentence], model: Model, draft: str) -> Decision:
    if q.operation == "difference" and len(q.items) < 2 and len(q.periods) < 2:
        return _change(q, sentences, model, draft)
    picks = _per_item(q, sentences, model, draft)
    names = _item_names(q)
    if len(picks) < 2 or any(p is None for p in picks) or (q.operation == "difference" and len(picks) != 2):
        missing = [n for n, p in zip(names, picks, strict=False) if p is None]
        what = f" for {', '.join(missing)}" if missing else ""
        return Decision("abstain", reason=f"The indexed sources do not give every figure needed to compute this{what}.")
    figures = [p.figure for p in picks if p is not None and p.figure is not None]
    if not all(same_family(figures[0], f) for f in figures[1:]):
        return Decision(
            "abstain", reason="The figures needed are of different kinds or currencies; chipqa does not convert them."
        )
    values = [f.value for f in figures]
    value = sum(values) if q.operation == "sum" else abs(values[0] - values[1])
    return Decision("arithmetic", picks=tuple(p for p in picks if p is not None), names=names, value=value)


def _stated_difference_first(cands: list[Candidate], model: Model) -> list[Candidate]:
    """For a question about an increase or an addition, a difference the sentence states ("40 more than the
    240") before the values it separates, when it is about as probable as the best candidate."""
    floor = TIED_SHARE * model.figure.threshold
    stated = [c for c in cands[:5] if c.features.get("stated_difference", 0.0) >= 1.0 and c.score >= floor]
    return [stated[0], *[c for c in cands if c is not stated[0]]] if stated else cands


def _change(q: Question, sentences: Sequence[Sentence], model: Model, draft: str) -> Decision:
    """ "By how much did X raise its order?": a difference the sentence states ("40 more than the 240"), or the
    two figures it gives as a change ("to 20,160 chips, up from the 17,280"), the difference computed from both."""
    single = replace(q, operation=None, asks=q.asks if q.asks in ("count", "money", "percent") else "figure")
    cands = _stated_difference_first(
        [c for c in figure_candidates(single, sentences, model, draft) if verified(single, c)], model
    )
    if cands and cands[0].features.get("stated_difference", 0.0) >= 1.0:
        return Decision("lookup", picks=(cands[0],))
    for best in cands[:5]:
        if best.score < model.figure.threshold or best.figure is None:
            break
        figures = parse_figures(best.sentence.text)
        for a, b in zip(figures, figures[1:], strict=False):
            gap = best.sentence.text[a.end : b.start]
            if same_family(a, b) and not _close(a, b) and best.figure in (a, b) and CHANGE_GAP.search(gap):
                first = best.figure == a  # re-parsed figures: equal, not the same objects
                partner = replace(best, figure=b if first else a, shown=None)
                return Decision(
                    "arithmetic",
                    picks=(best, partner) if first else (partner, best),
                    names=("now", "before"),
                    value=abs(a.value - b.value),
                )
    # No sentence gives the change as two figures: the change may be stated as one ("shares rose 1.2%").
    if cands and cands[0].score >= model.figure.threshold:
        others = conflicting(cands[0], cands, model)
        return Decision("conflict", picks=(cands[0], *others)) if others else Decision("lookup", picks=(cands[0],))
    return Decision("abstain", reason="The indexed sources do not state this change.")


# Between two figures of a sentence: the second is the first one's earlier value.
CHANGE_GAP = re.compile(
    r"^[^.;]{0,60}?\b(?:up from|down from|from|compared with|compared to|against|versus|vs\.?|more than|less than"
    r"|fewer than|higher than|lower than|ahead of|above|below|instead of|rather than|replacing)\b[^.;]{0,20}$",
    re.IGNORECASE,
)


def _choice(q: Question, sentences: Sequence[Sentence], model: Model, draft: str) -> Decision:
    picks = _per_item(
        replace(q, asks="count" if q.asks in ("party", "product", "description") else q.asks), sentences, model, draft
    )
    names = _item_names(q)
    if any(p is None for p in picks):
        missing = [n for n, p in zip(names, picks, strict=False) if p is None]
        return Decision(
            "abstain", reason=f"The indexed sources do not give a comparable figure for {', '.join(missing)}."
        )
    found = [p for p in picks if p is not None]
    figures = [p.figure for p in found if p.figure is not None]
    if not all(same_family(figures[0], f) for f in figures[1:]):
        return Decision("abstain", reason="The figures to compare are of different kinds or currencies.")
    pick = (max if q.operation != "min" else min)(range(len(found)), key=lambda i: figures[i].value)
    order = [pick, *[i for i in range(len(found)) if i != pick]]
    return Decision("choice", picks=tuple(found[i] for i in order), names=tuple(names[i] for i in order))


def _superlative(q: Question, cands: Sequence[Candidate], model: Model) -> Decision:
    """The largest (smallest) figure among the strong candidates of the best document, with its party."""
    best = cands[0]
    if best.features.get("superlative", 0) and best.figure is not None:
        return Decision("superlative", picks=(best,), names=(party_of(best, q) or "",))
    floor = POOL_SHARE * best.score
    pool = [
        c
        for c in cands
        if c.sentence.doc_id == best.sentence.doc_id
        and c.score >= floor
        and c.figure is not None
        and same_family(c.figure, best.figure)  # type: ignore[arg-type]
        and _same_unit(c.figure, best.figure)  # type: ignore[arg-type]
    ]
    pick = (max if q.operation == "max" else min)(pool, key=lambda c: c.figure.value)  # type: ignore[union-attr]
    return Decision("superlative", picks=(pick,), names=(party_of(pick, q) or "",))


def _open(q: Question, sentences: Sequence[Sentence], model: Model) -> Decision:
    cands = [c for c in sentence_candidates(q, sentences, model) if verified(q, c)]
    if q.asks == "summary":
        return _summary(cands, model)
    for c in cands[:5]:
        if c.score < model.sentence.threshold:
            break
        phrase = extract(q, c.sentence.text, feat.Scorer(q, [c.sentence]).matcher)
        if phrase:
            return Decision("open", picks=(c,), phrase=phrase)
    return Decision("abstain", reason="The indexed sources do not answer this.")


def _summary(cands: Sequence[Candidate], model: Model) -> Decision:
    """ "Summarize X": the best sentence about it and the next best of its document (2 to 4), in document
    order; only verified sentences, the first of them above the threshold."""
    usable = [c for c in cands if c.sentence.kind not in ("heading", "question", "byline")]
    if not usable or usable[0].score < model.sentence.threshold:
        return Decision("abstain", reason="The indexed sources do not say enough about this to summarize.")
    doc = usable[0].sentence.doc_id
    picks = [c for c in usable if c.sentence.doc_id == doc][:SUMMARY_SENTENCES]
    if len(picks) < 2:
        picks += [c for c in usable if c not in picks][: 2 - len(picks)]
    picks.sort(key=lambda c: (c.sentence.doc_id != doc, c.sentence.start))
    return Decision("summary", picks=tuple(picks))
