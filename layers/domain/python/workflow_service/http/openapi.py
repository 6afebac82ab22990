"""OpenAPI 3 document generated from the route table and the pydantic models it names."""

from __future__ import annotations

import importlib
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from workflow_service.http.api import MAX_PATH_INT
from workflow_service.http.json_schema import INT64_MAXIMUM, StrictJsonSchema, query_parameter_schemas
from workflow_service.http.routes import Route, route_table
from workflow_service.idempotency import IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY_LENGTH
from workflow_service.models.common import OBJECT_ID_PATTERN
from workflow_service.models.webhook_payloads import WEBHOOK_PAYLOAD_MODELS
from workflow_service.observability import load_powertools

TITLE = "Workflow execution service"
_REF = "#/components/schemas/{model}"


def resolve_model(dotted_name: str) -> type[BaseModel]:
    """``"workflow_api.WorkflowResponse"`` -> ``workflow_service.models.workflow_api.WorkflowResponse``."""
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
                    "loc": {
                        "type": "array",
                        "items": {
                            "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0, "maximum": INT64_MAXIMUM}]
                        },
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}
_DETAIL_ERROR = {"type": "object", "properties": {"detail": {"type": "string"}}}
# What API Gateway answers itself (401, 403, 413, 400 for a request it cannot read), before any handler.
_GATEWAY_ERROR = {"type": "object", "properties": {"message": {"type": ["string", "null"]}}}
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
    gateway = {"$ref": _REF.format(model="GatewayError")}
    either = {"anyOf": [plain, gateway]}
    validation = plain if envelope else {"$ref": _REF.format(model="HTTPValidationError")}
    responses = {
        "400": {
            "description": "Bad Request: a request that cannot be read as sent, or a combination of values "
            "refused as a whole (e.g. a date range whose end is before its start)"
            + ("; also every validation error on this API" if envelope else ""),
            "content": _json_content(either),
        },
        "404": {"description": "Not Found", "content": _json_content(plain)},
        "503": {"description": "Database unreachable (nothing was written)", "content": _json_content(plain)},
    }
    if not envelope:
        responses["422"] = {"description": "Validation Error", "content": _json_content(validation)}
    if route.query:
        # Answered in front of the handler (API Gateway past 10,240 bytes of URL, the local server past
        # 65,536), in its own format: a query with many repeated values can get there.
        responses["414"] = {"description": "URI Too Long: the request line is longer than the server accepts"}
    if route.auth == "api_key":
        responses["401"] = {"description": "Missing API key", "content": _json_content(either)}
        responses["403"] = {"description": "Invalid API key", "content": _json_content(gateway)}
    if route.auth == "webhook_signature":
        responses["401"] = {
            "description": "Missing or invalid Standard Webhooks signature, or a stale timestamp",
            "content": _json_content(plain),
        }
    if route.method != "GET":
        responses["409"] = {"description": "Conflict with the object's current state", "content": _json_content(plain)}
        responses["413"] = {"description": "Body larger than the size limit", "content": _json_content(either)}
    if "work_queue" in route.uses:
        responses["429"] = {
            "description": "No concurrency slot is free for a run that must start now (see Retry-After)",
            "content": _json_content(plain),
        }
    return responses


_WEBHOOK_HEADERS = (
    ("webhook-id", "Unique id of this message; a replayed id starts nothing new", {"type": "string", "minLength": 1}),
    (
        "webhook-timestamp",
        "Unix time (seconds) the message was signed; refused outside WEBHOOK_TOLERANCE_SECONDS of now",
        {"type": "string", "pattern": "^[0-9]{1,19}$"},
    ),
    (
        "webhook-signature",
        "Space-separated 'v1,<base64 HMAC-SHA256 of id.timestamp.body>' entries (Standard Webhooks)",
        {"type": "string", "minLength": 1},
    ),
)
_WEBHOOK_BODY = {
    "type": "object",
    "description": "Any JSON object: its top-level keys become the run's dynamic variables, and the whole body is "
    "kept as miscellaneous.webhook_payload. Integers must fit in 64 bits; nesting is limited.",
    "additionalProperties": True,
}


