"""An in-memory outbound HTTP client (``ports.HttpClient``) answering by method and URL."""

from __future__ import annotations

from typing import Any

from workflow_service.ports.http import OutboundRequest, OutboundResponse


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
