"""The JSON API over a real server: answer records, error shapes, basic auth, and concurrent clients."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from chipqa.app.service import ChipQA
from chipqa.app.web.server import RunningServer, build_server, is_loopback, start_background
from chipqa.core.errors import BackendError, ConfigError
from chipqa.core.settings import Settings
from design import ANSWER_KEYS

QUESTIONS = [
    "How many Hopper GPUs did Microsoft buy?",
    "How much will ByteDance spend on AI chips in 2025?",
    "What share of AI hardware spending did Nvidia capture in 2024?",
    "How many GPUs did Apple buy?",
    "How many Hopper GPUs did Meta buy?",
]
TIMEOUT = httpx.Timeout(180.0)


@pytest.fixture(scope="module")
def server(seed_app: ChipQA) -> Iterator[RunningServer]:
    running = start_background(seed_app)
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
        yield c


def _shared(seed_app: ChipQA, **settings: Any) -> ChipQA:
    """A ChipQA over the session's seed index with other settings (no second index build)."""
    app = ChipQA(
        seed_app.settings.model_copy(update=settings),
        store=seed_app.store,
        embed_model=seed_app.embed_model,
        retriever=seed_app.retriever,
    )
    return app


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "timings_ms"}


def test_ask_returns_the_design_answer_record(client: httpx.Client, seed_app: ChipQA) -> None:
    r = client.post("/api/ask", json={"question": "How many Hopper GPUs did Microsoft buy?"})
    assert r.status_code == 200, r.text
    record = r.json()
    assert set(record) >= ANSWER_KEYS
    assert record["abstained"] is False and record["grounded"] is True
    assert record["figures"][0]["text"] == "485,000"
    assert record["figures"][0]["citations"] == [1]
    assert record["citations"], "an answer with a figure cites its passage"
    for c in record["citations"]:
        doc = seed_app.store.document(c["doc_id"])
        assert doc is not None
        assert c["text"] == doc.text[c["start"] : c["end"]]
    assert "485,000" in record["citations"][0]["text"]
    # The same record as `chipqa ask --json` (one serialized form).
    direct = seed_app.ask("How many Hopper GPUs did Microsoft buy?").answer.to_dict()
    assert _stable(record) == _stable(direct)


def test_ask_accepts_top_k_and_llm(client: httpx.Client) -> None:
    r = client.post("/api/ask", json={"question": "How many GPUs did Apple buy?", "top_k": 3, "llm": "none"})
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["abstained"] is True and record["figures"] == []
    assert record["llm"] == "none (extractive)"


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_question_is_a_400_with_an_error(client: httpx.Client, question: str) -> None:
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 400
    assert r.json() == {"error": "the question is empty"}


def test_too_long_question_is_a_400(client: httpx.Client) -> None:
    r = client.post("/api/ask", json={"question": "why " * 400})
    assert r.status_code == 400
    assert "limit is 1000" in r.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 422, "body"),
        (b"{}", 422, "question: field required"),
        (b'{"question": 5}', 422, "question"),
        (b'["How many?"]', 422, "valid dictionary"),
        (b'{"question": "x", "top_k": 0}', 422, "top_k"),
        (b'{"question": "x", "top_k": "many"}', 422, "top_k"),
        (b'{"question": "x", "llm": "gpt-99"}', 422, "llm"),
        (b'{"question": "x", "extra": 1}', 422, "extra"),
    ],
)
def test_malformed_requests_get_json_errors(client: httpx.Client, body: bytes, status: int, fragment: str) -> None:
    r = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    payload = r.json()
    assert set(payload) == {"error"} and fragment.lower() in payload["error"].lower()
    assert "Traceback" not in r.text


def test_wrong_method_and_unknown_endpoint(client: httpx.Client) -> None:
    r = client.get("/api/ask")
    assert r.status_code == 405 and "error" in r.json()
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.json() == {"error": "no API endpoint /api/nope"}


def test_health(client: httpx.Client, seed_app: ChipQA) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    health = r.json()
    assert health["status"] == "ok", health
    assert health["index"]["documents"] == 5
    assert health["index"]["chunks"] == seed_app.store.count_chunks() > 0
    assert health["models"]["llm"] == "none (extractive)"
    assert "MiniLM" in health["models"]["embedding"]


