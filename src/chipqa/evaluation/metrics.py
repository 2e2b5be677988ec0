"""Eval metrics: score one answer record against its question row, summarize a run, gate it.

Pure functions, no I/O. These definitions are the reference the README points to.

Inputs. A *question* is a row of eval/questions.jsonl (id, question, expected, aliases, sources,
answerable, tags, optional inputs). A *record* is the answer record of DESIGN.md plus "retrieved":
the passages retrieval returned, ``[{"doc_id", "text"}, ...]`` in rank order.

Figures. Figures are parsed and compared by ``chipqa.core.figures`` (so "485k" matches "485,000" and
"$7bn" matches "$7 billion"; currency and percent must agree). *Stated figures* of a record are the
non-year figures of its answer text (``[n]`` markers stripped) together with the figures listed in
``record["figures"]``, counted once per quantity. Years are left out because they name the period
asked about, not the answer, and DESIGN.md's grounding promise covers numbers, amounts, percentages
and counts only.

Per question (``score_question``, first ``k`` retrieved passages):

- ``correct``: answerable: not abstained, and the primary figure — the first of ``record["figures"]``
  (or, when that list is empty, the first figure of the answer text, years included) — matches
  ``expected`` or one of ``aliases``
  under ``figures.matches_expected``. Open questions (tag "open": a name, place, date or reason):
  not abstained, and ``expected`` or an alias occurs in the answer text after case, white space, quote,
  dash and citation-marker folding (``normalize_phrase``). Unanswerable: abstained and no stated figure
  other than figures the question itself contains (echoing "the $16 billion order" is not answering).
- ``abstained``: ``record["abstained"]``.
- ``false_abstention``: answerable and abstained.
- ``hit_at_k``: some passage among the first k comes from a ``sources`` document. None without sources.
- ``recall_at_k``: fraction of ``sources`` documents with a passage among the first k. None without sources.
- ``rr``: 1/rank of the first passage among the first k from a ``sources`` document, 0.0 if none
  (so ``mrr`` is MRR@k). None without sources.
- ``evidence_present``: the expected figure or an alias occurs in the text of the first k passages.
  For open questions, the expected phrase or an alias occurs in them (normalized as above).
  For arithmetic questions (whose result is in no document) every figure in the row's ``inputs``
  must occur instead; without ``inputs``, every source document must be among the first k.
  None for unanswerable questions. It tells a retrieval miss from a generation miss.
- ``citation_precision``: fraction of ``record["citations"]`` whose text contains at least one
  stated figure. None when there are no citations or no stated figures (nothing to support).
- ``citation_recall``: 1.0 if every stated figure occurs in the text of some cited passage, else 0.0.
  A figure listed in ``record["figures"]`` with ``computed: true`` is supported when each of its
  ``inputs`` is; with no inputs it is unsupported. None when the answer states no figure.
- ``grounded``: ``record["grounded"]``.
- ``conflict_found``: for questions tagged "conflict", whether ``record["conflicts"]`` is non-empty;
  None otherwise.
- ``false_conflict``: for questions not tagged "conflict", whether ``record["conflicts"]`` is non-empty
  (a conflict shown where the sources agree or the question asks for one figure); None otherwise.
- ``failure``: None when correct, else the first that applies: "answered_unanswerable"
  (unanswerable), "retrieval" (evidence not retrieved), "abstained" (false abstention),
  "wrong_phrase" (open question, phrase missing), "wrong_figure" (figures stated, none matches),
  "no_figure".
- ``wrong_verified``: a wrong figure shown as checked: not correct, not abstained, a stated figure, and
  ``grounded`` true, on a figure question or an unanswerable one (never on an answerable open question).

Run summary (``summarize``): every rate is the mean over the questions where the metric is defined
(None if it is defined nowhere):

- ``answer_accuracy``: mean ``correct`` over answerable questions.
- ``figure_accuracy``: mean ``correct`` over answerable questions without the tag "open".
- ``open_accuracy``: mean ``correct`` over answerable questions tagged "open".
- ``abstention_accuracy``: mean ``correct`` over unanswerable questions.
- ``false_abstention_rate``: mean ``false_abstention`` over answerable questions.
- ``wrong_verified_rate``: mean ``wrong_verified`` over all questions.
- ``hit_at_k``, ``recall_at_k``, ``mrr``, ``evidence_presence``: means of the per-question values.
- ``citation_precision``, ``citation_recall``: means over the questions where they are defined.
- ``grounding_rate``: mean ``grounded`` over the answers that did not abstain.
- ``conflict_recall``: mean ``conflict_found`` over conflict-tagged questions.
- ``false_conflict_rate``: mean ``false_conflict`` over the other questions.
- ``{retrieve,generate,total}_{p50,p95}_ms``: percentiles of ``timings_ms`` by linear
  interpolation between closest ranks (numpy's default method).
- ``by_tag``: ``{tag: {"n", "accuracy"}}``, accuracy = mean ``correct``; ``failures``: counts by category.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chipqa.core.figures import (
    Figure,
    figure_in_text,
    matches_expected,
    parse_figure,
    parse_figures,
    same_quantity,
    strip_citation_markers,
)

OPEN_TAG = "open"
# Gate thresholds on these metrics are maxima; on every other metric they are minima.
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "false_conflict_rate", "wrong_verified_rate"})

# Order and labels of the rows of format_table.
_RATE_METRICS = (
    "answer_accuracy",
    "figure_accuracy",
    "open_accuracy",
    "abstention_accuracy",
    "wrong_verified_rate",
    "false_abstention_rate",
    "hit_at_k",
    "recall_at_k",
    "mrr",
    "evidence_presence",
    "citation_precision",
    "citation_recall",
    "grounding_rate",
    "conflict_recall",
    "false_conflict_rate",
)
_STAGES = ("retrieve", "generate", "total")
_LATENCY_METRICS = tuple(f"{stage}_{p}_ms" for stage in _STAGES for p in ("p50", "p95"))


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0 <= p <= 100) by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile p must be within [0, 100], got {p}")
    pos = (len(ordered) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    if len(ordered) > 1 and 0.0 < p < 100.0 and float(p).is_integer():
        value = statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]
    else:  # statistics.quantiles cuts at whole percents strictly inside (0, 100) only
        value = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    # Clamped because rounding could otherwise step past a neighbour and break monotonicity in p.
    return min(max(value, ordered[lo]), ordered[hi])


def normalize_phrase(text: str) -> str:
    """Case, white space, citation markers, quotes and dashes folded, for phrase matching of open answers."""
    text = strip_citation_markers(text).casefold()
    text = re.sub(r"[“”\"‘’'`]", "", text)
    text = re.sub(r"[‐‑‒–—―-]", "-", text)
    return " ".join(text.split())


def is_open(q: Mapping[str, Any]) -> bool:
    """A question answered by a phrase (a name, place, date, reason), not a figure: tag "open"."""
    return OPEN_TAG in (q.get("tags") or [])


def _phrase_in(expected: Sequence[str], text: str) -> bool:
    target = normalize_phrase(text)
    return any(normalize_phrase(e) and normalize_phrase(e) in target for e in expected)


def _expected_figures(q: Mapping[str, Any]) -> list[str]:
    """The expected value and its aliases, as strings."""
    expected = q.get("expected")
    values = [expected] if expected else []
    return values + [a for a in q.get("aliases") or [] if a]


def _record_figures(record: Mapping[str, Any]) -> list[tuple[Figure, Mapping[str, Any]]]:
    """Figures listed in record["figures"] that parse, each with its entry."""
    out = []
    for entry in record.get("figures") or []:
        fig = parse_figure(str(entry.get("text", "")))
        if fig is not None:
            out.append((fig, entry))
    return out


def _answer_figures(record: Mapping[str, Any]) -> list[Figure]:
    """Figures of the answer text, citation markers stripped."""
    return parse_figures(strip_citation_markers(str(record.get("answer") or "")))


def _stated_figures(record: Mapping[str, Any]) -> list[tuple[Figure, Mapping[str, Any] | None]]:
    """Non-year figures the answer states, once per quantity; listed entries win for their metadata."""
    stated: list[tuple[Figure, Mapping[str, Any] | None]] = [
        (fig, entry) for fig, entry in _record_figures(record) if fig.kind != "year"
    ]
    for fig in _answer_figures(record):
        if fig.kind != "year" and not any(same_quantity(fig, seen) for seen, _ in stated):
            stated.append((fig, None))
    return stated


def _expected_kinds(q: Mapping[str, Any]) -> set[str]:
    """Kinds of the expected figures ("year" for a when-question)."""
    return {f.kind for f in map(parse_figure, _expected_figures(q)) if f is not None}


def _has_kind(figs: Iterable[Figure], kinds: set[str]) -> bool:
    return any(f.kind in kinds for f in figs)


def _matches_any(expected: Sequence[str], candidates: Iterable[Figure]) -> bool:
    return any(matches_expected(e, c) for c in candidates for e in expected)


def _in_any(fig: Figure, texts: Sequence[str]) -> bool:
    return any(figure_in_text(fig, t) for t in texts)


def _supported(fig: Figure, entry: Mapping[str, Any] | None, cited: Sequence[str]) -> bool:
    """A stated figure is supported by a cited text; a computed one through its inputs."""
    if entry is not None and entry.get("computed"):
        inputs = [parse_figure(str(i)) for i in entry.get("inputs") or []]
        return bool(inputs) and all(i is not None and _in_any(i, cited) for i in inputs)
    return _in_any(fig, cited)


def _evidence_present(q: Mapping[str, Any], texts: Sequence[str], doc_ids: Sequence[str]) -> bool:
    """Whether the first k passages hold what the expected answer needs."""
    if "arithmetic" in (q.get("tags") or []):
        inputs = [parse_figure(str(i)) for i in q.get("inputs") or []]
        if inputs:
            return all(i is not None and _in_any(i, texts) for i in inputs)
        return all(s in doc_ids for s in q.get("sources") or [])
    if is_open(q):
        return _phrase_in(_expected_figures(q), " ".join(texts))
    for value in _expected_figures(q):
        fig = parse_figure(value)
        if fig is not None and _in_any(fig, texts):
            return True
    return False


def score_question(q: Mapping[str, Any], record: Mapping[str, Any], k: int = 5) -> dict[str, Any]:
    """Per-question metrics of one answer record (see the module docstring for definitions)."""
    answerable = bool(q.get("answerable"))
    tags = list(q.get("tags") or [])
    sources = list(q.get("sources") or [])
    abstained = bool(record.get("abstained"))
    top = list(record.get("retrieved") or [])[:k]
    top_ids = [str(p.get("doc_id", "")) for p in top]
    top_texts = [str(p.get("text", "")) for p in top]
    cited = [str(c.get("text", "")) for c in record.get("citations") or []]
    stated = _stated_figures(record)

    if answerable and is_open(q):
        correct = not abstained and _phrase_in(_expected_figures(q), str(record.get("answer") or ""))
    elif answerable:
        # Only the primary figure counts: an answer must not score by listing every figure it found.
        listed = [fig for fig, _ in _record_figures(record)]
        candidates = (listed or _answer_figures(record))[:1]
        correct = not abstained and _matches_any(_expected_figures(q), candidates)
    else:
        question = str(q.get("question") or "")
        answered = [fig for fig, _ in stated if not figure_in_text(fig, question)]
        correct = abstained and not answered

    hit = recall = rr = None
    if sources:
        hit = any(d in sources for d in top_ids)
        recall = sum(s in top_ids for s in set(sources)) / len(set(sources))
        rr = next((1.0 / rank for rank, d in enumerate(top_ids, 1) if d in sources), 0.0)
    evidence = _evidence_present(q, top_texts, top_ids) if answerable else None

    precision = recall_cit = None
    if cited and stated:
        precision = sum(any(figure_in_text(f, t) for f, _ in stated) for t in cited) / len(cited)
    if stated:
        recall_cit = 1.0 if all(_supported(f, e, cited) for f, e in stated) else 0.0

    failure = None
    if not correct:
        if not answerable:
            failure = "answered_unanswerable"
        elif not evidence:
            failure = "retrieval"
        elif abstained:
            failure = "abstained"
        elif is_open(q):
            failure = "wrong_phrase"
        elif stated or _has_kind(_answer_figures(record), _expected_kinds(q)):
            failure = "wrong_figure"
        else:
            failure = "no_figure"
    # A wrong figure presented as checked: the answer states a figure, calls itself grounded, and is wrong
    # (a figure question answered with the wrong figure, or an unanswerable one answered with a figure).
    wrong_verified = (
        not correct
        and not abstained
        and bool(stated)
        and bool(record.get("grounded"))
        and not (answerable and is_open(q))
    )

    timings = record.get("timings_ms") or {}
    return {
        "id": q.get("id"),
        "tags": tags,
        "answerable": answerable,
        "open": is_open(q),
        "k": k,
        "correct": correct,
        "abstained": abstained,
        "false_abstention": answerable and abstained,
        "hit_at_k": hit,
        "recall_at_k": recall,
        "rr": rr,
        "evidence_present": evidence,
        "citation_precision": precision,
        "citation_recall": recall_cit,
        "grounded": bool(record.get("grounded")),
        "conflict_found": bool(record.get("conflicts")) if "conflict" in tags else None,
        "false_conflict": bool(record.get("conflicts")) if "conflict" not in tags else None,
        "failure": failure,
        "wrong_verified": wrong_verified,
        "timings_ms": {s: float(timings[s]) for s in _STAGES if timings.get(s) is not None},
    }


def _mean(values: Iterable[Any]) -> float | None:
    """Mean of the defined (non-None) values, bools counting as 0/1; None if there are none."""
    defined = [float(v) for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def summarize(scored: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Run-level metrics over per-question scores (see the module docstring for definitions)."""
    answerable = [s for s in scored if s.get("answerable")]
    unanswerable = [s for s in scored if not s.get("answerable")]
    summary: dict[str, Any] = {
        "n": len(scored),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "answer_accuracy": _mean(s["correct"] for s in answerable),
        "figure_accuracy": _mean(s["correct"] for s in answerable if not s.get("open")),
        "open_accuracy": _mean(s["correct"] for s in answerable if s.get("open")),
        "abstention_accuracy": _mean(s["correct"] for s in unanswerable),
        "false_abstention_rate": _mean(s["false_abstention"] for s in answerable),
        "wrong_verified_rate": _mean(s.get("wrong_verified") for s in scored),
        "hit_at_k": _mean(s.get("hit_at_k") for s in scored),
        "recall_at_k": _mean(s.get("recall_at_k") for s in scored),
        "mrr": _mean(s.get("rr") for s in scored),
        "evidence_presence": _mean(s.get("evidence_present") for s in scored),
        "citation_precision": _mean(s.get("citation_precision") for s in scored),
        "citation_recall": _mean(s.get("citation_recall") for s in scored),
        "grounding_rate": _mean(s.get("grounded") for s in scored if not s.get("abstained")),
        "conflict_recall": _mean(s.get("conflict_found") for s in scored),
        "false_conflict_rate": _mean(s.get("false_conflict") for s in scored),
    }
    for stage in _STAGES:
        times = [s["timings_ms"][stage] for s in scored if stage in (s.get("timings_ms") or {})]
        for p in (50, 95):
            summary[f"{stage}_p{p}_ms"] = percentile(times, p) if times else None
    by_tag: dict[str, list[bool]] = {}
    for s in scored:
        for tag in s.get("tags") or []:
            by_tag.setdefault(tag, []).append(bool(s["correct"]))
    summary["by_tag"] = {tag: {"n": len(v), "accuracy": sum(v) / len(v)} for tag, v in sorted(by_tag.items())}
    summary["failures"] = dict(sorted(Counter(s["failure"] for s in scored if s.get("failure")).items()))
    return summary


