"""PATCH /workflows/v1/workflows/{workflow_id}/concurrency: the per-workflow cap (0 = none)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import SetConcurrencyRequest, SetConcurrencyResponse
from workflow_service.wiring import services


def set_workflow_concurrency(request: ApiRequest) -> SetConcurrencyResponse:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    limit = request.body(SetConcurrencyRequest).max_concurrent_runs
    services().workflows.service.set_concurrency(caller.team_id, caller.user_id, workflow_id, limit)
    message = "Per-workflow cap removed" if limit == 0 else f"Per-workflow cap set to {limit}"
    return SetConcurrencyResponse(workflow_id=workflow_id, max_concurrent_runs=limit, message=message)


handler = endpoint("set_workflow_concurrency", set_workflow_concurrency)
