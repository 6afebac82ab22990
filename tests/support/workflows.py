"""Sample workflow configs: the one copy the test suites and bench/ use."""

from __future__ import annotations

from typing import Any


def user_message(text: str) -> dict[str, Any]:
    """A run input carrying ``text`` as the user's message on the main thread."""
    return {"0": {"node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": text}]}]}}


def weather_workflow(weather_url: str) -> dict[str, Any]:
    """greet (waits) -> on "yes": fetch weather over HTTP -> report (waits) -> end; otherwise -> goodbye."""
    return {
        "nodes": [
            {
                "logical_id": "greet",
                "type": "say_static",
                "is_start": True,
                "wait_for_user_message": True,
                "static_messages_config": {"static_messages": ["Hi {{name}}, do you want the weather?"]},
            },
            {
                "logical_id": "fetch",
                "type": "http_request",
                "http_request_config": {
                    "method": "GET",
                    "url": weather_url + "/weather?city={{city}}",
                    "result_runtime_variable_name": "weather",
                },
            },
            {
                "logical_id": "report",
                "type": "say_static",
                "wait_for_user_message": True,
                "static_messages_config": {"static_messages": ["Forecast: [[weather]]. Anything else?"]},
            },
            {
                "logical_id": "goodbye",
                "type": "say_static",
                "static_messages_config": {"static_messages": ["Goodbye!"]},
            },
            {"logical_id": "end", "type": "no_op"},
        ],
        "edges": [
            {
                "logical_id": "wants_weather",
                "type": "conditional",
                "source_node_logical_id": "greet",
                "destination_node_logical_id": "fetch",
                "condition": {"condition_expression": "contains(lower(last_user_message), 'yes')"},
            },
            {
                "logical_id": "declines",
                "type": "direct",
                "source_node_logical_id": "greet",
                "destination_node_logical_id": "goodbye",
            },
            {
                "logical_id": "fetched",
                "type": "direct",
                "source_node_logical_id": "fetch",
                "destination_node_logical_id": "report",
            },
            {
                "logical_id": "finish",
                "type": "direct",
                "source_node_logical_id": "report",
                "destination_node_logical_id": "end",
            },
        ],
    }


def say_then_end(
    message: str, *, wait_for_user: bool = False, ids: tuple[str, str, str] = ("hello", "done", "e1")
) -> dict[str, Any]:
    """A say_static node with ``message`` (waiting for the user's answer if asked), then a no_op end.

    ``ids`` are the logical ids of the say node, the end node and the edge between them.
    """
    say, end, edge = ids
    first: dict[str, Any] = {"logical_id": say, "type": "say_static", "is_start": True}
    if wait_for_user:
        first["wait_for_user_message"] = True
    first["static_messages_config"] = {"static_messages": [message]}
    return {
        "nodes": [first, {"logical_id": end, "type": "no_op"}],
        "edges": [
            {"logical_id": edge, "type": "direct", "source_node_logical_id": say, "destination_node_logical_id": end}
        ],
    }


def waiting_workflow() -> dict[str, Any]:
    """One node that waits for the user, then ends: a run of it holds its slot until answered."""
    return say_then_end("Ready?", wait_for_user=True, ids=("ask", "end", "go"))


def looping_workflow() -> dict[str, Any]:
    """A node that follows an edge back to itself forever (the step guard must stop it)."""
    return {
        "nodes": [{"logical_id": "spin", "type": "no_op", "is_start": True}],
        "edges": [
            {
                "logical_id": "again",
                "type": "direct",
                "source_node_logical_id": "spin",
                "destination_node_logical_id": "spin",
            }
        ],
    }


def greeting_workflow() -> dict[str, Any]:
    """Says "Report {{reportType}}" and ends at once (what a schedule fires)."""
    return say_then_end("Report {{reportType}}")


def endless_conversation_workflow() -> dict[str, Any]:
    """Asks, then asks again on every later turn: every turn waits for the user and none ends the run."""
    return {
        "nodes": [
            {
                "logical_id": "ask",
                "type": "say_static",
                "is_start": True,
                "wait_for_user_message": True,
                "static_messages_config": {"static_messages": ["Ready?"]},
            },
            {
                "logical_id": "again",
                "type": "say_static",
                "wait_for_user_message": True,
                "static_messages_config": {"static_messages": ["Again?"]},
            },
        ],
        "edges": [
            {
                "logical_id": "e",
                "type": "direct",
                "source_node_logical_id": "ask",
                "destination_node_logical_id": "again",
            },
            {
                "logical_id": "loop",
                "type": "direct",
                "source_node_logical_id": "again",
                "destination_node_logical_id": "again",
            },
        ],
    }
