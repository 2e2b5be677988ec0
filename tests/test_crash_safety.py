"""Ingestion is crash-safe: `chipqa ingest` killed with SIGKILL at random points leaves a consistent
index that a rerun completes; concurrent ingests are serialised; questions keep working during an ingest."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chipqa.app.service import ChipQA
from chipqa.core.errors import IndexError_
from chipqa.core.settings import Settings
from chipqa.index.retrieval import HybridRetriever
from chipqa.index.store import ChunkStore
from chipqa.ingest.chunking import chunk_document
from chipqa.ingest.indexer import Indexer, index_lock
from chipqa.ingest.loading import load_document
from servers import chipqa_cli

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
MICROSOFT = "How many Hopper chips did Microsoft buy in 2024?"
PROBES = (MICROSOFT, "Which cloud company ordered accelerators in quarter 3?", "How much was the deal worth?")
BUYERS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Cyberdyne", "Tyrell")


def write_generated(folder: Path, count: int = 40, paragraphs: int = 3) -> None:
    """`count` short, distinct articles about made-up chip orders (seeded, so every run is the same)."""
    rng = random.Random(6)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        buyer = f"{BUYERS[i % len(BUYERS)]} Cloud {i}"
        body = [
            f"{buyer} ordered {rng.randint(1000, 90000):,} accelerators in quarter {j % 4 + 1} of {2020 + j}, "
            f"according to filing {i}-{j}. The deal was worth ${rng.randint(2, 90)} million and covers "
            f"data centre number {j}."
            for j in range(paragraphs)
        ]
        (folder / f"gen_{i:03d}.txt").write_text(f"{buyer} expands its GPU fleet\n\n" + "\n\n".join(body) + "\n")


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five seeds plus 40 generated articles."""
    folder = tmp_path_factory.mktemp("crash") / "corpus"
    shutil.copytree(SEEDS, folder)
    write_generated(folder)
    return folder


def snapshot(index_dir: Path, embed_model: Any) -> dict[str, Any]:
    """Check one index for consistency and describe it; the index is copied first, so the files a killed
    process left are opened exactly as they are, by a client that never saw them before."""
    copy = index_dir.parent / f"{index_dir.name}-check-{time.monotonic_ns()}"
    shutil.copytree(index_dir, copy)
    store = ChunkStore(Settings(index_dir=copy, llm="none"))
    docs = store.documents(with_text=True)
    ids, texts, metas = store.all_chunks()
    assert len(ids) == len(set(ids)) == store.count_chunks(), "duplicated chunk ids"
    by_doc: dict[str, list[str]] = {}
    for chunk_id, text, meta in zip(ids, texts, metas, strict=True):
        doc_id = str(meta["doc_id"])
        by_doc.setdefault(doc_id, []).append(chunk_id)
        if doc_id in docs:  # a committed document's chunks are its stored text at their offsets
            assert docs[doc_id].text[int(meta["start"]) : int(meta["end"])] == text
    for doc_id, record in docs.items():
        expected = {f"{doc_id}#{i:05d}" for i in range(record.chunks)}
        assert set(by_doc.get(doc_id, [])) == expected, f"{doc_id}: chunks do not match its commit marker"
    orphans = sorted(set(by_doc) - set(docs))
    retriever = HybridRetriever(store, embed_model, top_k=10)
    for question in PROBES:
        for passage in retriever.retrieve(question):
            assert passage.doc_id in docs, f"uncommitted {passage.doc_id} is visible to retrieval"
    return {
        "docs": {d: (r.sha256, r.chunks) for d, r in docs.items()},
        "chunk_ids": sorted(ids),
        "orphan_docs": orphans,
        "orphan_chunks": sum(len(by_doc[d]) for d in orphans),
    }


def cli_env(index_dir: Path) -> dict[str, str]:
    # Small batches: many commits, so kills land between them as well as inside one.
    return {"CHIPQA_INDEX_DIR": str(index_dir), "CHIPQA_LLM": "none", "CHIPQA_INGEST_BATCH_CHUNKS": "64"}


