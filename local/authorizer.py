"""API Gateway's TOKEN Lambda authorizer: invoke it, validate its answer, cache it per token, evaluate its policy.

The policy is evaluated per request against the request's ``methodArn`` with IAM's rules
(``policy_allows``), so a cached answer allows exactly what it would allow behind API Gateway.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.gateway_responses import access_denied, authorizer_misconfigured, unauthorized
from local.lambda_runtime import LambdaHandler, LocalLambdaContext

# Reported under the gateway's name: API Gateway runs the authorizer, so its failures are the gateway's.
logger = logging.getLogger("local.gateway")

AUTHORIZER_FUNCTION_NAME = "authorizer"


@dataclass(frozen=True)
class AuthorizerResult:
    """A validated authorizer answer: who, the policy statements, and the context handlers receive."""

    principal_id: str
    statements: tuple[dict[str, Any], ...]
    context: dict[str, str]
    latency_ms: int


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


def parse_authorizer_output(output: Any, latency_ms: int) -> AuthorizerResult:
    """Validate an authorizer's answer as API Gateway does; raises ValueError for one it would refuse (a 500)."""
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
    return AuthorizerResult(principal_id, statements, context, latency_ms)


class TokenAuthorizer:
    """API Gateway's TOKEN authorizer: invoke, validate, cache the policy per token, evaluate per ARN.

    Answers are cached for ``cache_ttl_seconds`` (0 disables the cache); a cached answer is
    evaluated again for every request's ``methodArn``, as API Gateway does.
    """

    def __init__(self, handler: LambdaHandler, cache_ttl_seconds: float, timeout_seconds: float) -> None:
        self._handler = handler
        self._ttl = cache_ttl_seconds
        self._timeout_seconds = timeout_seconds
        self._cache: dict[str, tuple[float, AuthorizerResult]] = {}
        self._lock = threading.Lock()

    def authorize(self, token: str | None, method_arn: str) -> dict[str, Any]:
        """The ``requestContext.authorizer`` for an allowed request; raises ``GatewayError`` otherwise."""
        if not token:
            raise unauthorized()
        result, cached = self._cached(token), True
        if result is None:
            result, cached = self._invoke(token, method_arn), False
        if not policy_allows(result.statements, method_arn):
            raise access_denied()
        return {
            **result.context,
            "principalId": result.principal_id,
            "integrationLatency": 0 if cached else result.latency_ms,
        }

    def _cached(self, token: str) -> AuthorizerResult | None:
        with self._lock:
            entry = self._cache.get(token)
            if entry is None:
                return None
            expires_at, result = entry
            if time.monotonic() >= expires_at:
                del self._cache[token]
                return None
            return result

    def _invoke(self, token: str, method_arn: str) -> AuthorizerResult:
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        started = time.perf_counter()
        try:
            output = self._handler(
                event, LocalLambdaContext(AUTHORIZER_FUNCTION_NAME, timeout_seconds=self._timeout_seconds)
            )
        except Exception as exc:
            if str(exc) == "Unauthorized":
                raise unauthorized() from None
            logger.error("authorizer failed:\n%s", traceback.format_exc())
            raise authorizer_misconfigured() from None
        try:
            result = parse_authorizer_output(output, int((time.perf_counter() - started) * 1000))
        except ValueError as problem:
            logger.error("authorizer returned an unusable response: %s", problem)
            raise authorizer_misconfigured() from None
        if self._ttl > 0:
            with self._lock:
                self._cache[token] = (time.monotonic() + self._ttl, result)
        return result


__all__ = ["AuthorizerResult", "TokenAuthorizer", "parse_authorizer_output", "policy_allows"]