def test_documents(client: httpx.Client) -> None:
    r = client.get("/api/documents")
    assert r.status_code == 200
    docs = r.json()
    seeds = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))
    assert [d["doc_id"] for d in docs] == seeds
    for d in docs:
        assert set(d) == {
            "doc_id",
            "title",
            "publisher",
            "date",
            "file",
            "origin",
            "deletable",
            "chunks",
            "ingested_at",
        }
        assert d["title"] and d["chunks"] > 0 and d["ingested_at"]
        assert d["file"] == f"{d['doc_id']}.txt" and d["origin"] == "corpus" and d["deletable"] is False
    by_id = {d["doc_id"]: d for d in docs}
    assert by_id["003_bad02566dfda79dc"]["date"] == "2023-07-01"
    assert by_id["000_be9f344685327539"]["publisher"] == "The Daily Guardian"


def test_one_document_with_its_text(client: httpx.Client, seed_app: ChipQA) -> None:
    r = client.get("/api/documents/000_be9f344685327539")
    assert r.status_code == 200
    record = seed_app.store.document("000_be9f344685327539")
    assert record is not None and r.json()["text"] == record.text
    r = client.get("/api/documents/nope")
    assert r.status_code == 404 and r.json() == {"error": "no document 'nope' in the index"}


def test_the_whole_document_page_highlights_a_span(client: httpx.Client, seed_app: ChipQA) -> None:
    record = seed_app.store.document("000_be9f344685327539")
    assert record is not None
    start = record.text.index("Meta acquired")
    r = client.get(f"/documents/000_be9f344685327539?start={start}&end={start + 13}")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert '<mark id="cited">Meta acquired</mark>' in r.text
    assert client.get("/documents/nope").status_code == 404


def test_a_follow_up_in_the_api_is_resolved_against_its_history(client: httpx.Client) -> None:
    first = client.post("/api/ask", json={"question": "How many GPUs did Meta buy in 2024?"}).json()
    assert first["resolved_question"] == first["question"] == "How many GPUs did Meta buy in 2024?"
    history = [{"question": first["question"], "answer": first["answer"]}]
    r = client.post("/api/ask", json={"question": "And Amazon?", "history": history})
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["question"] == "And Amazon?"
    assert record["resolved_question"] == "How many GPUs did Amazon buy in 2024?"
    assert record["figures"][0]["text"] == "196,000"
    # Without the history the same words are answered as asked.
    alone = client.post("/api/ask", json={"question": "And Amazon?"}).json()
    assert alone["resolved_question"] == "And Amazon?"
    bad = client.post("/api/ask", json={"question": "And Amazon?", "history": [{"answer": "x"}]})
    assert bad.status_code == 422 and "history.0.question" in bad.json()["error"]


def test_a_body_over_the_cap_is_a_413_with_a_json_error(client: httpx.Client) -> None:
    huge = {"question": "How many?", "history": [{"question": "q" * 3000, "answer": "a" * 19000}] * 20}
    r = client.post("/api/ask", json=huge)
    assert r.status_code == 413 and r.json() == {"error": "the request body is over the 256 KB limit"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
        yield b'{"question": "'
        for _ in range(300):
            yield b"x" * 1000
        yield b'"}'

    r = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]


