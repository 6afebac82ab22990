"""The tools an LLM node offers its model: names, ``args_schema`` checks and argument validation.

Argument validation uses a small validator of the JSON Schema subset that Bedrock and OpenAI-style
function calling accept and that models actually follow: ``type`` (one or a list), ``properties``,
``required``, ``additionalProperties: false``, ``enum``, ``const``, ``items``, ``minimum`` /
``maximum`` (and the exclusive forms), ``minLength`` / ``maxLength``, ``minItems`` / ``maxItems``.
Keywords outside the subset are accepted and not enforced. It is written here rather than taken from
the ``jsonschema`` package because that package (with its ``referencing`` and ``rpds`` dependencies,
one of them a compiled extension) would add a few MB to the domain layer and tens of milliseconds to
every cold start that loads it, for a subset of about a hundred lines; ``$ref`` and format checks are
not something a tool's arguments need.
"""

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import NodeConfig, ToolConfig

TOOL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""A tool name every provider accepts (Bedrock and OpenAI both allow letters, digits, ``_`` and ``-``)."""

JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_MAX_ERRORS = 10

Problem = Callable[[tuple[str | int, ...], str, Any], None]


def tool_name(tool: "ToolConfig") -> str:
    """The name a model calls ``tool`` by: its ``name``, else its ``logical_id``."""
    return tool.name or tool.logical_id


def tool_description(tool: "ToolConfig") -> str:
    """What the model reads about ``tool``: its ``signature`` when set, else its ``description``."""
    return tool.signature or tool.description or ""


def parameters_schema(args_schema: dict[str, Any]) -> dict[str, Any]:
    """``args_schema`` as the object schema providers require; ``{}`` means an object with no properties."""
    if not args_schema:
        return {"type": "object", "properties": {}}
    if "type" not in args_schema:
        return {"type": "object", **args_schema}
    return args_schema


def check_args_schema(schema: Any) -> str | None:
    """Why ``schema`` cannot be a tool's ``args_schema`` (an object schema), or None when it can."""
    if not isinstance(schema, dict):
        return "args_schema must be a JSON Schema object"
    if not schema:
        return None
    if schema.get("type", "object") != "object":
        return f"args_schema must describe a JSON object (type 'object'), not {schema.get('type')!r}"
    return _check_subschema(schema, "args_schema")


def _check_subschema(schema: Any, where: str) -> str | None:
    if not isinstance(schema, dict):
        return f"{where} must be a JSON Schema object"
    declared = schema.get("type")
    names = declared if isinstance(declared, list) else [declared] if declared is not None else []
    for name in names:
        if name not in JSON_TYPES:
            return f"{where}.type {name!r} is not a JSON Schema type"
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return f"{where}.properties must be an object"
    for name, sub in properties.items():
        error = _check_subschema(sub, f"{where}.properties.{name}")
        if error:
            return error
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(item, str) for item in required):
        return f"{where}.required must be a list of property names"
    if "enum" in schema and not isinstance(schema["enum"], list):
        return f"{where}.enum must be a list"
    if "items" in schema:
        return _check_subschema(schema["items"], f"{where}.items")
    return None


def validate_arguments(schema: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with ``value`` against ``schema`` (the subset above); empty when it conforms."""
    errors: list[str] = []
    _validate(parameters_schema(schema), value, "arguments", errors)
    return errors[:_MAX_ERRORS]


def _type_matches(name: str, value: Any) -> bool:
    if name == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}[name]
    return isinstance(value, expected)


def _validate(schema: Any, value: Any, where: str, errors: list[str]) -> None:
    if not isinstance(schema, dict) or len(errors) >= _MAX_ERRORS:
        return
    declared = schema.get("type")
    if declared is not None:
        names = declared if isinstance(declared, list) else [declared]
        if not any(_type_matches(name, value) for name in names if name in JSON_TYPES):
            errors.append(f"{where} must be of type {' or '.join(map(str, names))}")
            return
    if "enum" in schema and isinstance(schema["enum"], list) and value not in schema["enum"]:
        errors.append(f"{where} must be one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where} must be {schema['const']!r}")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                errors.append(f"{where}.{name} is required")
        for name, item in value.items():
            if name in properties:
                _validate(properties[name], item, f"{where}.{name}", errors)
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}.{name} is not an allowed property")
    elif isinstance(value, list):
        _bounds(schema, len(value), "minItems", "maxItems", f"{where} length", errors)
        for position, item in enumerate(value):
            _validate(schema.get("items"), item, f"{where}[{position}]", errors)
    elif isinstance(value, str):
        _bounds(schema, len(value), "minLength", "maxLength", f"{where} length", errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _bounds(schema, value, "minimum", "maximum", where, errors)
        low, high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(low, int | float) and not isinstance(low, bool) and value <= low:
            errors.append(f"{where} must be greater than {low}")
        if isinstance(high, int | float) and not isinstance(high, bool) and value >= high:
            errors.append(f"{where} must be less than {high}")


def _bounds(schema: dict[str, Any], measure: float, low_key: str, high_key: str, what: str, errors: list[str]) -> None:
    low, high = schema.get(low_key), schema.get(high_key)
    if isinstance(low, int | float) and not isinstance(low, bool) and measure < low:
        errors.append(f"{what} must be at least {low}")
    if isinstance(high, int | float) and not isinstance(high, bool) and measure > high:
        errors.append(f"{what} must be at most {high}")


def check_llm_node_tools(
    node: "NodeConfig", index: int, workflow_tools: dict[str, "ToolConfig"], problem: Problem
) -> None:
    """The write-time rules for the tools of a ``say_llm`` / ``worker_llm`` node.

    Each tool is inline (with a ``url``) or refers by ``logical_id`` to a workflow-level tool; its
    ``args_schema`` is an object schema; names are unique in the node and valid for every provider.
    """
    seen: dict[str, int] = {}
    for tool_index, tool in enumerate(node.tools_config.tools):
        loc: tuple[str | int, ...] = ("nodes", index, "tools_config", "tools", tool_index)
        effective = tool
        if not tool.url:
            shared = workflow_tools.get(tool.logical_id)
            if shared is None or not shared.url:
                missing = f"tool '{tool.logical_id}' has no url and no workflow-level tool has that logical_id"
                problem((*loc, "url"), missing, None)
                continue
            effective = shared
        name = tool_name(effective)
        if not TOOL_NAME_PATTERN.match(name):
            problem(
                (*loc, "name"),
                f"tool name '{name}' must be 1-64 letters, digits, '_' or '-' (what every LLM provider accepts)",
                name,
            )
        elif name in seen:
            problem((*loc, "name"), f"tool name '{name}' is already used by tools[{seen[name]}] of this node", name)
        else:
            seen[name] = tool_index
        error = check_args_schema(effective.args_schema)
        if error:
            problem((*loc, "args_schema"), error, effective.args_schema)
