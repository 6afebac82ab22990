"""GET /workflows/v1/docs: Swagger UI for the API, working offline."""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.openapi import swagger_ui_html


def get_swagger_ui(request: ApiRequest) -> ApiResponse:
    # Relative to /workflows/v1/docs, so it also resolves under an API Gateway stage prefix.
    return ApiResponse(200, swagger_ui_html("openapi.json"), content_type="text/html; charset=utf-8")


handler = endpoint("get_swagger_ui", get_swagger_ui)
