"""Turns an API Gateway REST proxy event into a validated request and a domain result into a response.

Every HTTP handler in lambdas/ is ``handler = endpoint("<route name>", function)`` where the function
takes an ``ApiRequest`` and returns a pydantic model, plain JSON data, an ``ApiResponse`` or None.
The route's row in routes.json gives the success status and the error body style.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from workflow_service.errors import DomainError, FieldProblem, Unauthorized, ValidationFailed
from workflow_service.http.errors import error_body, error_headers, internal_error_body, status_and_code
from workflow_service.http.routes import Route, route_named
from workflow_service.models.common import INT64, OBJECT_ID_PATTERN, Caller, first_unstorable, reject_unstorable_json
from workflow_service.observability import invocation, traced

logger = logging.getLogger("workflow_service.http")
# The largest integer a path parameter may name (MongoDB's 64-bit integers).
MAX_PATH_INT = 2**63 - 1
# Path parameters that are correlation keys, by the key they are logged under.
_CORRELATED_PATH_PARAMETERS = {"workflow_id": "workflow_id", "workflow_run_id": "run_id", "schedule_id": "schedule_id"}

ModelT = TypeVar("ModelT", bound=BaseModel)
_OBJECT_ID = re.compile(OBJECT_ID_PATTERN)


class JsonText(str):
    """A response body that is already JSON text: rendered as it is, not serialized again."""


class ApiResponse(NamedTuple):
    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    content_type: str = "application/json"


def problems_from(error: ValidationError, location: str) -> list[FieldProblem]:
    """pydantic errors as FastAPI-style problems, ``loc`` prefixed with body/query/path."""
    return [
        FieldProblem(
            loc=(location, *item["loc"]),
            msg=item["msg"],
            type=item["type"],
            input=item.get("input"),
        )
        for item in error.errors(include_url=False)
    ]


class ApiRequest:
    """A parsed proxy event. Body, query and path values are validated on access."""

    def __init__(self, event: dict[str, Any], route: Route) -> None:
        self.event = event
        self.route = route
        self.path_parameters: dict[str, str] = event.get("pathParameters") or {}
        self.query: dict[str, str] = event.get("queryStringParameters") or {}
        self.headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        context = event.get("requestContext") or {}
        self.request_id: str | None = context.get("requestId")
        self._authorizer: dict[str, Any] = context.get("authorizer") or {}

    def correlation_keys(self) -> dict[str, Any]:
        """What every log line of this request carries: its ids, never its credentials."""
        keys = {"request_id": self.request_id, "route": self.route.name}
        keys.update(team_id=self._authorizer.get("team_id"), user_id=self._authorizer.get("user_id"))
        for parameter, key in _CORRELATED_PATH_PARAMETERS.items():
            keys[key] = self.path_parameters.get(parameter)
        return keys

    @property
    def caller(self) -> Caller:
        """Who is calling: set by the Lambda authorizer, never taken from the request body."""
        team_id = self._authorizer.get("team_id")
        if not team_id:
            # Only reachable if a route is deployed without the authorizer: fail closed.
            raise Unauthorized("missing authorizer context")
        return Caller(team_id=team_id, user_id=self._authorizer.get("user_id") or "")

    @property
    def raw_body(self) -> bytes:
        body = self.event.get("body")
        if body is None:
            return b""
        if self.event.get("isBase64Encoded"):
            return base64.b64decode(body)
        return body.encode("utf-8")

    def json_body(self) -> Any:
        raw = self.raw_body
        if not raw.strip():
            raise ValidationFailed(FieldProblem(loc=("body",), msg="Field required", type="missing"))
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                FieldProblem(loc=("body", getattr(exc, "pos", 0)), msg="JSON decode error", type="json_invalid")
            ) from None
        except RecursionError:
            raise ValidationFailed(
                FieldProblem(loc=("body",), msg="JSON nested too deeply", type="json_invalid")
            ) from None
        reject_unstorable_json(document)
        return document

    def body(self, model: type[ModelT], *, optional: bool = False) -> ModelT:
        if optional and not self.raw_body.strip():
            return model()
        try:
            return model.model_validate(self.json_body())
        except ValidationError as exc:
            raise ValidationFailed(problems_from(exc, "body")) from None

    def query_as(self, model: type[ModelT]) -> ModelT:
        try:
            parsed = model.model_validate(self.query)
        except ValidationError as exc:
            raise ValidationFailed(problems_from(exc, "query")) from None
        # A query integer reaches MongoDB (a skip, a version), which cannot take one beyond 64 bits.
        for name, field_info in type(parsed).model_fields.items():
            found = first_unstorable(getattr(parsed, name))
            if found is not None:
                message = f"Input should be between {INT64.start} and {INT64.stop - 1}"
                raise ValidationFailed(
                    FieldProblem(loc=("query", field_info.alias or name), msg=message, type=found.type)
                )
        return parsed

    def object_id(self, name: str) -> str:
        """A path parameter that must be a 24-hex ObjectId (422 naming it otherwise)."""
        value = self.path_parameters.get(name, "")
        if not _OBJECT_ID.fullmatch(value):
            raise ValidationFailed(
                FieldProblem(
                    loc=("path", name),
                    msg=f"String should match pattern '{OBJECT_ID_PATTERN}'",
                    type="string_pattern_mismatch",
                    input=value,
                )
            )
        return value

    def path_int(self, name: str) -> int:
        value = self.path_parameters.get(name, "")
        # isdigit() alone accepts superscripts and other Unicode digits that int() refuses.
        if not (value.isascii() and value.isdigit()):
            raise ValidationFailed(
                FieldProblem(
                    loc=("path", name),
                    msg="Input should be a valid integer, unable to parse string as an integer",
                    type="int_parsing",
                    input=value,
                )
            )
        # Bounded before int(): Python refuses to parse more than 4,300 digits, and no stored number is this large.
        if len(value) > len(str(MAX_PATH_INT)) or int(value) > MAX_PATH_INT:
            raise ValidationFailed(
                FieldProblem(
                    loc=("path", name),
                    msg=f"Input should be less than or equal to {MAX_PATH_INT}",
                    type="less_than_equal",
                    input=value[:40],
                )
            )
        return int(value)

    def path(self, name: str) -> str:
        return self.path_parameters.get(name, "")

    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header (None when absent); a 422 naming it unless 1-255 printable ASCII."""
        # Only the create handlers ask: a read never imports the idempotency module.
        from workflow_service.idempotency import IDEMPOTENCY_KEY_HEADER, idempotency_key_problem

        value = self.headers.get(IDEMPOTENCY_KEY_HEADER.lower())
        if value is None:
            return None
        problem = idempotency_key_problem(value)
        if problem is not None:
            raise ValidationFailed(FieldProblem(("header", IDEMPOTENCY_KEY_HEADER), problem, "value_error", value[:40]))
        return value

    def join_repeated_query(self, *names: str) -> None:
        """Read each of ``names`` sent several times (``a=1&a=2``) as one comma-joined value (``"1,2"``):
        API Gateway keeps only the last value in the single-value map ``query_as`` reads."""
        multi = self.event.get("multiValueQueryStringParameters") or {}
        for name in names:
            values = multi.get(name)
            if isinstance(values, list) and values:
                self.query = {**self.query, name: ",".join(str(value) for value in values)}


