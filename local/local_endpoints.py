"""The local-only endpoints under ``/local/``: guarded by the development key, never deployed.

They exist only in this process (nothing under ``/local/`` is in routes.json, which is all infra
deploys), so a developer can reach the emulations and the embedded store over HTTP. Each endpoint
module offers a handler ``(method, path, body) -> (status, JSON) | None`` (None: not its path);
``LocalEndpointRouter`` checks the dev key once for all of them and tries each in turn.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any

from local.gateway_responses import unauthorized
from local.proxy_integration import IncomingRequest

LOCAL_PREFIX = "/local/"

LocalEndpointHandler = Callable[[str, str, bytes], "tuple[int, Any] | None"]


class LocalEndpointRouter:
    """Serves ``/local/...`` requests that carry ``Authorization: Bearer <dev key>``; 401 for the rest."""

    def __init__(self, dev_api_key: str, handlers: Sequence[LocalEndpointHandler]) -> None:
        self._dev_api_key = dev_api_key
        self._handlers = tuple(handlers)

    def __call__(self, request: IncomingRequest, path: str) -> tuple[int, Any] | None:
        if not path.startswith(LOCAL_PREFIX):
            return None
        if not self._carries_dev_key(request.header("Authorization")):
            raise unauthorized()
        for handler in self._handlers:
            served = handler(request.method, path.rstrip("/"), request.body)
            if served is not None:
                return served
        return 404, {"detail": "Not Found"}

    def _carries_dev_key(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._dev_api_key.encode())


def json_object_body(body: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object (an empty body is ``{}``); None when it is not one."""
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


__all__ = ["LOCAL_PREFIX", "LocalEndpointHandler", "LocalEndpointRouter", "json_object_body"]
