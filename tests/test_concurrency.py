"""Questions to a remote LLM run concurrently: 8 API clients against a slow OpenAI-compatible server on
loopback (1 s per completion) are all in flight at once and get the answer records one client gets; the
local llama.cpp model still answers one question at a time."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from chipqa.app.api import Guarded
from chipqa.app.service import ChipQA
from servers import LOOPBACK, ServerProcess, free_port

pytestmark = pytest.mark.server

QUESTIONS = [
    "How many Hopper GPUs did Microsoft buy?",
    "How much will ByteDance spend on AI chips in 2025?",
    "What share of AI hardware spending did Nvidia capture in 2024?",
    "How many Hopper GPUs did Meta buy?",
    "How many Hopper chips did Tencent and ByteDance order?",
    "How many GPUs did xAI buy in 2024?",
    "How many H20 chips did ByteDance order?",
    "How many Ascend 910C processors will ByteDance buy from Huawei in 2026?",
]
DELAY_S = 1.0


@pytest.fixture(scope="module")
def slow_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bench's slow OpenAI-compatible server: every completion takes DELAY_S; its /v1 URL."""
    port = free_port()
    argv = [sys.executable, "-m", "chipqa.evaluation.bench.slow_llm", "--port", str(port), "--delay", str(DELAY_S)]
    server = ServerProcess(argv, f"http://{LOOPBACK}:{port}/v1/models", tmp_path_factory.mktemp("slow") / "log")
    server.start()
    try:
        yield f"http://{LOOPBACK}:{port}/v1"
    finally:
        server.stop()


def stable(result: Any) -> dict[str, Any]:
    return {k: v for k, v in result.answer.to_dict().items() if k != "timings_ms"}


def test_eight_clients_of_a_remote_llm_are_served_at_once_with_the_same_answers(
    seed_app: ChipQA, slow_llm: str
) -> None:
    settings = seed_app.settings.model_copy(
        update={"llm": "openai-compatible", "llm_base_url": slow_llm, "llm_model": "slow-echo"}
    )
    app = ChipQA(settings, store=seed_app.store, embed_model=seed_app.embed_model, retriever=seed_app.retriever)
    guarded = Guarded(app)
    guarded.warm_up()
    started = time.perf_counter()
    sequential = {q: stable(guarded.ask(q)) for q in QUESTIONS}
    sequential_s = time.perf_counter() - started
    assert all(r["llm"] == "openai-compatible:slow-echo" for r in sequential.values())
    before = httpx.get(slow_llm.removesuffix("/v1") + "/stats").json()

    started = time.perf_counter()
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        concurrent = dict(zip(QUESTIONS, pool.map(lambda q: stable(guarded.ask(q)), QUESTIONS), strict=True))
    concurrent_s = time.perf_counter() - started
    stats = httpx.get(slow_llm.removesuffix("/v1") + "/stats").json()
    print(f"\n8 questions: sequential {sequential_s:.1f} s, 8 clients {concurrent_s:.1f} s, stats {stats}")
    assert concurrent == sequential
    drafted = stats["requests"] - before["requests"]
    assert drafted >= 6  # most questions reach the LLM (the rest are answered or refused before it)
    # Every question that reached the LLM was waiting on it at the same time: nothing in chipqa serialised them.
    assert stats["max_in_flight"] == drafted


def test_the_local_model_answers_one_question_at_a_time(seed_app: ChipQA, tmp_path: Path) -> None:
    """Guarded holds a lock around questions for the local llama.cpp model only."""
    inside, most = [0], [0]
    lock = threading.Lock()

    class Recording:
        label = "local:recording"

        def stream(self, prompt: str) -> Iterator[str]:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.2)
            with lock:
                inside[0] -= 1
            yield "No figure here."

    def concurrency_with(mode: str) -> int:
        inside[0] = most[0] = 0
        app = ChipQA(
            seed_app.settings.model_copy(update={"llm": mode}),
            store=seed_app.store,
            embed_model=seed_app.embed_model,
            retriever=seed_app.retriever,
            llms={mode: Recording()},  # type: ignore[dict-item]
        )
        guarded = Guarded(app)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(guarded.ask, QUESTIONS[:4]))
        return most[0]

    assert concurrency_with("local") == 1
    assert concurrency_with("openai-compatible") > 1
