"""The patterns and word tables figures are read with: number shapes, currencies and their symbols, scale
words, qualifiers, count nouns and what may stand right after a number. Used by core/figures.py.
"""

from __future__ import annotations

import re

# ISO 4217 codes of the currencies news about chip purchases is written in (any region's), and "RMB".
CURRENCY_CODES = (
    "USD|RMB|CNY|EUR|GBP|JPY|HKD|INR|AUD|CAD|SGD|TWD|KRW|CHF|SAR|AED|QAR|KWD|ZAR|ILS|TRY|BRL|MXN|ARS|CLP|COP|PEN"
    "|IDR|MYR|THB|VND|PHP|PKR|BDT|LKR|NPR|NGN|KES|EGP|MAD|SEK|NOK|DKK|PLN|CZK|HUF|RUB|UAH|KZT|NZD"
)
# "¥" writes both the Japanese yen and the Chinese yuan; it matches either and is never converted.
YEN_SIGN = "¥"
YEN_CURRENCIES = frozenset({YEN_SIGN, "JPY", "RMB"})

QUALIFIERS = (
    r"more\s+than|less\s+than|fewer\s+than|up\s+to|at\s+least|at\s+most|as\s+many\s+as|as\s+much\s+as"
    r"|close\s+to|in\s+excess\s+of|upwards\s+of|just\s+over|just\s+under|well\s+over|an\s+estimated"
    r"|approximately|approx\.|approx|around|about|roughly|nearly|almost|over|under|some"
)

FIGURE_RE = re.compile(
    rf"""
    (?:
        (?<!\w)(?P<qual>(?i:{QUALIFIERS}))[^\S\n]+
      | (?P<tilde>~)[^\S\n]?
    )?
    (?:
        (?<![\w$])
        (?P<pre>US[^\S\n]?\$|HK\$|NT\$|A\$|C\$|S\$|R\$|\$|€|£|¥|₹|₩|₪|(?:{CURRENCY_CODES})(?![A-Za-z]))
        [^\S\n]?
    )?
    (?P<num>[0-9]{{1,3}}(?:,[0-9]{{3}})+(?![0-9])(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)
    (?:
        (?:[^\S\n]+|-)?(?P<sw>(?i:thousand|million|billion|trillion|mln|mn|bn|trn|tn|crore|lakh))(?!\w)
      | (?P<sl>[kKmMbBtT])(?!\w)
    )?
    (?:
        [^\S\n]?(?P<pct>%|(?i:percent|per[^\S\n]*cent|pct)(?!\w))
      | [^\S\n]+(?P<post>
            (?i:(?:US[^\S\n]+)?dollars?|yuan|renminbi|euros?|yen|rupees|pounds[^\S\n]+sterling|won|shekels?|rand)(?!\w)
          | (?:{CURRENCY_CODES})(?![A-Za-z])
        )
    )?
    """,
    re.VERBOSE,
)

# Spans whose digits are never figures.
SKIP_RES = (
    re.compile(r"(?:https?|ftp)://[^\s<>()\[\]\"']+|www\.[^\s<>()\[\]\"']+"),
    re.compile(r"\]\([^)\s]*\)"),
    re.compile(r"\[\^?[0-9]+(?:[^\S\n]*[,;–-][^\S\n]*[0-9]+)*\]"),
    re.compile(r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])"),
)
MONTH_NAMES = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
)
# The day of a date ("September 9, 2025", "18 September 2024") is no figure; the year stays one.
DATE_DAY_RES = (
    re.compile(
        rf"\b{MONTH_NAMES}\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?![,.]\d)"
        r"(?!\s*(?:%|percent|per cent|thousand|million|billion|[a-z]+s\b))"
    ),
    re.compile(rf"(?<![\d,.])(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH_NAMES}\b"),
)
# A one- or two-digit number right after a capitalised word (not opening a sentence) is part of a name.
NAME_NUMBER_RE = re.compile(r"\d{1,2}$")
NAME_BEFORE_RE = re.compile(r"\b(?P<word>[A-Z][a-z]+[A-Za-z]*)\s$")
# Capitalised function words that may open a sentence before a real figure ("In 3 years", "By 2 pm").
OPENERS = frozenset(
    "The A An Its Their These Those This That Each Every Another In On At By For To Of From With About Around Only"
    " Just Some All Over Under Nearly Almost".split()
)
CITATION_RE = re.compile(r"\[\^?[0-9]{1,3}(?:[^\S\n]*[,;–-][^\S\n]*[0-9]{1,3})*\]")

SCALE_WORDS = {
    "thousand": 3,
    "million": 6,
    "mln": 6,
    "mn": 6,
    "billion": 9,
    "bn": 9,
    "trillion": 12,
    "trn": 12,
    "tn": 12,
    "lakh": 5,  # Indian numbering: 1 lakh = 100,000; 1 crore = 10 million
    "crore": 7,
}
SCALE_LETTERS = {"k": 3, "m": 6, "b": 9, "t": 12}
LETTERS_NEEDING_CURRENCY = frozenset("bBtTm")

