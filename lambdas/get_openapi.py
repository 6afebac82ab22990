"""GET /workflows/v1/openapi.json: the OpenAPI document, generated from the route table (at layer build)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.http.published_openapi import published_openapi


def get_openapi(request: ApiRequest) -> dict:
    document = dict(published_openapi())
    stage = (request.event.get("requestContext") or {}).get("stage")
    domain = (request.event.get("requestContext") or {}).get("domainName") or ""
    # Behind API Gateway's default domain every path carries the stage prefix.
    document["servers"] = [{"url": f"/{stage}" if stage and ".execute-api." in domain else "/"}]
    return document


handler = endpoint("get_openapi", get_openapi)
