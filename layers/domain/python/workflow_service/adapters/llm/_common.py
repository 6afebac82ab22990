"""Pieces shared by the LLM provider adapters: option parsing, JSON extraction, schema defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.ports.llm import LlmError

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmRequest

STRUCTURED_OUTPUT_TOOL_NAME = "structured_output"

_CODE_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


class InferenceOptions(NamedTuple):
    """The sampling options a node may set in ``llms_config.model_kwargs``; None means provider default."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()


def model_kwargs(request: LlmRequest) -> dict[str, Any]:
    """``llm_config["model_kwargs"]`` as a mapping (absent or null → empty)."""
    kwargs = request.llm_config.get("model_kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise LlmError(f"llms_config.model_kwargs must be an object, got {type(kwargs).__name__}")
    return dict(kwargs)


def inference_options(request: LlmRequest) -> InferenceOptions:
    """Read and type-check temperature, max_tokens, top_p and stop from ``model_kwargs``."""
    # The SDK's top-level max_tokens / temperature win over the same names in model_kwargs.
    top_level = {
        name: request.llm_config[name]
        for name in ("max_tokens", "temperature")
        if request.llm_config.get(name) is not None
    }
    kwargs = {**model_kwargs(request), **top_level}
    temperature = _optional_number(kwargs, "temperature")
    top_p = _optional_number(kwargs, "top_p")
    max_tokens = kwargs.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise LlmError(f"llms_config.model_kwargs.max_tokens must be a positive integer, got {max_tokens!r}")
    stop = kwargs.get("stop")
    if stop is None:
        stop_sequences: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stop_sequences = (stop,)
    elif isinstance(stop, list) and all(isinstance(item, str) for item in stop):
        stop_sequences = tuple(stop)
    else:
        raise LlmError("llms_config.model_kwargs.stop must be a string or a list of strings")
    return InferenceOptions(temperature=temperature, max_tokens=max_tokens, top_p=top_p, stop=stop_sequences)


def call_timeout(request: LlmRequest, default_seconds: float) -> float:
    """One call's timeout: the config's ``request_timeout_ms`` (else ``default_seconds``), never past the turn."""
    configured = request.llm_config.get("request_timeout_ms")
    timeout = configured / 1000.0 if isinstance(configured, int) and configured > 0 else default_seconds
    if request.time_left_seconds is not None:
        timeout = min(timeout, request.time_left_seconds)
    return max(timeout, 0.001)


def _optional_number(kwargs: Mapping[str, Any], name: str) -> float | None:
    value = kwargs.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LlmError(f"llms_config.model_kwargs.{name} must be a number, got {value!r}")
    return float(value)


def requested_schema(request: LlmRequest) -> dict[str, Any] | None:
    """The JSON schema the caller wants the answer to follow, or None.

    An empty schema (the reference's default ``structured_output_schema: {}``) asks for nothing.
    """
    schema = request.structured_output_schema
    if not schema:
        return None
    if not isinstance(schema, dict):
        raise LlmError(f"structured_output_schema must be an object, got {type(schema).__name__}")
    return schema


def object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as a top-level object schema, which tool and response-format APIs require."""
    if schema.get("type") == "object" or "properties" in schema:
        return {"type": "object", **schema}
    # A bare property map ({"name": {"type": "string"}}) is a common shorthand for an object.
    if all(isinstance(value, dict) for value in schema.values()):
        return {"type": "object", "properties": schema}
    raise LlmError("structured_output_schema must describe a JSON object")


def parse_json_object(text: str, *, provider: str) -> dict[str, Any]:
    """Parse a model's answer as one JSON object, tolerating a Markdown code fence around it."""
    candidate = text.strip()
    fenced = _CODE_FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    try:
        parsed = json.loads(candidate)
    except ValueError:
        # Models sometimes wrap the object in prose; take the outermost braces as a last resort.
        start, end = candidate.find("{"), candidate.rfind("}")
        if start < 0 or end <= start:
            raise LlmError(f"{provider} answer is not JSON: {excerpt(text)}") from None
        try:
            parsed = json.loads(candidate[start : end + 1])
        except ValueError:
            raise LlmError(f"{provider} answer is not JSON: {excerpt(text)}") from None
    if not isinstance(parsed, dict):
        raise LlmError(f"{provider} answer is JSON but not an object: {excerpt(text)}")
    return parsed


def default_for_schema(schema: Any) -> Any:
    """A deterministic value matching ``schema``'s declared type (default, const and enum win)."""
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            non_null = [option for option in options if not (isinstance(option, dict) and option.get("type") == "null")]
            return default_for_schema((non_null or options)[0])
    declared: Any = schema.get("type")
    if isinstance(declared, list):
        declared = next((name for name in declared if name != "null"), "null")
    if declared is None and "properties" in schema:
        declared = "object"
    if declared == "object":
        properties = schema.get("properties") or {}
        return {name: default_for_schema(sub) for name, sub in properties.items()}
    return {
        "string": "",
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
        "null": None,
    }.get(declared)


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate (whitespace-separated words) for providers that report none."""
    return len(text.split())


def excerpt(text: str, limit: int = 300) -> str:
    """A single-line, bounded excerpt of a provider answer or error body for error messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
