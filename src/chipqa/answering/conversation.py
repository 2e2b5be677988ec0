"""Follow-up questions resolved against the conversation so far, by general rules over the earlier question.

"And Meta?" after "How many Hopper GPUs did Microsoft buy?" is "How many Hopper GPUs did Meta buy?". Three
kinds of follow-up are resolved, each by editing the previous (already resolved) question:

- ellipsis: a fragment that swaps one slot of the previous question: a company or other name ("And Meta?"),
  a product ("How about the B300?"), a year ("What about 2023?") or a currency ("And in RMB?");
- comparison: "How does that compare with Amazon?" asks the previous question for the difference;
- reference: a pronoun for the previous subject ("How many did it buy?", "What did they pay?"), or "that" for
  the previous figure ("What was that in RMB?").

Anything else comes back exactly as asked, and so does a follow-up whose slot cannot be told for sure (two
companies it could replace, words the rules do not understand): a wrong guess would be answered confidently
about the wrong thing, while an unresolved question is answered as asked and shown as such.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from chipqa.core.text import YEAR

Kind = Literal["name", "product"]


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what was asked, what was answered, and the question actually answered."""

    question: str
    answer: str = ""
    resolved_question: str = ""


@dataclass(frozen=True)
class _Slot:
    start: int
    end: int
    text: str
    kind: Kind
    after_preposition: bool = False
    after_contrast: bool = False


def _words(text: str) -> list[str]:
    return text.split()


# Words that open or glue a question; never names, whatever their case.
_FUNCTION_WORDS = frozenset(
    _words(
        "a about according after also an and any are as at be been before between both but by can could did "
        "do does during each else for from had has have he her his how i if in instead into is it its just "
        "let me more most now of ok okay on or our over same she should so tell than that the their them then "
        "there these they this those to too us was we well were what when where which who whom whose why will "
        "with would you your compare compared comparison versus vs please"
    )
)
# Capitalised words that name a kind of thing or a unit, not a company or a product.
_GENERIC = frozenset(_words("ai gpu gpus chip chips cpu cpus tpu tpus usd rmb eur cny q1 q2 q3 q4 percent"))
# Nouns that a product name modifies ("Hopper GPUs", "Nvidia chips").
_UNIT_NOUN = re.compile(r"(?i)^\s*(gpus?|chips?|cards?|accelerators?|processors?|tpus?|servers?|units?|series)\b")
_PREPOSITION = re.compile(
    r"(?i)\b(in|from|to|for|of|by|with|at|on|into|inside|within|outside|across|than|against|via)\s+(the\s+)?$"
)
_WORD = re.compile(r"[^\W_][\w'’&./-]*[^\W_]|[^\W_]")
_CURRENCY = re.compile(
    r"(?i)\b(?:in\s+)?(?:the\s+)?(rmb|yuan|renminbi|cny|us\s+dollars|dollars|usd|euros?|eur|pounds|gbp|yen|jpy)\b"
)
_AUX = r"(?:did|does|do|has|have|had|will|were|was|are|is|would|could|can|should|might)"
_HOW_MANY_UNIT = re.compile(rf"(?i)\bhow many\s+(?P<unit>[\w'’ /-]+?)\s+{_AUX}\b")
_HOW_MANY_BARE = re.compile(rf"(?i)\bhow many(?=\s+{_AUX}\b)")
_LEAD = re.compile(r"(?i)^(?:(?:and|but|so|ok|okay|also|then|now|well|right)\b[\s,]*)+")
_ELLIPSIS = re.compile(
    r"(?i)^(?:(?:what|how)\s+about|what\s+of|same\s+(?:for|with)|likewise\s+for|(?:and\s+)?for|now\s+for)\s+(?P<x>.+)$"
)
_COMPARE = re.compile(
    r"(?i)^(?:how\s+(?:does|do|did|would|is|was)\s+(?:that|this|it|they|those|these)\s+compare\s+(?:with|to|against)"
    r"|(?:how\s+about\s+)?compared?\s+(?:with|to|against)|versus|vs\.?|against"
    r"|(?:is|was)\s+(?:that|this|it)\s+(?:more|less|bigger|smaller|higher|lower)\s+than)\s+(?P<target>.+)$"
)
_QUESTION_START = re.compile(
    rf"(?i)^(?:how|what|which|who|whom|whose|when|where|why|{_AUX}|according|tell|give|list|name|show|find)\b"
)
# Questions whose pronouns point at their own wh-phrase ("Which company said it would ...").
_WH_SUBJECT = re.compile(r"(?i)^(?:who|which\s+\w+|what\s+(?:company|firm|country|group|business))\b")
_SUBJECT_PRONOUN = re.compile(r"(?i)\b(it|its|they|them|their|theirs|the\s+(?:company|firm|group))\b")
_DUMMY_IT = re.compile(
    r"(?i)\b(?:is|was)\s+it\s+(?:true|possible|likely|known|reported|said)\b"
    r"|\bit\s+(?:is|was|'s|’s)\s+(?:true|possible|likely|known|reported|said|unclear)\b"
)
_FIGURE_PRONOUN = re.compile(r"(?i)\b(that|this)\b(?=\s*(?:[?.,]|$|is\b|was\b|in\b|for\b|as\b|of\b))")
_FILLER = frozenset(_words("the a an in for of about and its their with then instead too now by during as well s"))
_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_JOINER = re.compile(r"\s*(?:,|and|&|/|,\s*and)?\s*", re.IGNORECASE)
_WH_NEXT = re.compile(r"(?i)\s+(?:how|what|which|who|when|where|why|many|much)\b")
# A name after one of these is the other side of a comparison: "did Meta buy than Amazon".
_CONTRAST = re.compile(r"(?i)\b(?:than|versus|vs\.?|against|compared\s+(?:with|to))\s+(?:the\s+)?$")


