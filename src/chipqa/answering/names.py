"""Names in a question, as the index writes them: companies, products, places and programmes.

A name is recognised however the question spells it ("coreweave" → CoreWeave, "Microsft" → Microsoft, "SKT" → SK
Telecom, "Lambda Labs" → Lambda), with the spellings to look for in the evidence; a maker's prefix ("AMD" in
"AMD MI300X"), a describing adjective ("the Japanese government") and the corpus's own subject are optional.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from chipqa.answering import language as lang
from chipqa.core.figures import parse_figures
from chipqa.core.text import PERIOD_TOKEN, UPPER, YEAR

# A maker's name is a prefix of model codes in at least this share of its uses in the corpus ("Nvidia GB200").
MAKER_PREFIX_SHARE = 0.25


MAKER_MIN_USES = 5


# A word the corpus capitalises this often is a name even when it is also an English word ("Sakura").
NAME_CAPITALISED = 0.9


# A word at least this share of the documents use is the corpus's subject, not what a question singles out.
SUBJECT_DOC_SHARE = 0.7


SUBJECT_MIN_DOCS = 5  # below this many documents every word is in most of them


_TOKEN = re.compile(r"[^\W_][\w&'’.-]*[^\W_]|[^\W_]")


_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9-]+$")


class Lexicon(Protocol):
    """What understanding needs from the index: its words, names and their statistics."""

    @property
    def names(self) -> frozenset[str]: ...  # words the corpus capitalises
    @property
    def lexicon(self) -> frozenset[str]: ...  # ordinary English words (the embedding model's vocabulary)
    @property
    def phrases(self) -> Mapping[str, int]: ...  # multi-word names and how often they occur
    @property
    def before_code(self) -> Mapping[str, int]: ...  # how often a word precedes a model code
    @property
    def counts(self) -> Mapping[str, int]: ...
    @property
    def n_docs(self) -> int: ...

    def __contains__(self, word: str) -> bool: ...
    def correct(self, word: str, any_word: bool = False) -> str | None: ...
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
    noun: str = ""  # the common noun the question puts right after it ("drugmaker" in "the Basel drugmaker")
    at: int = -1  # where the question names it
    end: int = -1


def find_terms(text: str, lexicon: Lexicon) -> tuple[tuple[Term, ...], tuple[str, ...]]:
    """Names the question is about, as the index writes them, and names the index never mentions."""
    # Words inside a figure the question states ("17,280-GPU") are no names; a small number right after a
    # capitalised word is a model number, not a figure ("Gaudi 3 chips").
    figures = [
        (f.start, f.end)
        for f in parse_figures(text)
        if f.kind != "year" and not (f.value < 10 and re.search(rf"{UPPER}[^\W\d_]+\s$", text[: f.start]))
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
            and not _separate_lowercase_names(tokens[previous].group(0), tokens[i].group(0), lexicon)
            and not (_is_maker(tokens[previous].group(0), lexicon) and re.search(r"[A-Za-z]", tokens[i].group(0)))
        )
        after_code = marks[previous] == "code" if previous >= 0 else False
        if joinable and (
            # A maker after a name starts the product ("Insilico Medicine AMD MI355X" is a buyer and a chip).
            (mark == "name" and not after_code and not _is_maker(tokens[i].group(0), lexicon))
            or (mark == "code" and marks[previous] == "name" and _attaches(tokens, i, lexicon))
        ):
            groups[-1].append(i)
        else:
            groups.append([i])
    terms: list[Term] = []
    owners: list[bool] = []  # the term is written as an owner ("Lambda's"), so it is no maker's prefix
    unknown: list[str] = []
    for group in groups:
        if all(re.fullmatch(r"\d+(?:['’]s)?", tokens[i].group(0)) for i in group):
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
            if term.code or nxt.lower().rstrip("s") in lang.HARDWARE_SINGULAR:
                term = replace(term, product=True)
            noun_follows = nxt[:1].islower() and not re.search(r"(ing|ed)$", nxt) and nxt.lower() not in lang.STOPWORDS
            if len(group) == 1 and _DESCRIPTIVE.search(words[0]) and noun_follows and not term.code:
                term = replace(term, optional=True)  # "the Japanese government", "the Bonn-based carrier"
            nxt_token = tokens[group[-1] + 1] if group[-1] + 1 < len(tokens) else None
            described = text[: term.at].lower().endswith("the ")  # "the Basel drugmaker", not "does X plan"
            if (
                noun_follows
                and described
                and not term.product
                and nxt_token
                and not text[term.end : nxt_token.start()].strip()
            ):
                term = replace(term, noun=nxt.lower())  # a description: "the Basel drugmaker"
            terms.append(term)
            owners.append(possessive[group[-1]])
    out: list[Term] = []
    for i, term in enumerate(terms):
        # "AMD MI300X": a maker's name directly before another name is optional; so is the corpus's subject.
        adjacent = i + 1 < len(terms) and 0 <= terms[i + 1].at - term.end <= 1  # "AMD MI300X", not "AMD, Intel"
        prefix = adjacent and not owners[i] and not term.code
        maker = prefix and len(term.forms[0].split()) == 1 and _is_maker(term.forms[0], lexicon)
        subject = (
            not term.code
            and lexicon.n_docs >= SUBJECT_MIN_DOCS
            and all(lexicon.doc_fraction(w) >= SUBJECT_DOC_SHARE for w in term.forms[0].lower().split())
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
        PERIOD_TOKEN.fullmatch(word)
        or YEAR.fullmatch(word)
        or low in lang.MONTHS
        or re.fullmatch(r"(?:end|mid|early|late|start|pre|post|full)-(?:19|20)\d\d|(?:19|20)\d\d-\d\d", low)
    ):
        return None  # a period ("Q3", "FY26", "March"), read by _periods
    if _CODE.match(word) and not re.fullmatch(r"\d+(st|nd|rd|th|k|m|bn|s)", word, re.IGNORECASE):
        return "code"
    after_name = i > 0 and marks[i - 1] == "name" and not possessive[i - 1]
    if low in lang.CORPORATE_SUFFIXES and after_name and word[0].isupper():
        return "name"  # "Brightwater Labs", "Kakao Corp": part of the name (dropped from its spellings)
    if low in lang.STOPWORDS or low in lang.HARDWARE_NOUNS or low in _GENERIC or low in lang.CORPORATE_SUFFIXES:
        return None
    if word[0].isupper():
        if opening and (low in lang.QUESTION_OPENERS or (low not in lexicon.names and _known(low, lexicon))):
            return None  # capitalised only because it opens the question
        return "name"
    if low in lexicon.names and low not in lexicon.lexicon and len(low) > 2:
        return "name"  # "coreweave b200 count?"
    unknown = low.isalpha() and low not in lexicon and low not in lexicon.lexicon
    corrected = lexicon.correct(low) if unknown and len(low) >= 5 else None
    if corrected and lexicon.capitalised_share(corrected) >= NAME_CAPITALISED:
        return "name"  # "gramenphone": a misspelled name, corrected when resolved (not "deploying" → "Deploy")
    if unknown and 3 <= len(low) <= 5 and _consonant_heavy(low) and _expand_abbreviation(low.upper(), lexicon):
        return "name"  # "msft": an abbreviation typed in lower case (not a word such as "reais")
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


def _separate_lowercase_names(first: str, second: str, lexicon: Lexicon) -> bool:
    """Two names typed in lower case side by side ("kilima konza gpu count?") are one name only when the index
    writes them together."""
    if first[:1].isupper() or second[:1].isupper():
        return False
    together = f"{first} {second}".lower()
    return not any(together in phrase.lower() for phrase in lexicon.phrases)


def _consonant_heavy(word: str) -> bool:
    """At most half vowels: "msft", "skt", "aapl" may be abbreviations; "reais" or "oasis" are words."""
    return sum(ch in "aeiouy" for ch in word) * 2 <= len(word)


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


def _attaches(tokens: list[re.Match[str]], i: int, lexicon: Lexicon) -> bool:
    """A code joins the name before it when the name is a product family ("Ascend 910C", "Gaudi 3", "Hut 8"):
    a bare small number, a code the index never writes alone, or a name the index mostly writes before codes.
    A buyer's name before a model code stays apart ("Indosat B300 servers")."""
    code = re.sub(r"(?<=\d)s$", "", re.sub(r"['’]s?$", "", tokens[i].group(0)))  # "Hut 8's", "GB300s"
    if not re.fullmatch(r"\d{1,2}|\d{3,4}[A-Za-z]?|v\d+\w*|[A-Za-z]{1,4}\d{1,4}[A-Za-z]{0,3}", code):
        return False
    if re.fullmatch(r"\d{1,2}", code) or code.lower() not in lexicon:
        return True
    name = re.sub(r"['’]s?$", "", tokens[i - 1].group(0)).lower()
    uses = lexicon.counts.get(name, 0)
    return uses > 0 and lexicon.before_code.get(name, 0) >= MAKER_PREFIX_SHARE * uses


def _resolve(phrase: str, words: list[str], codes: list[bool], lexicon: Lexicon) -> Term | None:
    """The term for a name as the index writes it, or None when the index never mentions it."""
    is_code = any(codes)
    core = [w for w in words if w.lower() not in lang.CORPORATE_SUFFIXES] or words
    known = [w for w in core if _known(w, lexicon) or w.lower() in ("of", "de") or (w.isdigit() and len(core) > 1)]
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
    # A misspelled word of a name whose other words are indexed may be an ordinary word ("Procesing").
    corrected = [
        w if w in known else (lexicon.correct(w) or lexicon.correct(w, any_word=bool(known)) or "") for w in core
    ]
    if all(corrected):
        fixed = " ".join(c if c.lower() != w.lower() else w for c, w in zip(corrected, core, strict=True))
        return Term(phrase, (fixed,), code=is_code)
    if len(core) == 1 and (
        found := _expand_abbreviation(core[0] if core[0][0].isupper() else core[0].upper(), lexicon)
    ):
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
        parts = [p for p in re.findall(r"[^\W_]+", phrase) if p.lower() not in ("of", "de", "and")]
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
