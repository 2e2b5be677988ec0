"""What ../shared/DESIGN.md fixes, for the tests that check it."""

# The answer record's keys (CLI --json, POST /api/ask, eval results).
ANSWER_KEYS = frozenset(
    {"question", "answer", "abstained", "grounded", "figures", "citations", "conflicts", "llm", "timings_ms"}
)
