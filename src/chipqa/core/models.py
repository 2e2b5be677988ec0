"""Value types that flow through the pipeline, and the answer record of DESIGN.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """A loaded source: its stored text (what offsets point into) and the spans worth indexing."""

    doc_id: str
    text: str
    title: str
    source: str
    date: str | None = None  # publication date, YYYY-MM-DD, when the text or page states one
    content_spans: tuple[tuple[int, int], ...] = ()
    sha256: str = ""
    publisher: str | None = None  # the publication's name ("The Daily Guardian"), when stated


@dataclass(frozen=True)
class Passage:
    """A span of a document's stored text, with the score that ranked it."""

    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float = 0.0
    date: str | None = None
    # What each retriever made of the passage (None when it was not among that retriever's results).
    dense: float | None = None  # cosine similarity to the question
    bm25: float | None = None
    dense_rank: float | None = None  # 0 = best
    bm25_rank: float | None = None


@dataclass(frozen=True)
class Citation:
    """A cited span: `text == document.text[start:end]`, with what a reader needs to find the source."""

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    source: str = ""  # the file name the document was read from
    published: str | None = None  # the source's publication date, YYYY-MM-DD, when known


@dataclass(frozen=True)
class FigureRecord:
    """A figure stated in an answer, with the citations that contain it."""

    text: str
    value: float
    unit: str | None
    citations: list[int]
    computed: bool = False
    inputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConflictRecord:
    """Sources that give different figures for the same quantity."""

    quantity: str
    figures: list[FigureRecord]


@dataclass
class Answer:
    """The answer record of DESIGN.md; `to_dict` is its one serialized form."""

    question: str
    answer: str
    abstained: bool
    grounded: bool
    resolved_question: str = ""  # the question actually answered after a follow-up was resolved
    figures: list[FigureRecord] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    llm: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        resolved = record.pop("resolved_question") or self.question
        return {"question": record.pop("question"), "resolved_question": resolved, **record}
