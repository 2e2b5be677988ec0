"""Child processes and servers for the bench: timed commands with their peak memory, `chroma run`, the slow
LLM server, and waiting for a server to answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chipqa.core.settings import Settings


@dataclass
class ProcessRun:
    seconds: float
    peak_rss_mb: float


def run_process(args: list[str], env: dict[str, str], timeout: float = 600) -> ProcessRun:
    """Run a command to completion; its wall time and peak RSS, measured by a small parent of its own."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chipqa.evaluation.bench.measure_child", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        try:
            raw, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise TimeoutError(f"{' '.join(args[:3])} took over {timeout:.0f} s") from None
        result = json.loads(raw or b"{}")
        if proc.returncode != 0 or result.get("code") != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise RuntimeError(f"{' '.join(args[:3])} exited {result.get('code', proc.returncode)}: {tail[0][:200]}")
    return ProcessRun(float(result["seconds"]), int(result["peak_kb"]) / 1024)


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a live process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(urls: list[str], proc: subprocess.Popen[bytes], timeout: float) -> str:
    """Poll the URLs until one answers 200; the path that answered. A URL answering 404 is dropped (a server
    without /api/health falls back to the next URL); any other status means "not ready yet"."""
    deadline = time.monotonic() + timeout
    urls = list(urls)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"server exited {proc.returncode}: {err.strip().splitlines()[-1:] or ''}")
        for url in list(urls):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                    if response.status == 200:
                        return "/" + url.split("/", 3)[-1]
            except urllib.error.HTTPError as exc:
                if exc.code == 404 and len(urls) > 1:
                    urls.remove(url)
                break  # the server is up; wait for this URL
            except (urllib.error.URLError, OSError):
                break
        time.sleep(0.2)
    raise TimeoutError(f"no answer from {urls[0]} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def chroma(mode: str, path: Path) -> Iterator[str | None]:
    """None for embedded mode; for server mode, a `chroma run` on a free loopback port, stopped afterwards."""
    if mode == "embedded":
        yield None
        return
    port = free_port()
    command = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen(
        [command, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        wait_http([f"http://127.0.0.1:{port}/api/v2/heartbeat"], proc, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@contextmanager
def slow_llm(delay_s: float = 1.0) -> Iterator[str]:
    """The slow OpenAI-compatible server (`chipqa.evaluation.bench.slow_llm`) on a free port; its /v1 URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chipqa.evaluation.bench.slow_llm", "--port", str(port), "--delay", str(delay_s)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_http([f"http://127.0.0.1:{port}/v1/models"], proc, timeout=60)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)


def chipqa_env(settings: Settings, index_dir: Path, llm: str) -> dict[str, str]:
    """The environment of a `chipqa` child: this one's, with the given index, corpus folder and LLM."""
    env = {k: v for k, v in os.environ.items() if k != "CHIPQA_CHROMA_URL"}
    env.update({"CHIPQA_INDEX_DIR": str(index_dir), "CHIPQA_LLM": llm, "CHIPQA_CORPUS_DIR": str(settings.corpus_dir)})
    return env


def chipqa_command() -> str:
    return shutil.which("chipqa") or str(Path(sys.executable).with_name("chipqa"))
