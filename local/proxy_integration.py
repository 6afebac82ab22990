"""API Gateway's Lambda proxy integration (REST API, payload format 1.0): request → event, result → response.

``build_proxy_event`` turns an HTTP request into the event a route's handler receives;
``proxy_response`` turns the handler's answer back into HTTP, rejecting what API Gateway rejects.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID

if TYPE_CHECKING:
    from workflow_service.http.routes import Route

API_ID = "local"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Framing headers are the gateway's business, never the handler's.
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "upgrade"}


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as received, before API Gateway processing."""

    method: str
    raw_path: str
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        found = [value for key, value in self.headers if key.lower() == wanted]
        return found[-1] if found else None


@dataclass
class OutgoingResponse:
    """An HTTP response to write back, headers in order (a name may repeat)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, document: Any, request_id: str, error_type: str | None = None) -> OutgoingResponse:
    """A JSON answer from the gateway itself, with its request id (and ``x-amzn-ErrorType`` for errors)."""
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return OutgoingResponse(status, headers, json.dumps(document).encode("utf-8"))


def build_proxy_event(
    route: Route,
    request: IncomingRequest,
    path_parameters: Mapping[str, str],
    *,
    authorizer: Mapping[str, Any] | None = None,
    stage: str = "local",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST API proxy-integration event (payload format 1.0) API Gateway sends for ``request``.

    ``authorizer`` is the authorizer's context plus ``principalId``; None for routes without one, in
    which case ``requestContext`` has no ``authorizer`` key, as in API Gateway.
    """
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    path = unquote(request.raw_path)
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query_string, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _event_body(request.body)
    host = request.header("Host") or ""
    request_context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": route.name,
        "resourcePath": route.path,
        "httpMethod": route.method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "protocol": "HTTP/1.1",
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent"),
            "accessKey": None,
            "accountId": None,
            "apiKey": None,
            "apiKeyId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "user": None,
            "userArn": None,
        },
    }
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {name: unquote(value) for name, value in path_parameters.items()} or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _event_body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def proxy_response(result: Any, request_id: str) -> OutgoingResponse:
    """Map a Lambda proxy response to HTTP; raises ValueError for what API Gateway rejects (a 502)."""
    if not isinstance(result, Mapping):
        raise ValueError(f"handler returned {type(result).__name__}, not a proxy response object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body is a {type(body).__name__}, not a string")
    payload = (body or "").encode("utf-8")
    if body and result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as problem:
            raise ValueError(f"isBase64Encoded body is not base64: {problem}") from None
    headers: list[tuple[str, str]] = []
    multi_headers = result.get("multiValueHeaders") or {}
    single_headers = result.get("headers") or {}
    if not isinstance(multi_headers, Mapping) or not isinstance(single_headers, Mapping):
        raise ValueError("headers and multiValueHeaders must be objects")
    # API Gateway merges the two; a name present in multiValueHeaders takes its values from there.
    multi_names = {name.lower() for name in multi_headers}
    for name, values in multi_headers.items():
        listed = values if isinstance(values, list) else [values]
        headers.extend((name, str(value)) for value in listed if value is not None)
    headers.extend(
        (name, str(value))
        for name, value in single_headers.items()
        if name.lower() not in multi_names and value is not None
    )
    headers = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    present = {name.lower() for name, _ in headers}
    if "content-type" not in present:
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    return OutgoingResponse(status, headers, payload)


__all__ = ["API_ID", "IncomingRequest", "OutgoingResponse", "build_proxy_event", "json_response", "proxy_response"]
