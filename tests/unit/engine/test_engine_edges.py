"""Routing: direct, conditional (expression and freeform), self loops, companions, disabled edges."""

from __future__ import annotations

from tests.support.workflow_builders import edge, node, say
from tests.unit.engine.engine_support import of_type
from workflow_service.models.llm_calls import LlmRequest
from workflow_service.models.runs import RunStatus


def said(result) -> list[str]:
    return [event["message"] for event in of_type(result, "say_static")]


def test_direct_edge_event_names_the_edge_and_both_nodes(run):
    config = {
        "nodes": [say("a", "A", is_start=True, name="Node A"), say("b", "B", name="Node B")],
        "edges": [edge("a", "b", logical_id="e1", name="a to b")],
    }

    result = run(config)

    taken = of_type(result, "direct_edge")[0]
    assert {key: taken[key] for key in taken if key.startswith(("edge_", "source_", "destination_", "reason"))} == {
        "edge_name": "a to b",
        "edge_logical_id": "e1",
        "edge_run_id": taken["edge_run_id"],
        "source_node_logical_id": "a",
        "source_node_name": "Node A",
        "destination_node_logical_id": "b",
        "destination_node_name": "Node B",
        "reason": "direct edge",
    }
    assert said(result) == ["A", "B"]


def test_conditional_edges_take_the_first_that_holds_in_declaration_order(run):
    # Given two conditional edges that both hold and a direct fallback
    config = {
        "nodes": [node("start", is_start=True), say("first", "first"), say("second", "second"), say("other", "other")],
        "edges": [
            edge("start", "first", "conditional", condition={"condition_expression": "[[score]] > 5"}),
            edge("start", "second", "conditional", condition={"condition_expression": "score > 1"}),
            edge("start", "other"),
        ],
    }

    # When the score satisfies both
    result = run(config, runtime_variables={"score": 9})

    # Then the first declared one wins and records what it evaluated
    assert said(result) == ["first"]
    taken = of_type(result, "conditional_edge")
    assert len(taken) == 1
    assert taken[0]["args_filled"] == {"condition_expression": "9 > 5", "result": True}


def test_a_user_reply_longer_than_a_condition_expression_may_be_is_routed_on(run):
    # Given an edge whose condition reads the user's reply
    config = {
        "nodes": [
            say("ask", "Do you agree?", is_start=True, wait_for_user_message=True),
            say("yes", "Great."),
            say("no", "Too bad."),
        ],
        "edges": [
            edge(
                "ask",
                "yes",
                "conditional",
                condition={"condition_expression": "contains(lower([[last_user_message]]), 'yes')"},
            ),
            edge("ask", "no"),
        ],
    }
    first = run(config)
    # When the user replies with some 2,600 characters, past the 2,000 an expression may be written with
    reply = "Yes, I agree. " + "Here is why. " * 200
    second = run(config, state=first.state, message=reply)
    # Then the condition is evaluated over the reply and routes the run
    assert second.status is RunStatus.COMPLETED, second.error
    assert said(second)[-1] == "Great."


def test_direct_edge_is_the_fallback_when_no_condition_holds(run):
    config = {
        "nodes": [node("start", is_start=True), say("yes", "yes"), say("no", "no")],
        "edges": [
            edge("start", "yes", "conditional", condition={"condition_expression": "answer == 'yes'"}),
            edge("start", "no"),
        ],
    }

    assert said(run(config, runtime_variables={"answer": "maybe"})) == ["no"]
    assert said(run(config, runtime_variables={"answer": "yes"})) == ["yes"]


def test_freeform_condition_is_asked_to_the_llm_and_its_answer_decides(run, llm):
    config = {
        "nodes": [node("start", is_start=True), say("urgent", "urgent"), say("routine", "routine")],
        "edges": [
            edge("start", "urgent", "conditional", condition={"condition_freeform": "{{name}} reports chest pain"}),
            edge("start", "routine"),
        ],
    }
    llm.reply("True.")

    result = run(config, dynamic_variables={"name": "Ann"})

    request: LlmRequest = llm.requests[0]
    assert request.purpose == "condition"
    assert "Ann reports chest pain" in request.system_prompt
    assert said(result) == ["urgent"]
    assert of_type(result, "condition_evaluator_llm")[0]["result"] is True
    assert of_type(result, "conditional_edge")[0]["args_filled"]["llm_answer"] == "True."

    llm.reply("no")
    assert said(run(config, dynamic_variables={"name": "Ann"})) == ["routine"]


def test_freeform_answer_that_is_neither_true_nor_false_fails_the_run(run, llm):
    config = {
        "nodes": [node("start", is_start=True), say("x", "x")],
        "edges": [edge("start", "x", "conditional", condition={"condition_freeform": "is it raining"})],
    }
    llm.reply("It depends on the weather")

    result = run(config)

    assert result.status is RunStatus.FAILED
    assert "neither true nor false" in result.error


def test_disabled_edges_and_edges_into_disabled_nodes_are_never_followed(run, llm):
    config = {
        "nodes": [node("start", is_start=True), say("off", "off", disabled=True), say("on", "on"), say("x", "x")],
        "edges": [
            edge("start", "x", "conditional", condition={"condition_freeform": "ask"}, disabled=True),
            edge("start", "x", logical_id="disabled-direct", disabled=True),
            edge("start", "off"),
            edge("start", "on"),
        ],
    }

    result = run(config)

    assert said(result) == ["on"]
    assert llm.requests == []  # the disabled freeform condition was not even evaluated


