"""DELETE /workflows/v1/workflow-runs/{workflow_run_id}: delete a run (a live one is cancelled first)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.run_api import DeleteWorkflowRunResponse
from workflow_service.wiring import services


def delete_workflow_run(request: ApiRequest) -> DeleteWorkflowRunResponse:
    run_id = request.object_id("workflow_run_id")
    services().runs.lifecycle.delete(request.caller, run_id)
    return DeleteWorkflowRunResponse(workflow_run_id=run_id, message="Workflow run deleted")


handler = endpoint("delete_workflow_run", delete_workflow_run)
