"""The README's test command on a machine without Chromium: the browser tests fail naming what to install."""

from __future__ import annotations

from pathlib import Path

import pytest

import browser


def test_without_chromium_the_browser_tests_fail_and_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", ("/nonexistent/chromium",))
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser, "_bundled", lambda: "/nonexistent/playwright/chrome")
    with pytest.raises(pytest.fail.Exception) as failed:  # a failure, never a skip
        browser.chromium_path()
    message = str(failed.value)
    assert "apt-get install chromium" in message and "python -m playwright install chromium" in message
    assert "-m 'not browser'" in message


def test_with_chromium_the_path_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("")
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", (str(fake),))
    assert browser.chromium_path() == str(fake)