def test_a_node_without_an_edge_to_follow_ends_its_thread_and_the_workflow(run):
    result = run({"nodes": [say("only", "bye", is_start=True)]})

    end_thread = of_type(result, "end_thread")[0]
    assert end_thread["last_node_logical_id"] == "only"
    assert end_thread["reason"] == "no outgoing edge to follow"
    assert result.status is RunStatus.COMPLETED
    assert of_type(result, "end_workflow")[0]["status"] == "completed"


def test_self_loop_runs_the_node_up_to_max_turns_then_moves_on(run):
    config = {
        "nodes": [say("loop", "again", is_start=True, self_loop=True, max_turns=3), say("after", "after")],
        "edges": [edge("loop", "after")],
    }

    result = run(config)

    assert said(result) == ["again", "again", "again", "after"]
    assert len(of_type(result, "self_loop_edge")) == 2


def test_conditional_edge_leaves_a_self_loop_before_max_turns(run):
    config = {
        "nodes": [node("loop", is_start=True, self_loop=True, max_turns=5), say("out", "out")],
        "edges": [edge("loop", "out", "conditional", condition={"condition_expression": "[[done]] == true"})],
    }

    result = run(config, runtime_variables={"done": True})

    assert said(result) == ["out"]
    assert not of_type(result, "self_loop_edge")


def test_step_guard_aborts_a_turn_that_runs_too_many_nodes(run):
    # Given a node that loops on itself forever without waiting (the engine fixture allows 50 steps)
    config = {"nodes": [node("spin", is_start=True, self_loop=True)]}

    result = run(config)

    assert result.status is RunStatus.ABORTED_LOOPING_RISK
    assert len(of_type(result, "start_node_run")) == 50
    error = of_type(result, "workflow_error")[0]
    assert "more than 50 node runs in one turn" in error["error_message"]
    assert error["origin_node_logical_id"] == "spin"
    assert result.error == error["error_message"]
    assert of_type(result, "end_workflow")[0]["status"] == "aborted_looping_risk"


def test_companion_edge_runs_a_parallel_thread_interleaved_with_the_main_one(run):
    # Given: a -> b on the main thread, and a companion edge a => c (thread "side", outliving main) with c -> d
    config = {
        "nodes": [say("a", "A", is_start=True), say("b", "B"), say("c", "C"), say("d", "D")],
        "edges": [
            edge("a", "c", "companion", companion_thread_config={"thread_id": "side", "stop_with_main_thread": False}),
            edge("a", "b"),
            edge("c", "d"),
        ],
    }

    result = run(config)

    # Then both threads run, one node per step in turn, and the companion's events carry its thread id
    assert [(event["origin_thread_id"], event["message"]) for event in of_type(result, "say_static")] == [
        ("0", "A"),
        ("side", "C"),
        ("0", "B"),
        ("side", "D"),
    ]
    companion_edge = of_type(result, "companion_edge")[0]
    assert companion_edge["companion_thread_id"] == "side"
    started = next(event for event in of_type(result, "start_thread") if event["thread_id"] == "side")
    assert started["parent_thread_id"] == "0"
    assert started["start_node_logical_id"] == "c"
    assert sorted(event["thread_id"] for event in of_type(result, "end_thread")) == ["0", "side"]
    assert result.status is RunStatus.COMPLETED
    assert set(result.thread_to_node_outputs) == {"0", "side"}


def test_companion_thread_stops_with_the_main_thread_unless_told_otherwise(run):
    def config(stop_with_main: bool) -> dict:
        return {
            "nodes": [say("a", "A", is_start=True), say("listen", "listening", wait_for_user_message=True)],
            "edges": [
                edge(
                    "a",
                    "listen",
                    "companion",
                    companion_thread_config={"thread_id": "1", "stop_with_main_thread": stop_with_main},
                )
            ],
        }

    stopped = run(config(True))
    assert stopped.status is RunStatus.COMPLETED
    assert {event["thread_id"]: event["reason"] for event in of_type(stopped, "end_thread")}["1"] == (
        "the main thread ended"
    )

    still_running = run(config(False))
    assert still_running.status is RunStatus.WAITING_FOR_USER_INPUT
    assert still_running.next_input_hint["thread_id"] == "1"


def test_a_companion_starts_as_soon_as_its_source_node_runs_even_if_that_node_waits(run):
    config = {
        "nodes": [
            say("ask", "Please hold on", is_start=True, wait_for_user_message=True),
            say("background", "looking things up"),
            say("done", "done"),
        ],
        "edges": [
            edge("ask", "background", "companion", companion_thread_config={"thread_id": "bg"}),
            edge("ask", "done"),
        ],
    }

    result = run(config)

    assert result.status is RunStatus.WAITING_FOR_USER_INPUT
    assert [(event["origin_thread_id"], event["message"]) for event in of_type(result, "say_static")] == [
        ("0", "Please hold on"),
        ("bg", "looking things up"),
    ]
    assert result.next_input_hint["thread_id"] == "0"
