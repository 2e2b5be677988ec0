"""End-to-end tests of the installed `chipqa` console script, run as a subprocess on a temporary index.

Each command that needs the embedding model costs a cold start, so the slow runs happen once per module,
in two independent workspaces side by side, and the tests check what they printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from chipqa.ingest.chunking import chunk_document
from chipqa.ingest.loading import load_document
from design import ANSWER_KEYS

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_CHUNKS = sum(len(chunk_document(load_document(p, 10**7))) for p in SEEDS.glob("*.txt"))
Run = subprocess.CompletedProcess[str]


def chipqa_script() -> str:
    """The console script installed next to this interpreter (else the one on PATH)."""
    beside = Path(sys.executable).with_name("chipqa")
    found = str(beside) if beside.exists() else shutil.which("chipqa")
    assert found, "the chipqa console script is not installed"
    return found


def workspace(root: Path) -> dict[str, str]:
    """A corpus copy and an empty index under root, and an environment that points chipqa at them."""
    root.mkdir(parents=True)
    shutil.copytree(SEEDS, root / "corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIPQA_")}
    env.update(
        CHIPQA_INDEX_DIR=str(root / "index"),
        CHIPQA_CORPUS_DIR=str(root / "corpus"),
        CHIPQA_LLM="none",
        CHIPQA_CONFIG=str(root / "absent.toml"),
    )
    return env


def chipqa(env: dict[str, str], *args: str) -> Run:
    return subprocess.run(
        [chipqa_script(), *args],
        env=env,
        cwd=Path(env["CHIPQA_INDEX_DIR"]).parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def assert_one_line_error(run: Run) -> str:
    assert run.returncode == 1, run
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@dataclass(frozen=True)
class Runs:
    """What the model-loading commands printed."""

    ingest: Run
    reingest: Run
    status: Run
    ask: Run
    ask_corpus: Path
    ask_built: Run  # on the built index with the bundled LLM: the read-only path that skips teardown


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Run once: ingest, ingest again and status in one index; ask on an empty one, side by side."""
    base = tmp_path_factory.mktemp("cli")
    ingest_env, ask_env = workspace(base / "ingested"), workspace(base / "empty")

    def ingest_twice() -> tuple[Run, Run, Run, Run]:
        first, second, status = chipqa(ingest_env, "ingest"), chipqa(ingest_env, "ingest"), chipqa(ingest_env, "status")
        local = {**ingest_env, "CHIPQA_LLM": "local"}
        return first, second, status, chipqa(local, "ask", "How many Hopper GPUs did Microsoft buy?")

    with ThreadPoolExecutor(max_workers=2) as pool:
        ingested = pool.submit(ingest_twice)
        asked = pool.submit(chipqa, ask_env, "ask", "How many Hopper GPUs did Microsoft buy?", "--json")
        ingest, reingest, status, ask_built = ingested.result()
        return Runs(ingest, reingest, status, asked.result(), Path(ask_env["CHIPQA_CORPUS_DIR"]), ask_built)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return workspace(tmp_path / "ws")


def test_ingest_prints_the_summary_with_counts(runs: Runs) -> None:
    run = runs.ingest
    assert run.returncode == 0, run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("5 added, 0 updated, 0 unchanged, 0 removed, 0 skipped;")
    assert f"{SEED_CHUNKS} chunks written" in summary
    assert f"index: 5 documents, {SEED_CHUNKS} chunks" in summary


def test_second_ingest_reports_everything_unchanged(runs: Runs) -> None:
    run = runs.reingest
    assert run.returncode == 0, run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("0 added, 0 updated, 5 unchanged, 0 removed, 0 skipped; 0 chunks written")
    assert f"index: 5 documents, {SEED_CHUNKS} chunks" in summary


def test_status_shows_documents_and_chunks(runs: Runs) -> None:
    run = runs.status
    assert run.returncode == 0, run.stderr
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in run.stdout.strip().splitlines())
    assert fields["documents"] == "5"
    assert fields["chunks"] == str(SEED_CHUNKS)
    assert fields["llm"].startswith("none")


def test_ask_json_is_a_grounded_answer_record(runs: Runs) -> None:
    run = runs.ask
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert set(record) >= ANSWER_KEYS
    assert record["question"] == "How many Hopper GPUs did Microsoft buy?"
    assert record["abstained"] is False and record["grounded"] is True
    assert record["figures"][0]["text"] == "485,000"
    assert record["figures"][0]["value"] == 485000
    corpus = runs.ask_corpus
    numbers = set()
    for citation in record["citations"]:
        assert {"n", "doc_id", "title", "start", "end", "text"} <= set(citation)
        stored = (corpus / f"{citation['doc_id']}.txt").read_text(encoding="utf-8")
        assert stored[citation["start"] : citation["end"]] == citation["text"]
        numbers.add(citation["n"])
    assert set(record["figures"][0]["citations"]) <= numbers
    assert "485,000" in record["citations"][record["figures"][0]["citations"][0] - 1]["text"]
    assert {int(n) for n in re.findall(r"\[(\d+)\]", record["answer"])} <= numbers


def test_ask_on_an_empty_index_builds_it_first(runs: Runs) -> None:
    run = runs.ask
    assert run.returncode == 0, run.stderr
    assert re.search(rf"index built: 5 added.*{SEED_CHUNKS} chunks written", run.stderr)
    assert "Traceback" not in run.stderr


def test_ask_on_a_built_index_prints_the_whole_answer(runs: Runs) -> None:
    # `ask` leaves through os._exit when it wrote nothing; everything printed must still arrive.
    run = runs.ask_built
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "index built" not in run.stderr
    assert "485,000" in run.stdout.splitlines()[0]
    assert run.stdout.rstrip().endswith("485,000 Hopper chips.\u201d")


def test_empty_question_is_one_line_error(env: dict[str, str]) -> None:
    line = assert_one_line_error(chipqa(env, "ask", ""))
    assert "empty" in line


def test_ingest_of_missing_path_is_one_line_error(env: dict[str, str]) -> None:
    line = assert_one_line_error(chipqa(env, "ingest", "/no/such/path"))
    assert "/no/such/path" in line


def test_help_lists_the_commands(env: dict[str, str]) -> None:
    run = chipqa(env, "--help")
    assert run.returncode == 0
    for command in ("ingest", "ask", "status", "eval", "ui", "bench"):
        assert re.search(rf"^\s+{command}\s", run.stdout, re.MULTILINE), command
