"""Fit answer selection on the tune split: `python -m chipqa.evaluation.fit [--suite dev-tune] [--llm none]`.

For every tune question, the real pipeline retrieves and gathers evidence and scores each candidate's features
(`chipqa.answering.features`). A candidate is labelled right when its figure matches the question's expected
figure (from one of its sources), or, for open questions, when its sentence holds the expected phrase.
A listwise ranker (softmax over each question's candidates) is fitted with the L2 strength that ranks best in
5-fold cross-validation by question, its top score is calibrated to a probability of being right (logistic, over
every tune question, unanswerable ones counting as wrong), and the abstention threshold is the probability that
maximises, on tune, right answers minus wrong ones. The result, with its provenance, is written to
src/chipqa/answering/ranker.json. Only the tune split is read; the test split is never fitted on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chipqa.answering import features as feat
from chipqa.answering.gather import gather, to_document_info
from chipqa.answering.ranker import Linear, Model, load_model
from chipqa.answering.select import Candidate, figure_candidates, sentence_candidates, verified
from chipqa.answering.understand import understand
from chipqa.core.figures import matches_expected, parse_figure
from chipqa.evaluation.metrics import is_open, normalize_phrase

MODEL_FILE = Path(__file__).resolve().parents[1] / "answering" / "ranker.json"
TUNE_SUITES = ("dev-tune", "dev-tune2", "dev-tune3")
WRONG_COST = 1.0


@dataclass
class Example:
    """One question's candidates with their features and labels."""

    qid: str
    answerable: bool
    kind: str  # "figure" or "sentence"
    rows: list[dict[str, float]]
    labels: list[int]


def collect(
    app: Any, questions: Sequence[dict[str, Any]], llm: str | None = None, drafts: Mapping[str, str] | None = None
) -> list[Example]:
    """Candidates and labels for every question, through the real retrieval and evidence stages."""
    from chipqa.answering.draft import draft
    from chipqa.answering.pipeline import _evidence, retrieval_query

    retriever = app.retriever
    generator = app.generator(llm) if llm else None
    model = load_model()
    out = []
    for row in questions:
        retriever.refresh()
        q = understand(row["question"], retriever.vocabulary)
        if q.unknown or q.operation in ("difference", "sum") or q.choice:
            continue
        passages = retriever.retrieve(retrieval_query(q), app.settings.top_k)
        sentences = gather(passages, lambda d: to_document_info(retriever.document(d)))
        expected = [e for e in [row.get("expected"), *(row.get("aliases") or [])] if e]
        sources = set(row.get("sources") or [])
        if q.wants_figure or (q.asks == "party" and q.operation in ("max", "min") and not is_open(row)):
            draft_text = (drafts or {}).get(row["id"], "")
            if generator is not None and drafts is None:
                evidence = _evidence(q, sentences, model)
                draft_text = draft(generator, q.focus, [s.text for s in evidence]) if evidence else ""
            fq = q if q.wants_figure else replace(q, asks="count")
            cands = [c for c in figure_candidates(fq, sentences, model, draft_text) if verified(fq, c)]
            labels = [int(row["answerable"] and _figure_right(c, expected, sources)) for c in cands]
            out.append(Example(row["id"], bool(row["answerable"]), "figure", [c.features for c in cands], labels))
        elif is_open(row) or not row["answerable"]:
            cands = [c for c in sentence_candidates(q, sentences, model) if verified(q, c)]
            labels = [int(row["answerable"] and _sentence_right(c, expected, sources)) for c in cands]
            out.append(Example(row["id"], bool(row["answerable"]), "sentence", [c.features for c in cands], labels))
    return out


def _figure_right(c: Candidate, expected: Sequence[str], sources: set[str]) -> bool:
    if c.figure is None or (sources and c.sentence.doc_id not in sources):
        return False
    return any(matches_expected(e, c.figure) for e in expected if parse_figure(e) is not None)


