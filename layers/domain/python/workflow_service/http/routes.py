"""Loads the route table (``routes.json``): the single source of truth for endpoints.

The JSON is plain data so that infra can read it without importing runtime code. The local
runtime matches requests against it; the OpenAPI document is generated from it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Literal, NamedTuple

ANY_METHOD = "ANY"
AuthMode = Literal["api_key", "none", "webhook_signature"]
Surface = Literal["workflows_v1", "schedules_api"]


class Route(NamedTuple):
    name: str
    method: str
    path: str
    summary: str
    tag: str
    auth: AuthMode
    surface: Surface
    status: int
    body: str | None
    query: str | None
    response: str | None
    uses: tuple[str, ...]
    capability: str
    headers: tuple[str, ...] = ()
    """Optional request headers the route honours (e.g. ``Idempotency-Key``), documented in the OpenAPI."""

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)\+?}", self.path))

    @property
    def is_catch_all(self) -> bool:
        """A greedy ``{name+}`` route (method ``ANY``): it serves a path only no other route serves."""
        return "+}" in self.path

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if this route serves ``method path``, else None."""
        if self.method != ANY_METHOD and method.upper() != self.method:
            return None
        found = _path_regex(self.path).fullmatch(path.rstrip("/") or "/")
        return found.groupdict() if found else None


class EventHandler(NamedTuple):
    name: str
    source: str
    summary: str
    uses: tuple[str, ...]


@cache
def _path_regex(template: str) -> re.Pattern[str]:
    pattern = re.escape(template).replace(r"\{", "{").replace(r"\}", "}").replace(r"\+", "+")
    pattern = re.sub(r"{(\w+)\+}", r"(?P<\1>.+)", pattern)
    pattern = re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(pattern)


@cache
def _document() -> dict:
    # A plain path, not importlib.resources: the layer is unpacked on disk (/opt/python), and the
    # resource readers are import time a handler does not need.
    return json.loads(Path(__file__).with_name("routes.json").read_text(encoding="utf-8"))


@cache
def route_table() -> tuple[Route, ...]:
    return tuple(_route(row, capability) for capability, rows in _document()["routes"].items() for row in rows)


def _route(row: dict, capability: str) -> Route:
    return Route(**{**row, "uses": tuple(row["uses"]), "headers": tuple(row.get("headers", ()))}, capability=capability)


@cache
def event_handlers() -> tuple[EventHandler, ...]:
    return tuple(EventHandler(**{**row, "uses": tuple(row["uses"])}) for row in _document()["events"])


def route_named(name: str) -> Route:
    """The row a handler serves. Only that row is built: a handler's cold start needs no other."""
    for capability, rows in _document()["routes"].items():
        for row in rows:
            if row["name"] == name:
                return _route(row, capability)
    raise KeyError(f"no route named {name!r} in routes.json")


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving ``method path`` and its path parameters; literal segments win over params.

    As on API Gateway, a catch-all route serves only paths no other route serves with any method
    (a known path with another method is not its business).
    """
    candidates = [(route, params) for route in route_table() if (params := route.match(method, path)) is not None]
    specific = [pair for pair in candidates if not pair[0].is_catch_all]
    if specific:
        return min(specific, key=lambda pair: len(pair[1]))
    if not candidates or any(
        route.match(route.method, path) is not None for route in route_table() if not route.is_catch_all
    ):
        return None
    return candidates[0]
