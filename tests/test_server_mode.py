"""chipqa against a real Chroma server (`chroma run`) on loopback: same answers as embedded mode, clear
errors when the server is unreachable, and recovery when it comes back on the same port and path."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chipqa.app.service import ChipQA
from chipqa.core.errors import BackendError
from chipqa.core.settings import Settings
from servers import LOOPBACK, chipqa_cli, chroma_server, free_port

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
MICROSOFT = "How many Hopper chips did Microsoft buy in 2024?"


def eval_sample() -> list[dict[str, Any]]:
    """Every 7th eval question: lookups, a table, paraphrase, terse, misspelled, arithmetic, conflict and
    unanswerable ones."""
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()][::7]


def comparable(app: ChipQA, question: str) -> dict[str, Any]:
    record = app.ask(question).answer.to_dict()
    record.pop("timings_ms")
    return record


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server for this module, stopped at the end whatever happens."""
    base = tmp_path_factory.mktemp("chroma_server")
    port = free_port()
    server = chroma_server(base / "data", port, base / "chroma.log")
    try:
        server.start()
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server_app(chroma: str, embed_model: Any) -> ChipQA:
    """The seeds ingested into the Chroma server, answering without an LLM."""
    app = ChipQA(Settings(chroma_url=chroma, collection="seeds", corpus_dir=SEEDS, llm="none"), embed_model=embed_model)
    report = app.ingest([SEEDS])
    assert len(report.added) == 5 and not report.skipped
    return app


def test_server_answers_match_embedded_mode(server_app: ChipQA, seed_app: ChipQA) -> None:
    sample = eval_sample()
    assert len(sample) == 10
    for item in sample:
        server = comparable(server_app, item["question"])
        embedded = comparable(seed_app, item["question"])
        assert server == embedded, item["id"]
        if item["answerable"] and item["id"] == "q01":
            assert [f["text"] for f in server["figures"]] == ["485,000"]


def test_server_status_and_counts_match_embedded(server_app: ChipQA, seed_app: ChipQA) -> None:
    status = server_app.status()
    assert status["mode"] == "server"
    assert status["index"] == f"Chroma server {server_app.settings.chroma_url}"
    embedded = seed_app.status()
    assert (status["documents"], status["chunks"]) == (embedded["documents"], embedded["chunks"]) == (5, 118)
    assert server_app.store.chunk_counts() == seed_app.store.chunk_counts()


def test_cli_ingest_ask_status_against_the_server(chroma: str, tmp_path: Path) -> None:
    env = {
        "CHIPQA_CHROMA_URL": chroma,
        "CHIPQA_COLLECTION": "cli",
        "CHIPQA_LLM": "none",
        "CHIPQA_CORPUS_DIR": str(SEEDS),
    }
    ingest = chipqa_cli(["ingest", str(SEEDS / "000_be9f344685327539.txt")], env, tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert "1 added" in ingest.stdout and "index: 1 documents" in ingest.stdout
    ask = chipqa_cli(["ask", "--json", MICROSOFT], env, tmp_path)
    assert ask.returncode == 0, ask.stderr
    record = json.loads(ask.stdout)
    assert [f["text"] for f in record["figures"]] == ["485,000"] and record["citations"]
    assert {c["doc_id"] for c in record["citations"]} == {"000_be9f344685327539"}
    status = chipqa_cli(["status"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    assert chroma in status.stdout and "server" in status.stdout
    assert any(line.split() == ["documents", "1"] for line in status.stdout.splitlines())
    assert not (tmp_path / "index").exists(), "server mode must not create an embedded index"


@pytest.mark.parametrize("command", [["status"], ["ask", MICROSOFT], ["ingest", str(SEEDS)]])
def test_cli_with_unreachable_server_prints_one_line(command: list[str], tmp_path: Path) -> None:
    url = f"http://{LOOPBACK}:{free_port()}"
    started = time.monotonic()
    run = chipqa_cli(command, {"CHIPQA_CHROMA_URL": url, "CHIPQA_LLM": "none"}, tmp_path)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert url in lines[0] and "Traceback" not in run.stderr
    assert run.stdout == ""
    assert time.monotonic() - started < 60


def test_server_stopped_mid_session_then_restarted(tmp_path: Path, embed_model: Any, corpus: Path) -> None:
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    server = chroma_server(tmp_path / "data", port, tmp_path / "chroma.log")
    try:
        server.start()
        app = ChipQA(Settings(chroma_url=url, corpus_dir=corpus, llm="none"), embed_model=embed_model)
        app.ingest([corpus / "000_be9f344685327539.txt"])
        before = comparable(app, MICROSOFT)
        assert [f["text"] for f in before["figures"]] == ["485,000"]

        server.stop()
        for call in (lambda: app.ask(MICROSOFT), app.status, lambda: app.ingest([corpus])):
            started = time.monotonic()
            with pytest.raises(BackendError) as failure:
                call()
            message = str(failure.value)
            assert f"{LOOPBACK}:{port}" in message and "\n" not in message
            assert time.monotonic() - started < 10, "an unreachable server must fail fast"

        server.start()  # same port, same data directory
        assert comparable(app, MICROSOFT) == before
        assert app.status()["documents"] == 1
    finally:
        server.stop()


def test_store_finds_collections_recreated_behind_its_back(server_app: ChipQA, embed_model: Any) -> None:
    """Another process's `ingest --reset` drops and recreates the collections a long-lived app holds."""
    settings = server_app.settings.model_copy(update={"collection": "recreated"})
    holder = ChipQA(settings, embed_model=embed_model)
    holder.ingest([SEEDS / "000_be9f344685327539.txt"])
    assert holder.status()["documents"] == 1
    other = ChipQA(settings, embed_model=embed_model)
    other.ingest([SEEDS / "004_78862d07f81b5b90.txt"], reset=True)
    status = holder.status()
    assert status["documents"] == 1 and sorted(holder.store.documents()) == ["004_78862d07f81b5b90"]
    assert holder.ask("How many Nvidia chips did ByteDance order?").answer.citations


def test_an_edit_by_another_writer_is_seen_at_the_next_question(chroma: str, embed_model: Any, tmp_path: Path) -> None:
    """A same-size edit (no count changes) written by another app reaches a reader's next answer at once:
    the reader compares the writers' generation, not the manifest, before each question."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = corpus / "zephyr.txt"
    article.write_text("Zephyr Labs bought 12,345 Blackwell GPUs in 2025, the company said.\n", encoding="utf-8")
    settings = Settings(chroma_url=chroma, collection="generation", corpus_dir=corpus, llm="none")
    reader, writer = ChipQA(settings, embed_model=embed_model), ChipQA(settings, embed_model=embed_model)
    writer.ingest([corpus])
    question = "How many Blackwell GPUs did Zephyr Labs buy?"
    assert [f.text for f in reader.ask(question).answer.figures] == ["12,345"]
    before = reader.store.generation()
    article.write_text("Zephyr Labs bought 54,321 Blackwell GPUs in 2025, the company said.\n", encoding="utf-8")
    report = writer.ingest([corpus])
    assert report.updated == ["zephyr"] and reader.store.generation() != before
    answer = reader.ask(question).answer
    assert [f.text for f in answer.figures] == ["54,321"]
    assert all("12,345" not in c.text for c in answer.citations)
