"""The product SDK's spellings of configs and run inputs, accepted by the service's models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.support.sdk import fixture
from workflow_service.models.execution import ExecuteWorkflowRequest
from workflow_service.models.runs import message_role_and_text
from workflow_service.models.workflow_config import NodeConfig, WorkflowConfig


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"role": "user", "content": "hi"}, ("user", "hi")),
        ({"type": "human", "content": "hi"}, ("user", "hi")),
        ({"type": "ai", "content": "hello"}, ("assistant", "hello")),
        ({"type": "system", "content": "rules"}, ("system", "rules")),
        ({"type": "tool", "content": "{}", "tool_call_id": "c"}, ("tool", "{}")),
        ({"type": "human", "content": [{"type": "text", "text": "a"}, "b"]}, ("user", "ab")),
        ({"type": "human", "content": [{"type": "image_url", "image_url": "x"}]}, None),
        ({"content": 3}, None),
        ("hi", None),
    ],
)
def test_message_role_and_text(message, expected):
    assert message_role_and_text(message) == expected


def test_the_sdk_run_input_with_its_typed_defaults_is_accepted():
    body = fixture("handle_run_inputs")["first_turn"]
    run_input = ExecuteWorkflowRequest.model_validate(body).run_input
    assert run_input.initial_state is None and run_input.start_node_logical_id is None
    assert run_input.welcome_message is None and run_input.version_number == 0


def test_null_means_the_default_for_fields_with_one():
    sdk_node = {
        "logical_id": "chat",
        "type": "say_llm",
        "tools_config": None,
        "structured_output_schema": None,
        "main_response_config": None,
        "static_messages_config": None,
    }
    parsed = NodeConfig.model_validate(sdk_node)
    assert parsed.tools_config.tools == [] and parsed.structured_output_schema == {}
    assert parsed.main_response_config.prompt is None


def test_null_for_a_required_field_is_still_refused():
    with pytest.raises(ValidationError) as refused:
        NodeConfig.model_validate({"logical_id": None, "type": "no_op"})
    assert [error["loc"] for error in refused.value.errors()] == [("logical_id",)]


def test_the_sdk_sequence_selection_mode_walks_in_order():
    node = NodeConfig.model_validate(
        {
            "logical_id": "s",
            "type": "say_static",
            "static_messages_config": {"static_messages": ["a"], "static_messages_selection_mode": "sequence"},
        }
    )
    assert node.static_messages_config.sequential


def test_an_external_api_tool_in_sdk_spelling_is_a_runnable_tool():
    config = WorkflowConfig.model_validate(
        {
            "tools_config": {
                "tools": [
                    {
                        "type": "external_api",
                        "logical_id": "t",
                        "api_endpoint": "https://x.example/a",
                        "api_method": "post",
                        "api_headers": {"n": 1},
                        "args_schema": None,
                    }
                ]
            }
        }
    )
    (tool,) = config.tools_config.tools
    assert (tool.url, tool.method, tool.headers) == ("https://x.example/a", "POST", {"n": "1"})
    assert tool.args_schema == {}


def test_sdk_query_parameters_keep_their_placeholders_for_the_run_to_fill():
    # Given the SDK's flat http_request fields with a JSON object of query parameters, one templated
    node = NodeConfig.model_validate(
        {
            "logical_id": "h",
            "type": "http_request",
            "url": "https://x.example/search",
            "query_parameters": '{"q": "near [[city]]", "page": 1, "tag": "a&b"}',
        }
    )
    # Then the literal text is encoded now and the placeholder is left whole, for the run to fill
    # (and percent-encode, as it stands in a query value)
    assert node.http_request_config.url == "https://x.example/search?q=near+[[city]]&page=1&tag=a%26b"


def test_an_unknown_sdk_tool_type_keeps_its_refusal():
    with pytest.raises(ValidationError, match="cannot run in this service"):
        WorkflowConfig.model_validate({"tools_config": {"tools": [{"type": "inline_python", "code": "x"}]}})
