"""The stories of the generated news corpus and the questions each answers by construction.

A story function writes one or more articles through the corpus `_Writer` (see `chipqa.evaluation.newswire`)
in the layouts of `chipqa.evaluation.newswire_layouts`, and asks its questions about the facts it states."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from chipqa.evaluation import newswire_text as T
from chipqa.evaluation.newswire_layouts import (
    ALL_FACTS,
    FACTS,
    SINGLE_LAYOUTS,
    background,
    colour,
    headline,
    lead,
    poss,
    render,
    share,
    unit_word,
    value,
    wire,
)

if TYPE_CHECKING:
    from chipqa.evaluation.newswire import Order, _Writer

NewOrder = Callable[[], "Order"]


# ---------------------------------------------------------------------------------------------- questions


def ask_about(
    writer: _Writer, o: Order, sources: list[str], tags: list[str] | None = None, facts: frozenset[str] = ALL_FACTS
) -> None:
    """Up to four questions the story answers (about the facts it states), and one it does not (a near miss)."""
    rng = writer.rng
    extra = list(tags or [])
    unit = unit_word(rng)
    name = o.buyer.name
    asked = [
        (
            rng.choice(
                [
                    f"How many {o.vendor} {o.chip} {unit} did {name} order?",
                    f"How many {o.chip} {unit} is {name} buying from {o.vendor}?",
                    f"What is the size of {poss(name)} {o.chip} order, in units?",
                ]
            ),
            f"{o.units:,}",
            ["lookup"],
            "units",
        ),
        (f"{name} {o.chip} units?", f"{o.units:,}", ["terse"], "units"),
        (
            f"How many {o.chip} {unit} did {T.typo(rng, name.split()[0])} order?",
            f"{o.units:,}",
            ["misspelled"],
            "units",
        ),
        (
            rng.choice(
                [
                    f"How much is {poss(name)} {o.chip} order worth?",
                    f"What will {name} pay for its {o.vendor} {o.chip} systems?",
                ]
            ),
            T.canonical_money(o.value_musd, o.currency),
            ["paraphrase"],
            "value",
        ),
        (
            f"What share of its new {o.chip} capacity will {name} keep for its own use?",
            f"{o.share_pct}%",
            ["paraphrase"],
            "share",
        ),
        (
            f"How many older accelerators did {name} run before the {o.chip} order?",
            f"{o.fleet:,}",
            ["distractor"],
            "fleet",
        ),
        (f"In which city will {name} install its {o.chip} systems?", o.site, ["open"], "site"),
    ]
    stated = [item for item in asked[1:] if item[3] in facts]
    for question, expected, q_tags, _ in [asked[0], *rng.sample(stated, min(3, len(stated)))]:
        writer.ask(question, expected, sources, q_tags + extra)
    vendor, chip = rng.choice([c for c in T.CHIPS if c[0] != o.vendor])
    misses = [
        (f"How many {vendor} {chip} {unit} did {name} order?", ["unanswerable", "distractor"]),
        (f"How much did {name} spend on {o.chip} chips in {o.year - 3}?", ["unanswerable", "period"]),
        (f"How many {o.chip} {unit} did {rng.choice(T.NEVER_BUYERS)} order?", ["unanswerable"]),
    ]
    question, q_tags = rng.choice(misses)
    writer.ask(question, None, [], q_tags)


# ---------------------------------------------------------------------------------------------- stories


def _headlines(writer: _Writer) -> list[str]:
    return [headline(random.Random(i), o) for i, (o, _, _) in enumerate(writer.orders[-5:])]


def single_story(writer: _Writer, limit: int, new_order: NewOrder) -> None:
    rng = writer.rng
    o = new_order()
    layout = rng.choice(SINGLE_LAYOUTS)
    suffix, text = render(rng, layout, o, rng.randint(1, 28), _headlines(writer))
    doc = writer.article(_slug(o), suffix, text)
    writer.orders.append((o, doc, writer.count))
    tags = [layout.replace("_", "-")] if layout != "wire" else []
    ask_about(writer, o, [doc], tags, FACTS.get(layout, ALL_FACTS))


def two_party_story(writer: _Writer, limit: int, new_order: NewOrder) -> None:
    """One report about two buyers' orders: each figure sits next to the other buyer's."""
    rng = writer.rng
    first, second = new_order(), new_order()
    second.year = first.year
    day = rng.randint(1, 28)
    paras = [
        f"{first.buyer.city.upper()}, {T.date(first.year, first.month, day)} - Two companies "
        f"announced AI hardware purchases on the same day.",
        background(rng, first),
        lead(rng, first),
        value(rng, first),
        f"Separately, {lead(rng, second)}",
        value(rng, second),
        share(rng, first),
        share(rng, second),
        colour(rng, first),
    ]
    title = f"{first.buyer.name} and {second.buyer.name} place {first.vendor} and {second.vendor} orders"
    doc = writer.article(_slug(first, "and"), ".txt", f"{title}\n\n" + "\n\n".join(paras) + "\n")
    for o in (first, second):
        writer.orders.append((o, doc, writer.count))
        ask_about(writer, o, [doc], ["two-party"], FACTS["two_party"])


def syndicated_pair(writer: _Writer, limit: int, new_order: NewOrder) -> None:
    """A wire report and a syndicated copy a day later: the same facts, worded and formatted anew."""
    rng = writer.rng
    o = new_order()
    day = rng.randint(1, 27)
    seed = rng.randint(0, 10**9)
    suffix, text = wire(random.Random(seed), o, day)
    first = writer.article(_slug(o), suffix, text)
    docs = [first]
    if writer.count < limit:
        suffix, copy = wire(random.Random(seed + 1), o, day + 1)
        docs.append(writer.article(_slug(o, "copy"), suffix, copy))
    writer.orders.append((o, first, writer.count))
    ask_about(writer, o, docs, ["near-duplicate"])


def follow_up_pair(writer: _Writer, limit: int, new_order: NewOrder) -> None:
    """A story, then a follow-up months later that raises the order: two figures for one order."""
    rng = writer.rng
    o = new_order()
    o.month = min(o.month, 8)
    day = rng.randint(1, 28)
    suffix, text = render(rng, rng.choice(("wire", "blog")), o, day, _headlines(writer))
    first = writer.article(_slug(o), suffix, text)
    if writer.count >= limit:
        writer.orders.append((o, first, writer.count))
        ask_about(writer, o, [first])
        return
    o.revised_units = _bigger(o.units, rng)
    o.revised_value_musd = int(o.value_musd * o.revised_units / o.units)
    later = o.month + rng.randint(2, 4)
    paras = [
        f"{o.buyer.city.upper()}, {T.date(o.year, later, day)} - {o.buyer.name} has raised its order for "
        f"{o.vendor} {o.chip} {unit_word(rng)} to {T.count(rng, o.revised_units)}, up from the "
        f"{T.count(rng, o.units)} it agreed in {T.MONTHS[o.month - 1]}.",
        f"The enlarged order is worth {T.money(rng, o.revised_value_musd, o.currency)}, against "
        f"{T.money(rng, o.value_musd, o.currency)} for the original purchase, the company said.",
        f"Demand from customers was stronger than planned, {o.buyer.short} said, and the {o.site} site has room "
        f"for the extra racks.",
        background(rng, o),
        colour(rng, o),
    ]
    title = f"{o.buyer.name} raises {o.chip} order"
    second = writer.article(_slug(o, "raises"), ".txt", f"{title}\n\n" + "\n\n".join(paras) + "\n")
    writer.orders.append((o, second, writer.count))
    name, unit = o.buyer.name, unit_word(rng)
    writer.ask(
        f"How many {o.chip} {unit} did {name} order originally, before it raised the order?",
        f"{o.units:,}",
        [first, second],
        ["revised", "period"],
    )
    writer.ask(
        f"How many {o.chip} {unit} does {poss(name)} order cover after it was raised?",
        f"{o.revised_units:,}",
        [second],
        ["revised"],
    )
    writer.ask(
        f"How much is {poss(name)} enlarged {o.chip} order worth?",
        T.canonical_money(o.revised_value_musd, o.currency),
        [second],
        ["revised", "paraphrase"],
    )


def roundup(writer: _Writer, limit: int) -> None:
    """A listicle or tracker table restating recent orders' units and values (the same figures)."""
    rng = writer.rng
    recent = [(o, doc) for o, doc, _ in writer.orders[-22:] if o.revised_units is None]
    if len(recent) < 4:
        return
    picked = rng.sample(recent, min(6, len(recent)))
    picked.sort(key=lambda item: -item[0].units)
    year = max(o.year for o, _ in picked)
    if rng.random() < 0.5:
        rows = "\n".join(
            f"| {o.buyer.name} ({o.buyer.country}) | {o.vendor} {o.chip} | {o.units:,} | "
            f"{T.money(rng, o.value_musd, o.currency)} | {o.year} |"
            for o, _ in picked
        )
        text = (
            f"# AI accelerator order tracker, {year} edition\n\n*Compiled by the {rng.choice(T.OUTLETS)} data desk*"
            f"\n\nEach row is one confirmed order; units are accelerators ordered, not delivered.\n\n"
            f"| Buyer | Chip | Units | Value | Year |\n|---|---|---|---|---|\n{rows}\n\n"
            "*Values include servers and networking where the buyer reported them.*\n"
        )
        tag = "table"
    else:
        items = "\n\n".join(
            f"### {i}. {o.buyer.name}\n\n{T.count(rng, o.units)} {o.vendor} {o.chip} {unit_word(rng)} for "
            f"{T.money(rng, o.value_musd, o.currency)}. The {o.buyer.kind} is based in {o.buyer.city}."
            for i, (o, _) in enumerate(picked, 1)
        )
        text = (
            f"# {len(picked)} AI chip orders you may have missed\n\n*{rng.choice(T.REPORTERS)} · "
            f"{T.date(year, 12, rng.randint(1, 28))}*\n\nA round-up of purchases outside the largest clouds.\n\n"
            f"{items}\n"
        )
        tag = "listicle"
    doc = writer.article(f"roundup-{tag}", ".md", text)
    for o, _ in picked:
        for q in writer.questions:
            if (
                q.expected in (f"{o.units:,}", T.canonical_money(o.value_musd, o.currency))
                and o.buyer.name in q.question
            ):
                q.sources.append(doc)
    o, _ = picked[0]
    writer.ask(f"Which chip did {o.buyer.name} order, according to the order tracker?", o.chip, [doc], [tag, "open"])


def _bigger(units: int, rng: random.Random) -> int:
    from chipqa.evaluation.newswire import _round_units

    return _round_units(units * rng.uniform(1.3, 2.2))


def _slug(o: Order, extra: str = "") -> str:
    words = [o.buyer.name.split()[0].lower(), o.chip.lower().replace(" ", "-"), extra]
    return "-".join(w for w in words if w)
