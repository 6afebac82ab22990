"""The one table mapping domain errors to HTTP statuses, and the two error body formats.

``/workflows/v1`` answers FastAPI-style (``{"detail": ...}``; validation problems list ``loc``,
``msg`` and ``type``). ``/api/v1/schedules`` answers with seed 002's envelope
(``{"error", "code", "details"}``) and uses 400 for validation errors, as that document shows.
"""

from __future__ import annotations

from typing import Any

from workflow_service.errors import (
    BadRequest,
    Conflict,
    DomainError,
    FieldProblem,
    IllegalTransition,
    NoSlotAvailable,
    NotFound,
    PayloadTooLarge,
    StoreUnavailable,
    Unauthorized,
    Unstorable,
    UpstreamUnavailable,
    ValidationFailed,
)

# Most specific first: the first matching row wins.
ERROR_STATUS: tuple[tuple[type[DomainError], int, str], ...] = (
    (ValidationFailed, 422, "VALIDATION_ERROR"),
    (BadRequest, 400, "BAD_REQUEST"),
    (Unauthorized, 401, "UNAUTHORIZED"),
    (NotFound, 404, "NOT_FOUND"),
    (IllegalTransition, 409, "CONFLICT"),
    (Conflict, 409, "CONFLICT"),
    (PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
    (Unstorable, 422, "VALIDATION_ERROR"),
    (NoSlotAvailable, 429, "CONCURRENCY_LIMIT"),
    (StoreUnavailable, 503, "SERVICE_UNAVAILABLE"),
    (UpstreamUnavailable, 503, "SERVICE_UNAVAILABLE"),
)

# Seed 002 documents 400 (not 422) for validation errors on its surface.
_SCHEDULES_API_STATUS_OVERRIDES: dict[type[DomainError], int] = {ValidationFailed: 400, Unstorable: 400}


def _field_problems(error: DomainError) -> list[FieldProblem] | None:
    """The problems a 422/400 validation answer lists; a value the store refused is one about the body,
    so that every validation answer has the same shape (a list naming where), as the OpenAPI says."""
    if isinstance(error, ValidationFailed):
        return list(error.problems)
    if isinstance(error, Unstorable):
        return [FieldProblem(loc=("body",), msg=error.message, type="value_error")]
    return None


def status_and_code(error: DomainError, surface: str) -> tuple[int, str]:
    for error_type, status, code in ERROR_STATUS:
        if isinstance(error, error_type):
            if surface == "schedules_api":
                status = _SCHEDULES_API_STATUS_OVERRIDES.get(error_type, status)
            return status, code
    return 500, "INTERNAL_ERROR"


def error_body(error: DomainError, surface: str) -> dict[str, Any]:
    """The JSON body for ``error`` in the style of ``surface``."""
    _, code = status_and_code(error, surface)
    problems = _field_problems(error)
    if surface == "schedules_api":
        body: dict[str, Any] = {"error": _schedules_api_message(error), "code": code}
        if problems is not None:
            body["details"] = {_field_name(problem): problem.msg for problem in problems}
        return body
    if problems is not None:
        return {
            "detail": [{"loc": list(problem.loc), "msg": problem.msg, "type": problem.type} for problem in problems]
        }
    body = {"detail": error.message}
    if isinstance(error, NoSlotAvailable):
        body.update(
            scope=error.details.scope,
            limit=error.details.limit,
            retry_after_seconds=error.details.retry_after_seconds,
        )
    return body


def error_headers(error: DomainError) -> dict[str, str]:
    if isinstance(error, NoSlotAvailable):
        return {"Retry-After": str(error.details.retry_after_seconds)}
    if isinstance(error, StoreUnavailable | UpstreamUnavailable):
        return {"Retry-After": "5"}
    return {}


def internal_error_body(surface: str, request_id: str | None) -> dict[str, Any]:
    if surface == "schedules_api":
        return {"error": "Internal server error", "code": "INTERNAL_ERROR", "details": {"requestId": request_id}}
    return {"detail": "Internal Server Error", "request_id": request_id}


def _field_name(problem: FieldProblem) -> str:
    # Seed 002 names the field alone ("cronExpression"), without FastAPI's "body" prefix. A body that is
    # not JSON has no field: its loc carries the parse position, which is no field name.
    if problem.type == "json_invalid":
        return "body"
    parts = [str(part) for part in problem.loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _schedules_api_message(error: DomainError) -> str:
    if isinstance(error, NotFound):
        return f"{error.resource[:1].upper()}{error.resource[1:]} not found"
    if isinstance(error, ValidationFailed):
        if len(error.problems) == 1:
            return f"Invalid {_field_name(error.problems[0])}"
        return "Invalid request"
    return error.message
