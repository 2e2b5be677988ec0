"""The JSON API (/api/ask, /api/health, /api/documents), its error shape, basic auth, and serialized access.

Errors are always `{"error": message}`: a ChipQAError's message with its status code, a generic
"internal error" (logged, never a stack trace) for anything else.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from chipqa.answering.question import validate
from chipqa.core.errors import BackendError, ChipQAError, ConfigError, IndexError_, InputError

if TYPE_CHECKING:
    from chipqa.answering.answer import AskResult, OnToken
    from chipqa.app.service import ChipQA
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

    @property
    def ready(self) -> bool:
        return self._ready

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        with self._ready_lock:  # concurrent first questions wait for one build
            if self._ready:
                return
            with self._writer:
                report = self.app.ensure_index()
            if report is not None:
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
        self, question: str, top_k: int | None = None, llm: str | None = None, on_token: OnToken | None = None
    ) -> AskResult:
        validate(question, self.settings.max_question_chars)  # a bad question need not wait for anything
        self._ensure_ready()
        if (llm or self.settings.llm) == "local":
            with self._local_llm:  # llama.cpp is not thread-safe
                return self.app.ask(question, top_k=top_k, llm=llm, on_token=on_token)
        return self.app.ask(question, top_k=top_k, llm=llm, on_token=on_token)

    def ingest(self, paths: list[Path], progress: Progress | None = None) -> IngestReport:
        with self._writer:
            report = self.app.ingest(paths, progress=progress)
            self._ready = True
            return report

    def remove(self, doc_id: str) -> int:
        with self._writer:
            return self.app.indexer().remove(doc_id)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in plain language.")
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default: CHIPQA_TOP_K).")
    llm: Literal["local", "openai-compatible", "openai", "none"] | None = Field(
        None, description="LLM backend for this question (default: CHIPQA_LLM)."
    )


def health(guarded: Guarded) -> dict[str, Any]:
    """Index size and models; "degraded" when the index is empty, unreadable or not built yet."""
    problems = [guarded.problem] if guarded.problem else []
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
        if not st.get("documents"):
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


def documents(guarded: Guarded) -> list[dict[str, Any]]:
    docs = guarded.app.store.documents()
    return [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "date": d.date,
            "chunks": d.chunks,
            "ingested_at": d.ingested_at,
        }
        for d in sorted(docs.values(), key=lambda d: d.doc_id)
    ]


ENDPOINTS = {"ask": "POST", "health": "GET", "documents": "GET"}


def api_router(guarded: Guarded) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.post("/ask")
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question; the response is the answer record of DESIGN.md."""
        result = await run_in_threadpool(guarded.ask, body.question, body.top_k, body.llm)
        return result.answer.to_dict()

    @router.get("/health")
    async def get_health() -> dict[str, Any]:
        return await run_in_threadpool(health, guarded)

    @router.get("/documents")
    async def get_documents() -> list[dict[str, Any]]:
        return await run_in_threadpool(documents, guarded)

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


def parse_auth(spec: str) -> tuple[str, str]:
    """'user:password' → (user, password); ConfigError (without echoing the value) when malformed."""
    user, sep, password = spec.partition(":")
    if not sep or not user or not password:
        raise ConfigError("CHIPQA_UI_AUTH must look like user:password")
    return user, password


class BasicAuth:
    """ASGI middleware: every HTTP request needs the one user and password, compared in constant time."""

    def __init__(self, app: ASGIApp, user: str, password: str, realm: str = "chipqa") -> None:
        self.app = app
        self._expected = (user.encode(), password.encode())
        self._realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse(
            {"error": "authentication required"},
            status_code=401,
            headers={"WWW-Authenticate": f'Basic realm="{self._realm}", charset="UTF-8"'},
        )
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # Both comparisons always run, so timing does not reveal which part was wrong.
        ok_user = secrets.compare_digest(user, self._expected[0])
        ok_password = secrets.compare_digest(password, self._expected[1])
        return bool(sep) and ok_user and ok_password


def add_basic_auth(app: FastAPI, spec: SecretStr | str | None) -> bool:
    """Protect the whole server (API and UI) when spec is set; returns whether auth is on."""
    if not spec:
        return False
    user, password = parse_auth(spec.get_secret_value() if isinstance(spec, SecretStr) else spec)
    app.add_middleware(BasicAuth, user=user, password=password)
    return True
