"""AWS Bedrock through the Converse API (provider ``bedrock``).

Structured output uses Converse tool use: a single tool whose ``inputSchema`` is the requested
schema, forced with ``toolChoice``, so the model's answer is the tool input (already an object).
Models that ignore the forced tool and answer in text are still accepted when the text is a JSON
object, because the system prompt asks for JSON as well.

This module imports botocore; import it only where Bedrock is actually used (cold start).
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from workflow_service.adapters.llm._common import (
    STRUCTURED_OUTPUT_TOOL_NAME,
    excerpt,
    inference_options,
    object_schema,
    parse_json_object,
    requested_schema,
)
from workflow_service.models.llm import LlmMessage, LlmRequest, LlmResponse
from workflow_service.ports.llm import LlmError

PROVIDER_NAME = "bedrock"

# Converse rejects a conversation that is empty or opens with the assistant; a say node that greets
# the user first has only a system prompt, so the adapter opens the conversation on its behalf.
CONVERSATION_OPENER = "(The conversation starts now.)"

_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException", "ModelNotReadyException"}
)


def make_bedrock_runtime_client(region_name: str | None, timeout_seconds: float) -> Any:
    """Create a ``bedrock-runtime`` client (boto3 is imported here, on first use only)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=min(timeout_seconds, 10.0),
        read_timeout=timeout_seconds,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return boto3.client("bedrock-runtime", region_name=region_name, config=config)


class BedrockConverseLlm:
    """``ports.LlmGateway`` over Bedrock Converse with an injected ``bedrock-runtime`` client.

    The model is ``llm_config["model"]`` (a model id or inference profile ARN), else
    ``default_model``.
    """

    def __init__(self, client: Any, default_model: str | None = None) -> None:
        self._client = client
        self._default_model = default_model

    def complete(self, request: LlmRequest) -> LlmResponse:
        """Run one Converse call; throttling, service errors and unusable answers raise LlmError."""
        model = request.llm_config.get("model") or self._default_model
        if not model:
            raise LlmError("no model configured for provider bedrock: set llms_config.model or LLM_DEFAULT_MODEL")
        schema = requested_schema(request)
        arguments = self._converse_arguments(request, model, schema)

        started = time.perf_counter()
        try:
            response = self._client.converse(**arguments)
        except ClientError as error:
            raise LlmError(_describe_client_error(error, model)) from error
        except BotoCoreError as error:
            raise LlmError(f"bedrock call for model {model} failed: {error}") from error
        measured_ms = (time.perf_counter() - started) * 1000.0

        text, tool_input = _read_output(response)
        structured: dict[str, Any] | None = None
        if schema is not None:
            structured = tool_input if tool_input is not None else parse_json_object(text, provider=PROVIDER_NAME)
            content = json.dumps(structured, ensure_ascii=False)
        else:
            content = text
        usage = response.get("usage") or {}
        metrics = response.get("metrics") or {}
        return LlmResponse(
            content=content,
            provider=PROVIDER_NAME,
            model=model,
            input_tokens=int(usage.get("inputTokens") or 0),
            output_tokens=int(usage.get("outputTokens") or 0),
            latency_ms=float(metrics.get("latencyMs", measured_ms)),
            structured_output=structured,
            raw={"stop_reason": response.get("stopReason")},
        )

    def _converse_arguments(self, request: LlmRequest, model: str, schema: dict[str, Any] | None) -> dict[str, Any]:
        system_texts = [request.system_prompt] if request.system_prompt.strip() else []
        system_texts += [message.content for message in request.messages if message.role == "system"]
        if schema is not None:
            system_texts.append(
                f"Answer by calling the {STRUCTURED_OUTPUT_TOOL_NAME} tool. If you cannot call tools, answer "
                "with only a JSON object that follows this JSON schema:\n" + json.dumps(schema)
            )
        arguments: dict[str, Any] = {"modelId": model, "messages": _converse_messages(request.messages)}
        if system_texts:
            arguments["system"] = [{"text": text} for text in system_texts]

        options = inference_options(request)
        inference: dict[str, Any] = {}
        if options.max_tokens is not None:
            inference["maxTokens"] = options.max_tokens
        if options.temperature is not None:
            inference["temperature"] = options.temperature
        if options.top_p is not None:
            inference["topP"] = options.top_p
        if options.stop:
            inference["stopSequences"] = list(options.stop)
        if inference:
            arguments["inferenceConfig"] = inference

        if schema is not None:
            arguments["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": STRUCTURED_OUTPUT_TOOL_NAME,
                            "description": "Return the answer as structured data following the input schema.",
                            "inputSchema": {"json": object_schema(schema)},
                        }
                    }
                ],
                "toolChoice": {"tool": {"name": STRUCTURED_OUTPUT_TOOL_NAME}},
            }
        return arguments


def _converse_messages(messages: tuple[LlmMessage, ...]) -> list[dict[str, Any]]:
    """Map to Converse messages: user/assistant alternate, consecutive turns of one role merge."""
    converse: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system" or not message.content.strip():
            continue  # system text travels in `system`; Converse rejects blank text blocks
        if converse and converse[-1]["role"] == message.role:
            converse[-1]["content"].append({"text": message.content})
        else:
            converse.append({"role": message.role, "content": [{"text": message.content}]})
    if not converse or converse[0]["role"] != "user":
        converse.insert(0, {"role": "user", "content": [{"text": CONVERSATION_OPENER}]})
    return converse


def _read_output(response: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise LlmError(f"bedrock answer has no output message (stopReason={response.get('stopReason')!r})")
    texts: list[str] = []
    tool_input: dict[str, Any] | None = None
    for block in message.get("content") or []:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block and tool_input is None:
            candidate = block["toolUse"].get("input")
            if isinstance(candidate, dict):
                tool_input = candidate
            elif isinstance(candidate, str):
                tool_input = parse_json_object(candidate, provider=PROVIDER_NAME)
    return "".join(texts), tool_input


def _describe_client_error(error: ClientError, model: str) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    message = excerpt(str(details.get("Message", "")))
    if code in _THROTTLING_CODES:
        return f"bedrock throttled the request for model {model} ({code}): {message}; retry later"
    if code == "AccessDeniedException":
        return f"bedrock denied access to model {model} ({code}): {message}; check model access and IAM"
    return f"bedrock call for model {model} failed ({code}): {message}"
