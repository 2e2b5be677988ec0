"""Hybrid retrieval: dense (Chroma) and BM25 fused by reciprocal rank, returning passages with offsets."""

from __future__ import annotations

import copy
import difflib
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chipqa.core.models import Passage
from chipqa.core.text import UPPER, YEAR, fold_accents
from chipqa.index.store import ChunkStore, DocRecord

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import NodeWithScore

# The manifest is re-read at least this often even when the index files look untouched (coarse mtimes).
FULL_CHECK_S = 30.0
# Documents whose stored text answering reads around a passage, kept per index state.
DOCUMENT_CACHE = 256
_WORD = re.compile(r"[^\W\d_][^\W_]+|\d+[^\W\d_]+[^\W_]*")
# A capitalised word before a model code, or before a product family and its code ("AMD Instinct MI355X").
_BEFORE_CODE = re.compile(
    rf"\b({UPPER}[^\W\d_]+)(?:['’]s)?\s+(?:[A-Z][A-Za-z]+\s+)?"
    r"(?![QH][1-4]\b|FY\d|[1-4]Q\b)(?=[A-Za-z]*\d[A-Za-z0-9]*\b)"  # not a period ("Sandhill Compute Q4")
)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, dots inside abbreviations removed ("U.S." → "us")."""
    return [w.lower() for w in _WORD.findall(text.replace(".", ""))]


# A run of capitalised words, optionally joined by "of", "de", "&" ("Bank of America", "AT&T" aside).
_PHRASE = re.compile(rf"\b{UPPER}[\w&'’.-]*[^\W_](?:\s+(?:(?:of|de|der|la|&)\s+)?{UPPER}[\w&'’.-]*[^\W_])+")
# Capitalised only because they open a sentence or a title.
_PHRASE_OPENERS = frozenset(
    """The A An In On At As For By From With And But Or If When While After Before Its Their This That These
    Those Meanwhile However Both Each Other Some Many Most Such Analysts Sources January February March April May
    June July August September October November December Monday Tuesday Wednesday Thursday Friday""".split()
)


def name_phrases(text: str) -> list[str]:
    """Multi-word capitalised names in a text, sentence-opening words stripped ("The Bonn Group" → "Bonn Group")."""
    out = []
    for m in _PHRASE.finditer(text):
        words = m.group(0).split()
        while words and words[0] in _PHRASE_OPENERS:
            words = words[1:]
        if len(words) >= 2:
            out.append(" ".join(words))
    return out


class Vocabulary:
    """Words of the indexed text, to correct misspelled query terms ("Microsft" → "microsoft").

    `lexicon` holds ordinary English words, which are never "corrected" into an indexed word.
    `names` holds words the corpus writes capitalised ("Amazon"), so "amazon" in a terse question is a name.
    """

    def __init__(
        self, texts: list[str], lexicon: frozenset[str] = frozenset(), doc_ids: Sequence[str] | None = None
    ) -> None:
        self.lexicon = lexicon
        self.counts = Counter(w for t in texts for w in tokens(t))
        # Multi-word names as the corpus writes them ("SK Telecom", "Oak Ridge National Laboratory"), so that a
        # question's abbreviation or partial name can be matched to one.
        self.phrases = Counter(p for t in texts for p in name_phrases(t))
        # How many documents use each word: a word most documents use is the corpus's subject ("Nvidia").
        per_doc: dict[str, set[str]] = {}
        for text, doc_id in zip(texts, doc_ids or [], strict=False):
            per_doc.setdefault(doc_id, set()).update(tokens(text))
        self.n_docs = len(per_doc)
        self.doc_counts = Counter(w for words in per_doc.values() for w in words)
        # How often a word directly precedes a model code ("Nvidia GB200", "AMD MI300X"): makers do, buyers rarely.
        self.before_code = Counter(m.group(1).lower() for t in texts for m in _BEFORE_CODE.finditer(t.replace(".", "")))
        self._total = sum(self.counts.values()) or 1  # idf() runs per question keyword
        # Ordinary words are capitalised only at sentence starts, a minority of their uses.
        capitalised = Counter(w.lower() for t in texts for w in _WORD.findall(t.replace(".", "")) if w[0].isupper())
        self.names = frozenset(w for w, n in capitalised.items() if len(w) > 2 and n >= 0.5 * self.counts.get(w, n))
        self._capitalised = capitalised
        # A name's spelling without diacritics ("skoda" for "škoda"), for a question typed on a plain keyboard.
        self._folded: dict[str, str] = {}
        for word, _ in self.counts.most_common():
            folded = fold_accents(word)
            if folded != word:
                self._folded.setdefault(folded, word)
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

    def capitalised_share(self, word: str) -> float:
        """Share of a word's uses that are capitalised (a name is nearly always written so)."""
        low = word.lower()
        return self._capitalised.get(low, 0) / self.counts[low] if self.counts.get(low) else 0.0

    def doc_fraction(self, word: str) -> float:
        """Share of documents that use the word (0.0 when the index holds none)."""
        return self.doc_counts.get(word.lower(), 0) / self.n_docs if self.n_docs else 0.0

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

    def correct(self, word: str, any_word: bool = False) -> str | None:
        """The closest indexed word for an unknown one, or None. Only names are corrected ("Microsft",
        "Hoper"), since an ordinary word is likelier meant as typed, unless `any_word` (a misspelled word of a
        name whose other words the index knows: "Tensor Procesing Units")."""
        low = word.lower()
        if low in self.counts or low in self.lexicon or len(low) < 4:
            return None
        if (accented := self._folded.get(fold_accents(low))) is not None:
            return accented  # "skoda" → "škoda"
        names = [w for w in self._by_initial.get(low[0], []) if any_word or w in self.names]
        match = difflib.get_close_matches(low, names, n=1, cutoff=0.8)
        return match[0] if match else None


