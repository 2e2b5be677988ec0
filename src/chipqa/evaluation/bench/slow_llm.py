"""A slow OpenAI-compatible completion server for loopback: each completion waits `--delay` seconds, then
answers with the prompt's last "[1]" evidence sentence and the citation [1], streamed word by word.

It stands in for a remote GPU server whose answers take about a second, to show that questions to a remote
LLM run concurrently (`chipqa bench`, tests/test_concurrency.py). Requests are served on threads of their
own, as a real server would serve them in parallel.

    python -m chipqa.evaluation.bench.slow_llm --port 8011 --delay 1.0
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import re
import threading
import time
from typing import Any

MODEL = "slow-echo"
_EVIDENCE = re.compile(r"^\[1\] (.+)$", re.M)


def completion_text(prompt: str) -> str:
    """The answer to a prompt: its last "[1] ..." evidence line with the citation, or a refusal."""
    found = _EVIDENCE.findall(prompt)
    return f"{found[-1].strip()} [1]" if found else "The evidence does not say."


class Stats:
    """Completions served and the most that were in progress at once (GET /stats)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def enter(self) -> None:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {"requests": self.requests, "in_flight": self.in_flight, "max_in_flight": self.max_in_flight}


class Handler(http.server.BaseHTTPRequestHandler):
    delay_s = 1.0
    stats = Stats()
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the bench and the tests read their own output

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.rstrip("/") == "/stats":
            self._json(self.stats.as_dict())
        elif self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "chipqa"}]})
        else:
            self._json({"error": {"message": f"no route {self.path}"}}, status=404)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/completions"):
            self._json({"error": {"message": f"no route {self.path}"}}, status=404)
            return
        if "messages" in body:
            prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        else:
            prompt = body.get("prompt", "")
            prompt = prompt[0] if isinstance(prompt, list) else str(prompt)
        self.stats.enter()
        try:
            time.sleep(self.delay_s)
            self._answer(completion_text(prompt), chat="messages" in body, stream=bool(body.get("stream")))
        finally:
            self.stats.leave()

    def _answer(self, text: str, chat: bool, stream: bool) -> None:
        if stream:
            self._stream(text, chat)
        elif chat:
            message = {"role": "assistant", "content": text}
            self._json(_envelope("chat.completion", [{"index": 0, "message": message, "finish_reason": "stop"}]))
        else:
            self._json(_envelope("text_completion", [{"index": 0, "text": text, "finish_reason": "stop"}]))

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, text: str, chat: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        words = re.findall(r"\S+\s*", text)
        for i, word in enumerate(words):
            last = i == len(words) - 1
            if chat:
                choice = {"index": 0, "delta": {"content": word}, "finish_reason": "stop" if last else None}
            else:
                choice = {"index": 0, "text": word, "finish_reason": "stop" if last else None}
            kind = "chat.completion.chunk" if chat else "text_completion"
            self.wfile.write(f"data: {json.dumps(_envelope(kind, [choice]))}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def _envelope(kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "cmpl-slow", "object": kind, "created": int(time.time()), "model": MODEL, "choices": choices}


def serve(host: str, port: int, delay_s: float) -> None:
    handler = type("SlowHandler", (Handler,), {"delay_s": delay_s, "stats": Stats()})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each completion waits")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port, args.delay)


if __name__ == "__main__":
    main()
