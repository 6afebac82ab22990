"""OpenAPI 3 document generated from the route table and the pydantic models it names."""

from __future__ import annotations

import importlib
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from workflow_service.http.routes import Route, route_table
from workflow_service.idempotency import IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_LENGTH

TITLE = "Workflow execution service"
_REF = "#/components/schemas/{model}"


def resolve_model(dotted_name: str) -> type[BaseModel]:
    """``"workflows.WorkflowResponse"`` -> ``workflow_service.models.workflows.WorkflowResponse``."""
    module_name, _, class_name = dotted_name.rpartition(".")
    module = importlib.import_module(f"workflow_service.models.{module_name}")
    model = getattr(module, class_name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{dotted_name} is not a pydantic model")
    return model


_VALIDATION_ERROR = {
    "type": "object",
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}
_DETAIL_ERROR = {"type": "object", "properties": {"detail": {"type": "string"}}}
_ENVELOPE_ERROR = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "string", "enum": ["VALIDATION_ERROR", "NOT_FOUND", "CONFLICT", "UNAUTHORIZED"]},
        "details": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


_HEADER_PARAMETERS: dict[str, dict[str, Any]] = {
    IDEMPOTENCY_KEY_HEADER: {
        "name": IDEMPOTENCY_KEY_HEADER,
        "in": "header",
        "required": False,
        "description": (
            "Makes the create safe to retry: a retry with the same key (per team and route) and the same "
            "request within 24 h answers the first answer again, status and body, with "
            "`Idempotent-Replayed: true`, and creates nothing. The same key with a different request is "
            "refused naming this header (draft-ietf-httpapi-idempotency-key-header). A request refused "
            "by validation keeps no answer."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
            "pattern": "^[\\x20-\\x7E]+$",
        },
    },
}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error_responses(route: Route) -> dict[str, Any]:
    envelope = route.surface == "schedules_api"
    plain = {"$ref": _REF.format(model="ErrorEnvelope" if envelope else "HTTPError")}
    validation = plain if envelope else {"$ref": _REF.format(model="HTTPValidationError")}
    responses = {
        "400" if envelope else "422": {"description": "Validation Error", "content": _json_content(validation)},
        "404": {"description": "Not Found", "content": _json_content(plain)},
        "503": {"description": "Database unreachable (nothing was written)", "content": _json_content(plain)},
    }
    if route.auth == "api_key":
        responses["401"] = {"description": "Missing or invalid API key"}
    if route.auth == "webhook_signature":
        responses["401"] = {"description": "Missing or invalid Standard Webhooks signature, or a stale timestamp"}
        responses["413"] = {"description": "Body larger than the webhook size limit", "content": _json_content(plain)}
    if route.method != "GET":
        responses["409"] = {"description": "Conflict with the object's current state", "content": _json_content(plain)}
    return responses


def _parameters(route: Route, query_schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    parameters = []
    for name in route.path_parameters:
        schema: dict[str, Any] = {"type": "string"}
        if name == "version_number":
            schema = {"type": "integer", "minimum": 0}
        elif name.endswith("_id") and name != "comment_logical_id":
            schema = {"type": "string", "pattern": "^[0-9a-f]{24}$", "minLength": 24, "maxLength": 24}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for name in route.headers:
        parameters.append(_HEADER_PARAMETERS[name])
    if query_schema:
        required = set(query_schema.get("required", []))
        for name, schema in query_schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    return parameters


@cache
def openapi_document() -> dict[str, Any]:
    routes = route_table()
    names = {name for route in routes for name in (route.body, route.response) if name}
    models = {name: resolve_model(name) for name in sorted(names)}
    mode_pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in models.values()]
    refs, definitions = models_json_schema(mode_pairs, ref_template=_REF)
    schemas = dict(definitions.get("$defs", {}))
    schemas.update(HTTPValidationError=_VALIDATION_ERROR, HTTPError=_DETAIL_ERROR, ErrorEnvelope=_ENVELOPE_ERROR)

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        query_schema = resolve_model(route.query).model_json_schema() if route.query else None
        operation: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": _parameters(route, query_schema),
            "responses": _error_responses(route),
        }
        success: dict[str, Any] = {"description": "Successful Response"}
        if route.response:
            success["content"] = _json_content(refs[(models[route.response], "validation")])
        operation["responses"][str(route.status)] = success
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "content": _json_content(refs[(models[route.body], "validation")]),
            }
        if route.auth == "api_key":
            operation["security"] = [{"bearerAuth": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": "1.0.0",
            "description": "Run team-owned AI-agent workflows interactively, on schedules and from triggers.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "API key"}},
        },
    }


@cache
def swagger_ui_html(openapi_url: str) -> str:
    """Swagger UI with its script and stylesheet inlined (served offline, from Powertools' bundle)."""
    assets = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    script = assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<style>{style}</style></head>
<body><div id="swagger-ui"></div>
<script>{script}</script>
<script>
window.ui = SwaggerUIBundle({{url: "{openapi_url}", dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: true, presets: [SwaggerUIBundle.presets.apis]}});
</script></body></html>"""
