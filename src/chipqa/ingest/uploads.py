"""Safe handling of uploads: allowed types, a size cap, sanitized names, no write outside the uploads folder.

The name a browser sends is untrusted: it may carry directories, `..`, an absolute path, control characters
or a misleading suffix. Only a clean basename with an allowed suffix survives, and the final path is
resolved and checked to lie inside the uploads folder before anything is written there.

Uploads have a folder of their own (CHIPQA_UPLOADS_DIR), never the corpus folder by default, and chipqa keeps
a list of the files it saved there (`.chipqa-uploads.json`, with each file's sha256): only such a file, still
as chipqa wrote it, may ever be deleted by chipqa. Every other file is the user's, and stays.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Collection
from pathlib import Path

from chipqa.core.errors import InputError

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".pdf")
# The list of files chipqa saved; a dot file, so ingestion never reads it.
MANIFEST = ".chipqa-uploads.json"
MAX_NAME_CHARS = 120
# Characters kept in a file name; everything else becomes "_".
_UNSAFE = re.compile(r"[^\w.\- ()]+")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)$", re.IGNORECASE)


def sanitize_filename(name: str) -> str:
    """A safe basename for an uploaded file, or InputError when no acceptable name remains."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # controls, NUL, format chars
    name = name.replace("\\", "/").rstrip("/").split("/")[-1]  # drop any directories, either separator
    name = _UNSAFE.sub("_", name).strip(" .")  # also drops leading dots: no hidden files, no "..".
    stem, suffix = os.path.splitext(name)
    suffix = suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        shown = suffix or "no suffix"
        raise InputError(f"file type {shown} is not accepted; upload {', '.join(ALLOWED_SUFFIXES)}")
    stem = stem.strip(" ._")
    if not stem:
        raise InputError("the file name is empty once unsafe characters are removed")
    if _WINDOWS_RESERVED.match(stem):
        stem = f"{stem}_"
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix


def check_size(size_bytes: int, max_mb: float) -> None:
    """InputError when a file is empty or larger than the upload cap."""
    if size_bytes <= 0:
        raise InputError("the file is empty")
    if size_bytes > max_mb * 1e6:
        raise InputError(f"the file is {size_bytes / 1e6:.1f} MB; the upload limit is {max_mb:g} MB")


def is_inside(root: Path, path: Path) -> bool:
    """Whether path, with symlinks and `..` resolved, lies strictly inside root."""
    root = root.resolve()
    target = path.resolve()
    return target != root and root in target.parents


def target_path(folder: Path, safe_name: str) -> Path:
    """Where a sanitized name lands in the uploads folder; InputError if that would escape it."""
    target = folder / safe_name
    if not is_inside(folder, target) or target.resolve().parent != folder.resolve():
        raise InputError(f"refusing to write {safe_name!r} outside {folder}")
    return target


def unique_name(safe_name: str, taken_ids: Collection[str], replaceable: Collection[str] = ()) -> str:
    """The name with a numbered stem when its document id (the stem) already belongs to another file.

    `taken_ids` are document ids in use; `replaceable` are ids this upload may overwrite (same file name).
    """
    stem, suffix = os.path.splitext(safe_name)
    if stem not in taken_ids or stem in replaceable:
        return safe_name
    n = 2
    while f"{stem}-{n}" in taken_ids:
        n += 1
    return f"{stem}-{n}{suffix}"


def save_upload(
    source: Path,
    original_name: str,
    folder: Path,
    max_mb: float,
    taken_ids: Collection[str] = (),
    validate: Callable[[Path], object] | None = None,
) -> Path:
    """Copy an uploaded temp file into the uploads folder under a safe name; returns where it went.

    A file of the same name that chipqa saved is replaced (an updated version of that document); any other
    clash (a document id in use, a file chipqa did not write) gets a numbered name, so nothing is overwritten.
    `validate` sees the copy before it takes the final name; if it raises, nothing is left behind.
    """
    name = sanitize_filename(original_name)
    check_size(source.stat().st_size, max_mb)
    folder.mkdir(parents=True, exist_ok=True)
    existing = folder / name
    replaceable = {Path(name).stem} if existing.is_file() and saved_by_chipqa(folder, existing) else set()
    taken = set(taken_ids) | {p.stem for p in folder.iterdir() if not p.name.startswith(".")}
    target = target_path(folder, unique_name(name, taken, replaceable))
    if target.is_symlink():
        raise InputError(f"refusing to replace the symbolic link {target.name}")
    # Write beside the target under a hidden name (ingestion skips dot files), then rename: no half files.
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=target.suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        if validate is not None:
            validate(Path(tmp))
        digest = _sha256(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_manifest(folder, {**_read_manifest(folder), target.name: digest})
    return target


def saved_by_chipqa(folder: Path, path: Path | str | None) -> bool:
    """Whether a file is one chipqa saved into the uploads folder and is still exactly as it wrote it."""
    if not path:
        return False
    path = Path(path)
    if path.is_symlink() or not path.is_file() or path.resolve().parent != folder.resolve():
        return False
    recorded = _read_manifest(folder).get(path.name)
    return recorded is not None and recorded == _sha256(path)


def delete_upload(folder: Path, path: Path | str) -> Path:
    """Delete a file chipqa saved into the uploads folder; InputError (and nothing deleted) for any other."""
    path = Path(path)
    if not saved_by_chipqa(folder, path):
        raise InputError(f"{path.name} is not a file chipqa saved in {folder}; it is left in place")
    path.unlink()
    manifest = _read_manifest(folder)
    manifest.pop(path.name, None)
    _write_manifest(folder, manifest)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_manifest(folder: Path, entries: dict[str, str]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(dict(sorted(entries.items())), out, indent=1)
    os.replace(tmp, folder / MANIFEST)
