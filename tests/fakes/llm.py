"""An in-memory LLM gateway (``ports.LlmGateway``) answering from a queue of scripted replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow_service.models.llm_calls import LlmRequest, LlmResponse, LlmToolCall

Reply = str | LlmResponse | Exception | Callable[[LlmRequest], Any]


class FakeLlm:
    """Answers from a queue of replies (text, a full LlmResponse, an exception to raise, or a function)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[LlmRequest] = []

    def reply(self, *replies: Reply) -> FakeLlm:
        self.replies.extend(replies)
        return self

    def complete(self, request: LlmRequest) -> LlmResponse:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected LLM call (purpose {request.purpose}, node {request.node_logical_id})")
        reply = self.replies.pop(0)
        if callable(reply) and not isinstance(reply, LlmResponse):
            reply = reply(request)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, LlmResponse):
            return reply
        return LlmResponse(
            content=str(reply), provider="fake", model="fake-model", input_tokens=10, output_tokens=4, latency_ms=20.0
        )


def tool_calls_reply(*calls: tuple[str, dict[str, Any]], content: str = "", prefix: str = "call") -> LlmResponse:
    """A model answer asking for ``calls`` ((tool name, arguments) each), ids ``{prefix}_0``, ``{prefix}_1``..."""
    return LlmResponse(
        content=content,
        provider="fake",
        model="fake-model",
        input_tokens=10,
        output_tokens=4,
        latency_ms=20.0,
        tool_calls=tuple(
            LlmToolCall(id=f"{prefix}_{index}", name=name, arguments=arguments)
            for index, (name, arguments) in enumerate(calls)
        ),
    )
