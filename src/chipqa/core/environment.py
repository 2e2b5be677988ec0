"""The two environment reads that cannot wait for Settings; every other setting is a typed field of
`chipqa.core.settings.Settings`."""

from __future__ import annotations

import os
from pathlib import Path


def env_flag(name: str) -> bool:
    """A yes/no variable read before Settings can load: CHIPQA_DEBUG decides how a bad setting is reported."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def cache_home() -> Path:
    """$XDG_CACHE_HOME, or ~/.cache: where chipqa keeps what it builds once per machine (the ONNX export)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
