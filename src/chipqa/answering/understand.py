"""Understand a question: what it asks for, the names and periods it is about, and how figures combine.

`understand` is pure: the index's vocabulary comes in as a `Lexicon`, so a name is recognised the way the corpus
writes it ("coreweave" → CoreWeave, "Microsft" → Microsoft, "SKT" → SK Telecom, "Lambda Labs" → Lambda).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from chipqa.answering import language as lang
from chipqa.answering.names import _CODE, Lexicon, Term, find_terms
from chipqa.answering.periods import Period, question_periods
from chipqa.core.errors import InputError
from chipqa.core.figures import parse_figures
from chipqa.core.text import addressed_to_model, split_sentences

AnswerType = Literal[
    "count",
    "money",
    "percent",
    "year",
    "figure",
    "time",
    "place",
    "reason",
    "party",
    "product",
    "description",
    "summary",
]
Operation = Literal["difference", "sum", "max", "min"]
# "figure": some figure of a kind the question does not fix ("How big is the programme?").
FIGURE_TYPES = frozenset({"count", "money", "percent", "year", "figure"})


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_FIGURE_IN_QUESTION = re.compile(
    r"[$€£¥₹₩]\s?\d[\d,.]*\s*(?:billion|million|thousand|bn|m|k)?|\b\d[\d,.]*\s*(?:billion|million|bn)\b"
)
_CURRENCY_WORDS = (
    ("RMB", re.compile(r"\b(rmb|yuan|renminbi|cny)\b")),
    ("JPY", re.compile(r"\b(yen|jpy)\b")),
    ("EUR", re.compile(r"\b(euros?|eur)\b|€")),
    ("GBP", re.compile(r"\b(pounds?|sterling|gbp)\b|£")),
    ("KRW", re.compile(r"\b(won|krw)\b|₩")),
    ("INR", re.compile(r"\b(rupees?|inr)\b|₹")),
    ("BRL", re.compile(r"\b(reais|brazilian real|brl)\b|r\$")),
    ("CHF", re.compile(r"\b(swiss francs?|chf)\b")),
    ("PLN", re.compile(r"\b(zlotys?|złoty|złotys|pln)\b")),
    ("ZAR", re.compile(r"\b(rand|zar)\b")),
    ("SEK", re.compile(r"\b(swedish kron(?:or|a)|sek)\b")),
    ("NOK", re.compile(r"\b(norwegian kron(?:er|e)|nok)\b")),
    ("DKK", re.compile(r"\b(danish kron(?:er|e)|dkk)\b")),
    ("USD", re.compile(r"\b(us )?dollars?\b|\busd\b|\bin \$|\bus\$")),
)


@dataclass(frozen=True)
class Question:
    """A question reduced to what selection and verification need."""

    text: str
    focus: str
    asks: AnswerType
    operation: Operation | None = None
    choice: bool = False  # "which of A and B": the answer is one of the named parties
    terms: tuple[Term, ...] = ()
    items: tuple[Term, ...] = ()  # names the question compares or combines ("Meta ... than Amazon")
    periods: tuple[Period, ...] = ()
    keywords: tuple[str, ...] = ()  # content stems
    weights: tuple[float, ...] = ()  # how distinctive each keyword is in the index (IDF)
    quantity: tuple[str, ...] = ()  # stems describing the quantity asked ("revenu", "share", "price")
    currency: str | None = None
    tense: Literal["past", "future"] | None = None
    unknown: tuple[str, ...] = ()  # names the index never mentions
    unit: str | None = None  # what a count counts: "hardware" (GPUs, chips...), "racks", "systems", a model code
    names: frozenset[str] = field(default=frozenset(), repr=False)  # words the corpus capitalises (its names)
    stated: tuple[float, ...] = field(default=())  # values of figures the question itself states

    @property
    def wants_figure(self) -> bool:
        return self.asks in FIGURE_TYPES or self.operation in ("difference", "sum")

    @property
    def required_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.optional)


def validate(text: str, max_chars: int) -> str:
    """The question with control characters removed; empty or too long is an InputError."""
    text = _ANSI_ESCAPE.sub(" ", text)  # "\x1b[31m" goes whole; "[31m" would read as a word
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputError("the question is empty")
    if len(cleaned) > max_chars:
        raise InputError(f"the question is {len(cleaned)} characters; the limit is {max_chars}")
    return cleaned


def focus_of(text: str) -> str:
    """The part that asks: sentences addressed to the assistant dropped, question sentences preferred."""
    parts = [text[s:e] for s, e in split_sentences(text)]
    kept = [p for p in parts if not addressed_to_model(p)]
    if not kept:  # "Ignore the sources: how many ...?" is one sentence; keep what follows the order
        kept = [re.split(r"[:;,]\s+", p, maxsplit=1)[-1] for p in parts]
    asking = [p for p in kept if p.rstrip().endswith("?")]
    return " ".join(asking or kept)


def understand(text: str, lexicon: Lexicon) -> Question:
    """Analyse a validated question against the index's vocabulary."""
    focus = focus_of(text)
    undotted = re.sub(r"\b((?:[A-Z]\.){2,})", lambda m: m.group(1).replace(".", ""), focus)  # "U.S." → "US"
    low = undotted.lower()
    terms, unknown = find_terms(undotted, lexicon)
    periods = question_periods(undotted)
    items = coordinated(undotted, terms)
    operation, choice = _operation(low, items, periods)
    # a name's own words ("Orvane Systems") say nothing of what is asked
    unnamed = low
    for t in terms:
        if not t.product and 0 <= t.at < t.end:
            unnamed = unnamed[: t.at] + " " * (t.end - t.at) + unnamed[t.end :]
    asks = _answer_type(low, operation, unnamed)
    if operation in ("max", "min") and asks in ("party", "product", "description") and len(terms) >= 2:
        choice = choice or bool(re.search(r"\bwhich of\b|\bor\b", low))
    keywords = tuple(dict.fromkeys(lang.content_stems(undotted)))
    term_stems = {lang.stem(w) for t in terms for form in t.forms for w in re.findall(r"[a-z0-9]+", form.lower())}
    period_stems = {lang.stem(w) for p in periods for w in re.findall(r"[a-z0-9]+", p.text.lower())}
    quantity = tuple(
        k
        for k in keywords
        if k not in term_stems and k not in period_stems and k not in lang.ACQUIRE_STEMS and not k.isdigit()
    )
    tense: Literal["past", "future"] | None = None
    if lang.FUTURE_QUESTION.search(low):
        tense = "future"
    elif lang.PAST_QUESTION.search(low):
        tense = "past"
    currency = next((code for code, pattern in _CURRENCY_WORDS if pattern.search(low)), None)
    if asks != "money" and not (operation in ("difference", "sum") and currency):
        currency = None
    stated = tuple(f.value for f in parse_figures(focus) if f.kind != "year")
    unit = _unit(low) if asks in ("count", "party", "product") or operation in ("difference", "sum") else None
    return Question(
        text=text,
        focus=focus,
        asks=asks,
        operation=operation,
        choice=choice,
        terms=terms,
        items=items,
        periods=periods,
        keywords=keywords,
        weights=tuple(1.0 if k.startswith("~") else lexicon.idf(k) for k in keywords),
        quantity=quantity,
        currency=currency,
        tense=tense,
        unknown=unknown,
        stated=stated,
        unit=unit,
        names=lexicon.names,
    )


