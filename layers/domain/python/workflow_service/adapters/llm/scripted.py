"""The offline ``scripted`` provider: deterministic replies from the node's own configuration.

It is the default provider, so the local runtime and the tests run workflows with LLM nodes
without any network or credentials. Everything it answers is configured in
``llms_config.model_kwargs``:

- ``scripted_rules``: ``[{"when_contains": str, "reply": str}]``, matched case-insensitively
  against the last user message; the first match wins and is checked before the replies below.
- ``scripted_replies``: ``[str]``; reply number *n* is used when *n* assistant messages are already
  in the conversation (clamped to the last reply, so a script never runs out).
- ``scripted_structured_output``: the object a ``worker`` call with a schema returns.

A reply (in ``scripted_replies`` or a rule's ``reply``) may instead be tool calls, when the request
offers tools: ``{"tool_calls": [{"name": str, "arguments": {...}}], "content": str}``. A text reply
may contain ``{tool_result}``, replaced by the last tool result in the conversation (JSON text), so an
offline agent can answer from what its tool returned.

Without configuration a ``say`` call echoes the last user message, a ``condition`` call answers
``"false"`` and a ``worker`` call answers ``"{}"`` (or, with a schema, an object of defaults).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from workflow_service.adapters.llm._common import (
    default_for_schema,
    estimate_tokens,
    model_kwargs,
    requested_schema,
)
from workflow_service.models.llm_calls import LlmRequest, LlmResponse, LlmToolCall
from workflow_service.ports.llm import LlmError

PROVIDER_NAME = "scripted"
MODEL_NAME = "scripted"

GREETING_REPLY = "Hello! This is the scripted assistant. How can I help?"
CONDITION_DEFAULT_REPLY = "false"


class ScriptedLlm:
    """Deterministic, offline implementation of ``ports.LlmGateway`` (provider ``scripted``)."""

    def complete(self, request: LlmRequest) -> LlmResponse:
        """Answer from the scripted configuration; raises LlmError only for a malformed script."""
        started = time.perf_counter()
        kwargs = model_kwargs(request)
        last_user_message = _last_user_message(request)
        scripted: str | Mapping[str, Any] | None = _matching_rule_reply(kwargs, last_user_message)
        if scripted is None:
            scripted = _scripted_reply(kwargs, request)
        if isinstance(scripted, Mapping):
            return _tool_calls_reply(scripted, request, started)
        scripted_text = _with_tool_result(scripted, request)

        structured: dict[str, Any] | None = None
        schema = requested_schema(request)
        if request.purpose == "worker" and schema is not None:
            structured = _structured_output(kwargs, schema, scripted_text)
            content = json.dumps(structured, ensure_ascii=False)
        elif scripted_text is not None:
            content = scripted_text
        else:
            content = _default_reply(request, last_user_message)

        prompt_text = " ".join([request.system_prompt, *(message.content for message in request.messages)])
        return LlmResponse(
            content=content,
            provider=PROVIDER_NAME,
            model=MODEL_NAME,
            input_tokens=estimate_tokens(prompt_text),
            output_tokens=estimate_tokens(content),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            structured_output=structured,
        )


def _last_user_message(request: LlmRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.content
    return ""


def _matching_rule_reply(kwargs: Mapping[str, Any], last_user_message: str) -> str | Mapping[str, Any] | None:
    rules = kwargs.get("scripted_rules") or []
    if not isinstance(rules, list):
        raise LlmError("model_kwargs.scripted_rules must be a list of {when_contains, reply} objects")
    haystack = last_user_message.casefold()
    for position, rule in enumerate(rules):
        if not (
            isinstance(rule, Mapping)
            and isinstance(rule.get("when_contains"), str)
            and isinstance(rule.get("reply"), str | Mapping)
        ):
            raise LlmError(
                f"model_kwargs.scripted_rules[{position}] must be an object with string 'when_contains' and 'reply'"
            )
        if rule["when_contains"].casefold() in haystack:
            reply: str | Mapping[str, Any] = rule["reply"]
            return reply
    return None


def _scripted_reply(kwargs: Mapping[str, Any], request: LlmRequest) -> str | Mapping[str, Any] | None:
    replies = kwargs.get("scripted_replies") or []
    if not isinstance(replies, list) or not all(isinstance(reply, str | Mapping) for reply in replies):
        raise LlmError("model_kwargs.scripted_replies must be a list of strings (or tool-call objects)")
    if not replies:
        return None
    answered = sum(1 for message in request.messages if message.role == "assistant")
    reply: str | Mapping[str, Any] = replies[min(answered, len(replies) - 1)]
    return reply


def _with_tool_result(text: str | None, request: LlmRequest) -> str | None:
    if text is None or "{tool_result}" not in text:
        return text
    result = next((message.content for message in reversed(request.messages) if message.role == "tool"), "")
    return text.replace("{tool_result}", result)


def _tool_calls_reply(reply: Mapping[str, Any], request: LlmRequest, started: float) -> LlmResponse:
    calls = reply.get("tool_calls")
    content = reply.get("content", "")
    if not request.tools:
        raise LlmError("a scripted reply asks for tool calls, but the node offers no tools")
    if not isinstance(calls, list) or not calls or not isinstance(content, str):
        raise LlmError(
            'a scripted tool-call reply must be {"tool_calls": [{"name", "arguments"}, ...], "content": str}'
        )
    answered = sum(1 for message in request.messages if message.role == "assistant")
    tool_calls = []
    for position, call in enumerate(calls):
        if not (isinstance(call, Mapping) and isinstance(call.get("name"), str)):
            raise LlmError(f"scripted tool_calls[{position}] must be an object with a string 'name'")
        arguments = call.get("arguments") or {}
        if not isinstance(arguments, Mapping):
            raise LlmError(f"scripted tool_calls[{position}].arguments must be an object")
        tool_calls.append(
            LlmToolCall(id=f"scripted_{answered}_{position}", name=call["name"], arguments=dict(arguments))
        )
    prompt_text = " ".join([request.system_prompt, *(message.content for message in request.messages)])
    return LlmResponse(
        content=content,
        provider=PROVIDER_NAME,
        model=MODEL_NAME,
        input_tokens=estimate_tokens(prompt_text),
        output_tokens=estimate_tokens(json.dumps(calls)),
        latency_ms=(time.perf_counter() - started) * 1000.0,
        tool_calls=tuple(tool_calls),
    )


def _structured_output(kwargs: Mapping[str, Any], schema: dict[str, Any], scripted_text: str | None) -> dict[str, Any]:
    configured = kwargs.get("scripted_structured_output")
    if configured is not None:
        if not isinstance(configured, Mapping):
            raise LlmError("model_kwargs.scripted_structured_output must be an object")
        return dict(configured)
    if scripted_text is not None:
        # A scripted reply that is a JSON object is the structured answer; anything else falls back.
        try:
            parsed = json.loads(scripted_text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    defaults = default_for_schema(schema)
    return defaults if isinstance(defaults, dict) else {}


def _default_reply(request: LlmRequest, last_user_message: str) -> str:
    if request.purpose == "condition":
        return CONDITION_DEFAULT_REPLY
    if request.purpose == "worker":
        return "{}"
    if not last_user_message:
        return GREETING_REPLY
    return f'You said: "{last_user_message}"'
