"""GET /workflows/v1/openapi.json: the OpenAPI document, generated from the route table (at layer build)."""

from workflow_service.http.api import ApiRequest, ApiResponse, JsonText, endpoint
from workflow_service.http.published_openapi import published_openapi


def get_openapi(request: ApiRequest) -> ApiResponse:
    stage = (request.event.get("requestContext") or {}).get("stage")
    domain = (request.event.get("requestContext") or {}).get("domainName") or ""
    # Behind API Gateway's default domain every path carries the stage prefix.
    servers = [{"url": f"/{stage}" if stage and ".execute-api." in domain else "/"}]
    return ApiResponse(200, JsonText(published_openapi(servers)))


handler = endpoint("get_openapi", get_openapi)