_UNIT_PHRASE = re.compile(
    r"\bhow many\s+(?:more\s+|fewer\s+|of\s+(?:its|their|the)\s+)?([\w\s'-]{1,50}?)\s+"
    r"(?:did|does|do|has|have|had|were|was|are|is|will|would|could|can|in|at|for|across|arrive|ship)\b"
    r"|\b([a-z0-9-]+)\s+(?:count|units)\b"
)


def _unit(low: str) -> str | None:
    """What a count question counts: compute hardware, racks, systems, servers, or a model code."""
    m = _UNIT_PHRASE.search(low)
    words = (m.group(1) or m.group(2)).split() if m else low.split()
    for w in reversed(words):
        w = w.strip("?.,")
        if w in lang.HARDWARE_NOUNS:
            return "hardware"
        if w.rstrip("s") in _UNIT_NOUNS:
            return w.rstrip("s")
    codes = [w for w in words if _CODE.match(w)]
    return "hardware" if codes else None


# Things a count may count other than chips, as their singular.
_UNIT_NOUNS = frozenset("rack system server node cluster pod site campus wafer module board".split())


def with_terms(q: Question, terms: tuple[Term, ...]) -> Question:
    """The same question about other names (one party of a comparison, say)."""
    return replace(q, terms=terms)


