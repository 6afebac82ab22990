"""The outbound HTTP call that ``http_request`` and ``tool_node`` nodes make through the HTTP port.

Every string of the request may contain placeholders. A dict or list body is sent as JSON (a string
that is exactly one placeholder keeps its variable's type). A string body is JSON text when its
Content-Type (after filling) is ``application/json`` or a ``+json`` type or, with no Content-Type, when
it opens with a ``{`` or ``[`` that does not start a placeholder; JSON text is sent as
``application/json`` when no Content-Type is given, as a dict body is (the HTTP client would label it
form-encoded), and filled by :func:`fill_json_text`, so a value cannot close a string and add fields.
Any other string body (``text/plain``, form-encoded, ...) is filled as text, and so is a body that is
exactly one placeholder under a JSON Content-Type: its variable may hold the whole JSON text.

The answer is stored as ``{"status", "body", "headers"}`` in the runtime variable the node names (the
body parsed as JSON, else as text: see ``OutboundResponse.json_or_text``); a refused or failed
request, or a non-2xx answer, fails the run after the ``http_request`` event has recorded it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.conditions import PLACEHOLDER_PATTERN
from workflow_service.models.event_records import node_event
from workflow_service.models.workflow_config import HTTP_METHODS
from workflow_service.ports.http import OutboundRequest, OutboundRequestFailed, OutboundRequestRefused, redacted_url

from ..failures import WorkflowFailure
from ..templating import InvalidJsonTemplate, fill_json_text, fill_text, fill_url, fill_value, looks_like_json

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import HttpRequestConfig, ToolConfig

    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState
    from ..templating import VariableScope


class CallTemplate(NamedTuple):
    """A request as configured, placeholders unfilled; ``tool`` is (logical id, name) for a tool's call."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout_seconds: float | None
    result_variable: str
    tool: tuple[str, str] | None = None

    @classmethod
    def of(cls, settings: HttpRequestConfig | ToolConfig, tool: tuple[str, str] | None = None) -> CallTemplate:
        """The call an ``http_request_config``, or a tool's, describes (they share their field names)."""
        return cls(
            method=settings.method,
            url=settings.url or "",
            headers=settings.headers,
            body=settings.body,
            timeout_seconds=settings.timeout_seconds,
            result_variable=settings.result_runtime_variable_name,
            tool=tool,
        )


def fill_request(
    template: CallTemplate,
    node: GraphNode,
    url_scope: VariableScope,
    header_scope: VariableScope,
    body_scope: VariableScope,
    json_body_scope: VariableScope | None = None,
) -> tuple[str, str, dict[str, str], bytes | None]:
    """The method, url, headers and body ``template`` describes, each part filled from its own scope
    (a tool call's scopes encode the model's arguments for where they land; ``json_body_scope``, by
    default ``body_scope``, fills a string body that is JSON text, which encodes each value itself)."""
    method = fill_text(template.method, url_scope).strip().upper()
    if method not in HTTP_METHODS:
        raise WorkflowFailure(f"node '{node.id}': '{method}' is not an HTTP method")
    url = fill_url(template.url, url_scope).strip()
    headers = {name: fill_text(value, header_scope) for name, value in template.headers.items()}
    body = template.body
    if body is None:
        return method, url, headers, None
    if isinstance(body, str) and not _is_json_text(body, headers):
        return method, url, headers, fill_text(body, body_scope).encode()
    if isinstance(body, str):
        try:
            text = fill_json_text(body, json_body_scope or body_scope)
        except InvalidJsonTemplate as exc:
            raise WorkflowFailure(f"node '{node.id}': the body template is not JSON text: {exc}") from None
    else:
        text = json.dumps(fill_value(body, body_scope), default=str)
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return method, url, headers, text.encode()


def _is_json_text(body: str, headers: dict[str, str]) -> bool:
    # The body's own Content-Type decides; only without one does the template's text.
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), None)
    if content_type is None:
        return looks_like_json(body)
    media_type = content_type.split(";", 1)[0].strip().lower()
    # A body that is exactly one placeholder stays text even then: its variable may hold the whole JSON
    # text, which filling as a JSON value would quote.
    is_json = media_type == "application/json" or media_type.endswith("+json")
    return is_json and PLACEHOLDER_PATTERN.fullmatch(body.strip()) is None


def call(
    context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str, template: CallTemplate
) -> dict[str, Any]:
    """Fill ``template``, send it, store and return the answer."""
    scope = context.scope(thread)
    method, url, headers, payload = fill_request(template, node, scope, scope, scope)
    request = OutboundRequest(
        method=method,
        url=url,
        headers=headers,
        body=payload,
        timeout_seconds=template.timeout_seconds,
        time_left_seconds=context.seconds_for_call(f"the HTTP call of node '{node.id}'"),
    )
    tool = template.tool
    event = node_event("http_request", context.now(), thread.thread_id, node.id, node.name, node_run_id)
    event.update(
        request={"method": method, "url": url},
        status=None,
        elapsed_ms=None,
        result_runtime_variable_name=template.result_variable,
        tool_logical_id=tool[0] if tool else None,
        tool_name=tool[1] if tool else None,
        error=None,
    )
    try:
        response = context.http.send(request)
    except (OutboundRequestRefused, OutboundRequestFailed) as exc:
        verb = "was refused" if isinstance(exc, OutboundRequestRefused) else "failed"
        event["error"] = f"request {verb}: {exc}"
        context.events.append(event)
        # A query often carries a templated key: the run's error names the URL without it, as the
        # client's own messages do.
        raise WorkflowFailure(f"node '{node.id}': {method} {redacted_url(url)} {verb}: {exc}") from None
    result = {"status": response.status, "body": response.json_or_text(), "headers": dict(response.headers)}
    thread.runtime_variables[template.result_variable] = result
    event["status"] = response.status
    event["elapsed_ms"] = response.elapsed_ms
    if not 200 <= response.status < 300:
        event["error"] = f"HTTP {response.status}"
        context.events.append(event)
        raise WorkflowFailure(f"node '{node.id}': {method} {redacted_url(url)} answered HTTP {response.status}")
    context.events.append(event)
    return result