def resolve(question: str, history: Sequence[Turn], names: Collection[str] = ()) -> str:
    """The question to answer: a follow-up rewritten from the earlier turns, or `question` unchanged.

    `names` are lower-case words the corpus writes capitalised ("meta"), so a follow-up typed in lower case
    ("and meta?") still names something, and a capitalised ordinary word opening a question does not.
    """
    resolved: list[str] = []
    for i, turn in enumerate(history):
        earlier = resolved[i - 1] if i else None
        answer = history[i - 1].answer if i else ""
        resolved.append(turn.resolved_question or _resolve_one(turn.question, earlier, answer, names))
    if not resolved:
        return question
    return _resolve_one(question, resolved[-1], history[-1].answer, names)


def _resolve_one(question: str, previous: str | None, previous_answer: str, names: Collection[str]) -> str:
    text = " ".join(question.split())
    if not previous or not text:
        return question
    names = frozenset(n.lower() for n in names)
    previous = " ".join(previous.split())
    for rule in (_comparison, _ellipsis, _reference):
        result = rule(text, previous, previous_answer, names)
        if result is not None:
            return result if result != text else question
    return question


# ---------------------------------------------------------------------------------------------------------
# The three rules; each returns the rewritten question, or None when it does not apply or cannot be sure.


def _comparison(text: str, previous: str, _: str, names: frozenset[str]) -> str | None:
    m = _COMPARE.match(_LEAD.sub("", text))
    if not m:
        return None
    target_text = _strip_end(m.group("target"))
    targets = _groups(_slots(target_text, names), target_text)
    if len(targets) != 1 or targets[0][0].kind != "name":
        return None
    target = _group_text(targets[0], target_text)
    subject = _subject_group(_slots(previous, names), previous)
    if subject is None:
        return None
    how = re.match(r"(?i)^how\s+(many|much)\b(?!\s+more\b)", previous)
    if how:
        body = previous[: how.end()] + " more" + previous[how.end() :]
        return _capital(f"{_strip_end(body)} than {target}?")
    return _capital(f"{_strip_end(previous)}, compared with {target}?")


def _ellipsis(text: str, previous: str, _: str, names: frozenset[str]) -> str | None:
    led = _LEAD.sub("", text)
    m = _ELLIPSIS.match(led)
    if m:
        fragment = m.group("x")
    elif led != text or not _QUESTION_START.match(led):
        # "And Meta?", "Meta?", "In 2023?": a short fragment with no question of its own.
        if _QUESTION_START.match(led) or len(_WORD.findall(led)) > 6:
            return None
        fragment = led
    else:
        return None
    return _substitute(previous, _strip_end(fragment), names)


