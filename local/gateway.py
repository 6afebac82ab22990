"""A local stand-in for the REST API in API Gateway: routes HTTP by routes.json to the real handlers.

Each request is matched against the route table, authorized the way API Gateway's TOKEN Lambda
authorizer is (``local.authorizer``: the same authorizer handler, the same policy evaluation, the
same result cache keyed by token), turned into a REST API proxy-integration event
(``local.proxy_integration``, payload 1.0), and handed to the route's Lambda handler with a Lambda
context. The handler's proxy response is written back as API Gateway would, including its
401/403/502 gateway responses, so what works here works behind API Gateway. ``local.http_server``
does the HTTP framing.

Deliberate local differences: unknown paths and methods answer FastAPI-style 404/405 bodies (API
Gateway answers 403 "Missing Authentication Token"). CORS is off unless
``WORKFLOWS_LOCAL_CORS_ALLOW_ORIGIN`` names one origin (e.g. a front end on http://localhost:3000): a
wildcard would let any web page open in the developer's browser call the service.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from local.authorizer import TokenAuthorizer
from local.gateway_responses import GatewayError, bad_gateway
from local.http_server import LocalHttpServer
from local.lambda_runtime import LambdaHandler, LocalLambdaContext, import_lambda_handler
from local.proxy_integration import (
    API_ID,
    IncomingRequest,
    OutgoingResponse,
    build_proxy_event,
    json_response,
    proxy_response,
)
from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from workflow_service.http.routes import Route, find_route, route_table

logger = logging.getLogger("local.gateway")

HandlerResolver = Callable[[str], LambdaHandler]
# Local-only endpoints (never deployed): (request, decoded path) -> (status, JSON) or None to fall through.
# They may raise GatewayError (e.g. 401 without the dev key).
LocalEndpoints = Callable[[IncomingRequest, str], "tuple[int, Any] | None"]

LAMBDA_TIMEOUT_SECONDS = 29.0  # API Gateway's integration timeout caps what a handler can use
_CORS_ALLOW_HEADERS = ",".join(
    ("Authorization", "Content-Type", "Idempotency-Key", "webhook-id", "webhook-signature", "webhook-timestamp")
)


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
        cors_allow_origin: str | None = None,
    ) -> None:
        if authorizer_cache_ttl_seconds < 0:
            raise ValueError("authorizer_cache_ttl_seconds must be >= 0")
        self.host = host
        self.port = port
        self.stage = stage
        self._resolve_handler = resolve_handler or import_lambda_handler
        self._local_endpoints = local_endpoints
        self._cors_allow_origin = cors_allow_origin
        self._authorizer = TokenAuthorizer(
            authorizer_handler, authorizer_cache_ttl_seconds, timeout_seconds=LAMBDA_TIMEOUT_SECONDS
        )
        self._http = LocalHttpServer(host, port, self.dispatch)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (the bound port when started with port 0)."""
        return self._http.base_url

    def start(self) -> str:
        """Bind and serve on a background thread; returns ``base_url``."""
        return self._http.start()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self._http.stop()

    def __enter__(self) -> LocalGateway:
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    def dispatch(self, request: IncomingRequest) -> OutgoingResponse:
        """Everything API Gateway does for one request, from routing to the proxy response."""
        response = self._dispatch(request)
        if self._cors_allow_origin and not any(
            name.lower() == "access-control-allow-origin" for name, _ in response.headers
        ):
            response.headers.append(("Access-Control-Allow-Origin", self._cors_allow_origin))
            response.headers.append(("Vary", "Origin"))
        return response

    def _dispatch(self, request: IncomingRequest) -> OutgoingResponse:
        request_id = str(uuid.uuid4())
        path = unquote(request.raw_path)
        if request.method == "OPTIONS":
            return self._preflight(path, request, request_id)
        if self._local_endpoints is not None:
            try:
                served = self._local_endpoints(request, path)
            except GatewayError as error:
                return error.response(request_id)
            if served is not None:
                return json_response(served[0], served[1], request_id)
        found = find_route(request.method, path)
        if found is None:
            if self._methods_serving(path):
                return json_response(405, {"detail": "Method Not Allowed"}, request_id)
            return json_response(404, {"detail": "Not Found"}, request_id)
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
        except GatewayError as error:
            return error.response(request_id)

    def method_arn(self, route: Route, path: str) -> str:
        """The ``methodArn`` API Gateway gives the authorizer for ``route`` at the concrete ``path``."""
        return f"arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{API_ID}/{self.stage}/{route.method}{path}"

    def _invoke(self, route: Route, event: dict[str, Any], request_id: str) -> OutgoingResponse:
        try:
            handler = self._resolve_handler(route.name)
            result = handler(event, LocalLambdaContext(route.name, timeout_seconds=LAMBDA_TIMEOUT_SECONDS))
        except Exception:
            logger.error("handler %s raised (request %s):\n%s", route.name, request_id, traceback.format_exc())
            raise bad_gateway() from None
        try:
            return proxy_response(result, request_id)
        except ValueError as problem:
            logger.error("handler %s: malformed Lambda proxy response: %s", route.name, problem)
            raise bad_gateway() from None

    def _preflight(self, path: str, request: IncomingRequest, request_id: str) -> OutgoingResponse:
        methods = self._methods_serving(path)
        if not methods:
            return json_response(404, {"detail": "Not Found"}, request_id)
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
        return sorted(
            {
                route.method
                for route in route_table()
                if not route.is_catch_all and route.match(route.method, path) is not None
            }
        )


__all__ = ["HandlerResolver", "LocalEndpoints", "LocalGateway"]
