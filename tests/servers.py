"""Real servers on loopback for the reliability tests: start, wait until ready, stop (always)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One server subprocess with its log file; `stop()` is safe to call twice."""

    def __init__(self, argv: Sequence[str], ready_url: str, log_path: Path) -> None:
        self.argv = list(argv)
        self.ready_url = ready_url
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            # A session of its own, so stop() reaches the server's children too.
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.ready_url, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.ready_url} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def chroma_server(path: Path, port: int, log_path: Path) -> ServerProcess:
    """`chroma run` (the chromadb CLI) persisting under `path`, on loopback."""
    chroma = Path(sys.executable).with_name("chroma")
    argv = [
        str(chroma) if chroma.exists() else "chroma",
        "run",
        "--path",
        str(path),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    return ServerProcess(argv, f"http://{LOOPBACK}:{port}/api/v2/heartbeat", log_path)


def llama_server(model: str, port: int, log_path: Path, alias: str = "gemma-3-270m") -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server for a GGUF file, on loopback."""
    argv = [
        sys.executable,
        "-m",
        "chipqa.llm.serve",
        "--model",
        model,
        "--model_alias",
        alias,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--verbose",
        "False",
    ]
    return ServerProcess(argv, f"http://{LOOPBACK}:{port}/v1/models", log_path)


def chipqa_cli(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    timeout_s: float = 240.0,
) -> subprocess.CompletedProcess[str]:
    """The real `chipqa` console command, with only the given CHIPQA_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHIPQA_")}
    clean.update({"CHIPQA_CONFIG": "/nonexistent/chipqa.toml", "HF_HUB_OFFLINE": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "chipqa", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
