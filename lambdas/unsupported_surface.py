"""ANY /workflows/v1/{proxy+}: the 404 saying which SDK surface the service does not offer, and what it does."""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.unsupported import unsupported_answer


def unsupported_surface(request: ApiRequest) -> ApiResponse:
    return unsupported_answer(str(request.event.get("httpMethod") or ""), str(request.event.get("path") or ""))


handler = endpoint("unsupported_surface", unsupported_surface)
