"""Read files into Documents: .txt, .md, .html and .pdf, one document each; bad files are reported.

A file that cannot be used (empty, binary, not UTF-8, too large, unparsable) is skipped with a one-line
reason and never stops the others. Lines addressed to a language model rather than to a reader (planted
prompt injection) are kept in the stored text but left out of the index, like page boilerplate.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chipqa.core.errors import InputError
from chipqa.core.models import Document
from chipqa.core.text import addressed_to_model
from chipqa.ingest.cleaning import content_spans, find_date, find_publisher, guess_title, parse_date

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")

# Control characters other than tab and newline become spaces: same length, so offsets hold, and no
# terminal escape sequence from a document reaches the screen.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Block-level HTML elements: each starts a new line of the extracted text. Table cells stay on their
# row's line, separated by " | ", so a figure keeps its row label.
_HTML_BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    }
)
_HTML_CELLS = frozenset({"td", "th"})
# Elements whose content is never article text.
_HTML_DROPPED = frozenset(
    {
        "head",
        "title",
        "script",
        "style",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "noscript",
        "template",
        "svg",
        "iframe",
        "button",
        "select",
    }
)


@dataclass(frozen=True)
class PageMeta:
    """What a web page's head says about it: publication date (YYYY-MM-DD) and site name."""

    date: str | None = None
    publisher: str | None = None


# <meta> names and properties that carry a page's publication date or site name, most explicit first
# (Open Graph article:*, then Dublin Core, schema.org microdata, and the common plain names).
_META_DATES = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "dc.date.issued",
    "dcterms.issued",
    "citation_publication_date",
    "pubdate",
    "publish-date",
    "publication_date",
    "date",
    "dc.date",
    "article:modified_time",
    "og:updated_time",
)
_META_PUBLISHERS = ("og:site_name", "publisher", "dc.publisher", "citation_publisher", "application-name")


@dataclass(frozen=True)
class Skipped:
    """A file that was not loaded, and the one-line reason."""

    path: Path
    reason: str


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand folders; a missing path is an error, an unsupported file is skipped with a reason.

    Not LlamaIndex's SimpleDirectoryReader: it makes a document per PDF page and reads HTML as markup, while a
    chipqa document is one file, its id the file's stem, and every file it cannot use gets a one-line reason."""
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
    text = _pdf_text(data) if suffix == ".pdf" else _decode(data)
    page = PageMeta()
    if suffix in (".html", ".htm"):
        try:
            text, page = _html_text(text)
        except RecursionError:
            raise InputError("HTML nested too deeply to read") from None
        except Exception as exc:  # parser errors on hostile markup vary; one file must not stop the rest
            raise InputError(f"unreadable HTML ({type(exc).__name__})") from None
    # Normalise line endings; other control characters become spaces. Offsets match what is shown.
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    spans = content_spans(text)
    if not spans:
        raise InputError("no readable text")
    spans = tuple((s, e) for s, e in spans if not addressed_to_model(text, s, e))
    if not spans:
        raise InputError("only text addressed to a language model (prompt injection)")
    return Document(
        doc_id=path.stem,
        text=text,
        title=guess_title(text, spans) or path.stem,
        source=str(path.resolve()),  # absolute, so --prune finds it from any working directory
        date=page.date or find_date(text, spans),
        content_spans=spans,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        publisher=page.publisher or find_publisher(text, spans),
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


def _decode(data: bytes) -> str:
    """UTF-8 (or UTF-16 with a byte-order mark) text; anything else is refused with the reason."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("not valid UTF-16 despite its byte-order mark") from None
    if b"\x00" in data:
        raise InputError("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 (byte {exc.start})") from None


def _html_text(html: str) -> tuple[str, PageMeta]:
    """The page's title and visible text, one line per block element, and what its head says about it.

    One iterative pass over the parse tree: deep nesting costs neither recursion nor repeated text.
    """
    from bs4 import BeautifulSoup, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    soup = BeautifulSoup(html, "html.parser")
    meta = _page_meta(soup)
    title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    lines: list[str] = [title] if title else []
    current: list[str] = []

    def end_line() -> None:
        line = " ".join("".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    stack: list[object] = [soup]  # None marks the end of a block element
    while stack:
        node = stack.pop()
        if node is None:
            end_line()
        elif isinstance(node, Tag):
            if node.name in _HTML_DROPPED:
                continue
            if node.name in _HTML_BLOCKS:
                end_line()
                stack.append(None)
            elif node.name in _HTML_CELLS and "".join(current).strip():
                current.append(" | ")
            stack.extend(reversed(node.contents))
        elif not isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
            current.append(str(node))
    end_line()
    return "\n\n".join(lines), meta


def _page_meta(soup: Any) -> PageMeta:
    """Publication date and site name from <meta> tags and the first <time datetime> element."""
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = str(tag.get("property") or tag.get("name") or tag.get("itemprop") or "").strip().lower()
        value = " ".join(str(tag.get("content") or "").split())
        if key and value and key not in found:
            found[key] = value
    times = soup.find("time", attrs={"datetime": True})
    dates = [found.get(k) for k in _META_DATES] + [str(times.get("datetime")) if times else None]
    date = next((d for d in (parse_date(raw) for raw in dates if raw) if d), None)
    publisher = next((found[k][:80] for k in _META_PUBLISHERS if found.get(k) and "://" not in found[k]), None)
    return PageMeta(date, publisher)


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else "damaged"
        raise InputError(f"unreadable PDF: {reason}") from None
    except RecursionError:
        raise InputError("PDF nested too deeply to read") from None
    except Exception as exc:  # pypdf's errors on damaged files vary; one file must not stop the rest
        raise InputError(f"unreadable PDF ({type(exc).__name__})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())
