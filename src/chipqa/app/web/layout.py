"""The Blocks app: Ask (chat, sources, settings) and Documents (table, upload, remove), and the public /ask API.

Questions go through a queue in the page (static/chipqa.js): Enter, Ask and the examples put a question in
it, and the page sends the next one to the hidden `run` event when the previous answer is done. So a
question sent while another is answered waits, visibly, instead of being dropped, and the text box is
never written by an answer (what is typed while one streams stays).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from chipqa.app.web.callbacks import Callbacks
from chipqa.app.web.render import esc
from chipqa.app.web.sources import render_sources
from chipqa.ingest import uploads

if TYPE_CHECKING:
    from chipqa.app.api import Guarded
    from chipqa.core.settings import Settings

EXAMPLES = (
    "How many Hopper GPUs did Microsoft buy?",
    "How much will ByteDance spend on AI chips in 2025?",
    "What share of AI hardware spending did Nvidia capture in 2024?",
    "How many GPUs did Apple buy?",
)
# The header is refreshed this often (seconds) until the index and models are ready.
STATUS_POLL_S = 1.0


def backend_choices(settings: Settings) -> list[tuple[str, str]]:
    """LLM backends a person can switch to: the bundled model, none, and remote ones only when configured."""
    from urllib.parse import urlparse

    choices = [("Local: Gemma 3 270M (bundled)", "local"), ("None: extractive, no LLM", "none")]
    if settings.llm_base_url and settings.llm_model:
        host = urlparse(settings.llm_base_url).hostname or "server"  # never show credentials in a URL
        choices.append((f"OpenAI-compatible: {settings.llm_model} @ {host}", "openai-compatible"))
    if settings.llm == "openai" or settings.llm_api_key:
        choices.append((f"OpenAI: {settings.llm_model or 'gpt-4o-mini'}", "openai"))
    if settings.llm not in {v for _, v in choices}:
        choices.append((settings.llm, settings.llm))
    return choices


def _examples_html() -> str:
    buttons = "".join(f'<button type="button" class="example" data-q="{esc(q)}">{esc(q)}</button>' for q in EXAMPLES)
    return f'<div class="examples"><span class="examples-label">Try:</span>{buttons}</div>'


def build_ui(guarded: Guarded) -> gr.Blocks:
    settings = guarded.settings
    cb = Callbacks(guarded)
    with gr.Blocks(title="chipqa", analytics_enabled=False) as demo:
        gr.Markdown(
            "# chipqa\nFigures on AI-chip purchases, each checked against the passage it comes from.",
            elem_id="title",
        )
        status = gr.Markdown("", elem_id="status")
        status_timer = gr.Timer(STATUS_POLL_S)
        turns = gr.State([])
        convo = gr.State([])
        with gr.Tabs():
            with gr.Tab("Ask", id="ask-tab", elem_id="ask-tab"), gr.Row(equal_height=False, elem_id="ask-row"):
                with gr.Column(scale=3, min_width=420, elem_id="chat-col"):
                    chat = gr.Chatbot(
                        elem_id="chat",
                        show_label=False,
                        height=540,
                        latex_delimiters=[],
                        feedback_options=None,
                        buttons=[],  # our own Copy button copies the answer as text, with its sources
                        # Every piece of text in a message is escaped by render_*; the sanitizer
                        # would also strip the data-* attributes that tie [n] markers to their source cards.
                        sanitize_html=False,
                        placeholder="Ask about GPU purchases, AI-chip spending or export rules. "
                        "Follow-ups work: “And Meta?”",
                    )
                    with gr.Row(elem_id="input-row"):
                        gr.Textbox(
                            elem_id="question",
                            show_label=False,
                            scale=8,
                            lines=1,
                            max_lines=4,
                            max_length=settings.max_question_chars,
                            autofocus=True,
                            placeholder="e.g. How many Hopper GPUs did Microsoft buy?",
                        )
                        gr.Button("Ask", elem_id="ask", variant="primary", scale=1, min_width=70)
                        stop = gr.Button("Stop", elem_id="stop", variant="stop", scale=1, min_width=70)
                    gr.HTML('<div id="queued-list" aria-live="polite"></div>', elem_id="queued")
                    gr.HTML(_examples_html(), elem_id="examples")
                    # The page's queue hands the next question to this hidden pair (see the module docstring).
                    pending = gr.Textbox(elem_id="pending-q", visible="hidden")
                    run = gr.Button("run", elem_id="run-q", visible="hidden")
                with gr.Column(scale=2, min_width=320, elem_id="sources-col"):
                    sources = gr.HTML(render_sources([]), elem_id="sources")
                    with gr.Accordion("Settings", open=False, elem_id="settings"):
                        llm = gr.Dropdown(
                            backend_choices(settings),
                            value=settings.llm,
                            label="LLM backend",
                            info="Drafts the sentence; figures are always verified against the sources.",
                            elem_id="llm",
                        )
                        top_k = gr.Slider(
                            1, 50, value=settings.top_k, step=1, label="Passages retrieved (top-k)", elem_id="top-k"
                        )
                        gr.Markdown("Changes apply to the next question.")
            with gr.Tab("Documents", id="docs-tab", elem_id="docs-tab") as docs_tab:
                gr.Markdown(
                    f"Uploads are saved in `{settings.uploads_dir}` (not the corpus folder `{settings.corpus_dir}`) "
                    f"and indexed right away. Accepted: {', '.join(uploads.ALLOWED_SUFFIXES)}, up to "
                    f"{settings.max_upload_mb:g} MB each."
                )
                table = gr.HTML("", elem_id="documents")
                with gr.Row(equal_height=False):
                    upload = gr.File(
                        label="Add documents",
                        file_types=list(uploads.ALLOWED_SUFFIXES),
                        file_count="multiple",
                        elem_id="upload",
                        height=150,
                    )
                    with gr.Column():
                        choice = gr.Dropdown([], label="A document", elem_id="doc-choice")
                        choice_info = gr.Markdown("", elem_id="doc-choice-info")
                        with gr.Row():
                            remove = gr.Button("Remove from index…", elem_id="remove", interactive=False)
                            delete = gr.Button(
                                "Delete uploaded file…", elem_id="delete", variant="stop", interactive=False
                            )
                        confirm_text = gr.Markdown("", elem_id="confirm-text")
                        with gr.Row(visible=False, elem_id="confirm-remove-row") as confirm_remove_row:
                            confirm_remove = gr.Button("Yes, remove it from the index", elem_id="confirm-remove")
                            cancel_remove = gr.Button("Cancel", elem_id="cancel-remove")
                        with gr.Row(visible=False, elem_id="confirm-delete-row") as confirm_delete_row:
                            confirm_delete = gr.Button("Yes, delete the file", variant="stop", elem_id="confirm-delete")
                            cancel_delete = gr.Button("Cancel", elem_id="cancel-delete")
                doc_status = gr.Markdown("", elem_id="doc-status")

        run.click(
            cb.respond,
            inputs=[pending, chat, turns, convo, llm, top_k],
            outputs=[chat, sources, turns, convo, status],
            show_progress="hidden",
            trigger_mode="multiple",
            api_visibility="private",
        ).then(None, js="() => window.chipqa && window.chipqa.done()", api_visibility="private")
        stop.click(cb.stop, queue=False, api_visibility="private")
        chat.clear(lambda: (render_sources([]), [], []), outputs=[sources, turns, convo], api_visibility="private")
        gr.api(cb.api_ask, api_name="ask")

        docs_outputs = [table, choice, status]
        confirms = [confirm_remove_row, confirm_delete_row]
        upload.upload(cb.upload, inputs=upload, outputs=[upload, doc_status, *docs_outputs], api_visibility="private")
        choice.change(
            cb.choose, inputs=choice, outputs=[remove, delete, choice_info, *confirms], api_visibility="private"
        )
        remove.click(
            lambda d: cb.confirm_prompt(d, "remove"), choice, [confirm_text, *confirms], api_visibility="private"
        )
        delete.click(
            lambda d: cb.confirm_prompt(d, "delete"), choice, [confirm_text, *confirms], api_visibility="private"
        )
        for cancel in (cancel_remove, cancel_delete):
            cancel.click(lambda: ("", *cb._closed()), outputs=[confirm_text, *confirms], api_visibility="private")
        confirm_remove.click(cb.remove, choice, [doc_status, *confirms, *docs_outputs], api_visibility="private").then(
            lambda: "", outputs=confirm_text, api_visibility="private"
        )
        confirm_delete.click(cb.delete, choice, [doc_status, *confirms, *docs_outputs], api_visibility="private").then(
            lambda: "", outputs=confirm_text, api_visibility="private"
        )
        docs_tab.select(cb.documents, outputs=docs_outputs, api_visibility="private")
        status_timer.tick(cb.poll_status, outputs=[status, status_timer], api_visibility="private")
        demo.load(cb.documents, outputs=docs_outputs, api_visibility="private")
    return demo
