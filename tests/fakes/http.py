"""An in-memory outbound HTTP client (``ports.HttpClient``) answering by method and URL."""

from __future__ import annotations

from typing import Any, NamedTuple

from workflow_service.ports.http import OutboundRequest, OutboundRequestFailed, OutboundResponse, redacted_url
from workflow_service.settings.engine import HttpNodeSettings

# The real client's defaults (HTTP_NODE_MAX_RESPONSE_BYTES, HTTP_NODE_TIMEOUT_SECONDS), so a fake answer
# over the limit, or late, behaves as a real one.
DEFAULT_MAX_RESPONSE_BYTES: int = HttpNodeSettings.model_fields["max_response_bytes"].default
DEFAULT_TIMEOUT_SECONDS: float = HttpNodeSettings.model_fields["default_timeout_seconds"].default


class SlowBody(NamedTuple):
    """An answer whose status line and headers arrive in time, and whose body does not: only
    ``received`` of it has arrived when the request's deadline passes."""

    response: OutboundResponse
    received: bytes = b""


class FakeHttp:
    """Answers by (method, url); an exception value is raised, a callable gets the request.

    Bodies are limited as ``adapters.http.outbound`` limits them: over ``max_response_bytes`` (or the
    request's lower ``max_body_bytes``), or late (a ``SlowBody`` answer), a ``body_limit_mode="fail"``
    request raises OutboundRequestFailed and a ``"truncate"`` one gets its status and the body as far as
    it was read (``body_truncated``). tests/contract/test_http_client.py holds both to the same rules.
    """

    def __init__(self, *, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.requests: list[OutboundRequest] = []
        self.max_response_bytes = max_response_bytes

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
        return self._limited(request, answer)

    def _limited(self, request: OutboundRequest, answer: OutboundResponse | SlowBody) -> OutboundResponse:
        limit, named = self.max_response_bytes, " (HTTP_NODE_MAX_RESPONSE_BYTES)"
        if request.max_body_bytes is not None and request.max_body_bytes < limit:
            limit, named = max(0, request.max_body_bytes), ""
        described = f"{request.method.upper()} {redacted_url(request.url)}"
        response, body = (answer.response, answer.received) if isinstance(answer, SlowBody) else (answer, answer.body)
        if len(body) > limit:
            failure = f"{described}: response body exceeds the limit of {limit} bytes{named}"
        elif isinstance(answer, SlowBody):
            timeout = request.timeout_seconds or DEFAULT_TIMEOUT_SECONDS
            failure = f"{described}: timed out after {timeout:g} s reading the body"
        else:
            return response
        if request.body_limit_mode != "truncate":
            raise OutboundRequestFailed(failure)
        return response._replace(body=body[:limit], body_truncated=True)


def json_response(status: int, body: bytes) -> OutboundResponse:
    return OutboundResponse(status=status, headers={"Content-Type": "application/json"}, body=body, elapsed_ms=12.5)
