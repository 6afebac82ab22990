"""Placeholder filling: ``{{name}}`` from dynamic variables, ``[[name]]`` from runtime variables.

Runtime names resolve in the current thread's variables first, then in the workflow-wide ones (the
run input's ``runtime_variables``). ``[[thread_<id>.<var>]]`` reads another thread's variables
(``thread_0`` is the main thread). A dotted name walks into dicts and lists when no variable has
that exact name: ``[[http_result.body.items.0.id]]``. A name that resolves to nothing raises
:class:`MissingVariable`, which the engine reports as a ``workflow_error``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from workflow_service.conditions import PLACEHOLDER_PATTERN

_MISSING = object()


class MissingVariable(LookupError):
    """A placeholder names a variable that has no value."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        marker = f"{{{{{name}}}}}" if kind == "dynamic" else f"[[{name}]]"
        super().__init__(f"{kind} variable '{name}' is not defined (placeholder {marker})")


def _is_index(part: str) -> bool:
    # ASCII digits only (int() refuses other Unicode digits), and short enough for int() to parse.
    return part.isascii() and part.isdigit() and len(part) <= 18


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and _is_index(part) and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _lookup(layers: tuple[Mapping[str, Any], ...], name: str) -> Any:
    for layer in layers:
        if name in layer:
            return layer[name]
    if "." in name:
        head, *path = name.split(".")
        for layer in layers:
            if head in layer:
                return _walk(layer[head], path)
    return _MISSING


