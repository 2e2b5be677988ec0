"""The sentences and article layouts of the generated news corpus: each renders the facts of an `Order` (see
`chipqa.evaluation.newswire`) in its own wording, with figures in varying forms."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from chipqa.evaluation import newswire_text as T

if TYPE_CHECKING:
    from chipqa.evaluation.newswire import Order


# ---------------------------------------------------------------------------------------------- sentences


def unit_word(rng: random.Random) -> str:
    return rng.choice(T.UNIT_WORDS)


def lead(rng: random.Random, o: Order) -> str:
    b = o.buyer
    units = T.count(rng, o.units)
    return rng.choice(
        [
            f"{b.name}, {article_of(b.country)} {b.country} {b.kind}, has ordered {units} {o.vendor} {o.chip} "
            f"{unit_word(rng)} to {rng.choice(T.PURPOSES)}, according to people familiar with the purchase.",
            f"{b.name} has agreed to buy {units} of {o.vendor}'s {o.chip} {unit_word(rng)}, the {b.kind} said, in what "
            f"it called the largest technology purchase in its history.",
            f"The {b.country} {b.kind} {b.name} is buying {units} {o.chip} {unit_word(rng)} from {o.vendor} to "
            f"{rng.choice(T.PURPOSES)}.",
            f"{b.name} placed an order for {units} {o.vendor} {o.chip} {unit_word(rng)} this {_season(o.month)}, "
            f"its first large purchase of AI hardware.",
        ]
    )


def value(rng: random.Random, o: Order) -> str:
    amount = T.money(rng, o.value_musd, o.currency)
    b = o.buyer
    return rng.choice(
        [
            f"The order is worth {amount}, one of the people said.",
            f"{b.name} will pay {amount} for the {o.chip} systems, including servers and networking.",
            f"The {o.chip} deal is valued at {amount}, a figure {b.short} confirmed.",
            f"{b.name} put the cost of the {o.chip} purchase at {amount}.",
        ]
    )


def site(rng: random.Random, o: Order) -> str:
    power = rng.choice([f"{o.power_mw} megawatts", f"{o.power_mw} MW"])
    return rng.choice(
        [
            f"The {o.chip} systems will be installed at a data centre in {o.site}, where {o.buyer.name} has "
            f"secured {power} of grid power.",
            f"{o.buyer.name} will house the machines in {o.site}, at a campus with {power} of capacity.",
            f"The hardware is going to a leased hall in {o.site} that can draw up to {power}.",
        ]
    )


def delivery(rng: random.Random, o: Order) -> str:
    done = T.count(rng, o.delivered)
    return rng.choice(
        [
            f"{o.buyer.name} had received {done} of the {o.chip} {unit_word(rng)} by the end of "
            f"{T.MONTHS[o.month - 1]}, with the rest due before the end of {o.year}.",
            f"Deliveries have started: {done} {o.chip} units are already in {o.site}.",
        ]
    )


def share(rng: random.Random, o: Order) -> str:
    pct = T.percent(rng, o.share_pct)
    return rng.choice(
        [
            f"{o.buyer.name} plans to keep {pct} of the new capacity for its own teams and to rent out the rest.",
            f"About {pct} of the {o.chip} cluster is reserved for {poss(o.buyer.name)} internal projects.",
        ]
    )


def fleet(rng: random.Random, o: Order) -> str:
    older = T.count(rng, o.fleet)
    return rng.choice(
        [
            f"{o.buyer.name} already runs {older} older accelerators in {o.buyer.city}, a fleet the new order "
            f"will dwarf.",
            f"Until now the {o.buyer.kind} relied on a pool of {older} ageing GPUs.",
        ]
    )


def colour(rng: random.Random, o: Order) -> str:
    """A sentence of context with no figure of the order (or an unrelated one)."""
    return rng.choice(
        [
            f"{o.vendor} declined to comment on the order.",
            f"Demand for AI hardware in {o.buyer.country} has grown quickly as companies move models from "
            f"pilots into production.",
            f"Shares in {o.vendor} rose {rng.randint(1, 9)}.{rng.randint(0, 9)}% on the day.",
            f"Analysts said the purchase shows how {o.buyer.kind}s are racing to secure supply before prices rise.",
            f"Regulators in {o.buyer.country} are reviewing rules on where such data centres may be built.",
            f"The {o.buyer.kind} employs about {rng.randint(3, 60) * 100:,} people.",
            f"Export licences for the shipment were granted in {T.MONTHS[rng.randint(0, 11)]}.",
        ]
    )


def background(rng: random.Random, o: Order) -> str:
    """A paragraph of market context: figures, but none about the order or its buyer."""
    broker = rng.choice(T.BROKERS)
    pool = [
        f"Spending on AI data centres worldwide reached ${rng.randint(120, 480)} billion last year, according "
        f"to estimates by {broker}.",
        f"{o.vendor} said in its latest results that data-centre revenue rose {rng.randint(12, 160)}% from a "
        f"year earlier.",
        f"Lead times for {o.chip} systems have shortened to about {rng.randint(6, 40)} weeks, distributors say.",
        f"The government of {o.buyer.country} has promised {rng.randint(2, 90) * 10} million dollars for domestic "
        f"computing capacity over {rng.randint(3, 8)} years.",
        f"Industrial power prices in {o.buyer.country} rose {rng.randint(3, 30)} percent over the past two years.",
        f"Rival suppliers have cut prices on older parts by as much as {rng.randint(10, 45)}% to clear stock.",
        "Several buyers have complained that networking gear, not the accelerators themselves, now sets the pace "
        "of new deployments.",
        f"Liquid cooling is becoming standard for racks that draw more than {rng.randint(40, 130)} kilowatts.",
        f"Start-ups in the region raised about ${rng.randint(2, 40)} billion for AI projects last year.",
        "Investors have started to ask how quickly such clusters can be filled with paying customers.",
        "Second-hand prices for earlier-generation GPUs have fallen by roughly a "
        f"{rng.choice(('third', 'quarter', 'half'))} since the start of the year.",
    ]
    return " ".join(rng.sample(pool, rng.randint(2, 3)))


def article_of(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def poss(name: str) -> str:
    """The possessive of a name: "Lumina Labs'", "Halvenor Cloud's"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _season(month: int) -> str:
    return ("winter", "spring", "summer", "autumn")[((month % 12) // 3)]


def _facts(rng: random.Random, o: Order) -> list[str]:
    """The paragraphs of a straight story about one order, lead first."""
    body = [lead(rng, o), value(rng, o), site(rng, o), share(rng, o), delivery(rng, o), fleet(rng, o)]
    head, rest = body[0], body[1:]
    rng.shuffle(rest)
    out = [head]
    for sentence in rest:
        out.append(sentence if rng.random() < 0.6 else f"{sentence} {colour(rng, o)}")
    out.insert(rng.randint(2, len(out)), colour(rng, o))
    for _ in range(rng.randint(3, 6)):
        out.insert(rng.randint(2, len(out)), background(rng, o))
    return out


def headline(rng: random.Random, o: Order) -> str:
    return rng.choice(
        [
            f"{o.buyer.name} orders {o.vendor} {o.chip} chips for {o.site} AI cluster",
            f"{o.buyer.name} bets on {o.vendor} with big {o.chip} purchase",
            f"{o.buyer.country}'s {o.buyer.name} buys {o.chip} accelerators",
            f"Why {o.buyer.name} is spending big on {o.vendor} {o.chip} systems",
        ]
    )


# ---------------------------------------------------------------------------------------------- layouts


def wire(rng: random.Random, o: Order, day: int) -> tuple[str, str]:
    paras = _facts(rng, o)
    outlet, reporter = rng.choice(T.OUTLETS), rng.choice(T.REPORTERS)
    paras[0] = f"{o.buyer.city.upper()}, {T.date(o.year, o.month, day)} ({outlet}) - {paras[0]}"
    text = f"{headline(rng, o)}\n\n" + "\n\n".join(paras) + f"\n\n(Reporting by {reporter}; editing by the desk)\n"
    return ".txt", text


def press_release(rng: random.Random, o: Order, day: int) -> tuple[str, str]:
    quote = (
        f'"This investment gives our customers capacity they could not get before," said '
        f"{rng.choice(T.REPORTERS)}, chief technology officer of {o.buyer.name}."
    )
    paras = [
        "FOR IMMEDIATE RELEASE",
        f"{o.buyer.city}, {T.date(o.year, o.month, day)} - {lead(rng, o)}",
        value(rng, o),
        quote,
        site(rng, o),
        share(rng, o),
        background(rng, o),
        f"About {o.buyer.name}: {o.buyer.name} is {article_of(o.buyer.kind)} {o.buyer.kind} based in "
        f"{o.buyer.city}, {o.buyer.country}, with {rng.randint(2, 90) * 100:,} employees and operations in "
        f"{rng.randint(2, 30)} countries.",
        f"Media contact: press@{o.buyer.name.split()[0].lower()}.example",
    ]
    return ".txt", f"{o.buyer.name} announces {o.chip} purchase\n\n" + "\n\n".join(paras) + "\n"


def explainer(rng: random.Random, o: Order, day: int) -> tuple[str, str]:
    b = o.buyer
    qa = [
        ("Who is buying, and what?", lead(rng, o)),
        ("How much will it cost?", value(rng, o)),
        ("Where will the machines go?", site(rng, o)),
        ("Will anyone else use them?", share(rng, o)),
        ("Has anything arrived yet?", delivery(rng, o)),
        ("What did it use before?", fleet(rng, o)),
        ("Why now?", background(rng, o)),
    ]
    body = "\n\n".join(f"Q: {q}\nA: {a}" for q, a in qa)
    title = f"EXPLAINER: {poss(b.name)} {o.vendor} order - what we know"
    return ".txt", f"{title}\n\n{T.date(o.year, o.month, day)}\n\n{body}\n"


def analyst_note(rng: random.Random, o: Order, day: int) -> tuple[str, str]:
    broker = rng.choice(T.BROKERS)
    bullets = [
        f"- Order: {T.count(rng, o.units)} {o.vendor} {o.chip} for {T.money(rng, o.value_musd, o.currency)}",
        f"- Delivered so far: {T.count(rng, o.delivered)} units",
        f"- Own use: {T.percent(rng, o.share_pct)} of capacity; the rest is for rent",
        f"- Site: {o.site}, {o.power_mw} MW",
    ]
    rng.shuffle(bullets)
    paras = [
        f"{broker.upper()} | EQUITY RESEARCH | AI INFRASTRUCTURE",
        f"{T.iso(o.year, o.month, day)}",
        f"{o.buyer.name}: the {o.chip} order changes the growth story",
        f"We met management after {o.buyer.name} disclosed its {o.vendor} purchase. {lead(rng, o)}",
        "Key points\n\n" + "\n".join(bullets),
        background(rng, o),
        f"We raise our capital-spending estimate for {o.year + 1} by {rng.randint(5, 40)}% and keep our rating.",
        f"Risks: power availability in {o.site}, export licensing and a slower ramp of paying customers.",
    ]
    return ".txt", "\n\n".join(paras) + "\n"


def blog(rng: random.Random, o: Order, day: int) -> tuple[str, str]:
    author = rng.choice(T.REPORTERS)
    paras = [
        f"# {headline(rng, o)}",
        f"*By {author} · Published: {T.date(o.year, o.month, day)} · {rng.randint(3, 9)} min read*",
        "I have been tracking accelerator orders outside the big US clouds for a while, and this one stands out.",
        *_facts(rng, o),
        "My take: the hard part is not buying the chips but keeping them busy. Watch the utilisation numbers.",
    ]
    return ".md", "\n\n".join(paras) + "\n"


def html_page(rng: random.Random, o: Order, day: int, others: list[str]) -> tuple[str, str]:
    title = headline(rng, o)
    when = f'<time datetime="{T.iso(o.year, o.month, day)}">{T.date(o.year, o.month, day)}</time>'
    recent = "".join(f'<li><a href="/p/{i}">{h}</a></li>' for i, h in enumerate(others[-5:]))
    body = "".join(f"<p>{p}</p>\n" for p in _facts(rng, o))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {rng.choice(T.OUTLETS)}</title>
<meta property="article:published_time" content="{T.iso(o.year, o.month, day)}T09:00:00Z"></head>
<body>
<div class="cookie-banner"><p>We use cookies to improve your experience. Accept all or manage your choices.</p></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/chips">Chips</a></li>
<li><a href="/cloud">Cloud</a></li><li><a href="/policy">Policy</a></li></ul></nav></header>
<main><article><h1>{title}</h1>
<p class="byline">By {rng.choice(T.REPORTERS)} · {when}</p>
{body}</article>
<aside><h2>Recent posts</h2><ul>{recent}</ul></aside></main>
<footer><p>Subscribe to our newsletter for weekly hardware news.</p></footer>
</body></html>
"""
    return ".html", page


SINGLE_LAYOUTS = ("wire", "press_release", "explainer", "analyst_note", "blog", "html_page")
ALL_FACTS = frozenset({"units", "value", "share", "fleet", "site"})
# The facts each layout states (questions are asked only about those).
FACTS = {
    "press_release": frozenset({"units", "value", "share", "site"}),
    "analyst_note": frozenset({"units", "value", "share", "site"}),
    "two_party": frozenset({"units", "value", "share"}),
}


def render(rng: random.Random, layout: str, o: Order, day: int, others: list[str]) -> tuple[str, str]:
    if layout == "html_page":
        return html_page(rng, o, day, others)
    layouts: dict[str, Callable[[random.Random, Order, int], tuple[str, str]]] = {
        "wire": wire,
        "press_release": press_release,
        "explainer": explainer,
        "analyst_note": analyst_note,
        "blog": blog,
    }
    return layouts[layout](rng, o, day)
