"""Hybrid retrieval: dense (Chroma) and BM25 fused by reciprocal rank, returning passages with offsets."""

from __future__ import annotations

import copy
import difflib
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chipqa.core.models import Passage
from chipqa.core.text import YEAR
from chipqa.index.store import ChunkStore

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import NodeWithScore

# The manifest is re-read at least this often even when the index files look untouched (coarse mtimes).
FULL_CHECK_S = 30.0
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+|\d+[A-Za-z]+[0-9A-Za-z]*")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, dots inside abbreviations removed ("U.S." → "us")."""
    return [w.lower() for w in _WORD.findall(text.replace(".", ""))]


class Vocabulary:
    """Words of the indexed text, to correct misspelled query terms ("Microsft" → "microsoft").

    `lexicon` holds ordinary English words, which are never "corrected" into an indexed word.
    `names` holds words the corpus writes capitalised ("Amazon"), so "amazon" in a terse question is a name.
    """

    def __init__(self, texts: list[str], lexicon: frozenset[str] = frozenset()) -> None:
        self.lexicon = lexicon
        self.counts = Counter(w for t in texts for w in tokens(t))
        self._total = sum(self.counts.values()) or 1  # idf() runs per question keyword
        # Ordinary words are capitalised only at sentence starts, a minority of their uses.
        capitalised = Counter(w.lower() for t in texts for w in _WORD.findall(t.replace(".", "")) if w[0].isupper())
        self.names = frozenset(w for w, n in capitalised.items() if len(w) > 2 and n >= 0.5 * self.counts.get(w, n))
        self._by_initial: dict[str, list[str]] = {}
        for word in self.counts:
            if len(word) >= 4:
                self._by_initial.setdefault(word[0], []).append(word)

    def idf(self, word: str) -> float:
        """Inverse frequency of a word in the index (unknown words weigh like the rarest)."""
        import math

        return math.log(1 + self._total / (1 + self.counts.get(word.lower(), 0)))

    def __contains__(self, word: str) -> bool:
        return word.lower() in self.counts

    def is_unknown(self, word: str) -> bool:
        """Neither indexed nor an English word nor correctable: a name the corpus never mentions ("aapl")."""
        low = word.lower()
        return (
            len(low) >= 4
            and low.isalpha()
            and low not in self.counts
            and low not in self.lexicon
            and self.correct(word) is None
        )

    def correct(self, word: str) -> str | None:
        """The closest indexed word for an unknown one, or None."""
        low = word.lower()
        if low in self.counts or low in self.lexicon or len(low) < 4:
            return None
        # Only names are corrected ("Microsft", "Hoper"): an ordinary word is likelier meant as typed.
        names = [w for w in self._by_initial.get(low[0], []) if w in self.names]
        match = difflib.get_close_matches(low, names, n=1, cutoff=0.8)
        return match[0] if match else None


@dataclass(frozen=True)
class IndexView:
    """Everything retrieval derives from one state of the index, built together and swapped in at once, so a
    question never mixes one state's BM25 with another's vocabulary."""

    key: tuple[tuple[str, str, int], ...] | None  # None: not built yet
    committed: frozenset[str]
    vocabulary: Vocabulary
    year_marks: dict[str, list[tuple[int, str]]]
    bm25: Any  # None when the index holds no chunks
    corpus_size: int
    dense_index: Any
    fused: dict[int, Any] = field(default_factory=dict)  # per top-k, filled on first use


_EMPTY = IndexView(None, frozenset(), Vocabulary([]), {}, None, 0, None)


