"""The answers API Gateway gives itself, without reaching the integration (its "gateway responses")."""

from __future__ import annotations

from local.proxy_integration import OutgoingResponse, json_response


class GatewayError(Exception):
    """An answer API Gateway gives itself, without reaching the integration."""

    def __init__(self, status: int, message: str | None, error_type: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type

    def response(self, request_id: str) -> OutgoingResponse:
        """The HTTP answer: ``{"message": ...}`` with the ``x-amzn-ErrorType`` header, as API Gateway sends."""
        return json_response(self.status, {"message": self.message}, request_id, self.error_type)


def unauthorized() -> GatewayError:
    return GatewayError(401, "Unauthorized", "UnauthorizedException")


def access_denied() -> GatewayError:
    return GatewayError(403, "User is not authorized to access this resource", "AccessDeniedException")


def authorizer_misconfigured() -> GatewayError:
    return GatewayError(500, None, "AuthorizerConfigurationException")


def bad_gateway() -> GatewayError:
    return GatewayError(502, "Internal server error", "InternalServerErrorException")


__all__ = ["GatewayError", "access_denied", "authorizer_misconfigured", "bad_gateway", "unauthorized"]
