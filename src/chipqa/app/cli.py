"""The `chipqa` command line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from chipqa.core.errors import ChipQAError

if TYPE_CHECKING:
    from chipqa.core.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.ensure_object(dict)["settings"]
    return settings


def _app(ctx: click.Context) -> Any:
    from chipqa.app.service import ChipQA

    obj = ctx.ensure_object(dict)
    if "app" not in obj:
        obj["app"] = ChipQA(_settings(ctx))
    return obj["app"]


def _progress_bar(label: str) -> Callable[[Any], None]:
    """An ingest's progress on stderr, created on the first update: a bar over chunks (rate and ETA, with the
    total estimated until every file is read) and the files done."""
    state: dict[str, Any] = {}

    def update(p: Any) -> None:
        from tqdm import tqdm

        if "bar" not in state:
            if not p.chunks_done:
                return  # nothing written yet: unchanged files go by without a bar
            # Not on a terminal (CI logs), the bar still reports, but only every 15 s.
            interval = 0.1 if sys.stderr.isatty() else 15.0
            state["bar"] = tqdm(
                total=p.chunks_total, desc=label, unit="chunk", file=sys.stderr, leave=False, mininterval=interval
            )
        bar = state["bar"]
        bar.total = p.chunks_total
        bar.set_postfix_str(f"{p.files_done:,}/{p.files_total:,} files", refresh=False)
        bar.update(p.chunks_done - bar.n)
        if p.files_done >= p.files_total:
            bar.close()

    return update


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """chipqa: ask questions about AI-chip purchases; every figure comes with the passage it rests on."""
    from chipqa.core.settings import load_settings  # pydantic-settings is not needed for --help

    ctx.ensure_object(dict)["debug"] = debug
    ctx.obj["settings"] = load_settings(debug=debug or None)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
@click.option("--reset", is_flag=True, help="Rebuild the index from scratch.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], prune: bool, reset: bool) -> None:
    """Add or update documents in the index (default: the corpus folder, seeds/)."""
    from chipqa.core.errors import InputError

    for path in paths:  # before any model loads
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
    app = _app(ctx)
    report = app.ingest(list(paths) or None, prune=prune, reset=reset, watch=_progress_bar("embedding"))
    click.echo(_render().format_ingest(report))
    if report.interrupted:
        click.echo("interrupted after the batch being written; run the same command again to continue", err=True)
        ctx.exit(130)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer record as JSON.")
@click.option("--top-k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.option(
    "--llm",
    type=click.Choice(["local", "openai-compatible", "openai", "none"]),
    default=None,
    help="LLM backend for this question (default: CHIPQA_LLM).",
)
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, top_k: int | None, llm: str | None) -> None:
    """Answer QUESTION from the indexed articles, with cited passages."""
    from chipqa.answering.understand import validate

    settings = _settings(ctx)
    validate(question, settings.max_question_chars)  # fail fast, before any model loads
    app = _app(ctx)
    app.preload(llm)  # the LLM's weights load on the second core while Chroma and LlamaIndex import
    report = app.ensure_index(watch=_progress_bar("building index from seeds/"))
    if report is not None:
        click.echo(f"index built: {report.summary()}", err=True)
    draft = _Draft(sys.stderr.isatty() and not as_json)
    result = app.ask(question, top_k=top_k, llm=llm, on_token=draft.on_token)
    draft.clear()
    if as_json:
        click.echo(json.dumps(result.answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(_render().format_answer(result.answer, publishers=_publishers(app)))
    ctx.obj["nothing_to_save"] = report is None


# Earlier turns a follow-up is resolved against (the last one matters most; a few more keep chains working).
CHAT_TURNS = 10


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one answer record (JSON) a line.")
@click.option("--top-k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.option(
    "--llm",
    type=click.Choice(["local", "openai-compatible", "openai", "none"]),
    default=None,
    help="LLM backend (default: CHIPQA_LLM).",
)
@click.pass_context
def chat(ctx: click.Context, as_json: bool, top_k: int | None, llm: str | None) -> None:
    """Answer questions one a line, each in the context of the earlier ones ("And Meta?").

    On a terminal it prompts; from a pipe it reads plain lines. An empty line is skipped; end with Ctrl-D."""
    from chipqa.answering.conversation import Turn

    app = _app(ctx)
    app.preload(llm)
    interactive = sys.stdin.isatty()
    report = app.ensure_index(watch=_progress_bar("building index from seeds/"))
    if report is not None:
        click.echo(f"index built: {report.summary()}", err=True)
    history: list[Turn] = []
    while True:
        if interactive:
            click.echo("question> ", err=True, nl=False)
        line = sys.stdin.readline()
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if interactive and question.lower() in ("exit", "quit"):
            break
        draft = _Draft(interactive and sys.stderr.isatty() and not as_json)
        try:
            result = app.ask(question, top_k=top_k, llm=llm, on_token=draft.on_token, history=history)
        except ChipQAError as exc:  # one bad question does not end the conversation
            draft.clear()
            click.echo(f"chipqa: error: {exc}", err=True)
            continue
        draft.clear()
        answer = result.answer
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            click.echo(_render().format_answer(answer, publishers=_publishers(app)))
            click.echo("")
        resolved = answer.resolved_question or answer.question
        history = [*history, Turn(answer.question, answer.answer, resolved)][-CHAT_TURNS:]
    ctx.obj["nothing_to_save"] = report is None


class _Draft:
    """The draft streaming on stderr (figures are held back until verified); stdout gets the final answer."""

    def __init__(self, enabled: bool) -> None:
        self.shown: list[str] = []
        self.on_token = self._show if enabled else None

    def _show(self, delta: str) -> None:
        self.shown.append(delta)
        tail = "".join(self.shown).replace("\n", " ")[-70:]
        click.echo(f"\r\x1b[2K\x1b[2m{tail}\x1b[0m", err=True, nl=False)

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\x1b[2K", err=True, nl=False)
            self.shown.clear()


def _publishers(app: Any) -> dict[str, str]:
    """Publisher names by document id, for the sources list (absent when the index cannot be read)."""
    try:
        return {d: r.publisher for d, r in app.store.documents().items() if r.publisher}
    except ChipQAError:
        return {}


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show where the index is, what it holds, and which models answer."""
    click.echo(_render().format_status(_app(ctx).status()))


