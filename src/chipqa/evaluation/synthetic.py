"""A synthetic corpus of any size, recombined from the seed articles, for scaling benchmarks.

Deterministic for a given seed: sentences of the seed articles are shuffled into new articles, buyer names
are swapped for invented ones and figures are rescaled in place, so every figure still parses as one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chipqa.core.figures import parse_figures
from chipqa.core.models import Document
from chipqa.ingest.chunking import chunk_document, split_sentences
from chipqa.ingest.loading import Skipped, load_document, load_documents

# Names in the seeds that are swapped for invented ones (the chip makers stay as they are).
SEED_BUYERS = (
    "Microsoft",
    "Meta",
    "Tencent",
    "ByteDance",
    "Amazon",
    "Google",
    "Alphabet",
    "xAI",
    "Tesla",
    "Oracle",
    "Apple",
    "Baidu",
    "Alibaba",
    "OpenAI",
    "CoreWeave",
    "Huawei",
)
_SYLLABLES = ("nor", "vex", "tal", "quin", "mar", "dex", "lum", "ora", "zen", "kai", "rho", "sil", "bry", "tek")
_SUFFIXES = ("", " Systems", " Labs", " Cloud", " AI", " Group", " Networks")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCES_PER_PARAGRAPH = (1, 2)
_PARAGRAPHS_PER_DOC = (8, 30)


@dataclass(frozen=True)
class SyntheticCorpus:
    """Files written for one synthetic corpus."""

    folder: Path
    documents: int
    chunks: int


def seed_sentences(seed_dir: Path, max_bytes: int = 20_000_000) -> list[str]:
    """The content sentences of the seed articles (headlines and short fragments left out)."""
    out: list[str] = []
    for item in load_documents([seed_dir], max_bytes):
        if isinstance(item, Skipped):
            continue
        for start, end in item.content_spans:
            for s, e in split_sentences(item.text, start, end):
                text = " ".join(item.text[s:e].split())
                if len(text) >= 40 and text[-1] in '.!?"”':
                    out.append(text)
    return out


def invented_names(rng: random.Random, count: int) -> list[str]:
    """Distinct company-like names that appear in no seed ("Norvex Labs")."""
    names: set[str] = set()
    while len(names) < count:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        names.add(word + rng.choice(_SUFFIXES))
    return sorted(names)


def rescale_figures(sentence: str, rng: random.Random) -> str:
    """The sentence with each non-year figure's number scaled by a random factor, written the same way."""
    figures = [f for f in parse_figures(sentence) if f.kind != "year"]
    for fig in sorted(figures, key=lambda f: f.start, reverse=True):
        span = sentence[fig.start : fig.end]
        m = _NUMBER.search(span)
        if m is None:
            continue
        number = _rescaled(m.group(0), rng.uniform(0.3, 3.0))
        span = span[: m.start()] + number + span[m.end() :]
        sentence = sentence[: fig.start] + span + sentence[fig.end :]
    return sentence


def _rescaled(text: str, factor: float) -> str:
    """A number written like `text` ("485,000", "5.5", "43") but about `factor` times as large."""
    plain = text.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    value = float(plain) * factor
    digits = len(plain.split(".")[0].lstrip("0")) or 1
    if decimals == 0 and digits > 2:
        step = 10 ** (digits - 2)  # two significant digits: 485,000 → 310,000
        value = max(step, round(value / step) * step)
    out = f"{max(value, 10**-decimals):.{decimals}f}" if decimals else str(max(1, round(value)))
    if "," in text:
        whole, _, frac = out.partition(".")
        out = f"{int(whole):,}" + (f".{frac}" if frac else "")
    return out


def build_corpus(seed_dir: Path, target: Path, chunks: int, seed: int = 7, chunk_chars: int = 360) -> SyntheticCorpus:
    """Write `.txt` articles into `target` holding `chunks` chunks as chipqa chunks them (one fewer at most)."""
    rng = random.Random(seed)
    sentences = seed_sentences(seed_dir)
    if not sentences:
        raise ValueError(f"no sentences found in {seed_dir}")
    names = invented_names(rng, 400)
    buyers = re.compile(r"\b(" + "|".join(re.escape(n) for n in SEED_BUYERS) + r")\b")
    target.mkdir(parents=True, exist_ok=True)
    written = docs = 0
    while written < chunks:
        paragraphs = _paragraphs(rng, sentences, names, buyers, rng.randint(*_PARAGRAPHS_PER_DOC))
        doc_id = f"syn_{seed}_{docs:06d}"
        title = f"{rng.choice(names)} and {rng.choice(names)} expand AI compute, report {docs}"
        text = _article(title, docs, paragraphs)
        doc = _as_document(target, doc_id, text)
        count = len(chunk_document(doc, chunk_chars))
        while written + count > chunks and paragraphs:
            paragraphs = paragraphs[: max(0, len(paragraphs) - (written + count - chunks))]
            text = _article(title, docs, paragraphs)
            doc = _as_document(target, doc_id, text)
            count = len(chunk_document(doc, chunk_chars))
        if written + count > chunks:
            (target / f"{doc_id}.txt").unlink(missing_ok=True)
            break
        written += count
        docs += 1
    return SyntheticCorpus(target, docs, written)


def _paragraphs(
    rng: random.Random, sentences: list[str], names: list[str], buyers: re.Pattern[str], count: int
) -> list[str]:
    cast = {b: rng.choice(names) for b in SEED_BUYERS}  # one article keeps its names consistent
    out = []
    for _ in range(count):
        picked = [rng.choice(sentences) for _ in range(rng.choice(_SENTENCES_PER_PARAGRAPH))]
        text = " ".join(rescale_figures(buyers.sub(lambda m: cast[m.group(1)], s), rng) for s in picked)
        out.append(text)
    return out


def _article(title: str, number: int, paragraphs: Iterable[str]) -> str:
    day = 1 + number % 28
    return f"{title}\n\nPublished: 2024-{1 + number % 12:02d}-{day:02d}\n\n" + "\n\n".join(paragraphs) + "\n"


def _as_document(folder: Path, doc_id: str, text: str) -> Document:
    path = folder / f"{doc_id}.txt"
    path.write_text(text, encoding="utf-8")
    return load_document(path, 20_000_000)
