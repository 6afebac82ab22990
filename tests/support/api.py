"""Calls the real Lambda handlers in-process with API Gateway REST proxy events."""

from __future__ import annotations

import importlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from workflow_service.http.routes import route_named


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    raw: str

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.raw[:500]})"


class Caller(NamedTuple):
    """A caller with the API key its requests carry; its first two fields are the domain ``Caller``'s."""

    team_id: str
    user_id: str
    api_key: str = ""


def proxy_event(
    route_name: str,
    *,
    path: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    caller: Caller | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends for ``route_name`` (authorizer context from ``caller``)."""
    route = route_named(route_name)
    path = {key: str(value) for key, value in (path or {}).items()}
    concrete = route.path
    for key, value in path.items():
        concrete = concrete.replace("{" + key + "}", value)
    query_strings = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in (query or {}).items()
        if value is not None
    }
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    authorizer = (
        {"team_id": caller.team_id, "user_id": caller.user_id, "principalId": caller.user_id} if caller else None
    )
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": route.path,
        "path": concrete,
        "httpMethod": route.method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": query_strings or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query_strings.items()} or None,
        "pathParameters": path or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": route.method,
            "path": concrete,
            "stage": "test",
            "requestId": str(uuid.uuid4()),
            "authorizer": authorizer,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": raw_body,
        "isBase64Encoded": False,
        "_query_string": urlencode(query_strings),
    }


def call(route_name: str, **kwargs: Any) -> Reply:
    """Invoke ``lambdas/<route_name>.py`` like API Gateway would and decode its answer."""
    handler = importlib.import_module(route_name).handler
    response = handler(proxy_event(route_name, **kwargs), None)
    raw = response.get("body") or ""
    content_type = response.get("headers", {}).get("Content-Type", "")
    body = json.loads(raw) if raw and content_type.startswith("application/json") else raw
    return Reply(response["statusCode"], body, response.get("headers", {}), raw)