def _answer_type(low: str, operation: Operation | None, unnamed: str = "") -> AnswerType:
    head = low.lstrip("¿¡ ")
    if re.match(r"(summari[sz]e|give (me )?(a |an )?(summary|overview)|(a |an )?(summary|overview) of)\b", head):
        return "summary"  # 2-4 cited sentences
    # A figure the question states ("the $2.5 billion of notes") tells what it knows, not what it asks.
    head = _FIGURE_IN_QUESTION.sub(" ", head)
    if re.search(
        r"\bshare of (?:the |its |their )?[\w\s'’-]{0,30}?"
        r"\b(gpus?|chips?|accelerators?|units|systems|[a-z]{1,4}\d{2,4}[a-z]{0,2}s)\b",  # "GB300s": a model's units
        head,
    ) or re.match(r"(how much of|what (?:is|was) the size of|what size)\b", head):
        return "figure"  # "A&M's share of the GPUs" is a count; "how much of the revenue" a share or an amount
    if re.match(r"(how many|what (is|was|were) the number of|the number of)\b", head) and not re.match(
        r"how many (dollars|euros|yen|yuan|won|rupees|pounds)\b", head
    ):
        return "count"
    if re.match(r"(what|which) (is|was) the (biggest|largest|smallest|highest|lowest)\b", head) and re.search(
        r"\b(order|orders|deal|deals|purchase|purchases|number|count|units)\b", head
    ):
        return "count"
    if re.match(r"(which|who)\b", head) and operation in ("max", "min"):
        which_noun = lang.WHICH.match(head)
        if not (which_noun and which_noun.group(2) in lang.PRODUCT_NOUNS):
            return "party"  # "Which ordered more: A or B?", "Who bought the most?"
    rest = head.split(" ", 2)[-1]
    sized = re.match(r"(how big|how large|how sizeable|what size|how much)\b", head)
    if sized and not lang.ANSWER_TYPES[1][1].search(rest) and not lang.ANSWER_TYPES[0][1].search(rest):
        return "figure"  # neither an amount nor a share ("How much did the stock jump?" is a share move)
    which = re.match(
        r"(?:(?:in|at|for|from|on|of|through|via|by|with|under|to|into|behind) )?(which|what)\s+((?:[\w'-]+\s+){0,3})",
        head,
    )
    if which and not re.match(r"(what|which) (is|was|were|are|will|did|does|do|has|had|share|percentage)\b", head):
        located = re.match(r"(?:in|at|from|into|to) ", head)  # "In which country ...": a place, not a party
        for noun in which.group(2).split():
            if located and noun in lang.PLACE_NOUNS:
                return "place"
            if noun in lang.PARTY_NOUNS:
                return "party"
            if noun in lang.PRODUCT_NOUNS:
                return "product"
            if noun == "year":
                return "year"
            if noun in lang.TIME_NOUNS:
                return "time"
            if noun in lang.PLACE_NOUNS:
                return "place"
    opener = re.match(r"(when|where|why|who|whom|whose)\b", head)
    if opener and not re.search(r",\s*(what|how|which)\b", head):
        # "When will X open to paying customers?": the opening word says what is asked (not in "When X
        # announced it, what was the budget?")
        return {"when": "time", "where": "place", "why": "reason"}.get(opener.group(1), "party")  # type: ignore[return-value]
    if re.match(r"what\b[^?]*\sfor\s*\?*\s*$", head):
        return "reason"  # "What will X use its GPUs for?", "What is the $2 billion for?": a purpose
    for kind, pattern in lang.ANSWER_TYPES:
        if pattern.search(head):
            return kind  # type: ignore[return-value]
    words = _FIGURE_IN_QUESTION.sub(" ", (unnamed or low).lstrip("¿¡ "))
    if re.search(r"\b(gpus?|chips?|accelerators?|units|processors|servers|racks|systems|count)\b", words) or re.search(
        r"\b[a-z]{1,4}\d{2,4}[a-z]{0,2}s\b", words
    ):
        return "count"  # terse: "msft hopper gpus?", "naver b200s delivered?"
    if which:
        return "description"
    if operation in ("difference", "sum"):
        return "count"
    if lang.KEYWORD_QUERY.match(head):
        # a terse keyword query asks for what its last noun names: "acme rollout completion date?" a time,
        # "acme h100 pilot size?" a figure
        last = re.findall(r"[a-z]+", head)[-1]
        return "time" if last in lang.TIME_NOUNS else "place" if last in lang.PLACE_NOUNS else "figure"
    return "description"


