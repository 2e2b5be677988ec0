"""Vocabulary and figure wording of the generated news corpus (`chipqa.evaluation.newswire`): names, places,
chips, outlets, and the many ways a count, an amount or a share is written. All of it written for chipqa."""

from __future__ import annotations

import random

NAME_STARTS = (
    "Hal", "Tris", "Ver", "Cor", "Mal", "Ost", "Bren", "Kel", "Dar", "Fen", "Gal", "Jor", "Lun", "Mer", "Nor",
    "Pel", "Quor", "Ros", "Sal", "Tam", "Ul", "Val", "Wyn", "Yar", "Zel", "Ard", "Bal", "Cas", "Del", "Eld",
    "Fal", "Gor", "Hes", "Isk", "Kav", "Lor", "Mav", "Nev", "Orr", "Pyr", "Rav", "Sev", "Tor", "Vel", "Wes",
)  # fmt: skip
NAME_MIDS = ("", "a", "e", "i", "o", "an", "er", "il", "or", "u")
NAME_ENDS = (
    "venor", "quel", "dana", "maris", "tica", "vanta", "lux", "tera", "wick", "mont", "gard", "holm", "brook",
    "sync", "nova", "path", "forge", "line", "stead", "crest", "field", "wave", "point", "stone", "reach",
    "haven", "shore", "ridge", "mark", "spire",
)  # fmt: skip
NAME_SUFFIXES = ("Cloud", "Compute", "Data", "Networks", "AI", "Digital", "Telecom", "Labs", "Systems", "Group", "")
# Names no article ever uses: questions about them are unanswerable at every corpus size.
NEVER_BUYERS = ("Quillmarsh Compute", "Oberlith Cloud", "Sandrevik Data", "Tolvanger AI", "Brisketh Networks")

KINDS = (
    "cloud provider", "telecom operator", "bank", "research lab", "sovereign wealth fund", "university",
    "carmaker", "retailer", "insurer", "media group", "energy company", "GPU cloud", "hosting firm",
)  # fmt: skip

PLACES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Portugal", ("Lisbon", "Porto", "Sines")),
    ("Norway", ("Oslo", "Bergen", "Stavanger")),
    ("Poland", ("Warsaw", "Krakow", "Gdansk")),
    ("Spain", ("Madrid", "Barcelona", "Zaragoza")),
    ("Italy", ("Milan", "Turin", "Bologna")),
    ("Netherlands", ("Amsterdam", "Rotterdam", "Eindhoven")),
    ("Brazil", ("Sao Paulo", "Campinas", "Fortaleza")),
    ("Mexico", ("Monterrey", "Queretaro", "Guadalajara")),
    ("Kenya", ("Nairobi", "Mombasa")),
    ("Nigeria", ("Lagos", "Abuja")),
    ("Vietnam", ("Hanoi", "Da Nang", "Ho Chi Minh City")),
    ("Indonesia", ("Jakarta", "Batam", "Surabaya")),
    ("Thailand", ("Bangkok", "Chonburi")),
    ("Canada", ("Calgary", "Montreal", "Halifax")),
    ("United States", ("Columbus", "Phoenix", "Reno", "Omaha")),
    ("United Kingdom", ("Manchester", "Leeds", "Newport")),
    ("Germany", ("Hamburg", "Leipzig", "Cologne")),
    ("Japan", ("Osaka", "Sapporo", "Fukuoka")),
    ("South Korea", ("Busan", "Daejeon", "Gwangju")),
    ("Australia", ("Perth", "Adelaide", "Brisbane")),
    ("Singapore", ("Singapore",)),
    ("India", ("Pune", "Chennai", "Hyderabad")),
    ("Chile", ("Santiago", "Valparaiso")),
    ("Saudi Arabia", ("Jeddah", "Dammam")),
)

CURRENCY_OF: dict[str, tuple[str, ...]] = {
    "Portugal": ("EUR", "USD"), "Spain": ("EUR", "USD"), "Italy": ("EUR",), "Netherlands": ("EUR", "USD"),
    "Germany": ("EUR",), "United Kingdom": ("GBP", "USD"), "Canada": ("CAD", "USD"), "Australia": ("AUD", "USD"),
    "Singapore": ("SGD", "USD"), "South Korea": ("KRW", "USD"), "Japan": ("JPY", "USD"), "India": ("INR", "USD"),
}  # fmt: skip
USD_PER = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.73, "AUD": 0.66, "SGD": 0.74, "KRW": 0.00075,
           "JPY": 0.0067, "INR": 0.012}  # fmt: skip

