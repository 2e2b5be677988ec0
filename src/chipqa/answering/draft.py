"""The LLM's part: a one-sentence draft over the best evidence, streamed up to its first figure.

The draft never decides what is true. It is one more signal for selection (whether it states a candidate's
figure) and, when verification accepts it, the wording of the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

OnToken = Callable[[str], None]

_EXAMPLE = (
    "Evidence:\n[1] Acme Corp bought 12,000 servers in 2023.\n[2] Beta Inc spent $3 billion on data centres.\n"
    "Question: How much did Beta Inc spend on data centres?\nAnswer: Beta Inc spent $3 billion on data centres [2].\n\n"
)


class Drafter(Protocol):
    """What answering needs of an LLM backend (chipqa.llm.backends.Generator, or a scripted fake)."""

    label: str

    def stream(self, prompt: str) -> Iterator[str]: ...


def build_prompt(question: str, evidence: Iterable[str]) -> str:
    """A short completion prompt: one worked example, then the numbered evidence and the question."""
    lines = "\n".join(f"[{i}] {text}" for i, text in enumerate(evidence, 1))
    return (
        "Answer the question in one sentence using only the evidence, and cite it like [1].\n\n"
        f"{_EXAMPLE}Evidence:\n{lines}\nQuestion: {question}\nAnswer:"
    )


class FigureGate:
    """Streams a draft up to its first figure; the rest waits until the whole answer is verified."""

    def __init__(self, on_token: OnToken | None) -> None:
        self.on_token = on_token
        self.held = False

    def feed(self, delta: str) -> None:
        if self.on_token is None or self.held:
            return
        cut = re.search(r"[\d$€£¥₹₩]", delta)
        if cut:
            self.held = True
            delta = delta[: cut.start()]
        if delta:
            self.on_token(delta)


def draft(llm: Drafter, question: str, evidence: Iterable[str], on_token: OnToken | None = None) -> str:
    """The first line of the LLM's completion (BackendError propagates: the caller answers without it)."""
    gate = FigureGate(on_token)
    parts: list[str] = []
    for delta in llm.stream(build_prompt(question, evidence)):
        parts.append(delta)
        gate.feed(delta)
        if "\n" in delta:
            break
    return "".join(parts).split("\n")[0].strip()
