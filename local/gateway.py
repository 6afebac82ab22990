"""A local stand-in for the REST API in API Gateway: routes HTTP by routes.json to the real handlers.

Each request is matched against the route table, authorized the way API Gateway's TOKEN Lambda
authorizer is (the same authorizer handler, the same policy evaluation, the same result cache keyed
by token), turned into a REST API proxy-integration event (payload 1.0), and handed to the route's
Lambda handler with a Lambda context. The handler's proxy response is written back as API Gateway
would, including its 401/403/502 gateway responses, so what works here works behind API Gateway.

Deliberate local differences: unknown paths and methods answer FastAPI-style 404/405 bodies (API
Gateway answers 403 "Missing Authentication Token"), and CORS is permissive so browser tools work.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.lambda_runtime import LambdaHandler, LocalLambdaContext, import_lambda_handler
from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from workflow_service.http.routes import Route, find_route, route_table

logger = logging.getLogger("local.gateway")

HandlerResolver = Callable[[str], LambdaHandler]
# Local-only endpoints (never deployed): (method, path, body) -> (status, JSON) or None to fall through.
LocalEndpoints = Callable[[str, str, bytes], "tuple[int, Any] | None"]

API_ID = "local"
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
LAMBDA_TIMEOUT_SECONDS = 29.0  # API Gateway's integration timeout caps what a handler can use
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Framing headers are the gateway's business, never the handler's.
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "upgrade"}
_CORS_ALLOW_HEADERS = ",".join(
    ("Authorization", "Content-Type", "Idempotency-Key", "webhook-id", "webhook-signature", "webhook-timestamp")
)


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as received, before API Gateway processing."""

    method: str
    raw_path: str
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        found = [value for key, value in self.headers if key.lower() == wanted]
        return found[-1] if found else None


@dataclass
class OutgoingResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class _AuthorizerResult:
    principal_id: str
    statements: tuple[dict[str, Any], ...]
    context: dict[str, str]
    latency_ms: int


