"""Write-time rules for tools on say_llm / worker_llm nodes, and the argument validator (issue 13, item 1)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.support.workflow_builders import node
from workflow_service.models.tool_schema import check_args_schema, parameters_schema, validate_arguments
from workflow_service.models.workflow_config import WorkflowConfig, validate_workflow_config

PREFIX = ("body", "workflow_config")
WEATHER = {
    "logical_id": "weather",
    "name": "get_weather",
    "url": "https://weather.example/[[args.city]]",
    "args_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def problems_of(config: dict) -> dict[tuple, str]:
    return {problem.loc: problem.msg for problem in validate_workflow_config(WorkflowConfig.model_validate(config))}


def agent(node_type: str, *tools: dict, **fields) -> dict:
    return node("agent", node_type, is_start=True, tools_config={"tools": list(tools)}, **fields)


@pytest.mark.parametrize("node_type", ["say_llm", "worker_llm"])
def test_given_an_llm_node_with_an_inline_tool_when_validated_then_it_is_accepted(node_type):
    assert problems_of({"nodes": [agent(node_type, WEATHER)]}) == {}


def test_given_a_reference_to_a_workflow_level_tool_when_validated_then_it_is_accepted_and_unknown_ones_are_not():
    config = {"tools_config": {"tools": [WEATHER]}, "nodes": [agent("say_llm", {"logical_id": "weather"})]}
    assert problems_of(config) == {}

    problems = problems_of({"nodes": [agent("say_llm", {"logical_id": "nowhere"})]})

    assert problems == {
        (*PREFIX, "nodes", 0, "tools_config", "tools", 0, "url"): (
            "tool 'nowhere' has no url and no workflow-level tool has that logical_id"
        )
    }


def test_given_two_tools_with_one_name_or_a_name_a_provider_refuses_when_validated_then_each_is_named():
    problems = problems_of(
        {"nodes": [agent("say_llm", WEATHER, {**WEATHER, "logical_id": "w2"}, {**WEATHER, "name": "get weather!"})]}
    )

    assert problems[(*PREFIX, "nodes", 0, "tools_config", "tools", 1, "name")] == (
        "tool name 'get_weather' is already used by tools[0] of this node"
    )
    assert "1-64 letters, digits" in problems[(*PREFIX, "nodes", 0, "tools_config", "tools", 2, "name")]
    assert "x" * 65 not in str(problems)
    long_name = problems_of({"nodes": [agent("say_llm", {**WEATHER, "name": "x" * 65})]})
    assert list(long_name) == [(*PREFIX, "nodes", 0, "tools_config", "tools", 0, "name")]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "string"}, "args_schema must describe a JSON object (type 'object'), not 'string'"),
        ({"type": "object", "properties": {"n": {"type": "int"}}}, "args_schema.properties.n.type 'int' is not a"),
        ({"type": "object", "properties": []}, "args_schema.properties must be an object"),
        ({"type": "object", "required": "city"}, "args_schema.required must be a list of property names"),
    ],
)
def test_given_an_args_schema_that_is_no_object_schema_when_validated_then_it_is_refused(schema, message):
    problems = problems_of({"nodes": [agent("worker_llm", {**WEATHER, "args_schema": schema})]})

    assert problems[(*PREFIX, "nodes", 0, "tools_config", "tools", 0, "args_schema")].startswith(message)


def test_given_an_empty_args_schema_then_the_model_is_offered_an_object_without_properties():
    assert check_args_schema({}) is None
    assert parameters_schema({}) == {"type": "object", "properties": {}}


@pytest.mark.parametrize("tool_type", ["inline_python", "inbuilt_function", "knowledge_base"])
def test_given_a_tool_type_that_cannot_run_when_parsed_then_it_is_refused_with_a_clear_message(tool_type):
    with pytest.raises(ValidationError, match=f"tool type '{tool_type}' cannot run in this service"):
        WorkflowConfig.model_validate({"nodes": [agent("say_llm", {**WEATHER, "type": tool_type})]})


def test_given_a_negative_cap_when_parsed_then_it_is_refused_and_zero_is_kept():
    with pytest.raises(ValidationError):
        WorkflowConfig.model_validate({"nodes": [agent("say_llm", WEATHER, max_consecutive_tool_calls=-1)]})

    config = WorkflowConfig.model_validate({"nodes": [agent("say_llm", WEATHER, max_consecutive_tool_calls=0)]})
    assert config.nodes[0].max_consecutive_tool_calls == 0


SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2, "maxLength": 10},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "unit": {"enum": ["c", "f"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def test_given_conforming_arguments_then_the_validator_finds_nothing():
    assert validate_arguments(SCHEMA, {"city": "Paris", "days": 3, "unit": "c", "tags": ["a"]}) == []


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({}, "arguments.city is required"),
        ({"city": 5}, "arguments.city must be of type string"),
        ({"city": "P"}, "arguments.city length must be at least 2"),
        ({"city": "Paris", "days": 8}, "arguments.days must be at most 7"),
        ({"city": "Paris", "days": True}, "arguments.days must be of type integer"),
        ({"city": "Paris", "unit": "k"}, "arguments.unit must be one of ['c', 'f']"),
        ({"city": "Paris", "tags": ["a", 1]}, "arguments.tags[1] must be of type string"),
        ({"city": "Paris", "tags": ["a", "b", "c"]}, "arguments.tags length must be at most 2"),
        ({"city": "Paris", "extra": 1}, "arguments.extra is not an allowed property"),
        ([], "arguments must be of type object"),
    ],
)
def test_given_arguments_that_break_the_schema_then_the_validator_names_the_problem(arguments, error):
    assert error in validate_arguments(SCHEMA, arguments)