CHIPS: tuple[tuple[str, str], ...] = (
    ("Nvidia", "H100"), ("Nvidia", "H200"), ("Nvidia", "B200"), ("Nvidia", "B300"), ("Nvidia", "GB200"),
    ("Nvidia", "GB300"), ("Nvidia", "L40S"), ("AMD", "MI300X"), ("AMD", "MI325X"), ("AMD", "MI355X"),
    ("Intel", "Gaudi 3"), ("Cerebras", "CS-3"), ("Groq", "LPU"), ("Tenstorrent", "Blackhole"),
)  # fmt: skip
UNIT_WORDS = ("GPUs", "accelerators", "chips", "processors")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
OUTLETS = ("Harbor Wire", "Meridian Tech Daily", "Northlight News", "The Compute Ledger", "Circuit Street",
           "Pacific Byte", "Datacenter Dispatch", "Silicon Pulse")  # fmt: skip
REPORTERS = ("Ines Marlow", "Tomas Greve", "Priya Nandakumar", "Oskar Lind", "Amara Obi", "Chen Wei-lun",
             "Lucia Ferraz", "Daniel Koss", "Mei Tanaka", "Rafael Duarte")  # fmt: skip
BROKERS = ("Calder Hill Securities", "Ostrava Capital Research", "Bluewater Equity Research", "Kestner & Vail")
PURPOSES = ("train its own language models", "rent out capacity to start-ups", "run fraud-detection models",
            "serve chatbot traffic for customers", "simulate crash tests", "build a national AI cloud",
            "offer inference to local developers", "run weather and climate models")  # fmt: skip


def count(rng: random.Random, n: int, unit: str | None = None) -> str:
    """A count as articles write it: "12,400", "12.4k", "12.4 thousand", "about 12,400", "12,400 units"."""
    form = rng.random()
    if n >= 10_000 and form < 0.15:
        text = f"{n / 1000:g}k"
    elif n >= 10_000 and form < 0.25:
        text = f"{n / 1000:g} thousand"
    else:
        text = f"{n:,}"
    if rng.random() < 0.2:
        text = f"{rng.choice(('about', 'roughly', 'some', 'around'))} {text}"
    return f"{text} {unit}" if unit else text


def money(rng: random.Random, millions: int, currency: str) -> str:
    """An amount in the currency's usual forms: "$1.2 billion", "$1.2bn", "US$1.2 billion", "€900 million"."""
    if currency == "KRW":
        return f"₩{millions / 1e6:g} trillion" if millions >= 1e6 else f"₩{millions / 1000:g} billion"
    if currency == "JPY":
        return rng.choice([f"{millions / 1000:g} billion yen", f"JPY {millions / 1000:g} billion"])
    if currency == "INR":
        return rng.choice([f"INR {millions / 1000:g} billion", f"{millions / 1000:g} billion rupees"])
    big = millions >= 1000
    number = f"{millions / 1000:g}" if big else f"{millions:,}"
    scale, short = ("billion", "bn") if big else ("million", "m")
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "C$", "AUD": "A$", "SGD": "S$"}[currency]
    forms = [f"{symbol}{number} {scale}", f"{symbol}{number}{short}"]
    if currency == "USD":
        forms += [f"US${number} {scale}"]
    if currency == "EUR":
        forms += [f"{number} {scale} euros"]
    return rng.choice(forms)


def canonical_money(millions: int, currency: str) -> str:
    """The expected answer for an amount (what the eval compares against, normalised)."""
    if currency == "KRW":
        return f"₩{millions / 1e6:g} trillion" if millions >= 1e6 else f"₩{millions / 1000:g} billion"
    if currency == "JPY":
        return f"JPY {millions / 1000:g} billion"
    if currency == "INR":
        return f"INR {millions / 1000:g} billion"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "C$", "AUD": "A$", "SGD": "S$"}[currency]
    return f"{symbol}{millions / 1000:g} billion" if millions >= 1000 else f"{symbol}{millions:,} million"


def percent(rng: random.Random, value: int) -> str:
    return rng.choice([f"{value}%", f"{value} percent", f"{value} per cent"])


def date(year: int, month: int, day: int) -> str:
    return f"{MONTHS[month - 1]} {day}, {year}"


def iso(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def typo(rng: random.Random, word: str) -> str:
    """The word with two neighbouring letters swapped (a misspelled name), or itself when too short."""
    letters = [i for i in range(1, len(word) - 2) if word[i].isalpha() and word[i + 1].isalpha()]
    if len(word) < 6 or not letters:
        return word
    i = rng.choice(letters)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
