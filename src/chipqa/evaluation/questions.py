"""The questions file (eval/questions.jsonl and its siblings): one JSON object a line, validated with errors
that name the file and line. The one loader of question files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chipqa.core.errors import InputError

# field: (allowed types, required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), True),
    "question": ((str,), True),
    "answerable": ((bool,), True),
    "expected": ((str, type(None)), False),
    "aliases": ((list,), False),
    "sources": ((list,), False),
    "tags": ((list,), False),
    "inputs": ((list,), False),
}


_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list", type(None): "null"}


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Rows of a questions JSONL file; a malformed line is an InputError naming the file and line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"no such questions file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read questions file {path}: {exc}") from None
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
        _check_row(row, where)
        if row["id"] in seen:
            raise InputError(f"{where}: duplicate id '{row['id']}' (first on line {seen[row['id']]})")
        seen[row["id"]] = number
        rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no questions")
    return rows


def _check_row(row: Mapping[str, Any], where: str) -> None:
    for name, (types, required) in _FIELDS.items():
        if name not in row:
            if required:
                raise InputError(f"{where}: missing required field '{name}'")
            continue
        value = row[name]
        if not isinstance(value, types):
            wanted = " or ".join(_TYPE_NAMES[t] for t in types)
            raise InputError(f"{where}: field '{name}' must be {wanted}, got {json.dumps(value)[:40]}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}: field '{name}' must be a list of strings")
    for name in ("id", "question"):
        if not row[name].strip():
            raise InputError(f"{where}: field '{name}' is empty")
    if row["answerable"] and not row.get("expected"):
        raise InputError(f"{where}: an answerable question needs 'expected'")
