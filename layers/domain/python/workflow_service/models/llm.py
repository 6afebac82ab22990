"""The request and answer exchanged with an LLM provider through ``ports.LlmGateway``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

LlmPurpose = Literal["say", "worker", "condition"]


@dataclass(frozen=True)
class LlmMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class LlmRequest:
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
    # What is left of the turn's time budget: an adapter that can bound one call never waits past it.
    time_left_seconds: float | None = None


@dataclass(frozen=True)
class LlmResponse:
    content: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    structured_output: dict[str, Any] | None = None
    used_user_keys: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
