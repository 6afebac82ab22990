"""The route table (``routes.json``) read as plain data: one function per HTTP route and per event row.

Infra never imports runtime code (``workflow_service.http.routes``); it reads the same JSON file so
that the single source of truth for endpoints drives the Lambdas and API Gateway methods.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import REPO_ROOT

ROUTES_JSON = REPO_ROOT / "layers" / "domain" / "python" / "workflow_service" / "http" / "routes.json"

# What a row may ask for in "uses"; each has an infra binding (environment + grants).
KNOWN_USES = frozenset({"store", "llm", "scheduler", "work_queue", "trigger_queue", "webhook_queue"})
AUTH_MODES = frozenset({"api_key", "none", "webhook_signature"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Event rows the stack wires to a source; a new row needs infra code, so an unknown one fails synth.
EVENT_HANDLERS = frozenset(
    {"authorizer", "schedule_target", "trigger_queue_consumer", "run_worker", "reaper", "deliver_webhook_events"}
)


class RouteTableError(ValueError):
    """routes.json cannot be turned into functions; the message names the row."""


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    auth: str

    @property
    def requires_api_key(self) -> bool:
        return self.auth == "api_key"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda: ``lambdas/<name>.py`` with ``handler(event, context)``."""

    name: str
    capability: str
    uses: tuple[str, ...]
    summary: str
    http: HttpRoute | None = None

    @property
    def handler(self) -> str:
        return f"{self.name}.handler"

    @property
    def module_file(self) -> str:
        return f"{self.name}.py"


@dataclass(frozen=True)
class RouteTable:
    routes: tuple[FunctionSpec, ...]
    events: tuple[FunctionSpec, ...]

    @property
    def functions(self) -> tuple[FunctionSpec, ...]:
        return self.routes + self.events

    @property
    def groups(self) -> dict[str, tuple[FunctionSpec, ...]]:
        """The routes by their routes.json group (its "routes" keys), in file order: one nested stack each."""
        groups: dict[str, list[FunctionSpec]] = {}
        for spec in self.routes:
            groups.setdefault(spec.capability, []).append(spec)
        return {group: tuple(specs) for group, specs in groups.items()}

    def event(self, name: str) -> FunctionSpec:
        for spec in self.events:
            if spec.name == name:
                return spec
        raise RouteTableError(f"routes.json has no events row named {name!r}")


def load_route_table(path: Path = ROUTES_JSON) -> RouteTable:
    """Parse and validate ``routes.json``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    routes = tuple(_route_spec(capability, row) for capability, rows in document["routes"].items() for row in rows)
    events = tuple(_event_spec(row) for row in document["events"])
    table = RouteTable(routes=routes, events=events)
    _check_unique(table)
    return table


def _route_spec(capability: str, row: dict[str, Any]) -> FunctionSpec:
    name = _name(row)
    method, path, auth = row.get("method"), row.get("path"), row.get("auth")
    if method not in HTTP_METHODS:
        raise RouteTableError(f"route {name}: method {method!r} is not one of {sorted(HTTP_METHODS)}")
    if not isinstance(path, str) or not re.fullmatch(r"(/([A-Za-z0-9._-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+", path):
        raise RouteTableError(f"route {name}: path {path!r} is not an absolute path of literal or {{param}} segments")
    if auth not in AUTH_MODES:
        raise RouteTableError(f"route {name}: auth {auth!r} is not one of {sorted(AUTH_MODES)}")
    return FunctionSpec(
        name=name,
        capability=capability,
        uses=_uses(name, row),
        summary=str(row.get("summary", "")),
        http=HttpRoute(method=method, path=path, auth=auth),
    )


def _event_spec(row: dict[str, Any]) -> FunctionSpec:
    name = _name(row)
    if name not in EVENT_HANDLERS:
        raise RouteTableError(f"events row {name!r} has no infra wiring; known: {sorted(EVENT_HANDLERS)}")
    # An event handler is its own capability: it has its own memory/timeout, role and alarm.
    return FunctionSpec(name=name, capability=name, uses=_uses(name, row), summary=str(row.get("summary", "")))


def _name(row: dict[str, Any]) -> str:
    name = row.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise RouteTableError(f"row name {name!r} must be a lowercase Python module name")
    return name


def _uses(name: str, row: dict[str, Any]) -> tuple[str, ...]:
    uses = tuple(row.get("uses", ()))
    unknown = sorted(set(uses) - KNOWN_USES)
    if unknown:
        raise RouteTableError(f"{name}: unknown 'uses' {unknown}; known: {sorted(KNOWN_USES)}")
    return uses


def _check_unique(table: RouteTable) -> None:
    names = [spec.name for spec in table.functions]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RouteTableError(f"duplicate function names in routes.json: {duplicates}")
    endpoints = [(spec.http.method, spec.http.path) for spec in table.routes if spec.http]
    repeated = sorted({endpoint for endpoint in endpoints if endpoints.count(endpoint) > 1})
    if repeated:
        raise RouteTableError(f"more than one route serves {repeated}")
    missing = sorted(EVENT_HANDLERS - {spec.name for spec in table.events})
    if missing:
        raise RouteTableError(f"routes.json lacks events rows the stack wires: {missing}")
