"""The LLM gateway the engine calls through, and the error it raises."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmRequest, LlmResponse


class LlmError(Exception):
    """A provider call failed (network, throttling, bad credentials, unparseable answer)."""


class LlmGateway(Protocol):
    def complete(self, request: LlmRequest) -> LlmResponse:
        """Run one completion with the provider ``request.llm_config`` names; raises LlmError."""
        ...
