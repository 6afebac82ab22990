"""The offline scripted provider: replies come only from the node's llms_config, deterministically."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflow_service.adapters.llm.scripted import GREETING_REPLY, ScriptedLlm
from workflow_service.models.llm_calls import LlmMessage, LlmRequest, LlmResponse, LlmTool
from workflow_service.ports import LlmError


def _complete(model_kwargs: dict[str, Any] | None = None, *messages: LlmMessage, **fields: Any) -> LlmResponse:
    config: dict[str, Any] = {"provider": "scripted"}
    if model_kwargs is not None:
        config["model_kwargs"] = model_kwargs
    request = LlmRequest(llm_config=config, system_prompt="You are helpful.", messages=tuple(messages), **fields)
    return ScriptedLlm().complete(request)


def user(text: str) -> LlmMessage:
    return LlmMessage(role="user", content=text)


def assistant(text: str) -> LlmMessage:
    return LlmMessage(role="assistant", content=text)


def test_replies_advance_with_the_number_of_assistant_messages_and_stick_to_the_last() -> None:
    script = {"scripted_replies": ["first", "second", "third"]}

    assert _complete(script, user("hi")).content == "first"
    assert _complete(script, user("hi"), assistant("first"), user("more")).content == "second"
    conversation = [user("a"), assistant("1"), user("b"), assistant("2"), user("c"), assistant("3"), user("d")]
    assert _complete(script, *conversation).content == "third"


def test_rules_match_the_last_user_message_case_insensitively_before_replies() -> None:
    script = {
        "scripted_replies": ["fallback"],
        "scripted_rules": [
            {"when_contains": "REFUND", "reply": "Refunds take 5 days."},
            {"when_contains": "refund status", "reply": "never reached: the first match wins"},
        ],
    }

    assert _complete(script, user("What is my refund status?")).content == "Refunds take 5 days."
    # Only the LAST user message is matched: an earlier mention does not trigger the rule.
    assert _complete(script, user("refund please"), assistant("ok"), user("thanks")).content == "fallback"


def test_without_configuration_say_quotes_the_user_condition_is_false_and_worker_is_empty_json() -> None:
    assert _complete(None, user("Book a table")).content == 'You said: "Book a table"'
    assert _complete(None).content == GREETING_REPLY
    assert _complete(None, user("is it raining?"), purpose="condition").content == "false"
    worker = _complete(None, user("extract"), purpose="worker")
    assert worker.content == "{}"
    assert worker.structured_output is None


def test_condition_answers_from_a_matching_rule() -> None:
    script = {"scripted_rules": [{"when_contains": "yes", "reply": "true"}]}

    assert _complete(script, user("Yes, please"), purpose="condition").content == "true"
    assert _complete(script, user("no thanks"), purpose="condition").content == "false"


def test_worker_with_a_schema_returns_the_configured_structured_output() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    configured = {"name": "Ada", "age": 36}

    response = _complete(
        {"scripted_structured_output": configured}, user("I am Ada"), purpose="worker", structured_output_schema=schema
    )

    assert response.structured_output == configured
    assert json.loads(response.content) == configured


def test_worker_with_a_schema_and_no_script_fills_deterministic_defaults_per_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "vip": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "tier": {"type": "string", "enum": ["gold", "silver"]},
            "nickname": {"type": ["null", "string"]},
            "address": {"type": "object", "properties": {"city": {"type": "string"}}},
            "country": {"type": "string", "default": "NL"},
        },
    }

    first = _complete(None, user("x"), purpose="worker", structured_output_schema=schema)
    second = _complete(None, user("x"), purpose="worker", structured_output_schema=schema)

    assert first.structured_output == {
        "name": "",
        "age": 0,
        "score": 0,
        "vip": False,
        "tags": [],
        "tier": "gold",
        "nickname": "",
        "address": {"city": ""},
        "country": "NL",
    }
    assert second.structured_output == first.structured_output
    assert json.loads(first.content) == first.structured_output


def test_worker_scripted_reply_that_is_a_json_object_becomes_the_structured_output() -> None:
    schema = {"type": "object", "properties": {"intent": {"type": "string"}}}

    response = _complete(
        {"scripted_replies": ['{"intent": "cancel"}']},
        user("cancel it"),
        purpose="worker",
        structured_output_schema=schema,
    )

    assert response.structured_output == {"intent": "cancel"}


def test_response_names_the_scripted_provider_and_estimates_tokens_by_words() -> None:
    response = _complete({"scripted_replies": ["one two three"]}, user("four five"))

    assert (response.provider, response.model) == ("scripted", "scripted")
    assert response.output_tokens == 3
    assert response.input_tokens == 5  # "You are helpful." and "four five"
    assert response.latency_ms >= 0


@pytest.mark.parametrize(
    "model_kwargs",
    [
        {"scripted_replies": "not a list"},
        {"scripted_replies": [1, 2]},
        {"scripted_rules": [{"when_contains": "x"}]},
        {"scripted_rules": {"when_contains": "x", "reply": "y"}},
    ],
)
def test_a_malformed_script_is_an_llm_error_naming_the_field(model_kwargs: dict[str, Any]) -> None:
    with pytest.raises(LlmError, match="scripted_"):
        _complete(model_kwargs, user("hello"))


def test_a_scripted_reply_may_be_tool_calls_and_a_later_text_reply_reads_the_tool_result() -> None:
    # Given a script whose first reply asks for a tool and whose second answers from its result
    script = {
        "scripted_replies": [
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
            "The forecast: {tool_result}",
        ]
    }

    # When the model is asked, then asked again with the call and its result in the conversation
    tools = (LlmTool("get_weather", "", {"type": "object", "properties": {}}),)
    asked = _complete(script, user("weather in Paris?"), tools=tools)
    call = asked.tool_calls[0]
    answered = _complete(
        script,
        user("weather in Paris?"),
        LlmMessage(role="assistant", content="", tool_calls=asked.tool_calls),
        LlmMessage(role="tool", content='{"status": 200, "body": "sunny"}', tool_call_id=call.id),
        tools=tools,
    )

    # Then the first answer is the tool call and the second is text built from the result
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert call.id
    assert answered.tool_calls == ()
    assert answered.content == 'The forecast: {"status": 200, "body": "sunny"}'


def test_a_malformed_scripted_tool_call_or_one_without_tools_offered_is_an_llm_error() -> None:
    tools = (LlmTool("x", "", {"type": "object", "properties": {}}),)
    with pytest.raises(LlmError, match="tool_calls"):
        _complete({"scripted_replies": [{"tool_calls": [{"arguments": {}}]}]}, user("hi"), tools=tools)
    with pytest.raises(LlmError, match="offers no tools"):
        _complete({"scripted_replies": [{"tool_calls": [{"name": "x"}]}]}, user("hi"))
