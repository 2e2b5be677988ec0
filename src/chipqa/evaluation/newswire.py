"""A large, realistic corpus of AI-chip purchase news, generated from a seed, with questions whose answers are
known by construction: the quality-at-scale bench (`chipqa bench --scale`).

The world: invented buyers (clouds, carriers, banks, labs, sovereign funds...) in real countries, each placing
one order for one accelerator with a units count, a value, a year, a site and a few side figures. Stories
about the orders are written in ten layouts (wire report, press release, roundup listicle, Markdown tracker
table, Q&A explainer, analyst note, blog, HTML page with boilerplate, two-party story, follow-up that revises
the order), with figures in many forms ("12,400", "12.4k", "$1.2bn", "US$1.2 billion", "38 percent"),
syndicated near-duplicates and roundups that restate earlier figures. Templates and vocabulary are this
module's own (none comes from eval/dev/articles, which is test material).

Articles are written in story order, so the first N articles are a corpus of their own: every question
carries `needs` (how many articles must be present for its answer to hold) and the index of each source, and
`questions_for(n)` keeps those that hold in the first n.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chipqa.evaluation import newswire_text as T

YEARS = (2023, 2024, 2025, 2026)


@dataclass(frozen=True)
class Buyer:
    name: str
    kind: str
    country: str
    city: str
    short: str  # how a second mention names it ("the carrier", "the Lisbon-based lender")


@dataclass
class Order:
    """One purchase, the facts every story about it draws on."""

    buyer: Buyer
    vendor: str
    chip: str
    units: int
    value_musd: int  # millions of the order's currency
    currency: str  # "USD", "EUR", "GBP", "JPY" ...
    year: int
    month: int
    site: str
    share_pct: int  # share of the capacity set aside for the buyer's own use
    delivered: int  # units delivered by the story's date
    fleet: int  # older accelerators the buyer already runs (a distractor)
    power_mw: int
    revised_units: int | None = None  # a follow-up's new total
    revised_value_musd: int | None = None


@dataclass
class Article:
    doc_id: str
    suffix: str
    text: str
    index: int


@dataclass
class Question:
    id: str
    question: str
    expected: str | None
    sources: list[str]
    tags: list[str]
    needs: int  # articles that must be present for the answer to hold
    aliases: list[str] = field(default_factory=list)

    def row(self, present: int) -> dict[str, Any]:
        sources = [s for s in self.sources if int(s.split("_")[1]) < present]
        return {
            "id": self.id,
            "question": self.question,
            "expected": self.expected,
            "aliases": self.aliases,
            "sources": sources,
            "answerable": self.expected is not None,
            "tags": self.tags,
            "needs": self.needs,
        }


@dataclass
class GeneratedCorpus:
    folder: Path
    articles: int
    questions: list[Question]

    def questions_for(self, present: int) -> list[dict[str, Any]]:
        """Question rows whose answers hold when only the first `present` articles are indexed."""
        return [q.row(present) for q in self.questions if q.needs <= present]

    def write_questions(self, target: Path, present: int, limit: int | None = None, seed: int = 0) -> int:
        """A questions JSONL file for the first `present` articles (a seeded sample of `limit`); how many."""
        rows = self.questions_for(present)
        if limit is not None and len(rows) > limit:
            rows = sorted(random.Random(seed).sample(rows, limit), key=lambda r: r["id"])
        target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return len(rows)


def generate(target: Path, articles: int, seed: int = 2025) -> GeneratedCorpus:
    """Write `articles` articles into `target` (deterministic for a seed) and return their questions."""
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)
    writer = _Writer(rng, target)
    for story in _stories(rng):
        if writer.count >= articles:
            break
        story(writer, articles)
    return GeneratedCorpus(target, writer.count, writer.questions)


# ---------------------------------------------------------------------------------------------- the world


def _names(rng: random.Random) -> Iterator[str]:
    """Distinct company names ("Halvenor Cloud", "Trisquel Data"): never the same twice in one corpus."""
    used: set[str] = set()
    while True:
        stem = rng.choice(T.NAME_STARTS) + rng.choice(T.NAME_MIDS) + rng.choice(T.NAME_ENDS)
        name = f"{stem} {rng.choice(T.NAME_SUFFIXES)}".strip()
        if stem not in used and name not in T.NEVER_BUYERS:
            used.add(stem)
            yield name


def _order(rng: random.Random, names: Iterator[str]) -> Order:
    kind = rng.choice(T.KINDS)
    country, cities = rng.choice(T.PLACES)
    city = rng.choice(cities)
    name = next(names)
    buyer = Buyer(name, kind, country, city, short=rng.choice([f"the {kind}", f"the {city}-based {kind}", name]))
    vendor, chip = rng.choice(T.CHIPS)
    units = _round_units(rng.choice([rng.randint(200, 2_000), rng.randint(2_000, 20_000), rng.randint(10_000, 90_000)]))
    per_unit = rng.uniform(18_000, 42_000)
    currency = rng.choice(T.CURRENCY_OF.get(country, ("USD",)))
    value = max(5, _round_money(units * per_unit / 1e6 / T.USD_PER[currency]))
    return Order(
        buyer=buyer,
        vendor=vendor,
        chip=chip,
        units=units,
        value_musd=value,
        currency=currency,
        year=rng.choice(YEARS),
        month=rng.randint(1, 12),
        site=rng.choice([c for c in cities if c != city] or cities),
        share_pct=rng.choice(range(15, 86, 1)),
        delivered=_round_units(units * rng.uniform(0.1, 0.7)),
        fleet=_round_units(rng.randint(300, 9_000)),
        power_mw=rng.choice(range(20, 400, 10)),
    )


def _round_units(n: float) -> int:
    n = int(n)
    if n >= 10_000:
        return round(n, -2)
    if n >= 1_000:
        return round(n, -1)
    return max(8, round(n / 8) * 8)


def _round_money(millions: float) -> int:
    if millions >= 1_000:
        return int(round(millions, -1))
    if millions >= 100:
        return int(round(millions / 5) * 5)
    return int(round(millions))


# ---------------------------------------------------------------------------------------------- stories


def _stories(rng: random.Random) -> Iterator[Any]:
    """An endless, seeded sequence of story groups (each writes one or more articles)."""
    from chipqa.evaluation import newswire_stories as L

    names = _names(rng)
    weights = [
        (L.single_story, 50),
        (L.two_party_story, 9),
        (L.syndicated_pair, 10),
        (L.follow_up_pair, 10),
    ]
    since_roundup = 0
    while True:
        if since_roundup >= 22:
            since_roundup = 0
            yield L.roundup
            continue
        story = rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]
        since_roundup += 1
        yield _bind(story, rng, names)


def _bind(story: Any, rng: random.Random, names: Iterator[str]) -> Any:
    def run(writer: _Writer, limit: int) -> None:
        story(writer, limit, lambda: _order(rng, names))

    return run


class _Writer:
    """Writes articles in order and collects the questions their facts answer."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        self.rng = rng
        self.folder = folder
        self.count = 0
        self.questions: list[Question] = []
        self.orders: list[tuple[Order, str, int]] = []  # orders told so far, with their story's id and end
        self._qid = 0

    def article(self, slug: str, suffix: str, text: str) -> str:
        doc_id = f"nw_{self.count:05d}_{slug}"[:80]
        (self.folder / f"{doc_id}{suffix}").write_text(text, encoding="utf-8")
        self.count += 1
        return doc_id

    def ask(
        self, question: str, expected: str | None, sources: list[str], tags: list[str], needs: int | None = None
    ) -> None:
        self._qid += 1
        self.questions.append(
            Question(
                f"nw{self._qid:05d}", question, expected, sources, tags, needs if needs is not None else self.count
            )
        )
