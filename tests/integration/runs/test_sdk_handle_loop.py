"""Runs driven as the product SDK's WorkflowHandle drives them.

The handle uploads with ``create_from_config``, then posts ``{"run_input": <WorkflowRunInput>, "run_id"?}``
each turn: its typed defaults (``command: "start"`` on every turn, ``initial_state: null``,
``start_node_logical_id: null``, ``version_number: 0``, ``welcome_message: null``) and messages
serialised from langchain (``{"type": "human", "content": ...}``).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support.api import call
from tests.support.sdk import fixture, without_llm_configs


def upload(caller, body: dict[str, Any] | None = None) -> str:
    reply = call(
        "create_workflow", caller=caller, body=body or without_llm_configs(fixture("hydrated_create_three_nodes"))
    )
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def run_turn(caller, workflow_id: str, body: dict[str, Any]):
    return call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body=body)


def said(reply) -> list[str]:
    return [event["message"] for event in reply.body["events"] if event["type"] in ("say_llm", "say_static")]


def test_a_handle_style_loop_completes_the_run(caller):
    # Given a workflow uploaded from the SDK's body, and the run inputs its handle sends
    workflow_id = upload(caller)
    turns = fixture("handle_run_inputs")
    # When the first turn runs (no run_id)
    first = run_turn(caller, workflow_id, turns["first_turn"])
    # Then the greeting and the assistant speak and the run waits for the user
    assert first.status == 200, first
    assert first.body["status"] == "waiting_for_user_input" and first.body["turn_number"] == 1
    assert len(said(first)) == 2
    # When the next turn echoes the run_id, with the handle's default command "start" and "bye"
    later = {**turns["later_turn"], "run_id": first.body["run_id"]}
    assert later["run_input"]["command"] == "start"
    second = run_turn(caller, workflow_id, later)
    # Then the conditional edge ends the conversation and the run completes
    assert second.status == 200, second
    assert second.body["run_id"] == first.body["run_id"] and second.body["turn_number"] == 2
    assert said(second) == ["Thanks for chatting. Goodbye!"]
    assert second.body["status"] == "completed" and second.body["is_completed"]


def test_start_with_the_run_id_of_an_ended_run_is_still_refused(caller):
    workflow_id = upload(caller)
    turns = fixture("handle_run_inputs")
    run_id = run_turn(caller, workflow_id, turns["first_turn"]).body["run_id"]
    assert run_turn(caller, workflow_id, {**turns["later_turn"], "run_id": run_id}).body["status"] == "completed"
    again = run_turn(caller, workflow_id, {**turns["later_turn"], "run_id": run_id})
    assert again.status == 409


def test_langchain_messages_mean_the_same_as_role_messages(caller):
    # Given a waiting run, and one turn whose messages are langchain-serialised, of every type
    workflow_id = upload(caller)
    turns = fixture("handle_run_inputs")
    run_id = run_turn(caller, workflow_id, turns["first_turn"]).body["run_id"]
    body = copy.deepcopy(turns["later_turn"])
    body["run_id"] = run_id
    body["run_input"]["thread_to_node_inputs"]["0"]["node_run_inputs"][0]["messages"] = [
        {"type": "ai", "content": "Earlier I said hello.", "tool_calls": [], "invalid_tool_calls": []},
        {"type": "system", "content": "Be brief."},
        {"type": "tool", "content": "{}", "tool_call_id": "call_1"},
        {"type": "human", "content": [{"type": "text", "text": "b"}, {"type": "text", "text": "ye"}]},
    ]
    # When it runs
    reply = run_turn(caller, workflow_id, body)
    # Then they joined the conversation as role/content messages, and the human one is the user's message
    (delivered,) = [event["messages"] for event in reply.body["events"] if event["type"] == "user_messages"]
    assert delivered == [
        {"role": "assistant", "content": "Earlier I said hello."},
        {"role": "user", "content": "Be brief."},  # as {"role": "system", ...} is taken today
        {"role": "user", "content": "{}"},
        {"role": "user", "content": "bye"},
    ]
    assert reply.body["status"] == "completed"


def test_the_workflow_default_variables_fill_placeholders_and_a_run_value_wins(caller):
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    greeting = body["node_configs"][0]
    greeting.update(type="say_static", static_messages_config={"static_messages": ["Hello {{customer}} ([[visits]])"]})
    for key in list(greeting):
        if key not in _SAY_STATIC_FIELDS:
            del greeting[key]
    workflow_id = upload(caller, body)
    turns = fixture("handle_run_inputs")
    default = run_turn(caller, workflow_id, turns["first_turn"])
    assert said(default)[0] == "Hello Ada (0)"
    own = copy.deepcopy(turns["first_turn"])
    own["run_input"]["dynamic_variables"] = {"customer": "Grace"}
    assert said(run_turn(caller, workflow_id, own))[0] == "Hello Grace (0)"


_SAY_STATIC_FIELDS = {
    "logical_id",
    "name",
    "description",
    "workflow_id",
    "version_number",
    "disabled",
    "miscellaneous",
    "primary_category",
    "secondary_category",
    "is_start",
    "global_node_config",
    "is_guardrail_node",
    "self_loop_config",
    "type",
    "static_messages_config",
}
