"""Executing one tool call an LLM node's model asked for: its ``external_api`` request, filled with the
model's arguments, sent through the same port (SSRF guard, timeout, turn budget) as ``tool_node``.

The arguments are model-controlled, so where ``[[args.<name>]]`` lands decides how it is encoded: in
the URL it is percent-encoded (it cannot add a path segment, query or host), in a header a CR or LF
refuses the call (no header injection), and in a string body that is JSON text (see :mod:`.outbound`)
it is encoded by where it stands: outside quotes as a JSON value (``{"days": [[args.days]]}`` sends a
number), inside a string literal as its text JSON-escaped (``{"q": "near [[args.city]]"}``), so it
cannot close a string and add fields. In any other string body it is JSON-encoded, as before. The
arguments are filled in the same pass as the other placeholders, so an argument's text is never read
as a placeholder itself. Without a ``body`` template the arguments are the JSON body (POST, PUT,
PATCH) or the query string (GET, DELETE). An argument the model left out reads as null (the text
``null`` inside a JSON string literal, as :func:`as_text` writes it; empty text in the URL and headers).

The model gets ``{"status", "body"}`` back as JSON text, cut to :data:`MAX_TOOL_RESULT_CHARS`; the
full ``{"status", "body", "headers"}`` is stored in the tool's ``result_runtime_variable_name``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from workflow_service.models.event_records import node_event
from workflow_service.models.tool_schema import validate_arguments
from workflow_service.ports.http import OutboundRequest, OutboundRequestFailed, OutboundRequestRefused

from ..templating import MissingVariable, UrlEncoded, VariableScope, as_text, fill_text
from .outbound import CallTemplate, fill_request

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmToolCall
    from workflow_service.models.workflow_config import ToolConfig

    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState

MAX_TOOL_RESULT_CHARS = 16_000
"""How much of a tool's answer (as JSON text) the model reads; the rest is cut with a marker."""

_BODYLESS_METHODS = frozenset({"GET", "DELETE", "HEAD", "OPTIONS"})
_CREDENTIAL_HEADER = re.compile(r"auth|token|key|secret|password|cookie|session|signature", re.IGNORECASE)


class RefusedArgument(ValueError):
    """A model argument that cannot be placed where the tool's template puts it."""


class _ArgumentScope(VariableScope):
    """A scope where ``[[args...]]`` reads the model's arguments, encoded for one part of the request;
    every other placeholder resolves in the thread's scope."""

    __slots__ = ("_arguments", "_base", "_encode")

    def __init__(self, base: VariableScope, arguments: Mapping[str, Any], encode: Callable[[Any], Any]) -> None:
        # No super().__init__: only resolve_placeholder is used by the template filling, and it delegates.
        self._base = base
        self._arguments = {"args": arguments}
        self._encode = encode

    def resolve_placeholder(self, match: re.Match[str]) -> Any:
        name = match.group("runtime")
        if name is not None and (name == "args" or name.startswith("args.")):
            value: Any = self._arguments
            for part in name.split("."):
                # An argument the model left out (an optional one) reads as null.
                value = value.get(part) if isinstance(value, Mapping) else None
            return self._encode(value)
        return self._base.resolve_placeholder(match)


def _url_part(value: Any) -> UrlEncoded:
    return UrlEncoded("" if value is None else urllib.parse.quote(as_text(value), safe=""))


def _header_part(value: Any) -> str:
    text = "" if value is None else as_text(value)
    if "\r" in text or "\n" in text:
        raise RefusedArgument("an argument placed in a header contains a line break")
    return text


def _as_is(value: Any) -> Any:
    return value