def _sentence_right(c: Candidate, expected: Sequence[str], sources: set[str]) -> bool:
    if sources and c.sentence.doc_id not in sources:
        return False
    text = normalize_phrase(c.sentence.text)
    return any(normalize_phrase(e) in text for e in expected)


def fit_linear(examples: Sequence[Example], names: Sequence[str]) -> tuple[Linear, dict[str, Any]]:
    """A listwise (softmax-per-question) ranker, L2 strength by 5-fold cross-validation over questions, then a
    logistic calibration of its top score (right or not, over every question) and an abstention threshold."""
    import numpy as np

    usable = [e for e in examples if e.rows]
    matrices = [np.array([[row.get(n, 0.0) for n in names] for row in e.rows]) for e in usable]
    labels = [np.array(e.labels, dtype=float) for e in usable]
    trainable = [i for i, e in enumerate(usable) if e.answerable and labels[i].sum() > 0]
    if not trainable:
        raise SystemExit("fit: the tune questions gave no question with a right candidate")
    folds = 5
    scores: dict[float, int] = {}
    for strength in L2_GRID:
        right = 0
        for fold in range(folds):
            train = [i for i in trainable if i % folds != fold]
            w = _listwise(matrices, labels, train, strength)
            right += sum(
                int(labels[i][int(np.argmax(matrices[i] @ w))] == 1)
                for i, e in enumerate(usable)
                if i % folds == fold and e.answerable
            )
        scores[strength] = right
    best = max(L2_GRID, key=lambda c: (scores[c], c))  # ties: the stronger penalty
    w = _listwise(matrices, labels, trainable, best)
    # Calibrate: P(right | top score) over every question, the unanswerable ones counting as wrong.
    tops = np.array([float(np.max(m @ w)) for m in matrices])
    right_top = np.array(
        [float(e.answerable and labels[i][int(np.argmax(matrices[i] @ w))] == 1) for i, e in enumerate(usable)]
    )
    a, b = _platt(tops, right_top)
    weights = {n: round(float(a * x), 4) for n, x in zip(names, w, strict=True)}
    bias = round(float(b), 4)
    linear = Linear(weights, bias, 0.5)
    threshold, outcome = _threshold(linear, examples)
    report = {
        "l2": best,
        "calibration": {"slope": round(a, 4), "intercept": round(b, 4)},
        "raw_weights": {n: round(float(x), 4) for n, x in zip(names, w, strict=True)},
        "cv_top1_right": {str(k): v for k, v in scores.items()},
        "questions": len(examples),
        "answerable": sum(e.answerable for e in examples),
        "answerable_with_a_right_candidate": len(trainable),
        "candidates": int(sum(len(m) for m in matrices)),
        "positives": int(sum(lab.sum() for lab in labels)),
        "tune_outcome_at_threshold": outcome,
    }
    return Linear(weights, bias, threshold), report


L2_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def _listwise(matrices: list[Any], labels: list[Any], rows: Sequence[int], strength: float) -> Any:
    """Weights maximising the log-probability of the right candidates under a softmax over each question's
    candidates, with an L2 penalty."""
    import numpy as np
    from scipy.optimize import minimize

    dim = matrices[0].shape[1]

    def loss(w: Any) -> tuple[float, Any]:
        total, grad = strength * float(w @ w), 2 * strength * w
        for i in rows:
            x, y = matrices[i], labels[i]
            s = x @ w
            s = s - s.max()
            e = np.exp(s)
            p = e / e.sum()
            pos = y > 0
            q = e[pos] / e[pos].sum()
            total -= float(np.log(e[pos].sum() / e.sum()))
            grad = grad - (q @ x[pos] - p @ x)
        return total, grad

    result = minimize(loss, np.zeros(dim), jac=True, method="L-BFGS-B")
    return result.x


def _platt(scores: Any, right: Any) -> tuple[float, float]:
    """a, b of P(right) = sigmoid(a * score + b), by logistic regression of the outcome on the score."""
    from sklearn.linear_model import LogisticRegression

    if len(set(right.tolist())) < 2:
        return 1.0, 0.0
    clf = LogisticRegression(C=10.0).fit(scores.reshape(-1, 1), right)
    return float(clf.coef_[0][0]), float(clf.intercept_[0])


