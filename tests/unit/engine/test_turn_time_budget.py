"""A turn's wall-time budget: no node starts and no call out waits past it; running out fails the run with
the reason (the function running the turn never reaches its own timeout)."""

from __future__ import annotations

from tests.fakes.http import json_response
from tests.support.workflow_builders import edge, node, say
from workflow_service.models.runs import RunStatus

CHAIN = {
    "nodes": [say("a", "one", is_start=True), say("b", "two"), say("c", "three")],
    "edges": [edge("a", "b"), edge("b", "c")],
}


class Countdown:
    """A turn budget that loses ``per_read`` seconds each time it is read (as time passes between nodes)."""

    def __init__(self, seconds: float, per_read: float = 0.0) -> None:
        self.seconds = seconds
        self.per_read = per_read

    def __call__(self) -> float:
        left = self.seconds
        self.seconds -= self.per_read
        return left


def test_a_turn_that_runs_out_of_time_between_nodes_fails_naming_the_next_node(run):
    # Given a budget that is spent after the first node
    budget = Countdown(1.0, per_read=1.0)

    # When the turn runs
    result = run(CHAIN, time_left=budget)

    # Then the first node ran, the second never started, and the run failed saying why
    assert result.status is RunStatus.FAILED
    assert "ran out of its time budget before node 'b'" in result.error
    started = [event["origin_node_logical_id"] for event in result.events if event["type"] == "start_node_run"]
    assert started == ["a"]


def test_a_turn_within_its_budget_runs_as_without_one(run):
    assert run(CHAIN, time_left=Countdown(60.0)).status is RunStatus.COMPLETED


def test_http_and_llm_calls_never_wait_past_what_is_left_of_the_budget(run, http, llm):
    # Given a workflow that calls an API (configured timeout 30 s), then an LLM, with 12 s left
    llm.reply("Hello!")
    http.route("GET", "https://api.example.com/x", json_response(200, b"{}"))
    config = {
        "nodes": [
            node(
                "call",
                "http_request",
                is_start=True,
                http_request_config={
                    "url": "https://api.example.com/x",
                    "timeout_seconds": 30,
                    "result_runtime_variable_name": "r",
                },
            ),
            node("talk", "say_llm"),
        ],
        "edges": [edge("call", "talk")],
    }

    # When the turn runs
    result = run(config, time_left=Countdown(12.0))

    # Then each call carries the time left, so its adapter bounds its wait by it
    assert result.status is not RunStatus.FAILED, result.error
    (request,) = http.requests
    assert request.timeout_seconds == 30 and request.time_left_seconds == 12.0
    assert llm.requests[0].time_left_seconds == 12.0


def test_a_call_with_too_little_time_left_is_not_made_and_the_run_fails_with_the_reason(run, http):
    # Given less than a second left when the HTTP node starts
    config = {
        "nodes": [
            node(
                "call",
                "http_request",
                is_start=True,
                http_request_config={"url": "https://api.example.com/x", "result_runtime_variable_name": "r"},
            )
        ]
    }

    # When the turn runs
    result = run(config, time_left=Countdown(0.5))

    # Then no request is sent and the run fails naming the call
    assert http.requests == []
    assert result.status is RunStatus.FAILED
    assert "time budget ran out before the HTTP call of node 'call'" in result.error