class VariableScope:
    """What a thread can see: dynamic variables, its runtime variables and the other threads'."""

    __slots__ = ("_runtime_layers", "dynamic", "thread_variables", "workflow_variables")

    def __init__(
        self,
        dynamic: Mapping[str, Any],
        runtime: Mapping[str, Any],
        workflow_runtime: Mapping[str, Any],
        thread_variables: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.dynamic = dynamic
        self.workflow_variables = workflow_runtime
        self.thread_variables = thread_variables
        self._runtime_layers = (runtime, workflow_runtime)

    def dynamic_value(self, name: str) -> Any:
        value = _lookup((self.dynamic,), name)
        if value is _MISSING:
            raise MissingVariable("dynamic", name)
        return value

    def runtime_value(self, name: str) -> Any:
        value = _lookup(self._runtime_layers, name)
        if value is _MISSING and name.startswith("thread_") and "." in name:
            thread_id, _, rest = name[len("thread_") :].partition(".")
            variables = self.thread_variables.get(thread_id)
            if variables is not None:
                value = _lookup((variables, self.workflow_variables), rest)
        if value is _MISSING:
            raise MissingVariable("runtime", name)
        return value

    def value_of(self, name: str) -> Any:
        """A bare name in a condition expression: runtime variables first, then dynamic ones."""
        try:
            return self.runtime_value(name)
        except MissingVariable:
            pass
        value = _lookup((self.dynamic,), name)
        if value is _MISSING:
            raise MissingVariable("runtime or dynamic", name)
        return value

    def resolve_placeholder(self, match: re.Match[str]) -> Any:
        """The value a matched placeholder stands for; raises MissingVariable."""
        dynamic = match.group("dynamic")
        return self.dynamic_value(dynamic) if dynamic is not None else self.runtime_value(match.group("runtime"))


def as_text(value: Any) -> str:
    """How a variable reads inside text: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or not isinstance(value, int | float):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def fill_text(template: str | None, scope: VariableScope) -> str:
    """The template with every placeholder replaced by its variable's text."""
    if not template:
        return ""
    if "{{" not in template and "[[" not in template:
        return template
    return PLACEHOLDER_PATTERN.sub(lambda match: as_text(scope.resolve_placeholder(match)), template)


class UrlEncoded(str):
    """Text already percent-encoded for a URL (a tool's argument), which :func:`fill_url` keeps as it is."""

    __slots__ = ()


def fill_url(template: str | None, scope: VariableScope) -> str:
    """The URL ``template`` filled as :func:`fill_text` fills text, except in query values.

    A placeholder standing in a query value (after the template's own ``?`` and a ``=`` of the same
    parameter, before any ``#``) is percent-encoded, so a value holding ``&``, ``=`` or ``#`` cannot
    add a parameter or cut the query off. Elsewhere (the base URL, the path, a whole query, a
    parameter's name) the variable may hold that part of the URL, and it is filled as text. Only the
    template's own text is scanned for ``?``, ``&``, ``=`` and ``#``, never the values.
    """
    if not template:
        return ""
    if "{{" not in template and "[[" not in template:
        return template
    parts: list[str] = []
    in_query = in_value = in_fragment = False
    start = 0
    for match in PLACEHOLDER_PATTERN.finditer(template):
        literal = template[start : match.start()]
        for char in literal:
            if in_fragment:
                break
            if char == "#":
                in_fragment, in_value = True, False
            elif not in_query:
                in_query = char == "?"
            elif char == "&":
                in_value = False
            elif char == "=":
                in_value = True
        value = scope.resolve_placeholder(match)
        parts.append(literal)
        if isinstance(value, UrlEncoded):
            parts.append(value)
        elif in_value:
            parts.append(urllib.parse.quote(as_text(value), safe=""))
        else:
            parts.append(as_text(value))
        start = match.end()
    parts.append(template[start:])
    return "".join(parts)


class InvalidJsonTemplate(ValueError):
    """A JSON text template whose placeholder cannot be filled safely where it stands."""


def looks_like_json(template: str) -> bool:
    """Whether ``template`` reads as JSON text: it opens with ``{`` or ``[`` that is not a placeholder."""
    text = template.lstrip()
    # "{{name}}" and "[[name]]" open with a brace or bracket too: a body that starts with a placeholder
    # is text whose shape only the variable knows, and keeps being filled as text.
    return text[:1] in ("{", "[") and PLACEHOLDER_PATTERN.match(text) is None


def fill_json_text(template: str, scope: VariableScope) -> str:
    """JSON text ``template`` with every placeholder filled so that its value cannot change the shape.

    Inside a string literal a placeholder becomes its variable's text (as :func:`fill_text` writes
    it) JSON-escaped, so a quote, backslash or line break stays part of the string; anywhere else it
    becomes the value as JSON (a number stays a number, a dict or list is an object or array, text
    that is one whole JSON value, such as ``"5"``, is that value, and other text is quoted).
    Placeholders are found and looked up exactly as :func:`fill_text` does, and a missing one raises
    :class:`MissingVariable` as there. The template is not parsed as JSON (its placeholders keep it
    from being JSON before filling): a scan of the author's text alone, never of the values, tracks
    whether each placeholder stands inside a string literal. Raises
    :class:`InvalidJsonTemplate` for a placeholder right after a backslash inside a string literal,
    where the escape would swallow the first character of the value, and with it the escaping.
    """
    if "{{" not in template and "[[" not in template:
        return template
    parts: list[str] = []
    in_string = False
    escaped = False
    start = 0
    for match in PLACEHOLDER_PATTERN.finditer(template):
        text = template[start : match.start()]
        for char in text:
            if not in_string:
                in_string = char == '"'
            elif escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        if escaped:
            raise InvalidJsonTemplate(f"the placeholder {match.group(0)} follows a backslash inside a JSON string")
        value = scope.resolve_placeholder(match)
        parts.append(text)
        if in_string:
            parts.append(json.dumps(as_text(value))[1:-1])
        else:
            parts.append(_json_value_text(value))
        start = match.end()
    parts.append(template[start:])
    return "".join(parts)


def _json_value_text(value: Any) -> str:
    # Text that is one whole JSON value ("5", "true", '{"a": 1}': dynamic variables arrive as text)
    # stands for that value, as the raw fill always sent it; written back from its parse, it is one
    # value and cannot add a sibling field. Any other text ('5, "admin": true') is a JSON string.
    if isinstance(value, str):
        try:
            return json.dumps(json.loads(value))
        except (ValueError, RecursionError):
            return json.dumps(value)
    return json.dumps(value, default=str)


def fill_value(value: Any, scope: VariableScope) -> Any:
    """Fill placeholders inside a JSON-like value (request bodies, headers).

    A string that is exactly one placeholder becomes the variable's value with its type (so a
    number stays a number in a JSON body); other strings are filled as text.
    """
    if isinstance(value, str):
        if "{{" not in value and "[[" not in value:
            return value
        match = PLACEHOLDER_PATTERN.fullmatch(value.strip())
        if match is not None:
            return scope.resolve_placeholder(match)
        return fill_text(value, scope)
    if isinstance(value, dict):
        return {key: fill_value(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_value(item, scope) for item in value]
    return value


def fill_expression(expression: str, scope: VariableScope) -> str:
    """A condition expression with each placeholder replaced by its value as a Python literal."""
    if "{{" not in expression and "[[" not in expression:
        return expression
    return PLACEHOLDER_PATTERN.sub(lambda match: repr(scope.resolve_placeholder(match)), expression)