class HybridRetriever:
    """Dense (LlamaIndex over Chroma) + BM25 (LlamaIndex BM25Retriever), fused by reciprocal rank.

    The retrievers are built once per index state (and per top-k) and reused. Embedded, a query checks the
    index files' mtimes and re-reads the document manifest only when they changed; a server's manifest is
    read on every query.
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
        self._state_key: tuple[tuple[str, str, int], ...] | None = None
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at = 0.0
        self._bm25: Any = None
        self._dense_index: Any = None
        self._fused: dict[int, Any] = {}
        self._n_chunks = 0
        self._documents: dict[str, DocRecord] = {}
        self.vocabulary = Vocabulary([])
        self.committed: set[str] = set()
        self.year_marks: dict[str, list[tuple[int, str]]] = {}
        self.build_seconds = 0.0

    def years_in_force(self, doc_id: str, position: int) -> set[str]:
        """The year(s) a sentence at `position` speaks of when it names none: the last one named before it."""
        marks = self.year_marks.get(doc_id, [])
        before = [year for pos, year in marks if pos < position]
        if before:
            return {before[-1]}
        return {year for _, year in marks}

    def correct(self, text: str) -> str:
        """The text with misspelled words replaced by the closest indexed word ("Microsft" → "Microsoft")."""

        def fix(m: re.Match[str]) -> str:
            word = m.group(0)
            found = self.vocabulary.correct(word)
            if not found:
                return word
            return found.capitalize() if word[0].isupper() else found

        return _WORD.sub(fix, text)

    def expand(self, question: str) -> str:
        """The question with corrections of misspelled words appended (the original words stay)."""
        fixes = [fix for w in _WORD.findall(question) if (fix := self.vocabulary.correct(w))]
        return f"{question} {' '.join(fixes)}" if fixes else question

    def retrieve(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The top passages for a question, best first; chunks of uncommitted documents are left out.

        Dense and BM25 results are fused by reciprocal rank, the formula of LlamaIndex's QueryFusionRetriever
        (1 / (60 + rank), ranks from 0). The fusion is done here because that class drops each retriever's own
        score, and answer selection uses them (`Passage.dense`, `Passage.bm25`)."""
        k = top_k or self.top_k
        self.refresh()
        retrievers, committed = self._retrievers(k)
        if retrievers is None:
            return []
        from llama_index.core.schema import QueryBundle

        bundle = QueryBundle(self.expand(question))
        dense, bm25 = (retriever.retrieve(bundle) for retriever in retrievers)
        fused: dict[str, float] = {}
        nodes: dict[str, NodeWithScore] = {}
        signals: dict[str, dict[str, float]] = {}
        for name, results in (("dense", dense), ("bm25", bm25)):
            for rank, result in enumerate(sorted(results, key=lambda r: r.score or 0.0, reverse=True)):
                key = result.node.node_id
                nodes[key] = result
                fused[key] = fused.get(key, 0.0) + 1.0 / (rank + 60.0)
                signals.setdefault(key, {})[name] = float(result.score or 0.0)
                signals[key][f"{name}_rank"] = float(rank)
        order = sorted(fused, key=lambda key: fused[key], reverse=True)[: 2 * k]
        passages = []
        for key in order:
            passage = to_passage(nodes[key], fused[key], signals[key])
            if passage.doc_id in committed:
                passages.append(passage)
        return passages[:k]

    def document(self, doc_id: str) -> DocRecord | None:
        """A committed document with its stored text (cached for the current index state)."""
        with self._lock:
            cached = self._documents.get(doc_id)
        if cached is not None:
            return cached
        record = self.store.document(doc_id)
        if record is not None:
            with self._lock:
                if len(self._documents) >= DOCUMENT_CACHE:
                    self._documents.pop(next(iter(self._documents)))
                self._documents[doc_id] = record
        return record

    def _retrievers(self, k: int) -> tuple[tuple[Any, Any] | None, set[str]]:
        """The dense and BM25 retrievers for top-k of the current index state, and its documents."""
        with self._lock:
            if self._bm25 is None:
                return None, self.committed
            pair = self._fused.get(k)
            if pair is None:
                dense = self._dense_index.as_retriever(similarity_top_k=k * 2)
                bm25 = copy.copy(self._bm25)
                bm25.similarity_top_k = min(k * 2, self._n_chunks)  # bm25s refuses k above the corpus size
                pair = (dense, bm25)
                self._fused[k] = pair
            return pair, self.committed

    def refresh(self) -> None:
        """Rebuild BM25, the retrievers and the vocabulary when the index changed since the last query."""
        stamp = self._storage_stamp()
        if (
            stamp is not None
            and stamp == self._stamp
            and self._state_key is not None
            and time.monotonic() - self._checked_at < FULL_CHECK_S
        ):
            return
        docs = self.store.documents()
        key = tuple(sorted((d, r.sha256, r.chunks) for d, r in docs.items()))
        self._stamp, self._checked_at = stamp, time.monotonic()
        if key == self._state_key:
            return
        with self._lock:
            if key == self._state_key:
                return
            from llama_index.core import VectorStoreIndex

            started = time.perf_counter()
            self._check_encoder()
            ids, texts, metas = self.store.all_chunks()
            marks: dict[str, list[tuple[int, str]]] = {}
            for text, meta in zip(texts, metas, strict=True):
                start = int(meta.get("start", 0) or 0)
                doc_marks = marks.setdefault(str(meta.get("doc_id", "")), [])
                doc_marks.extend((start + m.start(), m.group(0)) for m in YEAR.finditer(text))
            self.year_marks = {d: sorted(m) for d, m in marks.items()}
            doc_ids = [str(meta.get("doc_id", "")) for meta in metas]
            self.vocabulary = Vocabulary(texts + [r.title for r in docs.values()], self.lexicon, doc_ids + list(docs))
            titles = bool(getattr(self.store.settings, "bm25_titles", False))
            self._bm25 = _build_bm25(ids, texts, metas, titles) if ids else None
            self._n_chunks = len(ids)
            self._documents = {}
            # chipqa chunks; the index only embeds. (The default node parser would also load tiktoken: 0.4 s.)
            self._dense_index = VectorStoreIndex.from_vector_store(
                self.store.vector_store(), embed_model=self.embed_model, transformations=[self.embed_model]
            )
            self._fused = {}
            self.committed = set(docs)
            self._state_key = key
            self.build_seconds = time.perf_counter() - started

    def _check_encoder(self) -> None:
        """Questions must be embedded like the index's chunks (`ChunkStore.check_encoder`)."""
        label = getattr(self.embed_model, "label", None)
        if isinstance(label, str):
            self.store.check_encoder(label, str(getattr(self.embed_model, "precision", "")))

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
    (its docstring), and BM25 stems every question, from as many threads as questions are asked in."""

    def __init__(self) -> None:
        self._local = threading.local()

    def stemWords(self, words: list[str]) -> list[str]:  # noqa: N802 - the name bm25s looks for
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            import Stemmer

            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        result: list[str] = stemmer.stemWords(words)
        return result


def _build_bm25(ids: list[str], texts: list[str], metas: list[dict[str, Any]], titles: bool = False) -> Any:
    from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes: list[BaseNode] = []
    for node_id, text, meta in zip(ids, texts, metas, strict=True):
        metadata = {k: meta.get(k) for k in ("title", "start", "end", "date")}
        node = TextNode(id_=node_id, text=text, metadata=metadata)
        # With `titles`, BM25 scores each passage with its document's title (see Settings.bm25_titles);
        # otherwise the passage's own words only.
        node.excluded_embed_metadata_keys = [k for k in node.metadata if k != "title" or not titles]
        node.metadata_template = "{value}"
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=str(meta.get("doc_id", "")))
        nodes.append(node)
    return BM25Retriever.from_defaults(nodes=nodes, stemmer=_Stemmer(), language="english")


def to_passage(result: NodeWithScore, score: float | None = None, signals: dict[str, float] | None = None) -> Passage:
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
        score=float(result.score or 0.0) if score is None else score,
        date=str(meta.get("date") or "") or None,
        dense=(signals or {}).get("dense"),
        bm25=(signals or {}).get("bm25"),
        dense_rank=(signals or {}).get("dense_rank"),
        bm25_rank=(signals or {}).get("bm25_rank"),
    )
