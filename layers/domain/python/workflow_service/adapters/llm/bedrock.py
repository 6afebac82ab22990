"""AWS Bedrock through the Converse API (provider ``bedrock``).

Structured output uses Converse tool use: a single tool whose ``inputSchema`` is the requested
schema, forced with ``toolChoice``, so the model's answer is the tool input (already an object).
Models that ignore the forced tool and answer in text are still accepted when the text is a JSON
object, because the system prompt asks for JSON as well.

Tools the node offers are declared in ``toolConfig`` on every call of a tool loop, the final one
included: Converse refuses a conversation holding ``toolUse`` / ``toolResult`` blocks without a
``toolConfig``, and has no "none" tool choice, so the engine's "answer without tools" travels in the
system prompt. ``toolUse`` blocks of the answer (stop reason ``tool_use``; several per answer allowed)
become ``LlmResponse.tool_calls``; the conversation's tool round goes back as an assistant message of
``toolUse`` blocks and one user message holding a ``toolResult`` block per call. With a schema and
tools, the structured-output tool is offered beside them (tool choice ``auto``) until the final call,
where it is forced.

This module imports botocore; import it only where Bedrock is actually used (cold start).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from workflow_service.adapters.llm._common import (
    STRUCTURED_OUTPUT_TOOL_NAME,
    call_timeout,
    excerpt,
    inference_options,
    object_schema,
    parse_json_object,
    requested_schema,
)
from workflow_service.models.llm_calls import LlmMessage, LlmRequest, LlmResponse, LlmTool, LlmToolCall
from workflow_service.ports.llm import LlmError

PROVIDER_NAME = "bedrock"

# Converse rejects a conversation that is empty or opens with the assistant; a say node that greets
# the user first has only a system prompt, so the adapter opens the conversation on its behalf.
CONVERSATION_OPENER = "(The conversation starts now.)"

_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException", "ModelNotReadyException"}
)


# Per-attempt timeouts a call may get, in seconds. botocore fixes a client's timeouts when it is built,
# so one client is kept per step and a call takes the largest step that fits what is left of its time.
_TIMEOUT_STEPS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0)
# Attempts per call (throttling only), and the least time worth one more attempt.
_ATTEMPTS = 3
_MIN_ATTEMPT_SECONDS = _TIMEOUT_STEPS[0]


def make_bedrock_runtime_client(
    region_name: str | None, timeout_seconds: float, credentials: tuple[str, str] | None = None
) -> Any:
    """Create a ``bedrock-runtime`` client whose one attempt ends within about ``timeout_seconds``
    (boto3 is imported here, on first use only); ``credentials`` (access key id, secret) replace the
    default credential chain, for a config's own keys. It never retries: the adapter does, within the
    call's time."""
    import boto3
    from botocore.config import Config

    connect = min(2.0, timeout_seconds * 0.2)
    config = Config(connect_timeout=connect, read_timeout=timeout_seconds - connect, retries={"total_max_attempts": 1})
    if credentials is not None:
        return boto3.client(
            "bedrock-runtime",
            region_name=region_name,
            config=config,
            aws_access_key_id=credentials[0],
            aws_secret_access_key=credentials[1],
        )
    return boto3.client("bedrock-runtime", region_name=region_name, config=config)