def spawn_ingest(index_dir: Path, corpus: Path, *extra: str) -> subprocess.Popen[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIPQA_")}
    env.update(cli_env(index_dir), CHIPQA_CONFIG="/nonexistent/chipqa.toml", HF_HUB_OFFLINE="1")
    return subprocess.Popen(
        [sys.executable, "-m", "chipqa", "ingest", *extra, str(corpus)],
        env=env,
        cwd=index_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_first_commit(proc: subprocess.Popen[str]) -> bool:
    """Block until the ingest's progress bar appears (its first batch is committed); False if it exited."""
    assert proc.stderr is not None
    seen = ""
    for _ in range(10**7):  # bounded: a run prints far less than this
        char = proc.stderr.read(1)
        if not char:
            return False
        seen = (seen + char)[-20:]
        if "embedding:" in seen:
            return True
    return False


def kill_after(proc: subprocess.Popen[str], delay_s: float, after_first_commit: bool = False) -> str:
    """SIGKILL the process `delay_s` after it started, or after its first commit; how it ended."""
    if after_first_commit and not wait_for_first_commit(proc):
        proc.communicate(timeout=60)
        return f"finished (exit {proc.returncode}) before its first commit"
    deadline = time.monotonic() + delay_s
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is not None:
        proc.communicate(timeout=60)
        return f"finished (exit {proc.returncode}) before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return "killed"


def test_sigkill_at_random_points_leaves_a_consistent_index_that_a_rerun_completes(
    big_corpus: Path, tmp_path: Path, embed_model: Any
) -> None:
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    started = time.monotonic()
    clean = spawn_ingest(clean_dir, big_corpus)
    assert wait_for_first_commit(clean)
    first_commit = time.monotonic() - started
    _, err = clean.communicate(timeout=600)
    duration = time.monotonic() - started
    assert clean.returncode == 0, err
    reference = snapshot(clean_dir, embed_model)
    assert len(reference["docs"]) == 45 and not reference["orphan_docs"]

    # Seeded random kill points on the clean run's time line: two anywhere before its first commit
    # (start-up, reset, first embedding), three in the writing phase (counted from the killed run's own
    # first commit). The first three runs rebuild with --reset; the last two continue what was left.
    rng = random.Random(20260604)
    writing = duration - first_commit
    plan = [("--reset", rng.uniform(0.5, first_commit), False) for _ in range(2)]
    plan += [(mode, rng.uniform(0.0, writing), True) for mode in ("--reset", "", "")]
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    outcomes = []
    for mode, delay, in_writing in plan:
        how = kill_after(spawn_ingest(crashed, big_corpus, *([mode] if mode else [])), delay, in_writing)
        state = snapshot(crashed, embed_model)
        point = f"{mode or 'plain'} +{delay:.1f}s{' after its 1st commit' if in_writing else ''}"
        outcomes.append((point, how, len(state["docs"]), state["orphan_chunks"]))

    rerun = chipqa_cli(["ingest", str(big_corpus)], cli_env(crashed), tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    final = snapshot(crashed, embed_model)
    print(
        f"\nclean run {duration:.1f} s (first commit at {first_commit:.1f} s); kills (point, outcome, "
        f"committed docs, orphan chunks): {outcomes}\nrerun: {rerun.stdout.strip().splitlines()[-1]}"
    )
    assert final["docs"] == reference["docs"]
    assert final["chunk_ids"] == reference["chunk_ids"]
    assert final["orphan_docs"] == []
    assert sum(how == "killed" for _, how, _, _ in outcomes) >= 3


class Crash(BaseException):
    """Stands in for the process dying: nothing after it runs, not even `except Exception` handlers."""


@pytest.mark.parametrize("step", ["commit_document", "begin_document"])
def test_crash_inside_a_batch_leaves_no_half_document(
    make_app: Callable[..., ChipQA], tmp_path: Path, embed_model: Any, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Stop the writer between its Chroma calls (after chunks were added, before their commit marker; or
    while old versions are being dropped), exactly where a kill is least likely to land by chance."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    write_generated(folder, count=12)
    app = make_app()
    app.ingest([folder / "000_be9f344685327539.txt"])
    real = getattr(ChunkStore, step)
    calls = {"n": 0}

    def dies_on_the_eighth_call(self: ChunkStore, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 8:
            raise Crash
        real(self, *args)

    monkeypatch.setattr(ChunkStore, step, dies_on_the_eighth_call)
    with pytest.raises(Crash):
        app.ingest([folder], reset=True)
    monkeypatch.setattr(ChunkStore, step, real)
    state = snapshot(app.settings.index_dir, embed_model)  # consistent, whatever was left
    if step == "commit_document":
        assert len(state["docs"]) == 7 and state["orphan_chunks"] > 0  # chunks written, markers missing
    app.ingest([folder])
    final = snapshot(app.settings.index_dir, embed_model)
    assert len(final["docs"]) == 17 and final["orphan_docs"] == []
    for path in sorted(folder.iterdir()):
        doc = load_document(path, 10**7)
        chunks = chunk_document(doc)
        assert final["docs"][doc.doc_id] == (doc.sha256, len(chunks))
        assert {c.chunk_id for c in chunks} <= set(final["chunk_ids"])
    assert [f.text for f in app.ask(MICROSOFT).answer.figures] == ["485,000"]


def test_two_ingests_at_once_are_serialised(tmp_path: Path, embed_model: Any) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    write_generated(corpus, count=10)
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    first, second = spawn_ingest(index_dir, corpus), spawn_ingest(index_dir, corpus)
    results = [proc.communicate(timeout=600) for proc in (first, second)]
    codes = [first.returncode, second.returncode]
    for code, (_, err) in zip(codes, results, strict=True):
        if code != 0:  # waited past the lock's patience: one clear line, never a traceback
            lines = [line for line in err.splitlines() if line.strip() and "embedding" not in line]
            assert code == 1 and len(lines) == 1 and "another ingest is writing" in lines[0], err
    assert 0 in codes
    summaries = [out.strip().splitlines()[-1] for (out, _), code in zip(results, codes, strict=True) if code == 0]
    added = sorted(int(s.split(" added")[0]) for s in summaries)
    assert added in ([15], [0, 15]), summaries  # the documents were written once, by whichever ran first
    state = snapshot(index_dir, embed_model)
    assert len(state["docs"]) == 15 and state["orphan_docs"] == []


def test_a_second_writer_gives_up_with_one_clear_line(make_app: Callable[..., ChipQA], corpus: Path) -> None:
    app = make_app()
    app.ingest([corpus / "000_be9f344685327539.txt"])
    before = app.store.chunk_counts()
    impatient = Indexer(app.store, app.embed_model, 10**7, lock_wait_s=0.5)
    with index_lock(app.store):  # another writer holds the index
        started = time.monotonic()
        with pytest.raises(IndexError_) as failure:
            impatient.ingest([corpus])
        assert time.monotonic() - started < 5
    message = str(failure.value)
    assert "another ingest is writing to" in message and str(app.settings.index_dir.resolve()) in message
    assert "\n" not in message
    assert app.store.chunk_counts() == before


def test_questions_are_answered_while_an_ingest_runs(
    make_app: Callable[..., ChipQA], corpus: Path, tmp_path: Path
) -> None:
    """An ingest thread adds 40 articles while the same process keeps asking."""
    app = make_app()
    app.ingest([corpus])
    generated = tmp_path / "generated"
    write_generated(generated)
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            app.ingest([generated])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    writer = threading.Thread(target=ingest)
    writer.start()
    answers = []
    for _ in range(200):  # bounded; the writer normally finishes well before
        answers.append(app.ask(MICROSOFT).answer)
        if not writer.is_alive():
            break
    writer.join(timeout=600)
    assert not errors and not writer.is_alive()
    assert len(answers) >= 2
    for answer in answers:
        assert [f.text for f in answer.figures] == ["485,000"] and answer.citations
    assert app.status()["documents"] == 45
    assert [f.text for f in app.ask(MICROSOFT).answer.figures] == ["485,000"]


def test_another_process_ingesting_is_seen_by_a_running_app(
    make_app: Callable[..., ChipQA], corpus: Path, tmp_path: Path
) -> None:
    """The UI's situation: a long-lived process keeps answering while `chipqa ingest` writes the same
    embedded index from another process, and then sees the new documents, dense search included."""
    app = make_app()
    app.ingest([corpus])
    assert [f.text for f in app.ask(MICROSOFT).answer.figures] == ["485,000"]
    generated = tmp_path / "generated"
    write_generated(generated, count=10)
    proc = spawn_ingest(app.settings.index_dir, generated)
    answers = []
    while proc.poll() is None and len(answers) < 300:
        answers.append(app.ask(MICROSOFT).answer)
        time.sleep(0.1)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert all([f.text for f in a.figures] == ["485,000"] for a in answers)
    assert app.status()["documents"] == 15
    query = app.embed_model.get_query_embedding("Acme Cloud 0 expands its GPU fleet")
    dense = app.store.chunks.query(query_embeddings=[query], n_results=3)
    assert any(chunk_id.startswith("gen_") for chunk_id in dense["ids"][0]), "dense search missed the new chunks"