def _json_part(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _masked(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: "***" if _CREDENTIAL_HEADER.search(name) else value for name, value in headers.items()}


def _for_model(result: Mapping[str, Any]) -> str:
    text = json.dumps(result, ensure_ascii=False, default=str)
    if len(text) > MAX_TOOL_RESULT_CHARS:
        text = text[:MAX_TOOL_RESULT_CHARS] + f"… [cut: the answer had {len(text)} characters]"
    return text


def error_result(message: str) -> str:
    """A tool result that tells the model its call did not run, and why."""
    return json.dumps({"error": message}, ensure_ascii=False)


def run_tool_call(
    context: TurnContext,
    thread: ThreadState,
    node: GraphNode,
    node_run_id: str,
    tool: ToolConfig,
    name: str,
    call: LlmToolCall,
) -> tuple[str, bool]:
    """Validate and execute ``call`` of ``tool``; the result text for the model and whether it is an error.

    Invalid arguments and requests that cannot be built are errors the model reads, not run failures;
    a turn budget that ran out or a lost claim still stop the run.
    """
    if call.arguments_error:
        return error_result(f"the arguments are not a JSON object: {call.arguments_error}"), True
    problems = validate_arguments(tool.args_schema, call.arguments)
    if problems:
        return error_result("invalid arguments: " + "; ".join(problems)), True
    _say_static_messages(context, thread, node, node_run_id, tool)
    template = CallTemplate.of(tool, tool=(tool.logical_id, name))
    base = context.scope(thread)
    arguments = call.arguments
    event = node_event("http_request", context.now(), thread.thread_id, node.id, node.name, node_run_id)
    event.update(
        request=None,
        status=None,
        elapsed_ms=None,
        result_runtime_variable_name=template.result_variable,
        tool_logical_id=tool.logical_id,
        tool_name=name,
        tool_call_id=call.id,
        arguments=arguments,
        result=None,
        error=None,
    )
    try:
        method, url, headers, payload = fill_request(
            template,
            node,
            _ArgumentScope(base, arguments, _url_part),
            _ArgumentScope(base, arguments, _header_part),
            _ArgumentScope(base, arguments, _json_part if isinstance(template.body, str) else _as_is),
            # JSON text encodes every value by where it stands, the arguments included.
            _ArgumentScope(base, arguments, _as_is),
        )
    except (MissingVariable, RefusedArgument) as exc:
        event["error"] = f"the request could not be built: {exc}"
        context.events.append(event)
        return error_result(event["error"]), True
    if template.body is None and arguments:
        if method in _BODYLESS_METHODS:
            query = urllib.parse.urlencode({key: as_text(value) for key, value in arguments.items()})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        else:
            payload = json.dumps(arguments, ensure_ascii=False, default=str).encode()
            if not any(header.lower() == "content-type" for header in headers):
                headers["Content-Type"] = "application/json"
    event["request"] = {"method": method, "url": url, "headers": _masked(headers)}
    request = OutboundRequest(
        method=method,
        url=url,
        headers=headers,
        body=payload,
        timeout_seconds=template.timeout_seconds,
        time_left_seconds=context.seconds_for_call(f"the call of tool '{name}' by node '{node.id}'"),
    )
    try:
        response = context.http.send(request)
    except (OutboundRequestRefused, OutboundRequestFailed) as exc:
        verb = "was refused" if isinstance(exc, OutboundRequestRefused) else "failed"
        event["error"] = f"request {verb}: {exc}"
        context.events.append(event)
        return error_result(event["error"]), True
    result = {"status": response.status, "body": response.json_or_text(), "headers": dict(response.headers)}
    thread.runtime_variables[template.result_variable] = result
    text = _for_model({"status": response.status, "body": result["body"]})
    event.update(status=response.status, elapsed_ms=response.elapsed_ms, result=text)
    failed = not 200 <= response.status < 300
    if failed:
        event["error"] = f"HTTP {response.status}"
    context.events.append(event)
    return text, failed


def _say_static_messages(
    context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str, tool: ToolConfig
) -> None:
    settings = tool.static_messages_config
    if settings is None or not settings.static_messages:
        return
    scope = context.scope(thread)
    for text in settings.static_messages:
        event = node_event("say_static", context.now(), thread.thread_id, node.id, node.name, node_run_id)
        try:
            event["message"] = text if ("{{" not in text and "[[" not in text) else fill_text(text, scope)
        except MissingVariable:
            event["message"] = text
        context.events.append(event)