class BedrockClients:
    """The ``bedrock-runtime`` clients of one region and credential set, one per timeout step, each built
    on first use by ``build(timeout_seconds)``; safe to share between threads.

    ``describe_failure`` words a build error for the LlmError raised instead (a config's own keys must
    never appear in it)."""

    def __init__(self, build: Callable[[float], Any], describe_failure: Callable[[Exception], str] = str) -> None:
        self._build = build
        self._describe_failure = describe_failure
        self._clients: dict[float, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> Any:
        """A client whose one attempt ends within ``seconds`` (at least the smallest step)."""
        step = max((step for step in _TIMEOUT_STEPS if step <= seconds), default=_TIMEOUT_STEPS[0])
        with self._lock:
            client = self._clients.get(step)
            if client is None:
                try:
                    client = self._build(step)
                except Exception as error:  # boto3 configuration errors (region, profile)
                    raise LlmError(f"could not create the Bedrock client: {self._describe_failure(error)}") from None
                self._clients[step] = client
        return client


class BedrockConverseLlm:
    """``ports.LlmGateway`` over Bedrock Converse; ``clients(seconds)`` gives a ``bedrock-runtime`` client
    whose one attempt ends within ``seconds`` (``BedrockClients``).

    The model is ``llm_config["model"]`` (a model id or inference profile ARN), else ``default_model``.
    A call ends within its timeout (at least a second): the config's ``request_timeout_ms``, else
    ``default_timeout_seconds``, and never past what is left of the turn. Throttling is retried, with
    jittered backoff, only while another attempt fits in that time.
    """

    def __init__(
        self,
        clients: Callable[[float], Any],
        default_model: str | None = None,
        *,
        used_user_keys: bool = False,
        default_timeout_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clients = clients
        self._default_model = default_model
        self._used_user_keys = used_user_keys
        self._default_timeout_seconds = default_timeout_seconds
        self._monotonic = monotonic
        self._sleep = sleep

    def complete(self, request: LlmRequest) -> LlmResponse:
        """Run one Converse call; throttling, service errors, timeouts and unusable answers raise LlmError."""
        model = request.llm_config.get("model") or self._default_model
        if not model:
            raise LlmError("no model configured for provider bedrock: set llms_config.model or LLM_DEFAULT_MODEL")
        schema = requested_schema(request)
        arguments = self._converse_arguments(request, model, schema)

        started = self._monotonic()
        response = self._converse(arguments, model, call_timeout(request, self._default_timeout_seconds))
        measured_ms = (self._monotonic() - started) * 1000.0

        text, tool_input, tool_calls = _read_output(response, structured_tool=schema is not None)
        structured: dict[str, Any] | None = None
        if schema is not None and tool_input is None and tool_calls:
            content = text  # a tool round before the structured answer
        elif schema is not None:
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
            used_user_keys=self._used_user_keys,
            tool_calls=tool_calls if tool_input is None else (),
            raw={"stop_reason": response.get("stopReason")},
        )

    def _converse(self, arguments: dict[str, Any], model: str, seconds: float) -> dict[str, Any]:
        """Converse attempts until one answers, all within ``seconds`` (at least one second)."""
        deadline = self._monotonic() + seconds
        for attempt in range(_ATTEMPTS):
            left = max(seconds if attempt == 0 else deadline - self._monotonic(), _MIN_ATTEMPT_SECONDS)
            try:
                return self._clients(left).converse(**arguments)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                pause = random.uniform(0.5, 1.0) * 2**attempt
                retry = code in _THROTTLING_CODES and attempt + 1 < _ATTEMPTS
                if not retry or deadline - self._monotonic() - pause < _MIN_ATTEMPT_SECONDS:
                    raise LlmError(_describe_client_error(error, model)) from error
                self._sleep(pause)
            except BotoCoreError as error:  # a timeout or a connection failure: its time is spent
                raise LlmError(f"bedrock call for model {model} failed: {error}") from error
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _converse_arguments(self, request: LlmRequest, model: str, schema: dict[str, Any] | None) -> dict[str, Any]:
        system_texts = [request.system_prompt] if request.system_prompt.strip() else []
        system_texts += [message.content for message in request.messages if message.role == "system"]
        if schema is not None:
            system_texts.append(
                f"Answer by calling the {STRUCTURED_OUTPUT_TOOL_NAME} tool. If you cannot call tools, answer "
                "with only a JSON object that follows this JSON schema:\n" + json.dumps(schema)
            )
        arguments: dict[str, Any] = {
            "modelId": model,
            "messages": _converse_messages(request.messages, flag_tool_errors=_takes_tool_result_status(model)),
        }
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

        tools = [{"toolSpec": _tool_spec(tool)} for tool in request.tools]
        if schema is not None:
            tools.append(
                {
                    "toolSpec": {
                        "name": STRUCTURED_OUTPUT_TOOL_NAME,
                        "description": "Return the answer as structured data following the input schema.",
                        "inputSchema": {"json": object_schema(schema)},
                    }
                }
            )
        if tools:
            tool_config: dict[str, Any] = {"tools": tools}
            if schema is not None and (not request.tools or request.tool_choice == "none"):
                tool_config["toolChoice"] = {"tool": {"name": STRUCTURED_OUTPUT_TOOL_NAME}}
            elif request.tools:
                tool_config["toolChoice"] = {"auto": {}}
            arguments["toolConfig"] = tool_config
        return arguments


def _tool_spec(tool: LlmTool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    # Converse refuses an empty description (NonEmptyString) but lets it be left out: a tool with
    # neither description nor signature is offered by its name and schema alone.
    if tool.description:
        spec["description"] = tool.description
    return spec


# Converse's toolResult "status" ("error" tells the model a tool call failed) is only supported by these
# model families (botocore's service model for ToolResultBlock); another model refuses the field.
_TOOL_RESULT_STATUS_FAMILIES = ("anthropic.", "amazon.nova")


def _takes_tool_result_status(model: str) -> bool:
    """Whether ``model`` (an id, an inference profile id such as ``us.anthropic...``, or an ARN) takes it."""
    return any(family in model for family in _TOOL_RESULT_STATUS_FAMILIES)


def _converse_messages(messages: tuple[LlmMessage, ...], *, flag_tool_errors: bool = False) -> list[dict[str, Any]]:
    """Map to Converse messages: user/assistant alternate, consecutive turns of one role merge.
    ``flag_tool_errors``: a failed tool call's result says so (``status: error``)."""
    converse: list[dict[str, Any]] = []
    for message in messages:
        role, blocks = _converse_blocks(message, flag_tool_errors)
        if not blocks:
            continue
        if converse and converse[-1]["role"] == role:
            converse[-1]["content"].extend(blocks)
        else:
            converse.append({"role": role, "content": blocks})
    if not converse or converse[0]["role"] != "user":
        converse.insert(0, {"role": "user", "content": [{"text": CONVERSATION_OPENER}]})
    return converse


def _converse_blocks(message: LlmMessage, flag_tool_errors: bool) -> tuple[str, list[dict[str, Any]]]:
    """The Converse role and content blocks of one message (system text travels in ``system``)."""
    if message.role == "system":
        return "system", []
    if message.role == "tool":
        # Converse wants every toolUse answered by a toolResult with its id, in the next user message.
        result: dict[str, Any] = {"toolUseId": message.tool_call_id, "content": [{"text": message.content or "{}"}]}
        if message.tool_error and flag_tool_errors:
            result["status"] = "error"
        return "user", [{"toolResult": result}]
    # Converse rejects blank text blocks.
    blocks: list[dict[str, Any]] = [{"text": message.content}] if message.content.strip() else []
    blocks += [
        {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}} for call in message.tool_calls
    ]
    return message.role, blocks


def _read_output(
    response: dict[str, Any], *, structured_tool: bool
) -> tuple[str, dict[str, Any] | None, tuple[LlmToolCall, ...]]:
    """The answer's text, the structured-output tool's input (when asked for) and the other tool calls."""
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise LlmError(f"bedrock answer has no output message (stopReason={response.get('stopReason')!r})")
    texts: list[str] = []
    tool_input: dict[str, Any] | None = None
    tool_calls: list[LlmToolCall] = []
    for block in message.get("content") or []:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            candidate = use.get("input")
            if structured_tool and use.get("name") == STRUCTURED_OUTPUT_TOOL_NAME:
                if tool_input is None and isinstance(candidate, dict):
                    tool_input = candidate
                elif tool_input is None and isinstance(candidate, str):
                    tool_input = parse_json_object(candidate, provider=PROVIDER_NAME)
                continue
            tool_calls.append(_tool_call(use))
    return "".join(texts), tool_input, tuple(tool_calls)


def _tool_call(use: Any) -> LlmToolCall:
    if not (isinstance(use, dict) and isinstance(use.get("toolUseId"), str) and isinstance(use.get("name"), str)):
        raise LlmError(f"bedrock answer has a toolUse block without toolUseId or name: {excerpt(str(use))}")
    arguments = use.get("input")
    if isinstance(arguments, dict):
        return LlmToolCall(id=use["toolUseId"], name=use["name"], arguments=arguments)
    return LlmToolCall(
        id=use["toolUseId"],
        name=use["name"],
        arguments={},
        arguments_error=f"not a JSON object: {excerpt(str(arguments))}",
    )


def _describe_client_error(error: ClientError, model: str) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    message = excerpt(str(details.get("Message", "")))
    if code in _THROTTLING_CODES:
        return f"bedrock throttled the request for model {model} ({code}): {message}; retry later"
    if code == "AccessDeniedException":
        return f"bedrock denied access to model {model} ({code}): {message}; check model access and IAM"
    return f"bedrock call for model {model} failed ({code}): {message}"