SYMBOL_CURRENCY = {
    "$": "USD",
    "US$": "USD",
    "HK$": "HKD",
    "NT$": "TWD",
    "A$": "AUD",
    "C$": "CAD",
    "S$": "SGD",
    "€": "EUR",
    "£": "GBP",
    "¥": YEN_SIGN,
    "₹": "INR",
    "₩": "KRW",
    "₪": "ILS",
    "R$": "BRL",
    "CNY": "RMB",
}
WORD_CURRENCY = {
    "dollar": "USD",
    "dollars": "USD",
    "yuan": "RMB",
    "renminbi": "RMB",
    "euro": "EUR",
    "euros": "EUR",
    "yen": "JPY",
    "rupees": "INR",
    "sterling": "GBP",
    "won": "KRW",
    "shekel": "ILS",
    "shekels": "ILS",
    "rand": "ZAR",
}
CURRENCY_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£"}

QUALIFIER_ALIASES = {"approx": "approximately", "approx.": "approximately", "~": "around"}

# Lowercase words that may join a year with a hyphen ("mid-2024"), unlike model names ("GPT-4").
YEAR_HYPHEN_WORDS = frozenset({"mid", "late", "early", "pre", "post", "end", "start"})
WORD_BEFORE_HYPHEN_RE = re.compile(r"([^\W\d_]+)-$")

STOP_WORDS = (
    "in|on|at|for|from|to|by|with|and|or|than|per|while|but|which|that|was|were|is|are|be|been"
    "|has|have|had|will|would|worth"
)
COUNT_NOUNS = (
    r"(?i:gpus?|chips?|units?|cards?|tpus?|npus?|processors?|accelerators?|superchips?|servers?"
    r"|people|persons?|employees?|workers?|engineers?|staff|users?|customers?|wafers?|systems?"
    r"|nodes?|racks?|boards?|devices?|modules?|machines?|computers?|instances?|clusters?|jobs)"
    r"|[A-Z]{1,3}[0-9]{2,4}[A-Z]?s"
)
# Right after a number, a product code counts what it names: "15,000 MI300X", "24k GB200" (not "Q3", "FY26").
PRODUCT_AFTER_RE = re.compile(
    r"[^\S\n]+(?P<noun>(?!(?:Q[1-4]|H[12]|FY[0-9]{2,4})(?![A-Za-z0-9]))[A-Z]{1,4}[0-9]{1,4}[A-Z]{0,3}s?)(?![\w’'-])"
)
# Units of measure that follow a figure: power, energy, compute, hashrate, data. A figure with one is a
# "measure": the size of something, never a count of chips or an amount of money.
MEASURE_AFTER_RE = re.compile(
    r"[^\S\n]*(?P<unit>(?:[kMGT]W|[kMGT]Wh|TWh|megawatts?|gigawatts?|kilowatts?|terawatt-hours?|EH/s|exahash(?:es)?"
    r"(?:[^\S\n]+per[^\S\n]+second)?|PH/s|(?:exa|peta|tera)flops|[EPT]FLOPS|PB|TB|GB/s|TB/s|cents?[^\S\n]+per"
    r"[^\S\n]+kilowatt-hour|MHz|GHz|nm|km|miles?|square[^\S\n]+(?:feet|metres|meters)|acres|hectares))(?![\w/])"
)
COUNT_AFTER_RE = re.compile(
    rf"""
    [^\S\n]+
    (?P<between>(?:(?!(?i:{STOP_WORDS})(?![\w’'-]))
    (?:(?![0-9]+[^\S\n])[\w’'-]+|(?<=[A-Za-z][^\S\n])[0-9]{{1,2}})  # a product's number: "Intel Gaudi 3 chips"
    [^\S\n]+){{0,3}}?)
    (?P<noun>{COUNT_NOUNS})(?![\w’'-])
    """,
    re.VERBOSE,
)
# Right after a number, a word outside the count nouns above still says what the number is about: a lower-case
# plural it counts ("10 neoclouds", "300 buyers"; a span of time stays a number) or a word it is hyphenated to
# ("12-high", "8-bit").
OTHER_NOUN_AFTER_RE = re.compile(
    rf"(?:[^\S\n]+(?!(?:{STOP_WORDS}|percent|times|more|less|fewer|million|billion|thousand|years|months|weeks|days|hours|quarters|decades)(?![\w’'-]))"
    r"(?P<plural>[a-z][a-z’'-]*[a-z]s)|-(?P<compound>[a-z]+))(?![\w’'-])"
)
RANGE_GAP_RE = re.compile(r"[^\S\n]?[-–—][^\S\n]?|[^\S\n]+to[^\S\n]+")
LIST_GAP_RE = re.compile(
    r"(?:[^\S\n]*[,;][^\S\n]*(?:(?:and|or)[^\S\n]+)?|[^\S\n]+(?:and|or)[^\S\n]+)"
    r"(?:[A-Z][\w’'&./-]*[^\S\n]+){0,3}"
)
