"""Helpers for the browser tests: find Chromium (or fail saying what to install), a slow scripted LLM,
and small screenshots under docs/screenshots/."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SYSTEM_CHROMIUM = ("/usr/bin/chromium",)
MISSING = (
    "the browser tests need {what}; {how}. To leave the browser tests out on purpose, run "
    "python -m pytest -m 'not browser'."
)


def chromium_path() -> str:
    """Debian's chromium, else Playwright's own build; a test fails (never skips) when neither is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(MISSING.format(what="the Python package playwright", how='pip install -e ".[dev]"'), False)
    for candidate in (*SYSTEM_CHROMIUM, shutil.which("chromium"), shutil.which("chromium-browser"), _bundled()):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        MISSING.format(
            what="Chromium",
            how="install Debian's package (apt-get install chromium) or Playwright's build "
            "(python -m playwright install chromium)",
        ),
        False,
    )


def _bundled() -> str | None:
    """Playwright's own Chromium build, if `playwright install chromium` put one here."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        return p.chromium.executable_path or None


def screenshot(page: Any, name: str) -> Path:
    """A screenshot of the page as a small PNG (a 64-colour palette) under docs/screenshots/."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    page.screenshot(path=str(target))
    with Image.open(target) as shot:
        small = shot.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)
    return target


@dataclass
class SlowLLM:
    """A scripted LLM that streams its words slowly (a stand-in for a slow model, so the chat's queue, Stop
    and streaming can be watched in a browser); `sent` counts the words it gave out."""

    words: list[str]
    delay_s: float
    sent: int = 0
    started: threading.Event = field(default_factory=threading.Event)

    def stream_complete(self, prompt: str, formatted: bool = True) -> Iterator[Any]:
        self.started.set()
        for word in self.words:
            time.sleep(self.delay_s)
            self.sent += 1
            yield SimpleNamespace(delta=word)


def slow_generator(words: int = 12, delay_s: float = 0.25) -> tuple[Any, SlowLLM]:
    from chipqa.llm.backends import Generator

    llm = SlowLLM([f"word{'s' * (i % 3)} " for i in range(words)], delay_s)
    return Generator(llm=llm, label="scripted-slow", max_tokens=64), llm  # type: ignore[arg-type]