def _reference(text: str, previous: str, previous_answer: str, names: frozenset[str]) -> str | None:
    body = _LEAD.sub("", text)
    if _WH_SUBJECT.match(body):
        return None
    edits: list[tuple[int, int, str]] = []
    offset = len(text) - len(body)
    pronouns = [m for m in _SUBJECT_PRONOUN.finditer(body) if not _is_dummy_it(body, m)]
    if pronouns:
        antecedent = _antecedent(previous, previous_answer, names)
        if antecedent is None:
            return None
        for m in pronouns:
            word = m.group(1).lower()
            possessive = word in ("its", "their", "theirs")
            replacement = _possessive(antecedent) if possessive else antecedent
            edits.append((offset + m.start(), offset + m.end(), replacement))
    bare = _HOW_MANY_BARE.search(body)
    unit = _HOW_MANY_UNIT.search(previous)
    if bare and unit and edits:
        edits.append((offset + bare.end(), offset + bare.end(), " " + unit.group("unit")))
    if edits:
        edited = _apply(text, edits)
        return _capital(edited[offset:]) if edited is not None else None
    figure = _FIGURE_PRONOUN.search(body)
    if figure:
        rest = body[: figure.start()] + body[figure.end() :]
        modifiers = _modifiers(rest, names)
        if modifiers:
            return _substitute(previous, modifiers, names)
    if bare and unit:
        # "How many did Amazon buy?" — the thing counted is the previous question's.
        return _capital(body[: bare.end()] + " " + unit.group("unit") + body[bare.end() :])
    return None


# ---------------------------------------------------------------------------------------------------------
# Slots of a question and edits to them


def _substitute(previous: str, fragment: str, names: frozenset[str]) -> str | None:
    """The previous question with the fragment's names, products, years and currency put in their slots."""
    fragment = re.sub(r"(?i)\b(instead|then|too|as well|please)\b", " ", fragment).strip(" ,")
    years = [m for m in YEAR.finditer(fragment)]
    currency = _CURRENCY.search(fragment)
    slots = _slots(fragment, names)
    covered = [(m.start(), m.end()) for m in years] + [(s.start, s.end) for s in slots]
    if currency:
        covered.append(currency.span())
    leftover = [
        w for w in _WORD.finditer(fragment) if not any(a <= w.start() < b for a, b in covered) and not _filler(w[0])
    ]
    if leftover or not covered:
        return None
    edits: list[tuple[int, int, str]] = []
    old_years = list(YEAR.finditer(previous))
    if years:
        if len(old_years) == len(years):
            edits.extend((o.start(), o.end(), n.group(0)) for o, n in zip(old_years, years, strict=True))
        elif not old_years and len(years) == 1:
            edits.append(_append(previous, f" in {years[0].group(0)}"))
        else:
            return None
    if currency:
        phrase = "in " + currency.group(1).upper() if len(currency.group(1)) == 3 else "in " + currency.group(1)
        old = _CURRENCY.search(previous)
        edits.append((old.start(), old.end(), phrase) if old else _append(previous, " " + phrase))
    old_slots = _slots(previous, names)
    for group in _groups(slots, fragment):
        edit = _slot_edit(previous, old_slots, group, fragment)
        if edit is None:
            return None
        edits.append(edit)
    result = _apply(previous, edits)
    return _capital(result) if result is not None else None


def _slot_edit(previous: str, old_slots: list[_Slot], group: list[_Slot], fragment: str) -> tuple[int, int, str] | None:
    """Where a new name or product goes in the previous question: the one slot of its kind, or nowhere."""
    new_text = _group_text(group, fragment)
    kind = group[0].kind
    if kind == "product":
        products = [s for s in old_slots if s.kind == "product"]
        if len(products) == 1:
            return products[0].start, products[0].end, new_text
        if products:
            return None
        unit = _HOW_MANY_UNIT.search(previous)
        if unit:  # "How many GPUs did Microsoft buy?" + "How about the B300?"
            return unit.start("unit"), unit.start("unit"), new_text + " "
        return None
    subject = _subject_group(old_slots, previous)
    if subject is None:
        return None
    return subject[0].start, subject[-1].end, new_text


def _subject_group(slots: list[_Slot], text: str) -> list[_Slot] | None:
    """The previous question's subject: its one name group not after a preposition (else its one name group).

    None when it has none, or when it compares two ("did Meta buy than Amazon": which one would "And Google?"
    replace?)."""
    groups = [g for g in _groups(slots, text) if g[0].kind == "name"]
    if any(g[0].after_contrast for g in groups):
        return None
    free = [g for g in groups if not g[0].after_preposition]
    if len(free) == 1:
        return free[0]
    if not free and len(groups) == 1:
        return groups[0]
    return None


