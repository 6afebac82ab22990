"""Turns: waiting and resuming, conversations over several turns, start options, failures, heartbeats."""

from __future__ import annotations

import copy
import gc
import json

import pytest

from tests.fakes.http import json_response
from tests.support.workflow_builders import edge, node, say
from tests.unit.engine.engine_support import of_type, types_of
from workflow_service.models.runs import RunStatus, WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.ports import LlmError

ASK_NAME = {
    "nodes": [
        say("ask", "What is your name?", is_start=True, wait_for_user_message=True),
        say("retry", "Sorry, only Bob may book."),
        node(
            "book",
            "http_request",
            http_request_config={
                "method": "POST",
                "url": "https://booking.example.com/bookings",
                "body": {"name": "[[last_user_message]]"},
                "result_runtime_variable_name": "booking",
            },
        ),
        say("done", "Booked, reference [[booking.body.ref]]."),
    ],
    "edges": [
        edge("ask", "book", "conditional", condition={"condition_expression": "lower([[last_user_message]]) == 'bob'"}),
        edge("ask", "retry"),
        edge("retry", "ask"),
        edge("book", "done"),
    ],
}


def said(result) -> list[str]:
    return [event["message"] for event in of_type(result, "say_static")]


def test_three_turn_conversation_asks_branches_on_the_answer_calls_an_api_and_ends(run, http):
    http.route("POST", "https://booking.example.com/bookings", json_response(201, b'{"ref": "R-1"}'))

    # Turn 1: the workflow asks and waits
    first = run(ASK_NAME)
    assert first.status is RunStatus.WAITING_FOR_USER_INPUT
    assert said(first) == ["What is your name?"]
    assert first.next_input_hint["waiting_node_logical_id"] == "ask"
    assert types_of(first)[-2:] == ["busy_wait_for_user_message", "workflow_show_state"]

    # Turn 2: a wrong answer takes the fallback, which asks again
    second = run(ASK_NAME, state=first.state, message="Alice", command="data")
    assert second.status is RunStatus.WAITING_FOR_USER_INPUT
    assert of_type(second, "user_messages")[0]["messages"] == [{"role": "user", "content": "Alice"}]
    assert said(second) == ["Sorry, only Bob may book.", "What is your name?"]
    assert http.requests == []

    # Turn 3: the right answer books and the workflow completes
    third = run(ASK_NAME, state=second.state, message="BOB", command="data")
    assert third.status is RunStatus.COMPLETED
    assert json.loads(http.requests[0].body) == {"name": "BOB"}
    assert said(third) == ["Booked, reference R-1."]
    assert of_type(third, "conditional_edge")[0]["args_filled"]["condition_expression"] == "lower('BOB') == 'bob'"
    assert [message["content"] for message in third.state["history"]] == [
        "What is your name?",
        "Alice",
        "Sorry, only Bob may book.",
        "What is your name?",
        "BOB",
        "Booked, reference R-1.",
    ]
    assert json.loads(json.dumps(third.state)) == third.state


def test_the_callers_state_is_left_untouched(run):
    first = run(ASK_NAME)
    stored = copy.deepcopy(first.state)

    run(ASK_NAME, state=first.state, message="Alice")

    assert first.state == stored


def test_a_waiting_run_stays_waiting_until_input_arrives(run):
    first = run(ASK_NAME)

    resumed_without_message = run(ASK_NAME, state=first.state, command="resume")

    assert resumed_without_message.status is RunStatus.WAITING_FOR_USER_INPUT
    assert not of_type(resumed_without_message, "start_node_run")
    assert resumed_without_message.next_input_hint["waiting_node_logical_id"] == "ask"


def test_a_data_command_resumes_a_waiting_thread_with_variables_only(run):
    config = {
        "nodes": [say("ask", "Pick", is_start=True, wait_for_user_message=True), say("echo", "You chose [[choice]]")],
        "edges": [edge("ask", "echo")],
    }
    first = run(config)

    second = run(config, state=first.state, command="data", runtime_variables={"choice": "B"})

    assert said(second) == ["You chose B"]
    assert second.status is RunStatus.COMPLETED


def test_dynamic_and_runtime_variables_are_merged_every_turn_and_newest_input_wins(run, llm):
    # Given a worker that writes the runtime variable "mood", then a question and a goodbye using it
    config = {
        "nodes": [
            node("set", "worker_llm", is_start=True, structured_output_schema={"type": "object"}),
            say("ask", "Hi {{name}} [[mood]]", wait_for_user_message=True),
            say("bye", "Bye {{name}} [[mood]]"),
        ],
        "edges": [edge("set", "ask"), edge("ask", "bye")],
    }
    llm.reply('{"mood": "from-llm"}')
    first = run(config, dynamic_variables={"name": "Ann"})
    assert said(first) == ["Hi Ann from-llm"]

    # When the next turn supplies new values for both kinds of variable
    second = run(
        config,
        state=first.state,
        command="data",
        dynamic_variables={"name": "Annie"},
        runtime_variables={"mood": "happy"},
    )

    # Then the newest values are the ones used
    assert said(second) == ["Bye Annie happy"]