def _threshold(linear: Linear, examples: Sequence[Example]) -> tuple[float, dict[str, int]]:
    """The probability threshold maximising right answers minus WRONG_COST × wrong ones on tune."""
    tops = []
    for e in examples:
        if not e.rows:
            tops.append((0.0, e.answerable, False))
            continue
        probs = [linear.probability(r) for r in e.rows]
        best = max(range(len(probs)), key=lambda i: probs[i])
        tops.append((probs[best], e.answerable, bool(e.labels[best])))
    best_t, best_value, best_outcome = 0.5, float("-inf"), {}
    for step in range(2, 96):
        t = step / 100
        right = sum(1 for p, a, ok in tops if (a and ok and p >= t) or (not a and p < t))
        wrong = sum(1 for p, a, ok in tops if p >= t and not (a and ok))
        value = right - WRONG_COST * wrong
        if value > best_value:
            best_t, best_value = t, value
            best_outcome = {"right": right, "wrong_shown": wrong, "abstained": sum(p < t for p, _, _ in tops)}
    return round(best_t, 2), best_outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--suite",
        action="append",
        default=None,
        help="tune suites to fit on (default: dev-tune, dev-tune2 and dev-tune3)",
    )
    parser.add_argument("--llm", default="none", help="LLM whose drafts feed llm_agrees (default none)")
    parser.add_argument("--output", type=Path, default=MODEL_FILE)
    parser.add_argument(
        "--drafts", type=Path, default=None, help="drafts of the LLM by question id (JSON), instead of drafting now"
    )
    args = parser.parse_args(argv)
    names = args.suite or list(TUNE_SUITES)
    if any("tune" not in name for name in names):
        print("fit: refusing to fit on a suite that is not a tune split", file=sys.stderr)
        return 2

    from chipqa.app.service import ChipQA
    from chipqa.core.settings import load_settings
    from chipqa.evaluation.questions import load_questions
    from chipqa.evaluation.report import git_commit
    from chipqa.evaluation.suites import load_suites, suite_app
    from chipqa.index.embedding import offline

    offline()
    suites = [s for s in load_suites() if s.name in names]
    base = ChipQA(load_settings(llm=args.llm))
    examples = []
    for suite in suites:
        app = suite_app(base, suite, args.llm)
        app.ingest(list(suite.corpus))
        questions = [row for path in suite.questions for row in load_questions(path)]
        drafts = json.loads(args.drafts.read_text(encoding="utf-8")) if args.drafts else None
        examples += collect(app, questions, None if args.llm == "none" else args.llm, drafts)
    figure_ex = [e for e in examples if e.kind == "figure"]
    sentence_ex = [e for e in examples if e.kind == "sentence"]
    figure_names = [n for n in feat.FIGURE_FEATURES if args.llm != "none" or n != "llm_agrees"]
    figure, figure_report = fit_linear(figure_ex, figure_names)
    sentence, sentence_report = fit_linear(sentence_ex, list(feat.SENTENCE_FEATURES))
    previous = load_model()
    model = Model(figure, sentence, previous.conflict)
    data = {
        "figure": {"weights": figure.weights, "bias": figure.bias, "threshold": figure.threshold},
        "sentence": {"weights": sentence.weights, "bias": sentence.bias, "threshold": sentence.threshold},
        "conflict": model.conflict,
        "provenance": {
            "method": "listwise softmax ranker, L2 by 5-fold CV over questions, logistic calibration of the top "
            f"score; thresholds maximise right - {WRONG_COST:g} x wrong on tune (chipqa.evaluation.fit)",
            "fitted_on": [str(p) for suite in suites for p in suite.questions],
            "corpus": [str(p) for suite in suites for p in suite.corpus],
            "llm": args.llm,
            "commit": git_commit(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "figure": figure_report,
            "sentence": sentence_report,
        },
    }
    args.output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data["provenance"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