def _antecedent(previous: str, previous_answer: str, names: frozenset[str]) -> str | None:
    """What "it" or "they" stands for: the previous subject, or the name the previous answer gave."""
    subject = _subject_group(_slots(previous, names), previous)
    if subject is not None:
        return _group_text(subject, previous)
    asked = {s.text.lower() for s in _slots(previous, names)}
    answer = _MARKER.sub(" ", previous_answer)
    # An answer's sentences start with ordinary words more often than a question's do.
    given = [
        g
        for g in _groups(_slots(answer, names, strict=bool(names)), answer)
        if g[0].kind == "name" and g[0].text.lower() not in asked
    ]
    return _group_text(given[0], answer) if given else None


def _slots(text: str, names: frozenset[str], strict: bool = False) -> list[_Slot]:
    """Names and products in a question: runs of capitalised words ("Quintara Systems"), model numbers
    ("H100") and known names; a product is a model number or a name before a unit noun ("Hopper GPUs")."""
    spans: list[tuple[int, int, bool]] = []  # (start, end, has a model number)
    for m in _WORD.finditer(text):
        core = re.sub(r"['’]s$", "", m.group(0).rstrip("."))
        low = core.lower()
        if not core or low in _FUNCTION_WORDS or low in _GENERIC or YEAR.fullmatch(core):
            continue
        model_number = bool(re.search(r"\d", core) and re.search(r"[A-Za-z]", core))
        capitalised = core[0].isupper()
        if not (model_number or capitalised or low in names):
            continue
        end = m.start() + len(core)
        before = text[: m.start()]
        sentence_start = not before.strip() or before.rstrip().endswith((".", "?", "!"))
        opener = strict or _WH_NEXT.match(text[end:])
        if capitalised and sentence_start and opener and low not in names and core[1:].islower():
            continue  # "Roughly how many…", "Nobody knows": a capital that only starts the sentence
        if (
            spans
            and re.fullmatch(r" ", text[spans[-1][1] : m.start()])
            and text[spans[-1][1] - 2 : spans[-1][1]] != "'s"
        ):
            spans[-1] = (spans[-1][0], end, spans[-1][2] or model_number)
        else:
            spans.append((m.start(), end, model_number))
    found = []
    for start, end, model_number in spans:
        before = text[:start]
        kind: Kind = "product" if model_number or _UNIT_NOUN.match(text[end:]) else "name"
        preposition, contrast = bool(_PREPOSITION.search(before)), bool(_CONTRAST.search(before))
        found.append(_Slot(start, end, text[start:end], kind, preposition, contrast))
    return found


def _groups(slots: list[_Slot], text: str) -> list[list[_Slot]]:
    """Adjacent slots of one kind joined: "Meta Platforms", "Tencent and ByteDance", "Meta, Amazon and Google"."""
    groups: list[list[_Slot]] = []
    for slot in slots:
        last = groups[-1][-1] if groups else None
        if last is not None and last.kind == slot.kind and _JOINER.fullmatch(text[last.end : slot.start]):
            groups[-1].append(slot)
        else:
            groups.append([slot])
    return groups


def _group_text(group: list[_Slot], text: str) -> str:
    return text[group[0].start : group[-1].end]


def _modifiers(text: str, names: frozenset[str]) -> str:
    """The years, currency, names and products in a text, as a fragment ("in RMB", "2023", "Meta")."""
    parts = [m.group(0) for m in YEAR.finditer(text)]
    currency = _CURRENCY.search(text)
    if currency:
        parts.append(currency.group(0))
    parts.extend(s.text for s in _slots(text, names))
    return " ".join(parts)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str | None:
    """The text with non-overlapping edits (start, end, replacement) made; None when two edits overlap."""
    out, pos = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            return None
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _append(previous: str, addition: str) -> tuple[int, int, str]:
    """An insertion just before the question's closing punctuation."""
    end = len(previous.rstrip(" ?.!"))
    return end, end, addition


def _strip_end(text: str) -> str:
    return text.strip().rstrip("?.! ").strip()


def _filler(word: str) -> bool:
    return word.lower().strip("'’") in _FILLER


def _is_dummy_it(text: str, m: re.Match[str]) -> bool:
    return m.group(1).lower() == "it" and any(d.start() <= m.start() < d.end() for d in _DUMMY_IT.finditer(text))


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