def test_say_llm_self_loop_handles_up_to_max_turns_of_conversation_before_moving_on(run, llm):
    config = {
        "nodes": [
            node("chat", "say_llm", is_start=True, self_loop=True, max_turns=2),
            say("wrap", "Thanks, goodbye."),
        ],
        "edges": [edge("chat", "wrap")],
    }
    llm.reply("How can I help?", "Anything else?")

    first = run(config)
    second = run(config, state=first.state, message="book me")
    third = run(config, state=second.state, message="no")

    assert first.status is RunStatus.WAITING_FOR_USER_INPUT
    assert second.status is RunStatus.WAITING_FOR_USER_INPUT
    assert [m.content for m in llm.requests[1].messages] == ["How can I help?", "book me"]
    assert said(third) == ["Thanks, goodbye."]
    assert third.status is RunStatus.COMPLETED
    assert len(llm.requests) == 2


def test_start_node_logical_id_starts_the_run_elsewhere(run):
    config = {"nodes": [say("a", "A", is_start=True), say("b", "B")], "edges": [edge("a", "b")]}

    result = run(config, start_node_logical_id="b")

    assert said(result) == ["B"]
    assert of_type(result, "start_workflow")[0]["start_node_logical_id"] == "b"


def test_unknown_start_node_logical_id_fails_with_a_clear_error(run):
    result = run({"nodes": [say("a", "A", is_start=True)]}, start_node_logical_id="nope")

    assert result.status is RunStatus.FAILED
    assert of_type(result, "workflow_error")[0]["error_message"] == (
        "start_node_logical_id 'nope' is not a node of this workflow version"
    )
    assert not of_type(result, "start_node_run")


def test_initial_state_continues_a_run_from_another_runs_state(run, http):
    http.route("POST", "https://booking.example.com/bookings", json_response(200, b'{"ref": "R-9"}'))
    checkpoint = run(ASK_NAME).state

    result = run(ASK_NAME, initial_state=checkpoint, message="bob")

    assert of_type(result, "start_workflow")[0]["from_initial_state"] is True
    assert said(result) == ["Booked, reference R-9."]
    assert result.status is RunStatus.COMPLETED


def test_an_initial_state_not_made_by_the_engine_fails_the_run(run):
    result = run(ASK_NAME, initial_state={"foo": "bar"})

    assert result.status is RunStatus.FAILED
    assert "initial_state is not a workflow state produced by this engine" in result.error


def test_a_missing_variable_fails_the_run_naming_the_variable(run):
    result = run({"nodes": [say("greet", "Hello {{first_name}}", is_start=True)]})

    assert result.status is RunStatus.FAILED
    error = of_type(result, "workflow_error")[0]
    assert "dynamic variable 'first_name' is not defined" in error["error_message"]
    assert error["origin_node_logical_id"] == "greet"
    assert of_type(result, "end_node_run")[0]["run_output"] == {
        "error": error["error_message"],
        "type": "say_static",
        "node_logical_id": "greet",
    }
    assert types_of(result)[-1] == "end_workflow"


def test_a_missing_variable_in_a_condition_fails_the_run_naming_edge_and_variable(run):
    config = {
        "nodes": [node("a", is_start=True), say("b", "B")],
        "edges": [edge("a", "b", "conditional", logical_id="check", condition={"condition_expression": "[[x]] > 1"})],
    }

    result = run(config)

    assert result.status is RunStatus.FAILED
    assert "runtime variable 'x' is not defined" in result.error
    assert "edge 'check'" in result.error


def test_a_condition_that_cannot_be_evaluated_fails_the_run_naming_the_expression(run):
    config = {
        "nodes": [node("a", is_start=True), say("b", "B")],
        "edges": [edge("a", "b", "conditional", condition={"condition_expression": "len(count) > 1"})],
    }

    result = run(config, runtime_variables={"count": 5})

    assert result.status is RunStatus.FAILED
    assert "'len(count) > 1'" in result.error


def test_a_condition_over_its_cost_budget_fails_the_run_with_the_reason(run):
    # Given a 40-character condition that would render ten billion characters of text
    expression = "len(str([[0]*99999]*99999)) > 0"
    config = {
        "nodes": [node("a", is_start=True), say("b", "B")],
        "edges": [edge("a", "b", "conditional", logical_id="huge", condition={"condition_expression": expression})],
    }

    # When the turn evaluates it
    result = run(config)

    # Then the run fails at once naming the edge and the budget, instead of pinning the CPU
    assert result.status is RunStatus.FAILED
    assert "edge 'huge'" in result.error and "evaluation budget" in result.error


