"""GET /workflows/v1/workflow-runs/{workflow_run_id}: one run with its turns and events."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.runs import WorkflowRunResponse
from workflow_service.wiring import services


def get_workflow_run(request: ApiRequest) -> WorkflowRunResponse:
    run = services().runs.queries.get(request.caller.team_id, request.object_id("workflow_run_id"))
    return WorkflowRunResponse(workflow_run=run)


handler = endpoint("get_workflow_run", get_workflow_run)
