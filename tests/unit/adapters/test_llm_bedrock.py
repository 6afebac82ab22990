"""Bedrock Converse adapter, against a botocore Stubber (no network, real request validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from workflow_service.adapters.llm.bedrock import CONVERSATION_OPENER, BedrockConverseLlm
from workflow_service.models.llm import LlmMessage, LlmRequest
from workflow_service.ports import LlmError

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sent(client: Any) -> dict[str, Any]:
    """The parameters of the last Converse call, as the adapter passed them to botocore."""
    captured: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        captured.clear()
        captured.update(params)

    client.meta.events.register("provide-client-params.bedrock-runtime.Converse", capture)
    return captured


def _worker_request(schema: dict[str, Any]) -> LlmRequest:
    return LlmRequest(
        llm_config={"provider": "bedrock", "model": MODEL},
        system_prompt="Extract the date.",
        messages=(LlmMessage("user", "Next Thursday, May 1st"),),
        purpose="worker",
        structured_output_schema=schema,
    )


def _converse_answer(content: list[dict[str, Any]], *, stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 42, "outputTokens": 7, "totalTokens": 49},
        "metrics": {"latencyMs": 321},
    }


def test_say_call_maps_prompt_messages_and_inference_options(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "converse",
        _converse_answer([{"text": "Sure, "}, {"text": "which day?"}]),
        expected_params={
            "modelId": MODEL,
            "system": [{"text": "You book tables."}],
            "messages": [
                {"role": "user", "content": [{"text": "Hi"}]},
                {"role": "assistant", "content": [{"text": "Hello!"}]},
                {"role": "user", "content": [{"text": "Book a table"}, {"text": "for two"}]},
            ],
            "inferenceConfig": {"maxTokens": 256, "temperature": 0.2, "topP": 0.9},
        },
    )
    request = LlmRequest(
        llm_config={
            "provider": "bedrock",
            "model": MODEL,
            "model_kwargs": {"temperature": 0.2, "max_tokens": 256, "top_p": 0.9},
        },
        system_prompt="You book tables.",
        messages=(
            LlmMessage("user", "Hi"),
            LlmMessage("assistant", "Hello!"),
            LlmMessage("user", "Book a table"),
            LlmMessage("user", "for two"),
        ),
    )

    response = BedrockConverseLlm(client).complete(request)

    assert response.content == "Sure, which day?"
    assert (response.provider, response.model) == ("bedrock", MODEL)
    assert (response.input_tokens, response.output_tokens) == (42, 7)
    assert response.latency_ms == 321
    assert response.structured_output is None


def test_a_conversation_without_a_user_turn_is_opened_for_converse(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "converse",
        _converse_answer([{"text": "Welcome!"}]),
        expected_params={
            "modelId": MODEL,
            "system": [{"text": "Greet the caller."}],
            "messages": [{"role": "user", "content": [{"text": CONVERSATION_OPENER}]}],
        },
    )

    response = BedrockConverseLlm(client, default_model=MODEL).complete(
        LlmRequest(llm_config={"provider": "bedrock"}, system_prompt="Greet the caller.")
    )

    assert response.content == "Welcome!"


def test_structured_output_forces_a_tool_whose_schema_is_the_requested_one(
    client: Any, stubber: Stubber, sent: dict[str, Any]
) -> None:
    schema = {"type": "object", "properties": {"date": {"type": "string"}}, "required": ["date"]}
    stubber.add_response(
        "converse",
        _converse_answer(
            [{"toolUse": {"toolUseId": "t1", "name": "structured_output", "input": {"date": "2025-05-01"}}}],
            stop_reason="tool_use",
        ),
    )

    response = BedrockConverseLlm(client).complete(_worker_request(schema))

    tool = sent["toolConfig"]["tools"][0]["toolSpec"]
    assert tool["inputSchema"] == {"json": schema}
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": tool["name"]}}
    assert response.structured_output == {"date": "2025-05-01"}
    assert response.content == '{"date": "2025-05-01"}'


def test_structured_output_answered_as_fenced_json_text_is_accepted(client: Any, stubber: Stubber) -> None:
    # Some models answer in text instead of calling the forced tool; the prompt asked for JSON too.
    stubber.add_response("converse", _converse_answer([{"text": '```json\n{"date": "tomorrow"}\n```'}]))

    response = BedrockConverseLlm(client).complete(_worker_request({"type": "object"}))

    assert response.structured_output == {"date": "tomorrow"}


def test_structured_output_that_is_not_json_is_an_llm_error(client: Any, stubber: Stubber) -> None:
    stubber.add_response("converse", _converse_answer([{"text": "I cannot do that."}]))

    with pytest.raises(LlmError, match="not JSON"):
        BedrockConverseLlm(client).complete(
            _worker_request({"type": "object", "properties": {"a": {"type": "string"}}})
        )


def test_throttling_is_an_llm_error_that_says_so(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "converse", service_error_code="ThrottlingException", service_message="Too many requests", http_status_code=429
    )

    with pytest.raises(LlmError, match=r"throttled.*ThrottlingException.*Too many requests"):
        BedrockConverseLlm(client).complete(
            LlmRequest(llm_config={"model": MODEL}, system_prompt="s", messages=(LlmMessage("user", "x"),))
        )


def test_other_service_errors_name_the_model_and_code(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "converse", service_error_code="ValidationException", service_message="bad model", http_status_code=400
    )

    with pytest.raises(LlmError, match=f"{MODEL}.*ValidationException.*bad model"):
        BedrockConverseLlm(client).complete(
            LlmRequest(llm_config={"model": MODEL}, system_prompt="s", messages=(LlmMessage("user", "x"),))
        )


def test_no_model_anywhere_is_an_llm_error_before_any_call(client: Any, stubber: Stubber) -> None:
    with pytest.raises(LlmError, match="no model configured"):
        BedrockConverseLlm(client).complete(LlmRequest(llm_config={}, system_prompt="s"))
