"""The JSON API (/api/ask, /api/health, /api/documents), its error shape, and serialized access (Guarded).
Basic auth and the body-size cap are in middleware.py.

Errors are always `{"error": message}`: a ChipQAError's message with its status code, a generic
"internal error" (logged, never a stack trace) for anything else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from chipqa.answering.understand import validate
from chipqa.core.errors import BackendError, ChipQAError, ConfigError, IndexError_, InputError
from chipqa.ingest import uploads

if TYPE_CHECKING:
    from chipqa.answering.conversation import Turn
    from chipqa.answering.pipeline import AskResult, OnToken
    from chipqa.app.service import ChipQA
    from chipqa.index.store import DocRecord
    from chipqa.ingest.indexer import IngestReport, Progress

log = logging.getLogger("chipqa.server")

STATUS_CODES: dict[type[ChipQAError], int] = {
    InputError: 400,
    IndexError_: 503,
    BackendError: 502,
    ConfigError: 500,
}


def status_code(exc: ChipQAError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


@dataclass(frozen=True)
class BuildProgress:
    """How far the first-use index build has got (chunks embedded of those to embed)."""

    done: int
    total: int
    started: float

    def describe(self, corpus: Path) -> str:
        if not self.total:
            return f"building the index from {corpus}: reading the files"
        return f"building the index from {corpus}: {self.done:,} of {self.total:,} chunks embedded"


class Guarded:
    """One ChipQA shared by API and UI requests, locking only what is not thread-safe.

    The local llama.cpp model answers one question at a time, and one ingest or removal writes the index at a
    time (the indexer's file lock also orders writers across processes). Everything else runs concurrently:
    retrieval, questions to a remote LLM or to none, and reads while an ingest writes (a question sees the
    documents committed so far). The index is built from the corpus folder at most once.
    """

    def __init__(self, app: ChipQA) -> None:
        self.app = app
        self.settings = app.settings
        self._writer = threading.Lock()
        self._local_llm = threading.Lock()
        self._ready_lock = threading.Lock()
        self._ready = False
        self.problem: str | None = None
        self.build: BuildProgress | None = None  # set while the first-use build runs
        self.built_at: float | None = None  # time.monotonic() when a first-use build finished

    @property
    def ready(self) -> bool:
        return self._ready

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        with self._ready_lock:  # concurrent first questions wait for one build
            if self._ready:
                return
            started = time.monotonic()

            def track(done: int, total: int, item: str) -> None:
                self.build = BuildProgress(done, total, started)

            if self.app.index_is_empty():
                self.build = BuildProgress(0, 0, started)
            try:
                with self._writer:
                    report = self.app.ensure_index(progress=track)
            finally:
                self.build = None
            if report is not None:
                self.built_at = time.monotonic()
                log.info("index built from %s: %s", self.settings.corpus_dir, report.summary())
            self._ready = True
            self.problem = None

    def warm_up(self) -> None:
        """Build the index if needed and load the retriever and default LLM, so the first question is fast."""
        try:
            self._ensure_ready()
            _ = self.app.retriever
            self.app.generator()
        except ChipQAError as exc:
            self.problem = str(exc)
            log.warning("chipqa is not ready: %s", exc)
        except Exception:
            self.problem = "warm-up failed; see the server log"
            log.exception("warm-up failed")

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        llm: str | None = None,
        on_token: OnToken | None = None,
        history: Sequence[Turn] | None = None,
    ) -> AskResult:
        validate(question, self.settings.max_question_chars)  # a bad question need not wait for anything
        self._ensure_ready()
        if (llm or self.settings.llm) == "local":
            with self._local_llm:  # llama.cpp is not thread-safe
                return self.app.ask(question, top_k=top_k, llm=llm, on_token=on_token, history=history)
        return self.app.ask(question, top_k=top_k, llm=llm, on_token=on_token, history=history)

    def ingest(self, paths: list[Path], progress: Progress | None = None) -> IngestReport:
        with self._writer:
            report = self.app.ingest(paths, progress=progress)
            self._ready = True
            return report

    def remove(self, doc_id: str) -> int:
        with self._writer:
            return self.app.indexer().remove(doc_id)


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=4000, description="An earlier question, as asked.")
    answer: str = Field("", max_length=20_000, description="The answer it got (its text).")
    resolved_question: str | None = Field(
        None, max_length=4000, description="What that question was resolved to, if the client kept it."
    )


# Earlier turns kept for resolving a follow-up; the last few are all it looks at.
MAX_HISTORY = 50


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in plain language.")
    history: list[HistoryTurn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="Earlier turns of the conversation, oldest first; a follow-up such as 'And Meta?' is "
        "resolved against them (see resolved_question in the answer).",
    )
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default: CHIPQA_TOP_K).")
    llm: Literal["local", "openai-compatible", "openai", "none"] | None = Field(
        None, description="LLM backend for this question (default: CHIPQA_LLM)."
    )


def health(guarded: Guarded) -> dict[str, Any]:
    """Index size and models; "degraded" when the index is empty, unreadable or not built yet."""
    problems = [guarded.problem] if guarded.problem else []
    build = guarded.build
    if build is not None:
        problems.append(build.describe(guarded.settings.corpus_dir))
    index: dict[str, Any] = {}
    models: dict[str, Any] = {}
    try:
        st = guarded.app.status()
        index = {
            "documents": st["documents"],
            "chunks": st["chunks"],
            "location": st["index"],
            "mode": st["mode"],
        }
        models = {"embedding": st.get("embedding_model"), "llm": st.get("llm"), "top_k": st.get("top_k")}
        if not st.get("documents") and build is None:
            problems.append("the index holds no documents")
    except ChipQAError as exc:
        problems.append(str(exc))
    if not guarded.ready and not problems:
        problems.append("starting: the index and models are loading")
    return {
        "status": "degraded" if problems else "ok",
        "ready": guarded.ready,
        "index": index,
        "models": models,
        "problems": problems,
    }


def document_info(guarded: Guarded, record: DocRecord) -> dict[str, Any]:
    """What the API and UI show of a document: where it comes from, and whether chipqa may delete its file."""
    settings = guarded.settings
    source = Path(record.source) if record.source else None
    if source is not None and uploads.is_inside(settings.uploads_dir, source):
        origin = "upload"
    elif source is not None and uploads.is_inside(settings.corpus_dir, source):
        origin = "corpus"
    else:
        origin = "other"
    return {
        "doc_id": record.doc_id,
        "title": record.title,
        "publisher": record.publisher,
        "date": record.date,
        "file": source.name if source else None,
        "origin": origin,
        "deletable": origin == "upload" and uploads.saved_by_chipqa(settings.uploads_dir, source),
        "chunks": record.chunks,
        "ingested_at": record.ingested_at,
    }


def documents(guarded: Guarded) -> list[dict[str, Any]]:
    docs = guarded.app.store.documents()
    return [document_info(guarded, d) for d in sorted(docs.values(), key=lambda d: d.doc_id)]


ENDPOINTS = {"ask": "POST", "health": "GET", "documents": "GET"}


def api_router(guarded: Guarded) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.post("/ask")
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question; the response is the answer record of DESIGN.md."""
        from chipqa.answering.conversation import Turn

        history = [Turn(t.question, t.answer, t.resolved_question or "") for t in body.history]
        result = await run_in_threadpool(guarded.ask, body.question, body.top_k, body.llm, None, history)
        return result.answer.to_dict()

    @router.get("/health", responses={503: {"description": "Degraded: the reasons are in `problems`."}})
    async def get_health() -> JSONResponse:
        """Index and model readiness; 503 with the reasons while chipqa cannot answer (empty index, building)."""
        report = await run_in_threadpool(health, guarded)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @router.get("/documents")
    async def get_documents() -> list[dict[str, Any]]:
        return await run_in_threadpool(documents, guarded)

    @router.get("/documents/{doc_id}")
    async def get_document(doc_id: str) -> dict[str, Any]:
        """One document with its stored text (the text citation offsets point into)."""
        record = await run_in_threadpool(guarded.app.store.document, doc_id)
        if record is None:
            raise StarletteHTTPException(404, f"no document '{doc_id}' in the index")
        return {**document_info(guarded, record), "text": record.text}

    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unknown(rest: str, request: Request) -> JSONResponse:
        # Without this, unknown /api paths would fall through to the UI mounted at "/".
        allowed = ENDPOINTS.get(rest.rstrip("/"))
        if allowed:
            return JSONResponse(
                {"error": f"use {allowed} for /api/{rest}"}, status_code=405, headers={"Allow": allowed}
            )
        return JSONResponse({"error": f"no API endpoint /api/{rest}"}, status_code=404)

    return router


def add_error_handlers(app: FastAPI) -> None:
    """Every error leaves as {"error": message}; unexpected ones are logged and never show a traceback."""

    @app.exception_handler(ChipQAError)
    async def chipqa_error(request: Request, exc: ChipQAError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=status_code(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": validation_message(exc.errors())}, status_code=validation_status(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error"}, status_code=500)


def validation_message(errors: Any) -> str:
    """One line from pydantic's error list, e.g. "question: field required"."""
    parts = []
    for err in list(errors)[:3]:
        if err.get("type") == "json_invalid":
            return "the request body is not valid JSON"
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).lower()}")
    return "; ".join(parts) or "invalid request"


def validation_status(errors: Any) -> int:
    return 400 if any(e.get("type") == "json_invalid" for e in errors) else 422
