"""Outbound HTTP for http_request and tool nodes: the request/response values, the client and its errors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    pass


class OutboundRequestRefused(Exception):
    """The target address is not allowed (loopback, link-local, private) by the settings."""


class OutboundRequestFailed(Exception):
    """Timeout, connection failure, TLS error or an oversized response."""


class OutboundRequest(NamedTuple):
    method: str
    url: str
    headers: Mapping[str, str] = MappingProxyType({})
    body: bytes | None = None
    timeout_seconds: float | None = None
    # What is left of the caller's own time budget: the request never waits past it, whatever its timeout.
    time_left_seconds: float | None = None
    # False: a 3xx answer is returned as it is (webhook deliveries, where a redirect is a failure).
    follow_redirects: bool = True


class OutboundResponse(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float

    def json_or_text(self) -> Any:
        import json

        text = self.body.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


class HttpClient(Protocol):
    def send(self, request: OutboundRequest) -> OutboundResponse:
        """Send one request; non-2xx statuses are returned, not raised.

        Raises OutboundRequestRefused or OutboundRequestFailed.
        """
        ...
