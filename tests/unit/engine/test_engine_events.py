"""The engine's event dicts match the documented event models (models/events.py)."""

from __future__ import annotations

from pydantic import TypeAdapter

from tests.fakes.http import json_response
from tests.fakes.llm import tool_calls_reply
from tests.support.workflow_builders import edge, node, say
from workflow_service.models.event_records import EventType
from workflow_service.models.events import WorkflowEvent
from workflow_service.models.llm_calls import LlmResponse
from workflow_service.ports import LlmError

EVENTS = TypeAdapter(WorkflowEvent)


def test_every_emitted_event_validates_against_its_documented_model(run, llm, http):
    # Given a workflow that exercises every node type, every edge type, a wait and a companion thread
    config = {
        "nodes": [
            say("hello", "Hello", is_start=True),
            node("chat", "say_llm"),
            node("extract", "worker_llm", structured_output_schema={"type": "object"}),
            node("call", "http_request", http_request_config={"url": "https://api.example.com/x"}),
            node(
                "tool", "tool_node", tools_config={"tools": [{"logical_id": "t", "url": "https://api.example.com/t"}]}
            ),
            node("loop", self_loop=True, max_turns=2),
            say("side", "side thread", wait_for_user_message=True),
            say("bye", "Bye"),
        ],
        "edges": [
            edge("hello", "side", "companion", companion_thread_config={"thread_id": "1"}),
            edge("hello", "chat"),
            edge("chat", "extract", "conditional", condition={"condition_freeform": "the user said hi"}),
            edge("extract", "call", "conditional", condition={"condition_expression": "[[intent]] == 'go'"}),
            edge("call", "tool"),
            edge("tool", "loop"),
            edge("loop", "bye"),
        ],
    }
    llm.reply(
        "Hi, how can I help?",
        "true",
        LlmResponse(content="{}", provider="p", model="m", structured_output={"intent": "go"}),
    )
    http.route("GET", "https://api.example.com/x", json_response(200, b"{}"))
    http.route("GET", "https://api.example.com/t", json_response(200, b"{}"))
    first = run(config)
    second = run(config, state=first.state, message="hi")
    # and a failing run with a message for a thread that does not exist (workflow_error, workflow_warning)
    llm.reply(LlmError("down"))
    failed = run({"nodes": [node("chat", "say_llm", is_start=True)]}, message="hello?", thread="9")
    # and an LLM node that calls a tool (llm events, an http_request event with the call's arguments)
    agent_tool = {"logical_id": "t", "name": "t", "method": "POST", "url": "https://api.example.com/t"}
    llm.reply(tool_calls_reply(("t", {"q": 1})), "done")
    http.route("POST", "https://api.example.com/t", json_response(200, b"{}"))
    agent = run({"nodes": [node("agent", "say_llm", is_start=True, tools_config={"tools": [agent_tool]})]})

    events = first.events + second.events + failed.events + agent.events
    emitted = {event["type"] for event in events}

    # Then each one parses as the model its type names, and the models cover everything emitted
    for event in events:
        parsed = EVENTS.validate_python(event)
        assert parsed.type == event["type"]
        assert parsed.model_extra == {}, f"{event['type']} carries undocumented fields"
    assert emitted == {member.value for member in EventType} - {"pause_thread"}


# The product SDK's typed run loop (interactly_configs.events) reads these; they are facts of its models.
SDK_RUN_INPUT_KINDS = {"say_llm": "llm", "worker_llm": "llm", "say_static": "say_static", "no_op": "no_op"}


def test_what_the_sdk_run_loop_reads_is_there_say_events_are_followed_by_assistant_responses(run, llm):
    # Given a workflow that says a static greeting, answers with the LLM, decides by an LLM condition and signs off
    config = {
        "nodes": [
            say("hello", "Hello", is_start=True),
            node("chat", "say_llm", wait_for_user_message=True),
            node("pass", is_start=False),
            say("bye", "Bye"),
        ],
        "edges": [
            edge("hello", "chat"),
            edge("chat", "pass", "conditional", condition={"condition_freeform": "the user said goodbye"}),
            edge("pass", "bye"),
        ],
    }
    llm.reply("How can I help?", "true")
    first = run(config)
    second = run(config, state=first.state, message="goodbye")
    events = first.events + second.events

    # Then every message said is followed by an assistant_response with its content, node and usage
    said = [(i, e) for i, e in enumerate(events) if e["type"] in ("say_static", "say_llm")]
    assert [e["message"] for _, e in said] == ["Hello", "How can I help?", "Bye"]
    for index, event in said:
        response = events[index + 1]
        assert response["type"] == "assistant_response"
        assert response["content"] == event["message"]
        assert response["origin_node_run_id"] == event["origin_node_run_id"]
        assert response["llm_usage_info"] == event.get("llm_usage_info", {})
    assert len(of_kind(events, "assistant_response")) == 3
    # and node runs are tagged as the SDK's run-input and run-output unions are
    for start in of_kind(events, "start_node_run"):
        assert start["run_input"] == {
            "type": SDK_RUN_INPUT_KINDS[start["node_type"]],
            "node_logical_id": start["origin_node_logical_id"],
        }
    for end in of_kind(events, "end_node_run"):
        assert end["run_output"]["type"] == end["node_type"]
        assert end["run_output"]["node_logical_id"] == end["origin_node_logical_id"]
    # and the condition's verdict and destination carry the SDK's names too
    (condition,) = of_kind(events, "condition_evaluator_llm")
    assert condition["is_condition_met"] is True and condition["message"] == "true"
    assert condition["destination_node_logical_id"] == "pass"


def of_kind(events, kind):
    return [event for event in events if event["type"] == kind]
