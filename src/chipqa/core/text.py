"""Small text helpers with one home each: clipping, credential scrubbing, years, text addressed to a model."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlparse

# A capital letter that may open a name: ASCII and the Latin-1 capitals ("Élan", "Østerlys"), as a regex class.
UPPER = "[A-ZÀ-ÖØ-Þ]"

# A period written like a model code: a quarter, a half, a fiscal or calendar year ("Q4", "H2", "FY26", "1H25").
# Halves are H1 and H2 only: H4 is a chip. Upper case as written in articles; wrap in (?i:...) for questions.
PERIOD_CODE = r"Q[1-4]|H[12]|FY'?\d{2,4}|CY'?\d{2,4}|[1-4][QH]\d{0,4}"
PERIOD_TOKEN = re.compile(rf"(?i:{PERIOD_CODE})")

# A year a news article speaks of. 1900-2099 covers history and forecasts; four digits outside it are counts.
YEAR = re.compile(r"(?<![\w.,$€£¥])(?:19|20)\d\d(?![\w%]|[.,]\d)")

# Text written to steer a language model that reads it, rather than to inform a reader or ask a question:
# "ignore previous instructions", a chat-role label opening a line, chat-template tokens, "note to the AI",
# "you are now ...", or an order to answer in a set way. Used on documents (such lines are stored but never
# indexed or cited) and on questions (such sentences are dropped before the question is analysed).
_ADDRESSED_TO_MODEL = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+)?"
    r"(?:previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|original\s+|system\s+|other\s+)?"
    r"(?:instructions?|prompts?|messages?|context|rules|directions|guidelines|documents?|sources?|articles?"
    r"|passages?|evidence|corpus|data)\b"
    r"|^\W*(?:assistant|human|chatbot|system)\s*:"
    r"|^\W*#+\s*(?:instruction|response|system)\b"
    r"|<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>"
    r"|\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
    r"(?:ai|assistants?|language\s+models?|llms?|chatbots?|bots?)\b"
    r"|\b(?:assistants?|chatbots?|language\s+models?|llms?|ai\s+(?:systems?|tools?))\s+(?:reading|summari[sz]ing)\s+this\b"
    r"|\b(?:you|assistants?|the\s+ai|the\s+model)\s+(?:must|should|are\s+to)\s+(?:say|answer|respond|reply|state|tell)"
    r"|\b(?:always|only)\s+(?:answer|respond|reply)\b"
    r"|\binstead\s+(?:say|answer|reply)\b|\byou\s+are\s+now\b|\bsystem\s+prompt\b"
    r"|\b(?:developer|admin|god)\s+mode\b|\bjailbreak",
    re.IGNORECASE | re.MULTILINE,
)
_SECRET_PARAMS = re.compile(r"key|token|secret|password|passwd|auth|signature|sig", re.IGNORECASE)


def clip(text: str, limit: int = 160) -> str:
    """White space folded, then cut at a word boundary to at most `limit` characters, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def addressed_to_model(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether text[start:end] instructs a language model ("Ignore previous instructions and ...")."""
    return _ADDRESSED_TO_MODEL.search(text, start, len(text) if end is None else end) is not None


def without_credentials(url: str) -> str:
    """The URL for messages: user and password replaced by ***, secret-looking query values by ***."""
    try:
        u = urlparse(url)
        port = u.port
    except ValueError:
        return "<unparsable URL>"
    netloc = u.netloc
    if u.username is not None or u.password is not None:
        netloc = f"***@{u.hostname or ''}" + (f":{port}" if port else "")
    query = u.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*")
    return u._replace(netloc=netloc, query=query).geturl()


def short_error(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when empty), at most `limit` characters."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]


# Tokens whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "corp",
        "co",
        "ltd",
        "jr",
        "sr",
        "st",
        "vs",
        "e.g",
        "i.e",
        "etc",
        "no",
        "fig",
        "approx",
        "est",
        "dept",
    ]
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+\S)")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end], trimmed of surrounding white space."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _SENTENCE_END.finditer(text, start, end):
        stop = m.end()
        word = text[cursor : m.start() + 1].split()[-1].rstrip(".").lower() if text[cursor : m.start()].strip() else ""
        nxt = text[stop:end].lstrip()[:1]
        # Keep "U.S. export rules" whole; a sentence ends only before a capital, digit, quote or bullet.
        if word in _ABBREVIATIONS and not (nxt.isupper() and word not in {"u.s", "u.k"}):
            continue
        if nxt and not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘*-([#"):
            continue
        spans.append((cursor, stop))
        cursor = stop
    spans.append((cursor, end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# Latin letters that Unicode does not decompose into a plain letter and a mark.
UNDECOMPOSED = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "ı": "i"}
# Ligatures, typed as their letters.
_FOLDS = str.maketrans({**UNDECOMPOSED, "æ": "ae", "œ": "oe", "ß": "ss"})


def base_letter(ch: str) -> str:
    """The plain lower-case letter under an accented one ("ü" → "u", "Ø" → "o")."""
    low = ch.lower()
    return UNDECOMPOSED.get(low) or unicodedata.normalize("NFKD", low)[0]


def fold_accents(word: str) -> str:
    """A lower-case word without its diacritics, as people type a name on a plain keyboard ("Škoda" → "skoda",
    "Østerlys" → "osterlys")."""
    low = word.lower().translate(_FOLDS)
    return "".join(ch for ch in unicodedata.normalize("NFKD", low) if not unicodedata.combining(ch))
