"""Fakes for the engine's ports (LLM, outbound HTTP) and small config builders for the engine tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow_service.engine import TurnResult
from workflow_service.models.llm import LlmRequest, LlmResponse
from workflow_service.ports import OutboundRequest, OutboundResponse

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


class FakeHttp:
    """Answers by (method, url); an exception value is raised, a callable gets the request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.requests: list[OutboundRequest] = []

    def route(self, method: str, url: str, answer: Any) -> FakeHttp:
        self.routes[(method, url)] = answer
        return self

    def send(self, request: OutboundRequest) -> OutboundResponse:
        self.requests.append(request)
        answer = self.routes.get((request.method, request.url))
        if answer is None:
            return OutboundResponse(status=404, headers={}, body=b"not found", elapsed_ms=1.0)
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        return answer


def json_response(status: int, body: bytes) -> OutboundResponse:
    return OutboundResponse(status=status, headers={"Content-Type": "application/json"}, body=body, elapsed_ms=12.5)


def node(logical_id: str, node_type: str = "no_op", **fields: Any) -> dict[str, Any]:
    return {"logical_id": logical_id, "type": node_type, **fields}


def edge(source: str, destination: str, edge_type: str = "direct", **fields: Any) -> dict[str, Any]:
    fields.setdefault("logical_id", f"{source}->{destination}")
    return {"source_node_logical_id": source, "destination_node_logical_id": destination, "type": edge_type, **fields}


def say(logical_id: str, *messages: str, **fields: Any) -> dict[str, Any]:
    return node(logical_id, "say_static", static_messages_config={"static_messages": list(messages)}, **fields)


def types_of(result: TurnResult) -> list[str]:
    return [event["type"] for event in result.events]


def of_type(result: TurnResult, event_type: str) -> list[dict[str, Any]]:
    return [event for event in result.events if event["type"] == event_type]
