"""Understand a question: what it asks for, the names and periods it is about, and how figures combine.

`understand` is pure: the index's vocabulary comes in as a `Lexicon`, so a name is recognised the way the corpus
writes it ("coreweave" → CoreWeave, "Microsft" → Microsoft, "SKT" → SK Telecom, "Lambda Labs" → Lambda).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from chipqa.answering import language as lang
from chipqa.core.errors import InputError
from chipqa.core.figures import parse_figures
from chipqa.core.text import YEAR, addressed_to_model, split_sentences

AnswerType = Literal[
    "count", "money", "percent", "year", "figure", "time", "place", "reason", "party", "product", "description"
]
Operation = Literal["difference", "sum", "max", "min"]
# "figure": some figure of a kind the question does not fix ("How big is the programme?").
FIGURE_TYPES = frozenset({"count", "money", "percent", "year", "figure"})

# A maker's name is a prefix of model codes in at least this share of its uses in the corpus ("Nvidia GB200").
MAKER_PREFIX_SHARE = 0.25
MAKER_MIN_USES = 5
# A word the corpus capitalises this often is a name even when it is also an English word ("Sakura").
NAME_CAPITALISED = 0.9
# A word at least this share of the documents use is the corpus's subject, not what a question singles out.
SUBJECT_DOC_SHARE = 0.7

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9&'’.-]*[A-Za-z0-9]|[A-Za-z0-9]")
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9-]+$")
_FIGURE_IN_QUESTION = re.compile(
    r"[$€£¥₹₩]\s?\d[\d,.]*\s*(?:billion|million|thousand|bn|m|k)?|\b\d[\d,.]*\s*(?:billion|million|bn)\b"
)
_PERIOD_TOKEN = re.compile(r"(?i)q[1-4]|[1-4]q|h[12]|fy'?\d{2,4}|cy'?\d{2,4}")
_CURRENCY_WORDS = (
    ("RMB", re.compile(r"\b(rmb|yuan|renminbi|cny)\b")),
    ("JPY", re.compile(r"\b(yen|jpy)\b")),
    ("EUR", re.compile(r"\b(euros?|eur)\b|€")),
    ("GBP", re.compile(r"\b(pounds?|sterling|gbp)\b|£")),
    ("KRW", re.compile(r"\b(won|krw)\b|₩")),
    ("INR", re.compile(r"\b(rupees?|inr)\b|₹")),
    ("USD", re.compile(r"\b(us )?dollars?\b|\busd\b|\bin \$|\bus\$")),
)
_QUARTER = re.compile(
    r"\b(?:q([1-4])|([1-4])q|(first|second|third|fourth|1st|2nd|3rd|4th) (?:fiscal )?quarter)\b", re.IGNORECASE
)
_FISCAL = re.compile(r"\bfy\s*'?(\d{2}|\d{4})\b|\bfiscal(?: year)?\s+'?(\d{2}|\d{4})\b", re.IGNORECASE)
_HALF = re.compile(r"\b(?:h([12])|(first|second) half)\b", re.IGNORECASE)
_MONTH = re.compile(
    r"\b(" + "|".join(lang.MONTHS[:12]) + r")\b(?:\s+\d{1,2}(?!\d),?)?(?:\s+((?:19|20)\d\d))?", re.IGNORECASE
)
_RELATIVE = re.compile(r"\b(last|previous|prior|this|current|next|coming|following)\s+(quarter|year|month)\b", re.I)


class Lexicon(Protocol):
    """What understanding needs from the index: its words, names and their statistics."""

    names: frozenset[str]
    lexicon: frozenset[str]  # ordinary English words (the embedding model's vocabulary)
    phrases: Mapping[str, int]
    before_code: Mapping[str, int]
    counts: Mapping[str, int]

    def __contains__(self, word: str) -> bool: ...
    def correct(self, word: str) -> str | None: ...
    def idf(self, word: str) -> float: ...
    def doc_fraction(self, word: str) -> float: ...
    def capitalised_share(self, word: str) -> float: ...
    def is_unknown(self, word: str) -> bool: ...


@dataclass(frozen=True)
class Term:
    """A name the question is about: a company, product, place or programme."""

    text: str  # as the question writes it
    forms: tuple[str, ...]  # spellings to look for, the full name first ("SK Telecom", "Telecom")
    code: bool = False  # a model code ("MI300X", "B200", "910C", "G42")
    optional: bool = False  # a maker's prefix ("AMD" in "AMD MI300X") or the corpus's subject ("Nvidia")
    product: bool = False  # names a chip or system: a model code, or a name right before "GPUs"/"chips"
    at: int = -1  # where the question names it
    end: int = -1


@dataclass(frozen=True)
class Period:
    """A period the question names: a year, a quarter, a half, a fiscal year, or "last/next quarter"."""

    text: str
    years: tuple[int, ...] = ()
    quarter: int | None = None
    half: int | None = None
    month: int | None = None
    fiscal: bool = False
    relative: int | None = None  # -1 last, 0 this, +1 next


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
    terms, unknown = _terms(undotted, lexicon)
    periods = _periods(undotted)
    items = coordinated(undotted, terms)
    operation, choice = _operation(low, items, periods)
    asks = _answer_type(low, operation)
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
    unit = _unit(low) if asks == "count" or operation in ("difference", "sum") else None
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
    r"\bhow many\s+(?:more\s+|fewer\s+|of\s+(?:its|their|the)\s+)?([\w\s'-]{1,50}?)\s+(?:did|does|do|has|have|had|were|was|are|is|will|would|could|can|in|at|for|across|arrive|ship)\b"
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


def _answer_type(low: str, operation: Operation | None) -> AnswerType:
    head = low.lstrip("¿¡ ")
    # A figure the question states ("the $2.5 billion of notes") tells what it knows, not what it asks.
    head = _FIGURE_IN_QUESTION.sub(" ", head)
    if re.search(
        r"\bshare of (?:the |its |their )?[\w\s-]{0,30}?\b(gpus?|chips?|accelerators?|units|systems)\b", head
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
    if re.match(r"(how big|how large|how sizeable|what size|how much)\b", head) and not lang.ANSWER_TYPES[1][1].search(
        head.split(" ", 2)[-1]
    ):
        return "figure"
    which = re.match(r"(?:in |at |for |from |on |of )?(which|what)\s+((?:[\w'-]+\s+){0,3})", head)
    if which and not re.match(r"(what|which) (is|was|were|are|will|did|does|do|has|had|share|percentage)\b", head):
        for noun in which.group(2).split():
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
    for kind, pattern in lang.ANSWER_TYPES:
        if pattern.search(head):
            return kind  # type: ignore[return-value]
    if re.search(r"\b(gpus?|chips?|accelerators?|units|processors|servers|racks|systems|count)\b", head) or re.search(
        r"\b[a-z]{1,4}\d{2,4}[a-z]{0,2}s\b", head
    ):
        return "count"  # terse: "msft hopper gpus?", "naver b200s delivered?"
    if which:
        return "description"
    if operation in ("difference", "sum"):
        return "count"
    return "description"


def _operation(low: str, items: tuple[Term, ...], periods: tuple[Period, ...]) -> tuple[Operation | None, bool]:
    """How the figures combine: a difference or sum of the compared items, a largest or smallest, a choice."""
    compared = max(len(items), len(periods))
    if lang.DIFFERENCE.search(low) or (lang.CHANGE_BETWEEN.search(low) and len(periods) >= 2):
        return "difference", False
    if lang.SUM.search(low) and compared >= 2:
        return "sum", False
    choice = bool(re.match(r"(which|who)\b", low)) and len(items) >= 2
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
    r"^\s*(?:,\s*(?:and|or)?|and|or|&|than|versus|vs\.?|against|compared (?:with|to)|as opposed to|:)\s*"
    r"(?:(?:did|does|do|the|its|their|that of|those of|for)\s+)*$",
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


def _periods(text: str) -> tuple[Period, ...]:
    out: list[Period] = []
    fiscal = _FISCAL.search(text)
    fiscal_year = None
    if fiscal:
        raw = fiscal.group(1) or fiscal.group(2)
        fiscal_year = int(raw) + (2000 if len(raw) == 2 else 0)
    for m in _QUARTER.finditer(text):
        number = m.group(1) or m.group(2)
        quarter = int(number) if number else lang.ORDINAL_QUARTERS[m.group(3).lower()]
        years = (fiscal_year,) if fiscal_year else tuple(int(y) for y in YEAR.findall(text))
        out.append(Period(m.group(0), years, quarter=quarter, fiscal=fiscal_year is not None))
    for m in _HALF.finditer(text):
        half = int(m.group(1)) if m.group(1) else (1 if m.group(2).lower() == "first" else 2)
        out.append(Period(m.group(0), tuple(int(y) for y in YEAR.findall(text)), half=half))
    for m in _RELATIVE.finditer(text):
        out.append(Period(m.group(0), relative=lang.RELATIVE_PERIODS[m.group(1).lower()]))
    for m in _MONTH.finditer(text):
        year = m.group(2) or next(iter(YEAR.findall(text[m.end() :])), None)
        month = lang.MONTHS.index(m.group(1).lower()) % 12 + 1
        out.append(Period(m.group(0), (int(year),) if year else (), month=month))
    if fiscal_year and not out:
        out.append(Period(fiscal.group(0), (fiscal_year,), fiscal=True))  # type: ignore[union-attr]
    covered = {y for p in out for y in p.years}
    for m in YEAR.finditer(text):
        if int(m.group(0)) not in covered:
            out.append(Period(m.group(0), (int(m.group(0)),)))
    return tuple(out)


def _terms(text: str, lexicon: Lexicon) -> tuple[tuple[Term, ...], tuple[str, ...]]:
    """Names the question is about, as the index writes them, and names the index never mentions."""
    # Words inside a figure the question states ("17,280-GPU") are no names; a small number right after a
    # capitalised word is a model number, not a figure ("Gaudi 3 chips").
    figures = [
        (f.start, f.end)
        for f in parse_figures(text)
        if f.kind != "year" and not (f.value < 10 and re.search(r"[A-Z][A-Za-z]+\s$", text[: f.start]))
    ]
    tokens = [
        m
        for m in _TOKEN.finditer(text)
        if not any(s <= m.start() < e for s, e in figures) and text[max(0, m.start() - 1) : m.start()] not in (",", ".")
    ]
    marks: list[str | None] = []  # per token: "name", "code", or None
    possessive: list[bool] = []
    for i, m in enumerate(tokens):
        raw = m.group(0).strip(".'’")
        possessive.append(bool(re.search(r"['’]s?$", m.group(0))))
        word = re.sub(r"['’]s$", "", raw)
        marks.append(_mark(text, tokens, i, word, marks, possessive, lexicon))
    groups: list[list[int]] = []
    for i, mark in enumerate(marks):
        if mark is None:
            continue
        previous = groups[-1][-1] if groups else -9
        adjacent = previous == i - 1 and text[tokens[i - 1].end() : tokens[i].start()].strip() == ""
        # "Bank of America", "University of Michigan": two names joined by "of" are one name.
        joined_by_of = (
            previous == i - 2
            and mark == "name"
            and marks[i - 2] == "name"
            and tokens[i - 1].group(0).lower() in ("of", "de")
        )
        joinable = joined_by_of or (
            adjacent
            and not possessive[previous]
            and not (_is_maker(tokens[previous].group(0), lexicon) and re.search(r"[A-Za-z]", tokens[i].group(0)))
        )
        after_code = marks[previous] == "code" if previous >= 0 else False
        if joinable and (
            (mark == "name" and not after_code)
            or (mark == "code" and marks[previous] == "name" and _attaches(tokens, i))
        ):
            groups[-1].append(i)
        else:
            groups.append([i])
    terms: list[Term] = []
    owners: list[bool] = []  # the term is written as an owner ("Lambda's"), so it is no maker's prefix
    unknown: list[str] = []
    for group in groups:
        if all(re.fullmatch(r"\d+", tokens[i].group(0)) for i in group):
            continue
        words = [re.sub(r"['’]s$", "", tokens[i].group(0).strip(".'’")) for i in group]
        words = [re.sub(r"(?<=\d)s$", "", w) if marks[i] == "code" else w for w, i in zip(words, group, strict=True)]
        span = text[tokens[group[0]].start() : tokens[group[-1]].end()]
        if " of " in span or " de " in span:  # "University of Michigan"
            words = re.sub(r"['’]s$", "", span).split()
        phrase = " ".join(words)
        term = _resolve(phrase, words, [marks[i] == "code" for i in group], lexicon)
        if term is None:
            unknown.append(phrase)
        else:
            term = replace(term, at=tokens[group[0]].start(), end=tokens[group[-1]].end())
            nxt = tokens[group[-1] + 1].group(0) if group[-1] + 1 < len(tokens) else ""
            if term.code or nxt.lower().rstrip("s") in {n.rstrip("s") for n in lang.HARDWARE_NOUNS}:
                term = replace(term, product=True)
            noun_follows = nxt[:1].islower() and not re.search(r"(ing|ed)$", nxt) and nxt.lower() not in lang.STOPWORDS
            if len(group) == 1 and _DESCRIPTIVE.search(words[0]) and noun_follows and not term.code:
                term = replace(term, optional=True)  # "the Japanese government", "the Bonn-based carrier"
            terms.append(term)
            owners.append(possessive[group[-1]])
    out: list[Term] = []
    for i, term in enumerate(terms):
        # "AMD MI300X": a maker's name directly before another name is optional; so is the corpus's subject.
        adjacent = i + 1 < len(terms) and 0 <= terms[i + 1].at - term.end <= 1  # "AMD MI300X", not "AMD, Intel"
        prefix = adjacent and not owners[i] and not term.code
        maker = prefix and len(term.forms[0].split()) == 1 and _is_maker(term.forms[0], lexicon)
        subject = not term.code and all(
            lexicon.doc_fraction(w) >= SUBJECT_DOC_SHARE for w in term.forms[0].lower().split()
        )
        out.append(replace(term, optional=True) if maker or subject or term.optional else term)
    return tuple(out), tuple(unknown)


def _mark(
    text: str,
    tokens: list[re.Match[str]],
    i: int,
    word: str,
    marks: list[str | None],
    possessive: list[bool],
    lexicon: Lexicon,
) -> str | None:
    """Whether token i is part of a name ("name"), a model code ("code"), or neither."""
    low = word.lower()
    m = tokens[i]
    opening = i == 0 or text[: m.start()].rstrip().endswith((".", "?", "!", ":", ";"))
    if (
        _PERIOD_TOKEN.fullmatch(word)
        or YEAR.fullmatch(word)
        or low in lang.MONTHS
        or re.fullmatch(r"(?:end|mid|early|late|start|pre|post|full)-(?:19|20)\d\d|(?:19|20)\d\d-\d\d", low)
    ):
        return None  # a period ("Q3", "FY26", "March"), read by _periods
    if _CODE.match(word) and not re.fullmatch(r"\d+(st|nd|rd|th|k|m|bn|s)", word, re.IGNORECASE):
        return "code"
    if low in lang.STOPWORDS or low in lang.HARDWARE_NOUNS or low in _GENERIC or low in lang.CORPORATE_SUFFIXES:
        return None
    if word[0].isupper():
        if opening and (low in lang.QUESTION_OPENERS or (low not in lexicon.names and _known(low, lexicon))):
            return None  # capitalised only because it opens the question
        return "name"
    if low in lexicon.names and low not in lexicon.lexicon and len(low) > 2:
        return "name"  # "coreweave b200 count?"
    if len(low) >= 5 and low.isalpha() and low not in lexicon and low not in lexicon.lexicon and lexicon.correct(low):
        return "name"  # "gramenphone": a misspelled name, corrected when resolved
    after_name = i > 0 and marks[i - 1] == "name" and not possessive[i - 1]
    if re.fullmatch(r"\d{1,2}", word) and after_name and not _is_count(text, m, tokens[i - 1]):
        return "code"  # "Gaudi 3"
    return None


# Adjectives of place or origin ("Japanese", "Korean", "European", "Bonn-based", "Saudi"): before a common noun
# they describe the subject rather than name it, and the text may say "Japan" or nothing.
_DESCRIPTIVE = re.compile(r"(?:ese|ian|an|ish|ic|i|-based|-headquartered|-listed)$")


# Words that are capitalised in questions but name nothing to look for.
_GENERIC = frozenset(
    """ai us usd rmb eur gbp jpy percent percentage share billion million thousand ceo cfo hbm hbm3 hbm3e""".split()
)


def _is_count(text: str, m: re.Match[str], previous: re.Match[str]) -> bool:
    """ "3" after a name is a model number ("Gaudi 3 chips") unless a figure word follows ("3 million")."""
    after = text[m.end() : m.end() + 12].lower()
    return (
        bool(re.match(r"\s*(%|percent|million|billion|thousand|bn|m\b)", after)) or not previous.group(0)[0].isupper()
    )


def _known(word: str, lexicon: Lexicon) -> bool:
    """In the index, whole or, for a hyphenated word, every part of two letters or more ("T-Systems")."""
    low = word.lower()
    if low in lexicon or low.rstrip("s") in lexicon:
        return True
    split = re.fullmatch(r"([a-z]{2,})(\d{1,3})", low)  # "Hut8" written "Hut 8"
    if split and split.group(1) in lexicon.names:
        return True
    parts = [p for p in low.split("-") if len(p) > 1 and not p.isdigit()]
    return "-" in low and bool(parts) and all(p in lexicon or p.rstrip("s") in lexicon for p in parts)


def _is_maker(word: str, lexicon: Lexicon) -> bool:
    """A name the corpus mostly writes before model codes ("Nvidia GB200", "AMD MI300X")."""
    low = re.sub(r"['’]s$", "", word).lower()
    uses = lexicon.counts.get(low, 0)
    return uses >= MAKER_MIN_USES and lexicon.before_code.get(low, 0) >= MAKER_PREFIX_SHARE * uses


def _attaches(tokens: list[re.Match[str]], i: int) -> bool:
    """A code joins the name before it when the name is a product family ("Ascend 910C", "Gaudi 3")."""
    return bool(re.fullmatch(r"\d{1,2}|\d{3,4}[A-Za-z]?|v\d+\w*", tokens[i].group(0)))


def _resolve(phrase: str, words: list[str], codes: list[bool], lexicon: Lexicon) -> Term | None:
    """The term for a name as the index writes it, or None when the index never mentions it."""
    is_code = any(codes)
    core = [w for w in words if w.lower() not in lang.CORPORATE_SUFFIXES] or words
    known = [w for w in core if _known(w, lexicon) or w.lower() in ("of", "de")]
    if len(known) == len(core):
        forms = [" ".join(core)]
        if len(core) > 1:  # "Telekom" for "Deutsche Telekom": distinctive single words, not "Center"
            forms += [
                w
                for w in core
                if w.lower() in lexicon.names
                and (w.lower() not in lexicon.lexicon or lexicon.capitalised_share(w) >= NAME_CAPITALISED)
                and lexicon.doc_fraction(w) < SUBJECT_DOC_SHARE
            ]
        return Term(phrase, tuple(dict.fromkeys(forms)), code=is_code)
    corrected = [w if w in known else (lexicon.correct(w) or "") for w in core]
    if all(corrected):
        fixed = " ".join(c if c.lower() != w.lower() else w for c, w in zip(corrected, core, strict=True))
        return Term(phrase, (fixed,), code=is_code)
    if len(core) == 1 and (found := _expand_abbreviation(core[0], lexicon)):
        return Term(phrase, (found, core[0]), code=False)
    if known and len(known) < len(core):
        # "Crusoe Energy" where the index only says "Crusoe": the known, distinctive part.
        distinctive = [w for w in known if w.lower() in lexicon.names]
        if distinctive:
            return Term(phrase, tuple(dict.fromkeys([" ".join(core), *distinctive])), code=is_code)
    return None


def _expand_abbreviation(word: str, lexicon: Lexicon) -> str | None:
    """The index's multi-word name that an abbreviation stands for ("SKT" → "SK Telecom", "ORNL" → "Oak Ridge
    National Laboratory"), or a single name it abbreviates ("MSFT" → "Microsoft"); None unless one fits best."""
    letters = word.lower()
    if not (2 <= len(letters) <= 6 and word.isalpha() and word.isupper()):
        return None
    best: tuple[int, int, str] | None = None
    for phrase, count in lexicon.phrases.items():
        parts = [p for p in re.findall(r"[A-Za-z0-9]+", phrase) if p.lower() not in ("of", "de", "and")]
        if len(parts) < 2:
            continue
        initials = "".join(p[0] for p in parts).lower()
        suffix_dropped = any(letters == initials + sfx for sfx in _SUFFIX_INITIALS)
        if initials == letters or suffix_dropped:
            rank = 3
        elif initials.startswith(letters) and len(letters) >= 3:
            rank = 2
        elif _spans_words(letters, [p.lower() for p in parts]):
            rank = 1
        else:
            continue
        score = (rank, count, phrase)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is not None:
        return best[2]
    singles = [w for w in lexicon.names if w[0] == letters[0] and len(w) > len(letters) and _subsequence(letters, w)]
    if len(letters) >= 3 and singles:
        return max(singles, key=lambda w: lexicon.counts.get(w, 0)).capitalize()
    return None


# Abbreviations of corporate suffixes that tickers and short names append ("DTAG" = DT + AG).
_SUFFIX_INITIALS = ("ag", "sa", "se", "co", "inc", "plc", "nv", "corp", "grp")


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _spans_words(letters: str, parts: list[str]) -> bool:
    """Every word contributes the next letters, starting with its first ("skt" over "sk", "telecom")."""
    i = 0
    for part in parts:
        if i >= len(letters) or part[0] != letters[i]:
            return False
        j = 0
        while i < len(letters) and j < len(part) and part[j] == letters[i]:
            i += 1
            j += 1
    return i == len(letters)
