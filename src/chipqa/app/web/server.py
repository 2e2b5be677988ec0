"""The one server that carries the web UI and the JSON API: assembly, start-up, and a background runner.

The JSON API lives under /api (its docs at /api/docs, served from local files: no CDN), each document's
whole text at /documents/{doc_id}, and the Gradio UI at /. Basic auth, when configured, covers all of it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chipqa.app.api import Guarded, add_error_handlers, api_router, document_info
from chipqa.app.middleware import BodyLimit, add_basic_auth
from chipqa.core.errors import ConfigError

if TYPE_CHECKING:
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    from chipqa.app.service import ChipQA

log = logging.getLogger("chipqa.server")

STATIC = Path(__file__).with_name("static")


def _assemble(app: ChipQA, host: str, port: int) -> tuple[FastAPI, gr.Blocks]:
    # Offline-first: Gradio phones home unless told not to. Set here, at start-up, not at import.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr
    from fastapi.responses import HTMLResponse
    from fastapi_offline import FastAPIOffline

    from chipqa.app.web.layout import build_ui
    from chipqa.app.web.sources import document_page

    guarded = Guarded(app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        # The index build and model loads happen once, off the event loop; requests wait on the lock.
        threading.Thread(target=guarded.warm_up, name="chipqa-warm-up", daemon=True).start()
        yield

    # FastAPIOffline serves Swagger UI's own files from its package, so /api/docs works with no network.
    server = FastAPIOffline(
        title="chipqa",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        static_url="/api/docs/static",
    )
    add_error_handlers(server)

    @server.get("/documents/{doc_id}", include_in_schema=False)
    async def whole_document(doc_id: str, start: int | None = None, end: int | None = None) -> HTMLResponse:
        """A document's whole stored text, the span ?start=&end= highlighted (source cards link here)."""
        from starlette.concurrency import run_in_threadpool

        record = await run_in_threadpool(app.store.document, doc_id)
        if record is None:
            return HTMLResponse("<!doctype html><title>Not found</title><p>No such document in the index.", 404)
        return HTMLResponse(document_page(document_info(guarded, record), record.text, start, end))

    server.include_router(api_router(guarded))
    server.add_middleware(BodyLimit, max_bytes=app.settings.api_max_body_kb * 1000)
    add_basic_auth(server, app.settings.ui_auth)
    blocks = build_ui(guarded)
    theme = gr.themes.Default(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )
    gr.mount_gradio_app(
        server,
        blocks,
        path="/",
        server_name=host,
        server_port=port,
        footer_links=["gradio", "settings"],
        max_file_size=int(app.settings.max_upload_mb * 1e6),
        ssr_mode=False,
        mcp_server=False,
        theme=theme,
        css_paths=[STATIC / "chipqa.css"],
        js=(STATIC / "chipqa.js").read_text(encoding="utf-8"),
    )
    return server, blocks


def build_server(app: ChipQA, host: str | None = None, port: int | None = None) -> FastAPI:
    """The FastAPI app: JSON API under /api, the Gradio UI at /, basic auth over both when configured."""
    server, _ = _assemble(app, host or app.settings.ui_host, port or app.settings.ui_port)
    return server


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None


def _configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def serve(app: ChipQA, host: str | None = None, port: int | None = None, share: bool = False) -> None:
    """Run the UI and API in one uvicorn server until interrupted."""
    import uvicorn

    _configure_logging()
    settings = app.settings
    host = host or settings.ui_host
    port = port or settings.ui_port
    _check_port(host, port)
    server_app, blocks = _assemble(app, host, port)
    if settings.ui_auth:
        log.info("basic auth is on for the UI and the API")
    elif not is_loopback(host):
        log.warning(
            "listening on %s without authentication: anyone who can reach it can query and change the index; "
            "set CHIPQA_UI_AUTH=user:password",
            host,
        )
    server = uvicorn.Server(uvicorn.Config(server_app, host=host, port=port, log_level="info"))
    everywhere = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}
    shown = everywhere.get(host) or (f"[{host}]" if ":" in host else host)
    log.info("chipqa UI on http://%s:%d/ — JSON API under /api (docs at /api/docs)", shown, port)
    if share:
        if not settings.ui_auth:
            log.warning("the share link makes this server public; consider CHIPQA_UI_AUTH=user:password")
        threading.Thread(target=_share_link, args=(server, blocks, host, port), daemon=True).start()
    server.run()


def _share_link(server: uvicorn.Server, blocks: gr.Blocks, host: str, port: int) -> None:
    """A public gradio.live tunnel to this server, opened only on request (--share)."""
    from gradio import networking

    while not server.started and not server.should_exit:
        time.sleep(0.1)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        url = networking.setup_tunnel(
            local_host=local,
            local_port=port,
            share_token=blocks.share_token,
            share_server_address=None,
            share_server_tls_certificate=None,
        )
    except Exception as exc:  # the tunnel client raises many kinds; the local server keeps running
        log.warning("could not create a share link: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    log.info("public share link: %s", url)


@dataclass
class RunningServer:
    """A server started in a background thread (tests, notebooks); stop() shuts it down."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_background(app: ChipQA, host: str = "127.0.0.1", port: int = 0, timeout: float = 60.0) -> RunningServer:
    """Start the server in a daemon thread (port 0: any free port) and wait until it accepts connections."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(build_server(app, host, port or None), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="chipqa-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(f"http://{host}:{bound}", server, thread)