@cli.command(name="eval")
@click.option(
    "--questions",
    type=click.Path(path_type=Path),
    default=None,
    help="A questions file to run against the index (default: every suite of eval/suites.toml).",
)
@click.option("--suite", "suites", multiple=True, help="Run only this suite (repeatable).")
@click.option("--output", type=click.Path(path_type=Path), default=None, help="Write the full results as JSON.")
@click.option("--baseline", is_flag=True, help="Also score the plain LlamaIndex recipe, side by side.")
@click.option("--llm", type=click.Choice(["local", "openai-compatible", "openai", "none"]), default=None)
@click.option("--no-report", is_flag=True, help="Do not write eval/reports/ (reports and history.jsonl).")
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    questions: Path | None,
    suites: tuple[str, ...],
    output: Path | None,
    baseline: bool,
    llm: str | None,
    no_report: bool,
) -> None:
    """Run the eval through the real pipeline and print the metrics; exit non-zero below the gate.

    Without --questions, every suite of eval/suites.toml runs against an index of its own corpus (seeds,
    dev-tune, dev-test, grown) and the table shows them side by side."""
    if questions is not None:
        from chipqa.evaluation.harness import run_eval_command

        code = run_eval_command(_app(ctx), questions, output, baseline=baseline, llm=llm, write_reports=not no_report)
    else:
        from chipqa.evaluation.suites import run_suites_command

        code = run_suites_command(
            _app(ctx), suites, output=output, baseline=baseline, llm=llm, write_reports=not no_report
        )
    ctx.exit(code)


@cli.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 7860).")
@click.option("--share", is_flag=True, help="Create a public Gradio share link (off by default).")
@click.pass_context
def ui(ctx: click.Context, host: str | None, port: int | None, share: bool) -> None:
    """Start the web UI and the JSON API in one server."""
    from chipqa.app.web.server import serve

    serve(_app(ctx), host=host, port=port, share=share)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--quick", is_flag=True, help="Small sizes and few repeats (for CI).")
@click.option(
    "--scale", is_flag=True, help="Only quality at scale: generated corpora of 100, 1,000 and 2,000 articles."
)
@click.option("--articles", type=int, multiple=True, help="Generated corpus sizes for quality at scale.")
@click.option("--chunks", type=int, multiple=True, help="Synthetic corpus sizes in chunks (retrieval latency).")
@click.pass_context
def bench(
    ctx: click.Context, as_json: bool, quick: bool, scale: bool, articles: tuple[int, ...], chunks: tuple[int, ...]
) -> None:
    """Measure ingest, retrieval, answer latency, concurrency, cold start, memory and scaling."""
    from chipqa.evaluation.bench import run_bench_command

    code = run_bench_command(
        _settings(ctx), as_json=as_json, quick=quick, scale=scale, chunks=list(chunks), articles=list(articles)
    )
    ctx.exit(code)


def _render() -> Any:
    from chipqa.app import render

    return render


def main() -> None:
    """Entry point: user errors print one line on stderr and exit 1; --debug shows the traceback.

    click's standalone mode handles only its own exceptions; chipqa's errors (ChipQAError) are caught here so that
    they, too, print one line and no traceback."""
    from chipqa.index.embedding import offline

    offline()
    from chipqa.core.environment import env_flag

    debug = "--debug" in sys.argv or env_flag("CHIPQA_DEBUG")
    state: dict[str, Any] = {}
    try:
        code = cli.main(standalone_mode=False, obj=state)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ChipQAError as exc:
        if debug:
            raise
        click.echo(f"chipqa: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    # In non-standalone mode click returns ctx.exit()'s code instead of exiting; the gate depends on it.
    code = code if isinstance(code, int) else 0
    if state.get("nothing_to_save"):
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """Exit without tearing the interpreter down, after a command that wrote nothing.

    Finalization frees llama.cpp, ONNX Runtime, Chroma and a few million Python objects: ~0.6 s of a cold
    `chipqa ask` (measured with py-spy), spent after the answer is printed and before the shell gets its prompt.
    """
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