def test_an_llm_error_fails_the_run_with_a_stack_trace(run, llm):
    llm.reply(LlmError("throttled"))

    result = run({"nodes": [node("chat", "say_llm", is_start=True)]})

    assert result.status is RunStatus.FAILED
    error = of_type(result, "workflow_error")[0]
    assert "throttled" in error["error_message"]
    assert "LlmError" in error["stack_trace"]
    assert result.error == error["error_message"]


def test_an_unexpected_exception_in_a_port_fails_the_run_instead_of_raising(run, http):
    http.route("GET", "https://x.example.com/", RuntimeError("adapter bug"))

    result = run(
        {"nodes": [node("call", "http_request", is_start=True, http_request_config={"url": "https://x.example.com/"})]}
    )

    assert result.status is RunStatus.FAILED
    assert "RuntimeError: adapter bug" in result.error


def test_a_config_with_nodes_but_no_start_node_fails_and_an_empty_one_completes(run):
    no_start = run({"nodes": [say("a", "A")]})
    assert no_start.status is RunStatus.FAILED
    assert "no start node" in no_start.error

    empty = run({})
    assert empty.status is RunStatus.COMPLETED
    assert types_of(empty)[0] == "start_workflow"
    assert types_of(empty)[-1] == "end_workflow"


def test_a_turn_on_an_ended_run_changes_nothing_and_says_why(run):
    finished = run({"nodes": [say("a", "A", is_start=True)]})

    again = run({"nodes": [say("a", "A", is_start=True)]}, state=finished.state, message="hello?")

    assert again.status is RunStatus.COMPLETED
    assert "already ended" in again.error
    assert again.state == finished.state


def test_heartbeat_is_called_between_node_runs(run):
    beats: list[int] = []
    config = {
        "nodes": [say("a", "A", is_start=True), say("b", "B"), say("c", "C")],
        "edges": [edge("a", "b"), edge("b", "c")],
    }

    run(config, heartbeat=lambda: beats.append(1))

    assert len(beats) == 2


def test_an_exception_from_the_heartbeat_reaches_the_caller(run):
    class ClaimLost(Exception):
        pass

    def heartbeat() -> None:
        raise ClaimLost

    config = {"nodes": [say("a", "A", is_start=True), say("b", "B")], "edges": [edge("a", "b")]}

    with pytest.raises(ClaimLost):
        run(config, heartbeat=heartbeat)


def test_show_state_reports_thread_and_workflow_runtime_variables(run):
    result = run({"nodes": [say("a", "A", is_start=True, wait_for_user_message=True)]}, runtime_variables={"k": 1})
    result = run({"nodes": [say("a", "A", is_start=True)]}, state=result.state, message="hi")

    shown = of_type(result, "workflow_show_state")[0]
    assert shown["thread_id"] == "0"
    assert shown["runtime_variables"] == {"last_user_message": "hi"}
    assert shown["workflow_runtime_variables"] == {"k": 1}


def test_end_workflow_reports_llm_usage_accumulated_over_all_turns(run, llm):
    config = {"nodes": [node("chat", "say_llm", is_start=True, self_loop=True, max_turns=2)]}
    llm.reply("one", "two")

    first = run(config)
    second = run(config, state=first.state, message="more")
    third = run(config, state=second.state, message="done")

    usage = of_type(third, "end_workflow")[0]["llm_token_usage"]
    assert usage["call_count"] == 2
    assert usage["total_tokens"] == 28
    assert usage["breakdown_by_models"][0]["response_model"] == "fake-model"
    assert of_type(third, "end_workflow")[0]["llm_latency_stats"]["total_latency_milliseconds"] == 40.0


def test_a_turn_leaves_nothing_for_the_cyclic_garbage_collector(engine, http):
    # A turn's thousands of events must be freed with its result, not linger until a full collection.
    http.route("POST", "https://booking.example.com/bookings", json_response(200, b'{"ref": "R-2"}'))
    config = WorkflowConfig.model_validate(ASK_NAME)
    first = WorkflowRunInput()
    answer = WorkflowRunInput.model_validate(
        {"command": "data", "thread_to_node_inputs": {"0": {"node_run_inputs": [{"messages": [{"content": "bob"}]}]}}}
    )
    engine.run_turn(config, answer, engine.run_turn(config, first, None).state)  # warm up lazy imports and caches
    gc.collect()
    gc.disable()
    try:
        state = engine.run_turn(config, first, None).state
        result = engine.run_turn(config, answer, state)
        assert result.status is RunStatus.COMPLETED
        del state, result
        assert gc.collect() == 0
    finally:
        gc.enable()
