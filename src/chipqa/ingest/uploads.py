"""Safe handling of uploads: allowed types, a size cap, sanitized names, no write outside the corpus.

The name a browser sends is untrusted: it may carry directories, `..`, an absolute path, control characters
or a misleading suffix. Only a clean basename with an allowed suffix survives, and the final path is
resolved and checked to lie inside the corpus folder before anything is written there.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Collection
from pathlib import Path

from chipqa.core.errors import InputError

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".pdf")
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


def target_path(corpus_dir: Path, safe_name: str) -> Path:
    """Where a sanitized name lands in the corpus folder; InputError if that would escape it."""
    target = corpus_dir / safe_name
    if not is_inside(corpus_dir, target) or target.resolve().parent != corpus_dir.resolve():
        raise InputError(f"refusing to write {safe_name!r} outside {corpus_dir}")
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
    corpus_dir: Path,
    max_mb: float,
    taken_ids: Collection[str] = (),
    validate: Callable[[Path], object] | None = None,
) -> Path:
    """Copy an uploaded temp file into the corpus folder under a safe name; returns where it went.

    A file of the same name is replaced (an updated version of that document); a different file whose
    stem is already a document id gets a numbered name, so it cannot overwrite another document.
    `validate` sees the copy before it takes the final name; if it raises, nothing is left behind.
    """
    name = sanitize_filename(original_name)
    check_size(source.stat().st_size, max_mb)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    same_file = {Path(name).stem} if (corpus_dir / name).is_file() else set()
    target = target_path(corpus_dir, unique_name(name, taken_ids, same_file))
    if target.is_symlink():
        raise InputError(f"refusing to replace the symbolic link {target.name}")
    # Write beside the target under a hidden name (ingestion skips dot files), then rename: no half files.
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=target.suffix, dir=corpus_dir)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        if validate is not None:
            validate(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def delete_if_inside(corpus_dir: Path, source: str | None) -> bool:
    """Delete a document's file only when it is a regular file inside the corpus folder."""
    if not source:
        return False
    path = Path(source)
    if path.is_symlink() or not path.is_file() or not is_inside(corpus_dir, path):
        return False
    path.unlink()
    return True
