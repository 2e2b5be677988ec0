"""Read files into Documents: .txt, .md, .html and .pdf, one document each; bad files are reported."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chipqa.cleaning import content_spans, find_date, guess_title
from chipqa.errors import InputError
from chipqa.models import Document

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class Skipped:
    """A file that was not loaded, and the one-line reason."""

    path: Path
    reason: str


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand folders; a missing path is an error, an unsupported file is skipped with a reason."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for p in candidates:
            if p.name.startswith("."):
                continue
            if p.suffix.lower() in SUPPORTED:
                files.append(p)
            else:
                skipped.append(Skipped(p, f"unsupported file type '{p.suffix or p.name}'"))
    return files, skipped


def load_document(path: Path, max_bytes: int) -> Document:
    """One file as a Document; raises InputError with a one-line reason when it cannot be used."""
    try:
        size = path.stat().st_size
        if size == 0:
            raise InputError("empty file")
        if size > max_bytes:
            raise InputError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")
        data = path.read_bytes()
    except PermissionError:
        raise InputError("permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(data)
    else:
        if b"\x00" in data[:8192]:
            raise InputError("binary file, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8 (byte {exc.start})") from None
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    # Normalise line endings only; every other character is kept so offsets match what is shown.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    spans = content_spans(text)
    if not spans:
        raise InputError("no readable text")
    return Document(
        doc_id=path.stem,
        text=text,
        title=guess_title(text, spans) or path.stem,
        source=str(path),
        date=find_date(text),
        content_spans=spans,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_documents(paths: Iterable[Path], max_bytes: int) -> Iterator[Document | Skipped]:
    """Each supported file as a Document, or a Skipped with its reason; order is stable."""
    files, skipped = find_files(paths)
    yield from skipped
    for path in files:
        try:
            yield load_document(path, max_bytes)
        except InputError as exc:
            yield Skipped(path, str(exc))


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    # html.parser is iterative enough for deeply nested pages; lxml is not required.
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    blocks = [
        " ".join(el.get_text(" ", strip=True).split())
        for el in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "th", "pre", "blockquote"])
        if not el.find(["p", "li", "h1", "h2", "h3", "h4"])
    ]
    body = "\n\n".join(b for b in blocks if b)
    if not body:
        body = " ".join(soup.get_text(" ", strip=True).split())
    return f"{title}\n\n{body}" if title else body


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InputError(f"unreadable PDF: {exc}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())
