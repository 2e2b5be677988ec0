"""Gradio event handlers over one Guarded ChipQA: the chat, Stop, documents, uploads and removals.

(No `from __future__ import annotations` here: Gradio reads these signatures' types at run time, to inject
gr.Request and to describe the public /ask endpoint.)
"""

import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from chipqa.answering.conversation import Turn
from chipqa.app.api import Guarded, document_info, documents, health
from chipqa.app.web.render import (
    SourceDoc,
    Timing,
    esc,
    render_answer,
    render_building,
    render_error,
    render_pending,
    render_stopped,
)
from chipqa.app.web.sources import documents_table, format_status, render_sources, render_turn_sources
from chipqa.core.errors import ChipQAError
from chipqa.core.models import Answer
from chipqa.ingest import uploads

log = logging.getLogger("chipqa.server")

# Sources of this many recent answers stay in the panel, so older [n] markers remain clickable.
KEPT_TURNS = 20
# Earlier turns a follow-up is resolved against.
CONVERSATION_TURNS = 10
# How often the chat looks at a running answer (draft tokens, index build progress, Stop).
POLL_S = 0.2


class _Stopped(Exception):
    """Raised from the token callback when the person pressed Stop: generation ends at the next token."""


class Callbacks:
    """Event handlers; one instance per server, state per browser session in Gradio's State."""

    def __init__(self, guarded: Guarded) -> None:
        self.g = guarded
        self.settings = guarded.settings
        self._stops: dict[str, threading.Event] = {}

    # -- chat --

    def respond(
        self,
        question: str,
        chat: list[dict[str, Any]],
        turns: list[tuple[int, str]],
        convo: list[dict[str, str]],
        llm: str,
        top_k: float,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        """Answer one question in the conversation, streaming the draft, then the verified answer.

        ChipQA.ask reports tokens through a callback (the answering contract), so the ask runs on a worker
        thread and this generator drains its queue; a generator cannot pull from a callback without one.
        Measured cost: none (bundled LLM, 12 questions interleaved with direct asks: median 958 ms here vs
        1,259 ms direct, first draft shown at 84 ms vs first token at 333 ms; load average ~5 on 2 cores)."""
        chat, turns, convo = list(chat or []), list(turns or []), list(convo or [])
        question = (question or "").strip()
        if not question:
            yield chat, render_sources(turns), turns, convo, gr.skip()
            return
        turn = (turns[-1][0] + 1) if turns else 1
        chat.append({"role": "user", "content": esc(question)})
        chat.append({"role": "assistant", "content": render_pending("")})
        yield chat, render_sources(turns), turns, convo, gr.skip()

        stop = threading.Event()
        session = request.session_hash or ""
        self._stops[session] = stop
        tokens: queue.Queue[str | None] = queue.Queue()
        outcome: dict[str, Any] = {}
        history = [Turn(t["question"], t.get("answer", ""), t.get("resolved_question", "")) for t in convo]

        def on_token(delta: str) -> None:
            if stop.is_set():
                raise _Stopped
            tokens.put(delta)

        def work() -> None:
            try:
                outcome["result"] = self.g.ask(
                    question, top_k=int(top_k), llm=llm or None, on_token=on_token, history=history
                )
            except _Stopped:
                outcome["stopped"] = True
            except ChipQAError as exc:
                outcome["error"] = str(exc)
            except Exception:
                log.exception("answering %r failed", question[:80])
                outcome["error"] = "internal error; the server log has the details"
            finally:
                tokens.put(None)

        started = time.monotonic()
        threading.Thread(target=work, name="chipqa-ask", daemon=True).start()
        draft, shown, done = "", "", False
        while not done and not stop.is_set():
            try:
                item: str | None = tokens.get(timeout=POLL_S)
            except queue.Empty:
                item = ""
            while True:  # take everything already queued, so the UI is not updated once per token
                if item is None:
                    done = True
                    break
                draft += item
                try:
                    item = tokens.get_nowait()
                except queue.Empty:
                    break
            build = self.g.build
            bubble = (
                render_building(build.done, build.total, str(self.settings.corpus_dir)) if build else None
            ) or render_pending(draft)
            if not done and bubble != shown:
                shown = bubble
                chat[-1] = {"role": "assistant", "content": bubble}
                yield chat, render_sources(turns), turns, convo, gr.skip()

        if self._stops.get(session) is stop:
            del self._stops[session]
        status = self.status()
        if stop.is_set() or outcome.get("stopped"):
            chat[-1] = {"role": "assistant", "content": render_stopped(draft)}
            yield chat, render_sources(turns), turns, convo, status
            return
        if "error" in outcome:
            chat[-1] = {"role": "assistant", "content": render_error(outcome["error"])}
            yield chat, render_sources(turns), turns, convo, status
            return
        answer: Answer = outcome["result"].answer
        built_at = self.g.built_at
        build_ms = (built_at - started) * 1000 if built_at is not None and built_at >= started else 0.0
        timing = Timing((time.monotonic() - started) * 1000, build_ms)
        docs = self._source_docs(answer)
        chat[-1] = {"role": "assistant", "content": render_answer(answer, turn, docs, timing)}
        turns = [*turns, (turn, render_turn_sources(answer, turn, docs))][-KEPT_TURNS:]
        resolved = answer.resolved_question or answer.question
        convo = [*convo, {"question": answer.question, "answer": answer.answer, "resolved_question": resolved}]
        yield chat, render_sources(turns), turns, convo[-CONVERSATION_TURNS:], status

    def stop(self, request: gr.Request) -> None:
        """Stop this session's running answer (Stop button; runs outside the queue)."""
        event = self._stops.get(request.session_hash or "")
        if event is not None:
            event.set()

    def _source_docs(self, answer: Answer) -> dict[str, SourceDoc]:
        docs: dict[str, SourceDoc] = {}
        for c in [*answer.citations, *answer.related]:
            if c.doc_id in docs:
                continue
            try:
                record = self.g.app.store.document(c.doc_id)
            except ChipQAError:
                record = None
            if record is None:
                docs[c.doc_id] = SourceDoc(None)
            else:
                file = Path(record.source).name if record.source else None
                docs[c.doc_id] = SourceDoc(record.text, record.date, record.publisher, file)
        return docs

    def api_ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        top_k: int | None = None,
        llm: str | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the indexed articles; returns the answer record (chipqa's DESIGN.md).

        history: earlier turns, oldest first, as {"question": ..., "answer": ...}; a follow-up such as
        "And Meta?" is resolved against them (see resolved_question). top_k: passages (1-50). llm: local,
        openai-compatible, openai or none."""
        if top_k is not None and not 1 <= int(top_k) <= 50:
            raise gr.Error("top_k must be between 1 and 50")
        if llm not in (None, "", "local", "openai-compatible", "openai", "none"):
            raise gr.Error("llm must be local, openai-compatible, openai or none")
        turns = [
            Turn(str(t.get("question", "")), str(t.get("answer", "")), str(t.get("resolved_question") or ""))
            for t in (history or [])[-CONVERSATION_TURNS:]
            if isinstance(t, dict)
        ]
        try:
            result = self.g.ask(question, top_k=top_k or None, llm=llm or None, history=turns)
        except ChipQAError as exc:
            raise gr.Error(str(exc)) from None
        return result.answer.to_dict()

    # -- header, documents --

    def status(self) -> str:
        return format_status(health(self.g))

    def poll_status(self) -> tuple[str, Any]:
        """The header while chipqa starts; the timer switches itself off once the index is ready."""
        return self.status(), gr.Timer(active=not self.g.ready)

    def documents(self) -> tuple[Any, ...]:
        """The documents table, the removal choices, and the header."""
        try:
            docs = documents(self.g)
        except ChipQAError as exc:
            return f'<div class="doc-empty">⚠ {esc(exc)}</div>', gr.update(choices=[], value=None), self.status()
        choices = sorted((f"{d['title'][:70]} ({d['doc_id']})", d["doc_id"]) for d in docs)
        return documents_table(docs), gr.update(choices=choices, value=None), self.status()

    def choose(self, doc_id: str | None) -> tuple[Any, ...]:
        """What can be done with the chosen document; the confirmations close."""
        info = self._info(doc_id)
        deletable = bool(info and info["deletable"])
        hint = ""
        if info:
            where = {"upload": "the uploads folder", "corpus": "the corpus folder"}.get(info["origin"], "its folder")
            hint = f"File: {esc(info['file'] or '?')} in {where}."
        return (
            gr.update(interactive=bool(info)),
            gr.update(interactive=deletable),
            hint,
            gr.update(visible=False),
            gr.update(visible=False),
        )

    def confirm_prompt(self, doc_id: str | None, action: str) -> tuple[Any, ...]:
        """Open the confirmation that names the document (action: "remove" or "delete")."""
        info = self._info(doc_id)
        if info is None:
            return "Choose a document first.", gr.update(visible=False), gr.update(visible=False)
        title = f"“{esc(info['title'])}” ({esc(info['doc_id'])})"
        if action == "remove":
            text = (
                f"Remove {title} from the index? Its {info['chunks']} chunks are dropped; the file "
                f"{esc(info['file'] or '')} stays where it is, and `chipqa ingest` adds it back."
            )
            return text, gr.update(visible=True), gr.update(visible=False)
        text = (
            f"Delete the uploaded file {esc(info['file'] or '')} of {title} and remove it from the index? "
            "The file is gone for good."
        )
        return text, gr.update(visible=False), gr.update(visible=True)

    def remove(self, doc_id: str | None) -> tuple[Any, ...]:
        """Remove a document's chunks from the index; its file is never touched."""
        info = self._info(doc_id)
        if info is None:
            return ("Choose a document to remove first.", *self._closed(), *self.documents())
        try:
            chunks = self.g.remove(info["doc_id"])
        except ChipQAError as exc:
            return (f"✗ {esc(exc)}", *self._closed(), *self.documents())
        message = (
            f"✓ Removed **{esc(info['title'])}** ({chunks} chunks) from the index. Its file "
            f"{esc(info['file'] or '')} is untouched; `chipqa ingest` adds it back."
        )
        return (message, *self._closed(), *self.documents())

    def delete(self, doc_id: str | None) -> tuple[Any, ...]:
        """Delete an uploaded file chipqa saved (and its chunks); refused for any other file."""
        info = self._info(doc_id)
        record = self.g.app.store.document(info["doc_id"]) if info else None
        if info is None or record is None or not info["deletable"]:
            return (
                "✗ Only a file chipqa saved from an upload can be deleted here.",
                *self._closed(),
                *self.documents(),
            )
        try:
            self.g.remove(info["doc_id"])
            uploads.delete_upload(self.settings.uploads_dir, record.source)
        except ChipQAError as exc:
            return (f"✗ {esc(exc)}", *self._closed(), *self.documents())
        message = f"✓ Deleted the uploaded file {esc(info['file'])} and removed **{esc(info['title'])}**."
        return (message, *self._closed(), *self.documents())

    def _closed(self) -> tuple[Any, Any]:
        return gr.update(visible=False), gr.update(visible=False)

    def _info(self, doc_id: str | None) -> dict[str, Any] | None:
        if not doc_id:
            return None
        try:
            record = self.g.app.store.document(doc_id)
        except ChipQAError:
            return None
        return document_info(self.g, record) if record is not None else None

    def upload(
        self,
        files: list[str] | str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects a tracker for this default
    ) -> tuple[Any, ...]:
        """Save uploads into the uploads folder (never the corpus folder) and index them."""
        paths = [files] if isinstance(files, str) else list(files or [])
        lines: list[str] = []
        saved: list[Path] = []
        max_bytes = int(self.settings.max_upload_mb * 1e6)
        try:
            taken = set(self.g.app.store.documents())
        except ChipQAError as exc:
            return (None, f"✗ {esc(exc)}", *self.documents())
        for raw in paths:
            name = Path(raw).name
            try:
                target = uploads.save_upload(
                    Path(raw),
                    name,
                    self.settings.uploads_dir,
                    self.settings.max_upload_mb,
                    taken,
                    validate=lambda p: _check_loadable(p, max_bytes),
                )
            except ChipQAError as exc:
                lines.append(f"✗ **{esc(name)}**: {esc(exc)}")
                continue
            taken.add(target.stem)
            saved.append(target)
        if saved:

            def report_progress(done: int, total: int, item: str) -> None:
                progress((done, total), desc=f"embedding {item}", unit="chunks")

            progress(0, desc="indexing")
            try:
                report = self.g.ingest(saved, progress=report_progress)
            except ChipQAError as exc:
                lines.append(f"✗ indexing failed: {esc(exc)}")
            else:
                counts = self.g.app.store.documents()
                for doc_id in report.added + report.updated + report.unchanged:
                    verb = "added" if doc_id in report.added else "updated" if doc_id in report.updated else "unchanged"
                    chunks = counts[doc_id].chunks if doc_id in counts else 0
                    lines.append(f"✓ **{esc(doc_id)}** {verb} ({chunks} chunk{'' if chunks == 1 else 's'})")
                lines.extend(f"✗ **{esc(s.path.name)}**: {esc(s.reason)}" for s in report.skipped)
                lines.append(f"Index: {report.total_documents} documents, {report.total_chunks} chunks.")
        return (None, "  \n".join(lines) or "No file received.", *self.documents())


def _check_loadable(path: Path, max_bytes: int) -> None:
    from chipqa.ingest.loading import load_document

    load_document(path, max_bytes)  # an InputError names what is wrong with the file
