"""The plain LlamaIndex recipe over chipqa's own index, side by side in the eval (`chipqa eval --baseline`).

Same chunks, same embedding model, same LLM, same top-k; LlamaIndex's default prompt and response mode,
and none of chipqa's evidence selection or figure verification. Its response is turned into an answer
record so that the same metrics score it. With no LLM (`--llm none`) it runs on LlamaIndex's MockLLM,
which echoes the prompt: the "answer" is then the retrieved context itself, so only the retrieval metrics
compare; its accuracy reflects whether the top passage's first figure is the answer, and it never abstains.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chipqa.answering.pipeline import AskResult
from chipqa.answering.verify import unsupported
from chipqa.core.figures import parse_figure, parse_figures
from chipqa.core.models import Answer, Citation, FigureRecord, Passage

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

    from chipqa.app.service import ChipQA

MOCK_LABEL = "mock (LlamaIndex MockLLM, echoes the prompt)"
MOCK_NOTE = (
    "no LLM, so MockLLM echoes the prompt: the baseline's 'answer' is its retrieved context (its first "
    "figure is scored) and it never abstains; only its retrieval metrics compare"
)

# How plain answers say "the context does not tell"; LlamaIndex itself answers "Empty Response" with no nodes.
_REFUSAL = re.compile(
    r"\b(not (mentioned|stated|provided|given|specified|available|included|known)"
    r"|no (information|mention|data|details|answer)"
    r"|(does not|doesn't|do not|don't) (say|mention|provide|contain|specify|state|include|know)"
    r"|cannot|can't|unable to|unknown|empty response)\b",
    re.I,
)


class LlamaIndexBaseline:
    """A default `VectorStoreIndex.as_query_engine` over the app's vector store; `ask` mirrors ChipQA.ask."""

    def __init__(self, app: ChipQA, llm: str | None = None) -> None:
        from llama_index.core import VectorStoreIndex

        generator = app.generator(llm)
        model: Any
        if generator is None:
            from llama_index.core.llms import MockLLM

            model, self.label = MockLLM(), MOCK_LABEL
        else:
            model, self.label = generator.llm, generator.label
        # llm and embed_model are passed explicitly: LlamaIndex's global Settings stay untouched.
        index = VectorStoreIndex.from_vector_store(app.store.vector_store(), embed_model=app.embed_model)
        self.engine = index.as_query_engine(llm=model, similarity_top_k=app.settings.top_k)

    def ask(self, question: str) -> AskResult:
        from llama_index.core.schema import QueryBundle

        # retrieve + synthesize is exactly what engine.query does, split only to time the two stages.
        started = time.perf_counter()
        bundle = QueryBundle(question)
        nodes = self.engine.retrieve(bundle)
        retrieved = time.perf_counter()
        response = self.engine.synthesize(bundle, nodes)
        done = time.perf_counter()
        passages = [_passage(n) for n in response.source_nodes or nodes]
        timings = {
            "retrieve": round((retrieved - started) * 1000, 1),
            "generate": round((done - retrieved) * 1000, 1),
            "total": round((done - started) * 1000, 1),
        }
        answer = answer_from_response(question, str(response), passages, self.label, timings)
        return AskResult(answer, [_passage(n) for n in nodes])


def answer_from_response(
    question: str, text: str, passages: Sequence[Passage], label: str, timings_ms: dict[str, float]
) -> Answer:
    """The answer record of a plain response: its non-year figures, each citing every source passage."""
    text = text.strip()
    citations = [Citation(i, p.doc_id, p.title, p.start, p.end, p.text) for i, p in enumerate(passages, 1)]
    numbers = [c.n for c in citations]
    figures = [FigureRecord(f.text, f.value, f.unit, list(numbers)) for f in parse_figures(text) if f.kind != "year"]
    abstained = not figures and (not text or bool(_REFUSAL.search(text)))
    missing = [t for t in unsupported(text, [c.text for c in citations]) if not _is_year(t)]
    return Answer(
        question=question,
        answer=text,
        abstained=abstained,
        grounded=not missing,
        figures=figures,
        citations=citations,
        llm=label,
        timings_ms=dict(timings_ms),
    )


def _is_year(text: str) -> bool:
    fig = parse_figure(text)
    return fig is not None and fig.kind == "year"


def _passage(node: NodeWithScore) -> Passage:
    meta = node.node.metadata or {}
    return Passage(
        doc_id=str(node.node.ref_doc_id or meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        start=int(meta.get("start", 0) or 0),
        end=int(meta.get("end", 0) or 0),
        text=node.node.get_content(),
        score=float(node.score or 0.0),
        date=str(meta.get("date") or "") or None,
    )
