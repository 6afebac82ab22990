"""Workflow config models (parse-time rules) and validate_workflow_config (cross-object rules)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.support.workflow_builders import edge, node, say
from workflow_service.models.workflow_config import WorkflowConfig, validate_workflow_config

PREFIX = ("body", "workflow_config")


def problems_of(config: dict) -> dict[tuple, str]:
    return {problem.loc: problem.msg for problem in validate_workflow_config(WorkflowConfig.model_validate(config))}


def valid_config(**changes) -> dict:
    config = {
        "nodes": [say("a", "A", is_start=True), say("b", "B")],
        "edges": [edge("a", "b", logical_id="e0")],
    }
    config.update(changes)
    return config


def test_a_well_formed_config_and_an_empty_draft_have_no_problems():
    assert problems_of(valid_config()) == {}
    assert problems_of({}) == {}


def test_defaults_follow_the_reference():
    config = WorkflowConfig.model_validate({"nodes": [node("chat", "say_llm", is_start=True), node("w", "worker_llm")]})

    assert config.logical_id.startswith("workflow_")
    assert config.category == "User Created"
    assert config.llms_config.logical_id.startswith("llm_")
    assert config.llms_config.provider == "default_provider"
    assert config.llms_config.max_retries == 3
    assert config.llms_config.type == "global_default_llm"
    assert config.nodes[0].wait_for_user_message is True  # say_llm waits for the reply by default
    assert config.nodes[1].wait_for_user_message is False
    assert config.nodes[0].static_messages_config.static_messages_selection_mode == "random"


def test_a_config_survives_a_round_trip_through_its_stored_form():
    original = WorkflowConfig.model_validate(
        valid_config(
            nodes=[
                node(
                    "h", "http_request", is_start=True, http_request={"url": "https://x.example.com", "method": "post"}
                )
            ],
            edges=[],
        )
    )

    again = WorkflowConfig.model_validate(original.model_dump(mode="json"))

    assert again == original
    assert again.nodes[0].http_request_config.method == "POST"


@pytest.mark.parametrize(
    ("node_type", "message"),
    [
        ("send_sms", "node type 'send_sms' is not supported by this service; supported types: say_static, say_llm"),
        ("teleport", "unknown node type 'teleport'; supported types: say_static, say_llm, worker_llm, http_request"),
    ],
)
def test_an_unsupported_node_type_is_rejected_listing_the_allowed_ones(node_type, message):
    with pytest.raises(ValidationError) as raised:
        WorkflowConfig.model_validate({"nodes": [node("x", node_type)]})

    error = raised.value.errors()[0]
    assert error["loc"] == ("nodes", 0, "type")
    assert message in error["msg"]


def test_upper_case_node_types_from_the_product_sdk_are_accepted():
    assert WorkflowConfig.model_validate({"nodes": [node("x", "SAY_LLM")]}).nodes[0].type == "say_llm"


@pytest.mark.parametrize("tool_type", ["inline_python", "inbuilt_function", "knowledge_base"])
def test_non_executable_tool_types_are_rejected_on_write(tool_type):
    with pytest.raises(ValidationError) as raised:
        WorkflowConfig.model_validate(
            {"nodes": [node("t", "tool_node", tools_config={"tools": [{"type": tool_type, "url": "https://x"}]})]}
        )

    error = raised.value.errors()[0]
    assert error["loc"] == ("nodes", 0, "tools_config", "tools", 0, "type")
    assert "only 'external_api' tools are supported" in error["msg"]


def test_misspelt_fields_are_reported_not_ignored():
    with pytest.raises(ValidationError) as raised:
        WorkflowConfig.model_validate({"nodes": [node("x", "say_llm", wait_for_user_mesage=False)]})

    assert raised.value.errors()[0]["loc"] == ("nodes", 0, "wait_for_user_mesage")


def test_duplicate_node_and_edge_ids_are_problems():
    config = valid_config(
        nodes=[say("a", "A", is_start=True), say("a", "again")],
        edges=[edge("a", "a", logical_id="e"), edge("a", "a", logical_id="e")],
    )

    problems = problems_of(config)

    assert problems[(*PREFIX, "nodes", 1, "logical_id")] == "duplicate node logical_id 'a'"
    assert problems[(*PREFIX, "edges", 1, "logical_id")] == "duplicate edge logical_id 'e'"


def test_edges_must_join_existing_nodes():
    problems = problems_of(valid_config(edges=[edge("a", "b"), edge("ghost", "nowhere")]))

    assert problems == {
        (*PREFIX, "edges", 1, "source_node_logical_id"): "no node with logical_id 'ghost'",
        (*PREFIX, "edges", 1, "destination_node_logical_id"): "no node with logical_id 'nowhere'",
    }


def test_exactly_one_enabled_start_node_is_required():
    assert problems_of(valid_config(nodes=[say("a", "A"), say("b", "B")])) == {
        (*PREFIX, "nodes"): "no start node: mark exactly one node with is_start: true"
    }
    assert problems_of(valid_config(nodes=[say("a", "A", is_start=True), say("b", "B", is_start=True)])) == {
        (*PREFIX, "nodes", 1, "is_start"): "more than one start node: 'a' is already the start node"
    }
    assert problems_of(valid_config(nodes=[say("a", "A", is_start=True, disabled=True), say("b", "B")])) == {
        (*PREFIX, "nodes", 0, "disabled"): "the start node cannot be disabled"
    }


def test_conditional_edges_need_one_valid_condition():
    edges = [
        edge("a", "b", "conditional", logical_id="none"),
        edge(
            "a",
            "b",
            "conditional",
            logical_id="both",
            condition={"condition_expression": "1", "condition_freeform": "x"},
        ),
        edge("a", "b", "conditional", logical_id="bad", condition={"condition_expression": "[[x]].upper()"}),
        edge("a", "b", "conditional", logical_id="good", condition={"condition_expression": "lower([[x]]) == 'y'"}),
        edge("a", "b", "conditional", logical_id="llm", condition={"condition_freeform": "the user agreed"}),
    ]

    problems = problems_of(valid_config(edges=edges))

    assert problems == {
        (*PREFIX, "edges", 0, "condition"): (
            "a conditional edge needs condition.condition_expression or condition.condition_freeform"
        ),
        (*PREFIX, "edges", 1, "condition"): "set either condition_expression or condition_freeform, not both",
        (*PREFIX, "edges", 2, "condition", "condition_expression"): (
            "condition expression may not call methods such as .upper(); call one of these functions instead, "
            "e.g. lower(x): contains, endswith, float, int, len, lower, startswith, str, strip, upper"
        ),
    }


def test_companion_edges_need_a_thread_other_than_main():
    edges = [
        edge("a", "b", "companion", logical_id="no-config"),
        edge("a", "b", "companion", logical_id="main", companion_thread_config={"thread_id": "0"}),
        edge("a", "b", "companion", logical_id="ok", companion_thread_config={"thread_id": "1"}),
        edge("a", "b", "companion", logical_id="dup", companion_thread_config={"thread_id": "1"}),
    ]

    problems = problems_of(valid_config(edges=edges))

    assert problems == {
        (
            *PREFIX,
            "edges",
            0,
            "companion_thread_config",
        ): "a companion edge needs companion_thread_config with a thread_id",
        (*PREFIX, "edges", 1, "companion_thread_config", "thread_id"): (
            'thread_id "0" is the main thread; choose another id for a companion thread'
        ),
        (*PREFIX, "edges", 3, "companion_thread_config", "thread_id"): "thread_id '1' is already used by edges[2]",
    }


def test_node_types_need_their_own_settings():
    nodes = [
        node("s", "say_static", is_start=True),
        node("h", "http_request"),
        node("t", "tool_node"),
        node("t2", "tool_node", tools_config={"tools": [{"logical_id": "unknown"}]}),
        node("l", "no_op", tools_config={"tools": [{"logical_id": "x", "url": "https://x"}]}),
    ]

    problems = problems_of({"nodes": nodes})

    assert problems == {
        (*PREFIX, "nodes", 0, "static_messages_config", "static_messages"): (
            "a say_static node needs at least one static message"
        ),
        (*PREFIX, "nodes", 1, "http_request_config"): "an http_request node needs http_request_config",
        (*PREFIX, "nodes", 2, "tools_config", "tools"): "a tool_node needs at least one tool",
        (*PREFIX, "nodes", 3, "tools_config", "tools", 0, "url"): (
            "tool 'unknown' has no url and no workflow-level tool has that logical_id"
        ),
        (*PREFIX, "nodes", 4, "tools_config", "tools"): (
            "tools can only be attached to tool_node, say_llm and worker_llm nodes, not to no_op"
        ),
    }


def test_the_loc_prefix_is_the_callers_choice():
    config = WorkflowConfig.model_validate({"nodes": [say("a", "A")]})

    (problem,) = validate_workflow_config(config, loc_prefix=("body", "config"))

    assert problem.loc == ("body", "config", "nodes")


def test_http_methods_are_checked_unless_they_are_templated():
    with pytest.raises(ValidationError):
        WorkflowConfig.model_validate(
            {"nodes": [node("h", "http_request", http_request_config={"url": "x", "method": "FETCH"})]}
        )

    config = WorkflowConfig.model_validate(
        {"nodes": [node("h", "http_request", http_request_config={"url": "x", "method": "[[verb]]"})]}
    )
    assert config.nodes[0].http_request_config.method == "[[verb]]"