def test_the_ui_is_served_at_the_root(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def test_missing_index_is_a_503_and_health_is_degraded(make_app: Callable[..., ChipQA]) -> None:
    app = make_app()  # empty index, and its corpus folder does not exist
    with TestClient(build_server(app)) as c:
        r = c.post("/api/ask", json={"question": "How many Hopper GPUs did Microsoft buy?"})
        assert r.status_code == 503
        assert "does not exist" in r.json()["error"]
        r = c.get("/api/health")
        health = r.json()
        assert r.status_code == 503, "a degraded server must not look healthy to a load balancer"
        assert health["status"] == "degraded" and health["index"]["documents"] == 0
        assert health["problems"]


def test_backend_and_internal_errors_are_json_without_traceback(
    seed_app: ChipQA, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _shared(seed_app)
    c = TestClient(build_server(app), raise_server_exceptions=False)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise BackendError("cannot reach the LLM server at http://10.0.0.9:8000")

    monkeypatch.setattr(app, "ask", unreachable)
    r = c.post("/api/ask", json={"question": "How many Hopper GPUs did Microsoft buy?"})
    assert r.status_code == 502 and r.json() == {"error": "cannot reach the LLM server at http://10.0.0.9:8000"}

    def bug(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(app, "ask", bug)
    r = c.post("/api/ask", json={"question": "How many Hopper GPUs did Microsoft buy?"})
    assert r.status_code == 500 and r.json() == {"error": "internal error"}
    assert "secret internals" not in r.text and "Traceback" not in r.text


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_guards_api_and_ui(seed_app: ChipQA) -> None:
    app = _shared(seed_app, ui_auth="alice:s3cret:with:colons")
    c = TestClient(build_server(app))
    for path in ("/api/health", "/api/documents", "/"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Basic")
        assert r.json() == {"error": "authentication required"}
        assert c.get(path, headers=_basic("alice", "wrong")).status_code == 401
        assert c.get(path, headers=_basic("bob", "s3cret:with:colons")).status_code == 401
        assert c.get(path, headers={"Authorization": "Basic !!!notbase64"}).status_code == 401
        assert c.get(path, headers={"Authorization": "Bearer s3cret:with:colons"}).status_code == 401
        # Authorized: /api/health may say 503 (this client never ran the warm-up), never 401.
        ok = (200, 503) if path == "/api/health" else (200,)
        assert c.get(path, headers=_basic("alice", "s3cret:with:colons")).status_code in ok, path
    r = c.post("/api/ask", json={"question": "How many Hopper GPUs did Microsoft buy?"})
    assert r.status_code == 401 and "s3cret" not in r.text
    r = c.post(
        "/api/ask",
        json={"question": "How many Hopper GPUs did Microsoft buy?"},
        headers=_basic("alice", "s3cret:with:colons"),
    )
    assert r.status_code == 200 and r.json()["figures"][0]["text"] == "485,000"


def test_auth_setting_is_a_secret() -> None:
    settings = Settings(ui_auth="alice:s3cret")
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    assert settings.ui_auth is not None and settings.ui_auth.get_secret_value() == "alice:s3cret"


def test_malformed_auth_setting_fails_without_echoing_it(seed_app: ChipQA) -> None:
    with pytest.raises(ConfigError) as info:
        build_server(_shared(seed_app, ui_auth="onlyapassword"))
    assert "onlyapassword" not in str(info.value)


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.168.1.10")
    assert not is_loopback("example.org")


def test_concurrent_clients_get_the_sequential_answers(client: httpx.Client, server: RunningServer) -> None:
    sequential = {}
    for q in QUESTIONS:
        r = client.post("/api/ask", json={"question": q})
        assert r.status_code == 200, r.text
        sequential[q] = _stable(r.json())

    work = [QUESTIONS[i % len(QUESTIONS)] for i in range(200)]  # issue 6: 8 clients, 200 questions

    def run(worker: int) -> list[tuple[str, int, dict[str, Any]]]:
        out = []
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
            for q in work[worker::8]:
                r = c.post("/api/ask", json={"question": q})
                out.append((q, r.status_code, r.json()))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [item for batch in pool.map(run, range(8)) for item in batch]
    assert len(results) == 200
    errors = [(q, status, body) for q, status, body in results if status != 200]
    assert errors == []
    for q, _, body in results:
        assert _stable(body) == sequential[q], q


def test_first_use_builds_the_index_once(
    make_app: Callable[..., ChipQA], corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(corpus_dir=corpus)
    assert app.index_is_empty()
    caplog.set_level(logging.INFO, logger="chipqa.server")
    running = start_background(app)
    try:

        def ask(_: int) -> httpx.Response:
            with httpx.Client(base_url=running.url, timeout=TIMEOUT) as c:
                return c.post("/api/ask", json={"question": "How many Hopper GPUs did Microsoft buy?"})

        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(ask, range(4)))
    finally:
        running.stop()
    assert [r.status_code for r in responses] == [200] * 4
    assert all(r.json()["figures"][0]["text"] == "485,000" for r in responses)
    builds = [rec for rec in caplog.records if rec.getMessage().startswith("index built")]
    assert len(builds) == 1
    assert len(app.store.documents()) == 5