class HybridRetriever:
    """Dense + BM25, fused with reciprocal rank fusion (LlamaIndex QueryFusionRetriever).

    The retrievers are built once per index state (and per top-k) and reused. A query checks a cheap stamp
    of the index (file mtimes embedded, a generation on a server) and re-reads the manifest only when it
    changed. Safe to call from several threads at once: a rebuild happens on one, under a lock, and the new
    `IndexView` replaces the old one in one assignment.
    """

    def __init__(
        self,
        store: ChunkStore,
        embed_model: BaseEmbedding,
        top_k: int = 10,
        lexicon: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.lexicon = lexicon
        self.embed_model = embed_model
        self.top_k = top_k
        self._lock = threading.Lock()
        self._view = _EMPTY
        self._stamp: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self.build_seconds = 0.0

    @property
    def view(self) -> IndexView:
        """The index state the next question is answered from."""
        return self._view

    @property
    def vocabulary(self) -> Vocabulary:
        return self._view.vocabulary

    @property
    def committed(self) -> frozenset[str]:
        return self._view.committed

    def years_in_force(self, doc_id: str, position: int) -> set[str]:
        """The year(s) a sentence at `position` speaks of when it names none: the last one named before it."""
        marks = self._view.year_marks.get(doc_id, [])
        before = [year for pos, year in marks if pos < position]
        if before:
            return {before[-1]}
        return {year for _, year in marks}

    def correct(self, text: str) -> str:
        """The text with misspelled words replaced by the closest indexed word ("Microsft" → "Microsoft")."""
        vocabulary = self._view.vocabulary

        def fix(m: re.Match[str]) -> str:
            word = m.group(0)
            found = vocabulary.correct(word)
            if not found:
                return word
            return found.capitalize() if word[0].isupper() else found

        return _WORD.sub(fix, text)

    def expand(self, question: str, vocabulary: Vocabulary | None = None) -> str:
        """The question with corrections of misspelled words appended (the original words stay)."""
        vocabulary = vocabulary or self._view.vocabulary
        fixes = [fix for w in _WORD.findall(question) if (fix := vocabulary.correct(w))]
        return f"{question} {' '.join(fixes)}" if fixes else question

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The top passages for a question, best first; chunks of uncommitted documents are left out."""
        k = top_k or self.top_k
        self.refresh()
        view = self._view
        if view.bm25 is None:
            return []
        results = self._fusion(view, k).retrieve(self.expand(question, view.vocabulary))
        passages = [p for p in (to_passage(r) for r in results) if p.doc_id in view.committed]
        return passages[:k]

    def _fusion(self, view: IndexView, k: int) -> Any:
        """The fused retriever for top-k of one index state."""
        fused = view.fused.get(k)
        if fused is not None:
            return fused
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.retrievers.fusion_retriever import FUSION_MODES

        dense = view.dense_index.as_retriever(similarity_top_k=k * 2)
        bm25 = copy.copy(view.bm25)
        bm25.similarity_top_k = min(k * 2, view.corpus_size)  # bm25s refuses k above the corpus size
        fused = QueryFusionRetriever(
            [dense, bm25],
            llm=MockLLM(),  # never called with num_queries=1; keeps the global Settings untouched
            mode=FUSION_MODES.RECIPROCAL_RANK,
            similarity_top_k=k * 2,
            num_queries=1,
            use_async=False,
        )
        view.fused[k] = fused  # two threads may both build it; either result is the same retriever
        return fused

    def refresh(self) -> None:
        """Rebuild BM25, the retrievers and the vocabulary when the index changed since the last query."""
        stamp = self._storage_stamp()
        if (
            stamp is not None
            and stamp == self._stamp
            and self._view.key is not None
            and time.monotonic() - self._checked_at < FULL_CHECK_S
        ):
            return
        docs = self.store.documents()
        key = tuple(sorted((d, r.sha256, r.chunks) for d, r in docs.items()))
        self._stamp, self._checked_at = stamp, time.monotonic()
        if key == self._view.key:
            return
        with self._lock:
            if key == self._view.key:
                return
            started = time.perf_counter()
            self._check_encoder()
            self._view = self._build(key, docs)
            self.build_seconds = time.perf_counter() - started

    def _check_encoder(self) -> None:
        label = getattr(self.embed_model, "label", None)
        if isinstance(label, str):
            self.store.check_encoder(label, str(getattr(self.embed_model, "precision", "")))

    def _build(self, key: tuple[tuple[str, str, int], ...], docs: dict[str, Any]) -> IndexView:
        from llama_index.core import VectorStoreIndex

        ids, texts, metas = self.store.all_chunks()
        marks: dict[str, list[tuple[int, str]]] = {}
        for text, meta in zip(texts, metas, strict=True):
            start = int(meta.get("start", 0) or 0)
            doc_marks = marks.setdefault(str(meta.get("doc_id", "")), [])
            doc_marks.extend((start + m.start(), m.group(0)) for m in YEAR.finditer(text))
        # chipqa chunks; the index only embeds. (The default node parser would also load tiktoken: 0.4 s.)
        dense_index = VectorStoreIndex.from_vector_store(
            self.store.vector_store(), embed_model=self.embed_model, transformations=[self.embed_model]
        )
        return IndexView(
            key=key,
            committed=frozenset(docs),
            vocabulary=Vocabulary(texts + [r.title for r in docs.values()], self.lexicon),
            year_marks={d: sorted(m) for d, m in marks.items()},
            bm25=_build_bm25(ids, texts, metas) if ids else None,
            corpus_size=len(ids),
            dense_index=dense_index,
        )

    def _storage_stamp(self) -> tuple[Any, ...] | None:
        """What changes whenever the index does. Embedded: size and mtime of the SQLite files, which every
        Chroma write touches. Server: the generation chipqa's writers set after each batch. None when there is
        none. Reading the manifest instead costs ~0.4 s at 2,000 documents embedded, and grew server retrieval
        p95 to 188 ms at 50,000 chunks (measured)."""
        if self.store.settings.chroma_url:
            generation = self.store.generation()
            return ("generation", generation) if generation else None
        try:
            files = sorted(self.store.settings.index_dir.glob("chroma.sqlite3*"))
            stamp = tuple((f.name, st.st_mtime_ns, st.st_size) for f in files for st in [f.stat()])
        except OSError:
            return None
        return stamp or None


class _Stemmer:
    """PyStemmer's English stemmer, one instance per thread: an instance "must not be called concurrently"
    (its docstring), and BM25 stems every question."""

    def __init__(self) -> None:
        self._local = threading.local()

    def stemWords(self, words: list[str]) -> list[str]:  # noqa: N802 - the name bm25s looks for
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            import Stemmer

            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        result: list[str] = stemmer.stemWords(words)
        return result


def _build_bm25(ids: list[str], texts: list[str], metas: list[dict[str, Any]]) -> Any:
    from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes: list[BaseNode] = []
    for node_id, text, meta in zip(ids, texts, metas, strict=True):
        metadata = {k: meta.get(k) for k in ("title", "start", "end", "date")}
        node = TextNode(id_=node_id, text=text, metadata=metadata)
        # BM25 scores each passage with its document's title: a fact often sits in a sentence that names its
        # subject only as "the carrier" or not at all ("The order is worth $115 million"), and the title names
        # it. Measured (retrieval only, --llm none): evidence presence 0.963 → 0.981 on eval/questions, 0.667 →
        # 0.709 on dev tune, 0.699 → 0.715 on dev test, 0.607 → 0.661 at 2,000 generated articles, MRR within
        # 0.003 (0.028 better at 2,000). The dense side stays title-free (titles embedded measured worse).
        node.excluded_embed_metadata_keys = [k for k in node.metadata if k != "title"]
        node.metadata_template = "{value}"
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=str(meta.get("doc_id", "")))
        nodes.append(node)
    return BM25Retriever.from_defaults(nodes=nodes, stemmer=_Stemmer(), language="english")


def to_passage(result: NodeWithScore) -> Passage:
    node = result.node
    meta = node.metadata
    start = int(meta.get("start", getattr(node, "start_char_idx", None) or 0))
    text = node.get_content()
    return Passage(
        doc_id=str(node.ref_doc_id or meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        start=start,
        end=int(meta.get("end", start + len(text))),
        text=text,
        score=float(result.score or 0.0),
        date=str(meta.get("date") or "") or None,
    )
