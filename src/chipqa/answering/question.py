"""What a question asks for: the kind of figure, the entities and year it is about, comparisons and sums."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from chipqa.core.errors import InputError
from chipqa.core.text import YEAR, addressed_to_model

Expects = Literal["count", "money", "percent", "year", "any"]
Operation = Literal["max", "min", "difference", "sum"]

_QUESTION_WORDS = frozenset(
    [
        "how",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "did",
        "does",
        "do",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "could",
        "can",
        "should",
        "according",
        "in",
        "of",
        "the",
        "a",
        "an",
        "and",
        "or",
        "for",
        "to",
        "by",
        "per",
        "on",
        "at",
        "as",
        "with",
        "from",
        "tell",
        "give",
        "list",
        "name",
        "please",
        "say",
        "ignore",
        "answer",
        "show",
        "find",
    ]
)
# Words that are capitalised in questions but name no entity to look for in the evidence.
GENERIC = frozenset(
    [
        "gpu",
        "gpus",
        "chip",
        "chips",
        "ai",
        "us",
        "usd",
        "rmb",
        "q1",
        "q2",
        "q3",
        "q4",
        "percent",
        "percentage",
        "share",
        "billion",
        "million",
        "nvidia's",
    ]
)
_ENTITY = re.compile(r"\b(?:[A-Z][A-Za-z]*(?:[-/][A-Z]?[A-Za-z0-9]+)*|[A-Za-z]+\d+[A-Za-z0-9]*|\d+[A-Za-z]+\d*)\b")
# Common words that start questions; a leading capitalised word outside this list may still be a name.
_LEADING_WORDS = frozenset(
    [
        "roughly",
        "approximately",
        "about",
        "around",
        "after",
        "before",
        "adding",
        "among",
        "between",
        "by",
        "during",
        "excluding",
        "including",
        "overall",
        "since",
        "since",
        "compared",
        "combined",
        "given",
        "based",
        "besides",
        "beyond",
        "exactly",
        "just",
        "only",
    ]
)
_COUNTABLE = re.compile(r"\b(gpus?|chips?|units|cards|tpus?|processors|accelerators|servers)\b")
_UNIT_GENERIC = frozenset(
    [
        "gpu",
        "gpus",
        "chip",
        "chips",
        "unit",
        "units",
        "card",
        "cards",
        "processors",
        "processor",
        "accelerators",
        "more",
        "fewer",
        "of",
        "the",
        "ai",
        "nvidia",
        "nvidia's",
        "total",
        "in",
    ]
)
# A currency the question asks the figure in ("in RMB", "in dollars").
_CURRENCIES = (
    ("RMB", re.compile(r"\b(rmb|yuan|renminbi|cny)\b")),
    ("EUR", re.compile(r"\b(euros?|eur)\b|€")),
    ("USD", re.compile(r"\b(us )?dollars?\b|\busd\b|\bin \$")),
)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


@dataclass(frozen=True)
class Question:
    """A question reduced to what retrieval and answer selection need."""

    text: str
    focus: str
    expects: Expects
    wants_figure: bool
    entities: tuple[str, ...]
    years: tuple[str, ...]
    operation: Operation | None = None
    keywords: tuple[str, ...] = field(default=())
    # Rarer words say more about what is asked; the answerer fills these in from the index's counts.
    keyword_weights: tuple[float, ...] = field(default=())
    unit_words: tuple[str, ...] = field(default=())
    currency: str | None = None


def validate(text: str, max_chars: int) -> str:
    """The question with control characters removed; empty or too long is an InputError."""
    # A terminal escape such as "\x1b[31m" goes whole; leaving "[31m" would read as a word of the question.
    text = _ANSI_ESCAPE.sub(" ", text)
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputError("the question is empty")
    if len(cleaned) > max_chars:
        raise InputError(f"the question is {len(cleaned)} characters; the limit is {max_chars}")
    return cleaned


def focus_of(text: str) -> str:
    """The part of the text that asks: instruction-like sentences dropped, questions preferred."""
    from chipqa.ingest.chunking import split_sentences

    parts = [text[s:e] for s, e in split_sentences(text)]
    kept = [p for p in parts if not addressed_to_model(p)] or parts
    asking = [p for p in kept if p.endswith("?")]
    return " ".join(asking or kept)


def analyze(text: str) -> Question:
    """Classify the question's expected figure and pull out the entities it names."""
    focus = focus_of(text)
    low = focus.lower()
    expects: Expects = "any"
    if re.search(r"\b(percent|percentage|share|proportion|fraction|portion|slice)\b|%", low):
        expects = "percent"
    elif re.search(r"^(when|in what year|what year|which year)\b", low):
        expects = "year"
    elif re.search(
        r"\bhow much\b|\bspend|\bspent|\binvest|\bcost|\bworth\b|\brevenue|\bbudget|\bdollars?\b|\bvalue\b|\$"
        r"|\brmb\b|\byuan\b|\bprice|\bpaid|\bpay\b|\bmoney\b|\bfund|\ballocat|\bearmark|\bcontribut"
        r"|\bwhat sum\b|\bset aside\b|\bamount\b",
        low,
    ):
        expects = "money"
    elif re.search(r"\bhow many\b|\bnumber of\b|\bcount\b|\bunits\b|\bquantity\b", low):
        expects = "count"
    operation: Operation | None = None
    if re.search(r"\bhow many more\b|\bhow much more\b|\bdifference\b|\bmore than\b.*\bthan\b|\bfewer\b", low) or (
        re.search(r"\bmore\b.*\bthan\b", low) and "how" in low
    ):
        operation = "difference"
    elif re.search(r"\b(combined|in total|together|altogether|total of|sum of|add up|adding)\b", low):
        operation = "sum"
    elif re.search(r"\b(most|largest|biggest|highest|top|leader|leading)\b", low):
        operation = "max"
    elif re.search(r"\b(least|smallest|fewest|lowest)\b", low):
        operation = "min"
    if expects == "any" and _COUNTABLE.search(low):
        expects = "count"  # "Who bought the most Hopper GPUs?", "msft hopper gpus?"
    wants_figure = (
        expects != "any"
        or operation in ("difference", "sum")
        or bool(re.search(r"\bhow (many|much)\b|\bwhat (was|is|were|are) the (number|amount|figure|size)\b", low))
    )
    entities = []
    # "U.S." → "US", so dotted abbreviations read as one word.
    undotted = re.sub(r"\b((?:[A-Z]\.){2,})", lambda m: m.group(1).replace(".", ""), focus)
    for m in _ENTITY.finditer(undotted):
        word = m.group(0)
        if word.lower() in _QUESTION_WORDS or word.lower() in GENERIC or YEAR.fullmatch(word):
            continue
        # A capital that only marks the start of a sentence ("Roughly how many…") names nothing.
        sentence_start = m.start() == 0 or undotted[: m.start()].rstrip().endswith((".", "?", "!"))
        if sentence_start and word[1:].islower() and word.lower() in _LEADING_WORDS:
            continue
        entities.append(word)
    keywords = tuple(w for w in re.findall(r"[a-z0-9]+", low) if w not in _QUESTION_WORDS and len(w) > 2)
    # "how many Hopper GPUs" → ("hopper",): the distinctive words of the thing being counted.
    unit_match = re.search(r"\bhow many ([\w\s'-]{1,60}?)\s+(did|does|do|has|have|had|were|was|are|is|will)\b", low)
    unit_words = (
        tuple(w for w in re.findall(r"[a-z0-9]+", unit_match.group(1)) if w not in _UNIT_GENERIC) if unit_match else ()
    )
    currency = next((code for code, pattern in _CURRENCIES if pattern.search(low)), None)
    return Question(
        text=text,
        focus=focus,
        expects=expects,
        wants_figure=wants_figure,
        entities=tuple(dict.fromkeys(entities)),
        years=tuple(dict.fromkeys(YEAR.findall(focus))),
        operation=operation,
        keywords=keywords,
        unit_words=unit_words,
        currency=currency,
    )