class _GatewayError(Exception):
    """An answer API Gateway gives itself, without reaching the integration."""

    def __init__(self, status: int, message: str | None, error_type: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type


def _unauthorized() -> _GatewayError:
    return _GatewayError(401, "Unauthorized", "UnauthorizedException")


def _access_denied() -> _GatewayError:
    return _GatewayError(403, "User is not authorized to access this resource", "AccessDeniedException")


def _authorizer_misconfigured() -> _GatewayError:
    return _GatewayError(500, None, "AuthorizerConfigurationException")


def _bad_gateway() -> _GatewayError:
    return _GatewayError(502, "Internal server error", "InternalServerErrorException")


def build_proxy_event(
    route: Route,
    request: IncomingRequest,
    path_parameters: Mapping[str, str],
    *,
    authorizer: Mapping[str, Any] | None = None,
    stage: str = "local",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST API proxy-integration event (payload format 1.0) API Gateway sends for ``request``.

    ``authorizer`` is the authorizer's context plus ``principalId``; None for routes without one, in
    which case ``requestContext`` has no ``authorizer`` key, as in API Gateway.
    """
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    path = unquote(request.raw_path)
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query_string, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _event_body(request.body)
    host = request.header("Host") or ""
    request_context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": route.name,
        "resourcePath": route.path,
        "httpMethod": route.method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "protocol": "HTTP/1.1",
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent"),
            "accessKey": None,
            "accountId": None,
            "apiKey": None,
            "apiKeyId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "user": None,
            "userArn": None,
        },
    }
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {name: unquote(value) for name, value in path_parameters.items()} or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _event_body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _arn_pattern(pattern: str) -> re.Pattern[str]:
    # IAM-style wildcards: '*' any run of characters, '?' exactly one.
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_applies(statement: Mapping[str, Any], method_arn: str) -> bool:
    actions = _as_list(statement["Action"])
    resources = _as_list(statement["Resource"])
    return any(_arn_pattern(action).fullmatch("execute-api:Invoke") for action in actions) and any(
        _arn_pattern(resource).fullmatch(method_arn) for resource in resources
    )


def policy_allows(statements: tuple[Mapping[str, Any], ...], method_arn: str) -> bool:
    """IAM evaluation of an authorizer policy for ``method_arn``: an explicit Deny wins, else any Allow."""
    applicable = [statement for statement in statements if _statement_applies(statement, method_arn)]
    if any(statement["Effect"] == "Deny" for statement in applicable):
        return False
    return any(statement["Effect"] == "Allow" for statement in applicable)


def _parse_authorizer_output(output: Any, latency_ms: int) -> _AuthorizerResult:
    """Validate an authorizer's answer as API Gateway does; malformed output is a 500."""
    if not isinstance(output, Mapping):
        raise ValueError("authorizer returned no object")
    principal_id = output.get("principalId")
    if not isinstance(principal_id, str) or not principal_id:
        raise ValueError("authorizer response has no principalId")
    document = output.get("policyDocument")
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise ValueError("authorizer response has no policyDocument.Statement")
    statements = tuple(_as_list(document["Statement"]))
    for statement in statements:
        if (
            not isinstance(statement, Mapping)
            or statement.get("Effect") not in ("Allow", "Deny")
            or not statement.get("Action")
            or not statement.get("Resource")
        ):
            raise ValueError(f"malformed policy statement {statement!r}")
    context: dict[str, str] = {}
    for key, value in (output.get("context") or {}).items():
        # API Gateway accepts only primitives here and hands them to the integration as strings.
        if isinstance(value, bool):
            context[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            context[key] = str(value)
        elif value is not None:
            raise ValueError(f"authorizer context value {key!r} is not a string, number or boolean")
    return _AuthorizerResult(principal_id, statements, context, latency_ms)


class _TokenAuthorizer:
    """API Gateway's TOKEN authorizer: invoke, validate, cache the policy per token, evaluate per ARN."""

    def __init__(self, handler: LambdaHandler, cache_ttl_seconds: float) -> None:
        self._handler = handler
        self._ttl = cache_ttl_seconds
        self._cache: dict[str, tuple[float, _AuthorizerResult]] = {}
        self._lock = threading.Lock()

    def authorize(self, token: str | None, method_arn: str) -> dict[str, Any]:
        """The ``requestContext.authorizer`` for an allowed request; raises _GatewayError otherwise."""
        if not token:
            raise _unauthorized()
        result, cached = self._cached(token), True
        if result is None:
            result, cached = self._invoke(token, method_arn), False
        if not policy_allows(result.statements, method_arn):
            raise _access_denied()
        return {
            **result.context,
            "principalId": result.principal_id,
            "integrationLatency": 0 if cached else result.latency_ms,
        }

    def _cached(self, token: str) -> _AuthorizerResult | None:
        with self._lock:
            entry = self._cache.get(token)
            if entry is None:
                return None
            expires_at, result = entry
            if time.monotonic() >= expires_at:
                del self._cache[token]
                return None
            return result

    def _invoke(self, token: str, method_arn: str) -> _AuthorizerResult:
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        started = time.perf_counter()
        try:
            output = self._handler(event, LocalLambdaContext("authorizer", timeout_seconds=LAMBDA_TIMEOUT_SECONDS))
        except Exception as exc:
            if str(exc) == "Unauthorized":
                raise _unauthorized() from None
            logger.error("authorizer failed:\n%s", traceback.format_exc())
            raise _authorizer_misconfigured() from None
        try:
            result = _parse_authorizer_output(output, int((time.perf_counter() - started) * 1000))
        except ValueError as problem:
            logger.error("authorizer returned an unusable response: %s", problem)
            raise _authorizer_misconfigured() from None
        if self._ttl > 0:
            with self._lock:
                self._cache[token] = (time.monotonic() + self._ttl, result)
        return result


def _proxy_response(result: Any, request_id: str) -> OutgoingResponse:
    """Map a Lambda proxy response to HTTP, rejecting what API Gateway rejects (502)."""
    if not isinstance(result, Mapping):
        raise ValueError(f"handler returned {type(result).__name__}, not a proxy response object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body is a {type(body).__name__}, not a string")
    payload = (body or "").encode("utf-8")
    if body and result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as problem:
            raise ValueError(f"isBase64Encoded body is not base64: {problem}") from None
    headers: list[tuple[str, str]] = []
    multi_headers = result.get("multiValueHeaders") or {}
    single_headers = result.get("headers") or {}
    if not isinstance(multi_headers, Mapping) or not isinstance(single_headers, Mapping):
        raise ValueError("headers and multiValueHeaders must be objects")
    # API Gateway merges the two; a name present in multiValueHeaders takes its values from there.
    multi_names = {name.lower() for name in multi_headers}
    for name, values in multi_headers.items():
        headers.extend((name, str(value)) for value in _as_list(values) if value is not None)
    headers.extend(
        (name, str(value))
        for name, value in single_headers.items()
        if name.lower() not in multi_names and value is not None
    )
    headers = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    present = {name.lower() for name, _ in headers}
    if "content-type" not in present:
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    return OutgoingResponse(status, headers, payload)


def _json_response(status: int, document: Any, request_id: str, error_type: str | None = None) -> OutgoingResponse:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return OutgoingResponse(status, headers, json.dumps(document).encode("utf-8"))


class LocalGateway:
    """The local REST API: one HTTP server routing by routes.json to Lambda handlers.

    ``authorizer_handler`` is the TOKEN authorizer Lambda handler; ``resolve_handler`` maps a route
    name to its Lambda handler (default: import ``lambdas/<name>.py`` lazily). Authorizer results are
    cached per token for ``authorizer_cache_ttl_seconds`` (0 disables the cache), as API Gateway does.
    """

    def __init__(
        self,
        host: str,
        port: int,
        authorizer_handler: LambdaHandler,
        resolve_handler: HandlerResolver | None = None,
        authorizer_cache_ttl_seconds: float = 300,
        stage: str = "local",
        local_endpoints: LocalEndpoints | None = None,
    ) -> None:
        if authorizer_cache_ttl_seconds < 0:
            raise ValueError("authorizer_cache_ttl_seconds must be >= 0")
        self.host = host
        self.port = port
        self.stage = stage
        self._resolve_handler = resolve_handler or import_lambda_handler
        self._local_endpoints = local_endpoints
        self._authorizer = _TokenAuthorizer(authorizer_handler, authorizer_cache_ttl_seconds)
        self._server: _GatewayServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (the bound port when started with port 0)."""
        if self._server is None:
            raise RuntimeError("the gateway is not running; call start() first")
        host, port = self._server.server_address[:2]
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Bind and serve on a background thread; returns ``base_url``."""
        if self._server is not None:
            return self.base_url
        self._server = _GatewayServer((self.host, self.port), _RequestHandler, self)
        # A short poll interval keeps stop() prompt; idle cost is negligible.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-gateway", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> LocalGateway:
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    def dispatch(self, request: IncomingRequest) -> OutgoingResponse:
        """Everything API Gateway does for one request, from routing to the proxy response."""
        request_id = str(uuid.uuid4())
        path = unquote(request.raw_path)
        if request.method == "OPTIONS":
            return self._preflight(path, request, request_id)
        if self._local_endpoints is not None:
            served = self._local_endpoints(request.method, path, request.body)
            if served is not None:
                return _json_response(served[0], served[1], request_id)
        found = find_route(request.method, path)
        if found is None:
            if self._methods_serving(path):
                return _json_response(405, {"detail": "Method Not Allowed"}, request_id)
            return _json_response(404, {"detail": "Not Found"}, request_id)
        route, path_parameters = found
        try:
            authorizer = None
            if route.auth == "api_key":
                authorizer = self._authorizer.authorize(request.header("Authorization"), self.method_arn(route, path))
            # "webhook_signature" routes have no API Gateway authorizer: the handler checks the signature.
            event = build_proxy_event(
                route, request, path_parameters, authorizer=authorizer, stage=self.stage, request_id=request_id
            )
            return self._invoke(route, event, request_id)
        except _GatewayError as error:
            return _json_response(error.status, {"message": error.message}, request_id, error.error_type)

    def method_arn(self, route: Route, path: str) -> str:
        """The ``methodArn`` API Gateway gives the authorizer for ``route`` at the concrete ``path``."""
        return f"arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{API_ID}/{self.stage}/{route.method}{path}"

    def _invoke(self, route: Route, event: dict[str, Any], request_id: str) -> OutgoingResponse:
        try:
            handler = self._resolve_handler(route.name)
            result = handler(event, LocalLambdaContext(route.name, timeout_seconds=LAMBDA_TIMEOUT_SECONDS))
        except Exception:
            logger.error("handler %s raised (request %s):\n%s", route.name, request_id, traceback.format_exc())
            raise _bad_gateway() from None
        try:
            return _proxy_response(result, request_id)
        except ValueError as problem:
            logger.error("handler %s: malformed Lambda proxy response: %s", route.name, problem)
            raise _bad_gateway() from None

    def _preflight(self, path: str, request: IncomingRequest, request_id: str) -> OutgoingResponse:
        methods = self._methods_serving(path)
        if not methods:
            return _json_response(404, {"detail": "Not Found"}, request_id)
        allow_headers = request.header("Access-Control-Request-Headers") or _CORS_ALLOW_HEADERS
        headers = [
            ("Access-Control-Allow-Methods", ",".join([*methods, "OPTIONS"])),
            ("Access-Control-Allow-Headers", allow_headers),
            ("Access-Control-Max-Age", "600"),
            ("x-amzn-RequestId", request_id),
        ]
        return OutgoingResponse(204, headers)

    @staticmethod
    def _methods_serving(path: str) -> list[str]:
        return sorted({route.method for route in route_table() if route.match(route.method, path) is not None})


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler_class: type[BaseHTTPRequestHandler], gateway: LocalGateway):
        self.gateway = gateway
        super().__init__(address, handler_class)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"  # keep-alive, as clients of API Gateway expect

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _serve(self) -> None:
        started = time.perf_counter()
        target = self.path.split("#", 1)[0]
        raw_path, _, query_string = target.partition("?")
        try:
            body = self._read_body()
        except _BodyTooLarge:
            response = _json_response(413, {"message": "Request Too Long"}, str(uuid.uuid4()))
            self.close_connection = True
        except ValueError:
            response = _json_response(400, {"message": "Bad Request"}, str(uuid.uuid4()))
            self.close_connection = True
        else:
            request = IncomingRequest(
                method=self.command,
                raw_path=raw_path or "/",
                query_string=query_string,
                headers=tuple(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.gateway.dispatch(request)
        self._write(response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info("%s %s %d %.1fms", self.command, raw_path, response.status, elapsed_ms)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        length = int(length_header)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_REQUEST_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers end with an empty line.
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: OutgoingResponse) -> None:
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "access-control-allow-origin" not in names:
            self.send_header("Access-Control-Allow-Origin", "*")
        bodiless = response.status in (204, 304) or 100 <= response.status < 200
        if not bodiless:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request is logged by _serve; http.server's own access log would duplicate it.
        return


class _BodyTooLarge(Exception):
    pass


__all__ = [
    "IncomingRequest",
    "LocalGateway",
    "OutgoingResponse",
    "build_proxy_event",
    "policy_allows",
]
