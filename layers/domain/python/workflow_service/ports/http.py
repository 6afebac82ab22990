"""Outbound HTTP for http_request and tool nodes: the request/response values, the client and its errors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlsplit

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


# An answer's body is stored in the run's state (workflow_run.state.threads.<id>.runtime_variables
# .<name>.body, and copies of it further down): MongoDB refuses documents nested over 100 levels and
# reading a state back copies it recursively, so a body may nest this deep and no deeper.
MAX_JSON_DEPTH = 32


class OutboundResponse(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float

    def json_or_text(self) -> Any:
        """The body parsed as JSON; its text instead when it is not JSON or nests deeper than
        ``MAX_JSON_DEPTH`` arrays and objects."""
        import json

        text = self.body.decode("utf-8", errors="replace")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # the parser gives up on very deep nesting with RecursionError
            return text
        return text if _nests_deeper(value, MAX_JSON_DEPTH) else value


def _nests_deeper(value: Any, limit: int) -> bool:
    # Iterative on purpose: the values measured are those too deep for recursion.
    pending = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict | list):
            depth += 1
            if depth > limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            pending.extend((child, depth) for child in children)
    return False


def redacted_url(url: str) -> str:
    """``url`` without credentials, query or fragment, for error messages (queries often carry keys)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


class HttpClient(Protocol):
    def send(self, request: OutboundRequest) -> OutboundResponse:
        """Send one request; non-2xx statuses are returned, not raised.

        Raises OutboundRequestRefused or OutboundRequestFailed.
        """
        ...
