"""GET /workflows/v1/workflow-runs/ws: the SDK's WebSocket streaming is not offered (a literal path, so that
API Gateway does not hand it to GET /workflow-runs/{workflow_run_id} as a run id)."""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.unsupported import unsupported_answer


def unsupported_streaming(request: ApiRequest) -> ApiResponse:
    return unsupported_answer("GET", "/workflows/v1/workflow-runs/ws")


handler = endpoint("unsupported_streaming", unsupported_streaming)
