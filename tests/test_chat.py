"""Conversations end to end: `chipqa chat` from a pipe, and a follow-up answered by the real bundled LLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chipqa.answering.conversation import Turn
from chipqa.app.cli import cli
from chipqa.app.service import ChipQA
from design import ANSWER_KEYS

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CONVERSATION = "How many GPUs did Meta buy in 2024?\n\nAnd Amazon?\nHow does that compare with Google?\n"


def test_chat_answers_each_line_in_the_context_of_the_earlier_ones(seed_app: ChipQA) -> None:
    run = CliRunner().invoke(cli, ["chat", "--json"], input=CONVERSATION, obj={"app": seed_app})
    assert run.exit_code == 0, run.output
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(records) == 3  # the empty line is skipped
    assert all(set(r) >= ANSWER_KEYS for r in records)
    assert [r["question"] for r in records] == [
        "How many GPUs did Meta buy in 2024?",
        "And Amazon?",
        "How does that compare with Google?",
    ]
    assert records[1]["resolved_question"] == "How many GPUs did Amazon buy in 2024?"
    assert records[1]["figures"][0]["text"] == "196,000"
    assert records[2]["resolved_question"] == "How many more GPUs did Amazon buy in 2024 than Google?"
    assert records[2]["figures"][0]["text"] == "27,000" and records[2]["figures"][0]["computed"] is True


def test_chat_prints_what_ask_prints_plus_the_resolved_question(seed_app: ChipQA) -> None:
    run = CliRunner().invoke(
        cli, ["chat"], input="How many GPUs did Meta buy in 2024?\nAnd Amazon?\n", obj={"app": seed_app}
    )
    assert run.exit_code == 0, run.output
    first, _, second = run.stdout.partition("Answering:")
    assert "224,000" in first and second.startswith(" How many GPUs did Amazon buy in 2024?\n196,000")
    assert "The Daily Guardian" in run.stdout and "000_be9f344685327539" in run.stdout  # the source line


def test_a_bad_line_is_one_error_and_the_chat_goes_on(seed_app: ChipQA) -> None:
    lines = "why " * 400 + "\nHow many GPUs did Meta buy in 2024?\n"
    run = CliRunner().invoke(cli, ["chat", "--json"], input=lines, obj={"app": seed_app})
    assert run.exit_code == 0
    assert "chipqa: error: the question is" in run.stderr and "Traceback" not in run.stderr
    assert [json.loads(line)["figures"][0]["text"] for line in run.stdout.splitlines()] == ["224,000"]


@pytest.mark.slow
def test_chat_from_a_pipe_as_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIPQA_")}
    env.update(
        CHIPQA_INDEX_DIR=str(tmp_path / "index"),
        CHIPQA_CORPUS_DIR=str(SEEDS),
        CHIPQA_UPLOADS_DIR=str(tmp_path / "uploads"),
        CHIPQA_LLM="none",
        CHIPQA_CONFIG=str(tmp_path / "absent.toml"),
        HF_HUB_OFFLINE="1",
    )
    run = subprocess.run(
        [sys.executable, "-m", "chipqa", "chat", "--json"],
        input=CONVERSATION,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["resolved_question"] for r in records][1] == "How many GPUs did Amazon buy in 2024?"
    assert "question>" not in run.stderr  # no prompt when reading a pipe


@pytest.mark.slow
def test_a_follow_up_end_to_end_with_the_bundled_llm(llm_app: ChipQA) -> None:
    first = llm_app.ask("How many GPUs did Meta buy in 2024?").answer
    assert [f.text for f in first.figures][:1] == ["224,000"]
    history = [Turn(first.question, first.answer)]
    follow = llm_app.ask("And Amazon?", history=history).answer
    record = follow.to_dict()
    assert record["question"] == "And Amazon?"
    assert record["resolved_question"] == "How many GPUs did Amazon buy in 2024?"
    assert record["llm"].startswith("local:gemma")
    assert follow.grounded and not follow.abstained
    assert follow.figures[0].text == "196,000"
    cited = {c.n: c.text for c in follow.citations}
    assert all("196,000" in cited[n] for n in follow.figures[0].citations)
