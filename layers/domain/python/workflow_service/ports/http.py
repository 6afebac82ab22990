"""Outbound HTTP (http_request and tool nodes, webhook deliveries): requests, responses, the client, its errors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Protocol
from urllib.parse import urlsplit


class OutboundRequestRefused(Exception):
    """The target address is not allowed (loopback, link-local, private) by the settings."""


class OutboundRequestFailed(Exception):
    """Timeout, connection failure, TLS error, or (``body_limit_mode="fail"``) an oversized or late body."""


BodyLimitMode = Literal["fail", "truncate"]
"""What a body that cannot be read in full does to a request whose status line and headers arrived:

- ``"fail"``: a body over the limit, or one not read before the deadline, fails the request
  (``OutboundRequestFailed``). For callers whose answer is the body: http_request and tool nodes.
- ``"truncate"``: the answer is its status; the body is read only up to the limit and until the
  deadline, and returned as far as it was read (``OutboundResponse.body_truncated``). For callers
  that only keep the start of a body: webhook deliveries, where failing an answer the receiver
  already gave would send the event again.
"""


class OutboundRequest(NamedTuple):
    """One outbound call. ``max_body_bytes`` lowers the client's own response limit for this request
    (never raises it); ``body_limit_mode`` says what a body over that limit, or too slow, does."""

    method: str
    url: str
    headers: Mapping[str, str] = MappingProxyType({})
    body: bytes | None = None
    timeout_seconds: float | None = None
    # What is left of the caller's own time budget: the request never waits past it, whatever its timeout.
    time_left_seconds: float | None = None
    # False: a 3xx answer is returned as it is (webhook deliveries, where a redirect is a failure).
    follow_redirects: bool = True
    # "truncate": the status is the answer and the body only informs (webhook deliveries): see BodyLimitMode.
    body_limit_mode: BodyLimitMode = "fail"
    # Lower than the client's limit where the caller keeps less (the attempt log): the rest is never read.
    max_body_bytes: int | None = None


# An answer's body is stored in the run's state (workflow_run.state.threads.<id>.runtime_variables
# .<name>.body, and copies of it further down): MongoDB refuses documents nested over 100 levels and
# reading a state back copies it recursively, so a body may nest this deep and no deeper.
MAX_JSON_DEPTH = 32


class OutboundResponse(NamedTuple):
    """An answer, whatever its status. ``body_truncated``: ``body`` is only the start of the answer's
    body (``body_limit_mode="truncate"`` stopped at the limit, the deadline or a broken connection)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float
    body_truncated: bool = False

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

        The body is read per ``request.body_limit_mode``. Raises OutboundRequestRefused or
        OutboundRequestFailed.
        """
        ...