_OTHER_COMMANDS = ["data", "resume", "pause", "stop"]
# Rules between fields of one body that the models check after parsing, by route: what the rule is, in
# words for readers and as JSON Schema (``anyOf`` beside the body's own schema) for generators.
CROSS_FIELD_RULES: dict[str, tuple[str, dict[str, Any]]] = {
    "start_or_resume_workflow_run": (
        "`command` `start` (the default) needs `workflow_id`; every other command needs `workflow_run_id`.",
        {
            "anyOf": [
                {"properties": {"command": {"const": "start"}}, "required": ["workflow_id"]},
                {"properties": {"command": {"enum": _OTHER_COMMANDS}}, "required": ["command", "workflow_run_id"]},
            ]
        },
    ),
    "execute_workflow": (
        "Without `run_id` (the first turn) the command must be `start` (the default); later turns echo `run_id`.",
        {
            "anyOf": [
                {"required": ["run_id"]},
                {"properties": {"run_input": {"properties": {"command": {"const": "start"}}}}},
            ]
        },
    ),
}


def _body_schema(route: Route, reference: dict[str, Any]) -> dict[str, Any]:
    rule = CROSS_FIELD_RULES.get(route.name)
    if rule is None:
        return reference
    description, schema = rule
    return {"allOf": [reference], "description": description, **schema}


def _path_parameter_schema(name: str) -> dict[str, Any]:
    if name in ("version_number", "version1", "version2"):  # version1, version2: a diff's two sides
        return {"type": "integer", "minimum": 0, "maximum": MAX_PATH_INT}
    if name.endswith("_id") and name != "comment_logical_id":
        return {"type": "string", "pattern": OBJECT_ID_PATTERN, "minLength": 24, "maxLength": 24}
    return {"type": "string", "minLength": 1}


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _path_parameter_schema(name)}
        for name in route.path_parameters
    ]
    parameters.extend(_HEADER_PARAMETERS[name] for name in route.headers)
    if route.auth == "webhook_signature":
        parameters.extend(
            {"name": name, "in": "header", "required": True, "description": description, "schema": schema}
            for name, description, schema in _WEBHOOK_HEADERS
        )
    if route.query:
        schemas, required = query_parameter_schemas(resolve_model(route.query))
        parameters.extend(
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in schemas.items()
        )
    return parameters


@cache
def openapi_document() -> dict[str, Any]:
    routes = route_table()
    names = {name for route in routes for name in (route.body, route.response) if name}
    models = {name: resolve_model(name) for name in sorted(names)}
    mode_pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in models.values()]
    # What outbound workflow webhooks deliver (no route answers it): one component per action.
    mode_pairs += [(model, "validation") for model in WEBHOOK_PAYLOAD_MODELS]
    refs, definitions = models_json_schema(mode_pairs, ref_template=_REF, schema_generator=StrictJsonSchema)
    schemas = dict(definitions.get("$defs", {}))
    schemas.update(
        HTTPValidationError=_VALIDATION_ERROR,
        HTTPError=_DETAIL_ERROR,
        ErrorEnvelope=_ENVELOPE_ERROR,
        GatewayError=_GATEWAY_ERROR,
    )

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.is_catch_all:
            continue  # not an operation: what API Gateway routes when no documented path matches
        operation: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": _parameters(route),
            "responses": _error_responses(route),
        }
        success: dict[str, Any] = {"description": "Successful Response"}
        if route.response:
            success["content"] = _json_content(refs[(models[route.response], "validation")])
        operation["responses"][str(route.status)] = success
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "content": _json_content(_body_schema(route, refs[(models[route.body], "validation")])),
            }
            if route.name in CROSS_FIELD_RULES:
                operation["description"] = CROSS_FIELD_RULES[route.name][0]
        elif route.auth == "webhook_signature":
            operation["requestBody"] = {"required": True, "content": _json_content(_WEBHOOK_BODY)}
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
        "webhooks": _webhook_payloads(refs),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "API key"}},
        },
    }


def _webhook_payloads(refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """OpenAPI 3.1 ``webhooks``: the POST a subscription's URL receives for each action."""
    documented: dict[str, Any] = {}
    for model in WEBHOOK_PAYLOAD_MODELS:
        action = model.model_fields["action"].default
        documented[action] = {
            "post": {
                "summary": f"The {action} event (see the README's Workflow webhooks section)",
                "requestBody": {"required": True, "content": _json_content(refs[(model, "validation")])},
                "responses": {"200": {"description": "Any 2xx acknowledges the delivery"}},
            }
        }
    return documented


@cache
def swagger_ui_html(openapi_url: str) -> str:
    """Swagger UI with its script and stylesheet inlined (served offline, from Powertools' bundle)."""
    load_powertools()  # resources.files imports the package: without its botocore import
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
