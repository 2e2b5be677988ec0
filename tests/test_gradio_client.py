"""Gradio's own client against the running server: the public, named /ask endpoint returns the answer record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chipqa.app.service import ChipQA
from chipqa.app.web.server import RunningServer, start_background
from design import ANSWER_KEYS

pytestmark = [
    pytest.mark.server,
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def server(seed_app: ChipQA) -> Iterator[RunningServer]:
    running = start_background(seed_app)
    yield running
    running.stop()


def test_the_ask_endpoint_is_listed_and_answers(server: RunningServer) -> None:
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")
    assert isinstance(api, dict)
    assert list(api["named_endpoints"]) == ["/ask"], "the UI's own events must stay private"
    params = [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]]
    assert params == ["question", "history", "top_k", "llm"]
    record = client.predict(question="How many Hopper GPUs did Microsoft buy?", api_name="/ask")
    assert set(record) >= ANSWER_KEYS
    assert record["figures"][0]["text"] == "485,000" and record["grounded"] is True


def test_the_ask_endpoint_resolves_follow_ups_and_reports_errors(server: RunningServer) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server.url, verbose=False)
    first = client.predict(question="How many GPUs did Meta buy in 2024?", api_name="/ask")
    history = [{"question": first["question"], "answer": first["answer"]}]
    record = client.predict(question="And Amazon?", history=history, top_k=5, llm="none", api_name="/ask")
    assert record["question"] == "And Amazon?"
    assert record["resolved_question"] == "How many GPUs did Amazon buy in 2024?"
    assert record["figures"][0]["text"] == "196,000"
    with pytest.raises(AppError, match="the question is empty"):
        client.predict(question="   ", api_name="/ask")
    with pytest.raises(AppError, match="top_k"):
        client.predict(question="How many?", top_k=99, api_name="/ask")
