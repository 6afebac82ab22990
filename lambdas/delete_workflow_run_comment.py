"""DELETE /workflows/v1/workflow-runs/{workflow_run_id}/comments/{comment_logical_id}: remove a comment."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.runs import WorkflowRunResponse
from workflow_service.wiring import services


def delete_workflow_run_comment(request: ApiRequest) -> WorkflowRunResponse:
    run_id = request.object_id("workflow_run_id")
    run = services().runs.comments.delete(request.caller, run_id, request.path("comment_logical_id"))
    return WorkflowRunResponse(workflow_run=run)


handler = endpoint("delete_workflow_run_comment", delete_workflow_run_comment)