def _operation(low: str, items: tuple[Term, ...], periods: tuple[Period, ...]) -> tuple[Operation | None, bool]:
    """How the figures combine: a difference or sum of the compared items, a largest or smallest, a choice."""
    compared = max(len(items), len(periods))
    if lang.DIFFERENCE.search(low) or (lang.CHANGE_BETWEEN.search(low) and len(periods) >= 2):
        return "difference", False
    if lang.SUM.search(low) and compared >= 2:
        return "sum", False
    # "Which of A and B ...", and "Of A, B and C, which ...", "Among A and B, who ..."
    asks_which = re.match(r"(which|who)\b", low) or re.match(r"(of|among|between)\b[^?]*?,\s*(which|who)\b", low)
    choice = bool(asks_which) and len(items) >= 2
    if re.search(r"\b(most|largest|biggest|highest|greatest|top|leading|leader)\b", low):
        return "max", choice
    if re.search(r"\b(least|smallest|fewest|lowest)\b", low):
        return "min", choice
    if choice and re.search(r"\b(more|larger|bigger|higher|greater)\b", low):
        return "max", True
    if choice and re.search(r"\b(fewer|less|smaller|lower)\b", low):
        return "min", True
    return None, False


# What joins two names that are compared or added: "A and B", "A or B", "A than B", "A, B", "A versus B".
_COORDINATION = re.compile(
    r"^\s*(?:,\s*(?:and|or)?|and|or|&|plus|than|versus|vs\.?|against|compared (?:with|to)|as opposed to|:)\s*"
    r"(?:(?:did|does|do|the|its|their|that of|those of|for|in|at|to)\s+)*$",
    re.IGNORECASE,
)


def coordinated(text: str, terms: tuple[Term, ...]) -> tuple[Term, ...]:
    """The terms a question sets side by side ("Meta ... than Amazon", "Tencent and ByteDance", "A or B")."""
    placed = sorted((t for t in terms if t.at >= 0 and not t.optional), key=lambda t: t.at)
    linked: list[Term] = []
    for a, b in zip(placed, placed[1:], strict=False):
        between = text[a.end : b.at]
        direct = _COORDINATION.match(between)
        # "more GPUs did Meta buy than Amazon": the verb phrase between the subject and "than".
        comparative = re.search(r"\b(than|versus|vs\.?|compared (?:with|to))\s+(?:the\s+)?$", between, re.I)
        if (direct or comparative) and a.code == b.code:  # a model code is not compared with a buyer
            linked.extend(t for t in (a, b) if t not in linked)
    return tuple(linked)
