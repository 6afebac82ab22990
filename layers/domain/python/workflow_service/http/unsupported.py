"""The explanatory 404 for the product SDK's surfaces this service does not offer.

The SDK (interactly-ai/workflow-sdk) also reaches templates, node/edge/tool CRUD, super nodes,
simulations, node libraries, named LLM configs, global variables, categories, ratings, reruns and
WebSocket streaming. They are out of scope (DESIGN.md section 1); a caller is told so, with what the
service does offer, instead of API Gateway's bare "Missing Authentication Token" or "Not Found".
"""

from __future__ import annotations

import re

from workflow_service.http.api import ApiResponse
from workflow_service.http.routes import route_table

PREFIX = "/workflows/v1/"

# (pattern over the path after /workflows/v1/, the surface's name), first match wins.
_SURFACES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name)
    for pattern, name in (
        (r"workflow-runs/ws(/|$)", "WebSocket run streaming (workflow-runs/ws)"),
        (r"workflow-runs/[^/]+/(turns|rerunnable-turns)(/|$)", "reruns"),
        (r"workflows/[^/]+/runs/[^/]+/checkpoint-run", "reruns (checkpoint runs)"),
        (r"workflow-runs/.*ratings", "ratings"),
        (r"workflow-runs/[^/]+/events/", "event comments"),
        (r"templates(/|$)", "templates"),
        (r"nodes(/|$)", "node CRUD (nodes are carried inline in a version's workflow_config)"),
        (r"edges(/|$)", "edge CRUD (edges are carried inline in a version's workflow_config)"),
        (r"tools(/|$)", "tool CRUD (external_api tools are carried inline in a version's workflow_config)"),
        (r"super-nodes(/|$)|workflows/[^/]+/(super-node|expand-preview|schema$)|workflows/schemas/", "super nodes"),
        (r"simulations?(-runs)?(/|$)", "simulations"),
        (r"node-libraries(/|$)", "node libraries"),
        (r"llm-configs(/|$)|schemas/llm-config", "named LLM configs (llm-configs; set llms_config inline)"),
        (r"global-variables(/|$)", "global variables"),
        (r"workflow-categories(/|$)", "workflow categories"),
    )
)


def surface_of(path: str) -> str | None:
    """The SDK surface ``path`` belongs to, or None for a path no surface has."""
    rest = path[len(PREFIX) :] if path.startswith(PREFIX) else path.lstrip("/")
    for pattern, name in _SURFACES:
        if pattern.match(rest):
            return name
    return None


def offered_routes() -> list[str]:
    """``METHOD path`` of every public /workflows/v1 route, in route-table order."""
    return [
        f"{route.method} {route.path}"
        for route in route_table()
        if route.path.startswith(PREFIX) and not route.is_catch_all and route.auth == "api_key"
    ]


def unsupported_answer(method: str, path: str) -> ApiResponse:
    """The 404 for ``method path``: which surface is not offered, and what is."""
    surface = surface_of(path)
    shown = f"{method.upper()} {path}"
    if surface is None:
        detail = f"{shown}: no such endpoint on this workflow service"
    else:
        detail = f"{shown}: this workflow service does not offer {surface}"
    detail += (
        "; it offers workflows, versions, runs, schedules, triggers and concurrency"
        " (see offered and /workflows/v1/docs)"
    )
    return ApiResponse(404, {"detail": detail, "surface": surface, "offered": offered_routes()})
