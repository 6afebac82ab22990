"""The request and answer exchanged with an LLM provider through ``ports.LlmGateway``.

Apart from the ``llms_config`` shapes (models/llm.py): every handler that reads a workflow imports
those, and only the handlers that run turns need these (each record costs a cold start time to
declare; NamedTuples, not frozen dataclasses, for the same reason).
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

LlmPurpose = Literal["say", "worker", "condition"]


class LlmTool(NamedTuple):
    """A tool offered to the model: ``parameters`` is the JSON Schema object of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


class LlmToolCall(NamedTuple):
    """One call the model asked for. ``id`` pairs it with its result; ``arguments`` is the parsed JSON
    object, and ``arguments_error`` says why the provider's arguments could not be read as one."""

    id: str
    name: str
    arguments: dict[str, Any]
    arguments_error: str | None = None


class LlmMessage(NamedTuple):
    """A conversation message. An ``assistant`` message may carry the ``tool_calls`` it asked for; a
    ``tool`` message is the result (JSON text) of the call ``tool_call_id`` names."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[LlmToolCall, ...] = ()
    tool_call_id: str | None = None
    tool_error: bool = False


class LlmRequest(NamedTuple):
    """One completion call.

    ``llm_config`` is the effective ``llms_config`` (node overrides workflow): it names the
    ``provider`` ("scripted", "bedrock", "openai_compatible" or "default_provider" = the
    deployment default), ``model`` and ``model_kwargs`` (temperature, max_tokens, and for the
    scripted provider its replies).
    """

    llm_config: dict[str, Any]
    system_prompt: str
    messages: tuple[LlmMessage, ...] = ()
    purpose: LlmPurpose = "say"
    structured_output_schema: dict[str, Any] | None = None
    node_logical_id: str | None = None
    # The tools the model may call; ``tool_choice="none"`` keeps them declared but asks for text.
    tools: tuple[LlmTool, ...] = ()
    tool_choice: Literal["auto", "none"] = "auto"
    # What is left of the turn's time budget: an adapter that can bound one call never waits past it.
    time_left_seconds: float | None = None


class LlmResponse(NamedTuple):
    content: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    structured_output: dict[str, Any] | None = None
    used_user_keys: bool = False
    # The tools the model asked to call; non-empty means the answer is these calls, not (only) text.
    tool_calls: tuple[LlmToolCall, ...] = ()
    raw: Mapping[str, Any] = MappingProxyType({})