def serialize(result: Any) -> Any:
    """``result`` as JSON data (models by alias), as a response body holds it."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    if isinstance(result, list):
        return [serialize(item) for item in result]
    return result


def render(response: ApiResponse) -> dict[str, Any]:
    """The proxy-integration response for ``response``."""
    if response.body is None and response.status in (204, 304):
        payload = ""
    elif isinstance(response.body, JsonText):
        payload = str(response.body)
    elif response.content_type == "application/json":
        payload = json.dumps(serialize(response.body), separators=(",", ":"))
    else:
        payload = response.body
    headers = {"Content-Type": response.content_type, **(response.headers or {})}
    return {"statusCode": response.status, "headers": headers, "body": payload, "isBase64Encoded": False}


def error_response(error: DomainError, surface: str) -> dict[str, Any]:
    status, _ = status_and_code(error, surface)
    return render(ApiResponse(status, error_body(error, surface), error_headers(error)))


def endpoint(route_name: str, function: Callable[[ApiRequest], Any]) -> Callable[[dict[str, Any], Any], dict]:
    """The Lambda handler serving ``route_name`` with ``function``: JSON logs with the request's
    correlation keys, metrics flushed once per invocation, and X-Ray tracing when TRACING_ENABLED
    and the route calls out (its row uses more than the store: LLM, work queue, scheduler)."""
    route = route_named(route_name)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = ApiRequest(event, route)
        with invocation(context, **request.correlation_keys()):
            return _respond(route, function, request)

    served = traced(handler) if set(route.uses) - {"store"} else handler
    served.route = route  # type: ignore[attr-defined]
    return served


def _respond(route: Route, function: Callable[[ApiRequest], Any], request: ApiRequest) -> dict[str, Any]:
    try:
        result = function(request)
    except DomainError as error:
        status, code = status_and_code(error, route.surface)
        log = logger.warning if status < 500 else logger.error
        log("%s %s -> %s %s: %s", route.method, route.name, status, code, error.message)
        return error_response(error, route.surface)
    except Exception:
        logger.exception("unhandled error in %s (request %s)", route.name, request.request_id)
        return render(ApiResponse(500, internal_error_body(route.surface, request.request_id)))
    if isinstance(result, ApiResponse):
        return render(result)
    if route.status == 204:
        return render(ApiResponse(204))
    return render(ApiResponse(route.status, result))


__all__ = ["ApiRequest", "ApiResponse", "Caller", "JsonText", "endpoint", "problems_from", "render", "serialize"]