def _fmt(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name.endswith("_ms"):
        return f"{float(value):.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{float(value):.3f}"


def _ratio(ours: Any, theirs: Any) -> str:
    if ours is None or theirs is None or float(theirs) == 0.0:
        return "–"
    return f"{float(ours) / float(theirs):.2f}×"


def format_table(summary: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> str:
    """The summary as a Markdown table; with a baseline, adds its column and the ratio chipqa/baseline."""
    rows: list[tuple[str, Any, Any]] = [
        (name, summary.get(name), baseline.get(name) if baseline else None)
        for name in ("n", *_RATE_METRICS, *_LATENCY_METRICS)
    ]
    base_tags = (baseline or {}).get("by_tag") or {}
    for tag, stats in (summary.get("by_tag") or {}).items():
        theirs = base_tags.get(tag, {}).get("accuracy")
        rows.append((f"accuracy[{tag}] (n={stats['n']})", stats.get("accuracy"), theirs))

    if baseline is None:
        lines = ["| metric | chipqa |", "|---|---:|"]
        lines += [f"| {name} | {_fmt(name, ours)} |" for name, ours, _ in rows]
    else:
        lines = ["| metric | chipqa | baseline | ratio chipqa/baseline |", "|---|---:|---:|---:|"]
        lines += [
            f"| {name} | {_fmt(name, ours)} | {_fmt(name, theirs)} | {_ratio(ours, theirs)} |"
            for name, ours, theirs in rows
        ]
    return "\n".join(lines) + "\n"


def check_gate(summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
    """Human-readable gate failures: minima for most metrics, maxima for LOWER_IS_BETTER and *_ms ones."""
    failures = []
    for name, limit in thresholds.items():
        value = summary.get(name)
        upper = name in LOWER_IS_BETTER or name.endswith("_ms")
        if value is None:
            failures.append(f"{name} missing (needs {'<=' if upper else '>='} {limit:g})")
        elif upper and float(value) > limit:
            failures.append(f"{name} {round(float(value), 3):g} > {limit:g}")
        elif not upper and float(value) < limit:
            failures.append(f"{name} {round(float(value), 3):g} < {limit:g}")
    return failures
