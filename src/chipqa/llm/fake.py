"""A scriptable LLM for tests of what surrounds the model (draft acceptance, streaming, refusals, failures).

Like simonw/llm's MockModel: `enqueue` the completions it should give, in order; each `stream` call takes the
next one and yields it in small pieces, as a server would. `prompts` records what it was asked.
"""

from __future__ import annotations

from collections.abc import Iterator

from chipqa.core.errors import BackendError


class ScriptedLLM:
    """Answers each prompt with the next enqueued completion (or raises the next enqueued error)."""

    label = "fake:scripted"

    def __init__(self, *completions: str, chunk: int = 4) -> None:
        self._queue: list[str | BackendError] = list(completions)
        self.chunk = chunk
        self.prompts: list[str] = []

    def enqueue(self, completion: str | BackendError) -> ScriptedLLM:
        self._queue.append(completion)
        return self

    def stream(self, prompt: str) -> Iterator[str]:
        self.prompts.append(prompt)
        if not self._queue:
            raise AssertionError("ScriptedLLM was asked more often than completions were enqueued")
        item = self._queue.pop(0)
        if isinstance(item, BackendError):
            raise item
        for i in range(0, len(item), self.chunk):
            yield item[i : i + self.chunk]
