"""What ../shared/DESIGN.md fixes, for the tests that check it."""

# The answer record's keys (CLI --json, POST /api/ask, eval results).
ANSWER_KEYS = frozenset(
    {
        "question",
        "resolved_question",
        "answer",
        "abstained",
        "grounded",
        "figures",
        "citations",
        "conflicts",
        "llm",
        "timings_ms",
    }
)
# Each citation's keys.
CITATION_KEYS = frozenset({"n", "doc_id", "title", "start", "end", "text", "source", "published"})
