"""The generated news corpus: deterministic, each prefix a corpus of its own, and every answer known by
construction (in its sources' text, and nowhere for unanswerable questions)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from chipqa.core.figures import matches_expected, parse_figures
from chipqa.evaluation import newswire_text
from chipqa.evaluation.harness import load_questions
from chipqa.evaluation.newswire import GeneratedCorpus, generate
from chipqa.ingest.loading import Skipped, load_documents

DEV_ARTICLES = Path(__file__).resolve().parents[1] / "eval" / "dev" / "articles"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCorpus:
    return generate(tmp_path_factory.mktemp("newswire") / "corpus", 300, seed=11)


@pytest.fixture(scope="module")
def texts(corpus: GeneratedCorpus) -> dict[str, str]:
    loaded = list(load_documents([corpus.folder], 10**7))
    assert not [item for item in loaded if isinstance(item, Skipped)]
    return {d.doc_id: d.text for d in loaded if not isinstance(d, Skipped)}


def test_the_same_seed_writes_the_same_corpus_and_a_prefix_is_the_smaller_corpus(
    corpus: GeneratedCorpus, tmp_path: Path
) -> None:
    small = generate(tmp_path / "small", 120, seed=11)
    files = sorted(p.name for p in small.folder.iterdir())
    assert len(files) == small.articles == 120
    assert files == sorted(p.name for p in corpus.folder.iterdir())[:120]
    assert all((small.folder / f).read_bytes() == (corpus.folder / f).read_bytes() for f in files)
    assert [q.row(120) for q in small.questions if q.needs <= 120] == corpus.questions_for(120)
    other = generate(tmp_path / "other", 20, seed=12)
    assert sorted(p.name for p in other.folder.iterdir()) != files[:20]


def test_layouts_formats_and_story_kinds_vary(corpus: GeneratedCorpus, texts: dict[str, str]) -> None:
    suffixes = Counter(p.suffix for p in corpus.folder.iterdir())
    assert set(suffixes) == {".txt", ".md", ".html"}
    tags = Counter(t for q in corpus.questions for t in q.tags)
    for tag in ("near-duplicate", "revised", "two-party", "html-page", "explainer", "analyst-note", "unanswerable"):
        assert tags[tag] >= 3, tag
    assert any(doc.startswith("nw_") and "roundup" in doc for doc in texts)
    joined = "\n".join(texts.values())
    for form in ("bn", "percent", "US$", "k ", " thousand"):
        assert form in joined, form


def test_every_answer_is_in_a_source_and_sources_are_within_the_prefix(
    corpus: GeneratedCorpus, texts: dict[str, str]
) -> None:
    lines = {doc: text.splitlines() for doc, text in texts.items()}  # figures are parsed line by line
    for present in (60, 300):
        rows = corpus.questions_for(present)
        assert rows
        for row in rows:
            indexes = [int(s.split("_")[1]) for s in row["sources"]]
            assert all(i < present for i in indexes), row
            if not row["answerable"]:
                continue
            assert row["sources"], row
            found = [
                s
                for s in row["sources"]
                if row["expected"] in texts[s]
                or any(matches_expected(row["expected"], f) for line in lines[s] for f in parse_figures(line))
            ]
            assert found, row


def test_unanswerable_questions_name_what_no_article_says(corpus: GeneratedCorpus, texts: dict[str, str]) -> None:
    joined = "\n".join(texts.values())
    assert not any(name in joined for name in newswire_text.NEVER_BUYERS)
    unanswerable = [q for q in corpus.questions if q.expected is None]
    assert len(unanswerable) > len(corpus.questions) / 10


def test_questions_files_load_as_eval_sets(corpus: GeneratedCorpus, tmp_path: Path) -> None:
    target = tmp_path / "q.jsonl"
    n = corpus.write_questions(target, 100, limit=25, seed=3)
    rows = load_questions(target)
    assert n == len(rows) == 25
    assert len({r["id"] for r in rows}) == 25
    assert all(r["needs"] <= 100 for r in rows)
    assert json.loads(target.read_text().splitlines()[0])["id"] == rows[0]["id"]


def test_no_sentence_of_the_development_corpus_is_reused(texts: dict[str, str]) -> None:
    from chipqa.ingest.chunking import split_sentences

    dev: set[str] = set()
    for doc in load_documents([DEV_ARTICLES], 10**7):
        if isinstance(doc, Skipped):
            continue
        for start, end in doc.content_spans:
            dev.update(" ".join(doc.text[s:e].split()) for s, e in split_sentences(doc.text, start, end))
    dev = {s for s in dev if len(s) > 40}
    ours = {" ".join(line.split()) for text in texts.values() for line in text.split("\n")}
    assert not any(s in line for s in dev for line in ours if len(line) > 40)
