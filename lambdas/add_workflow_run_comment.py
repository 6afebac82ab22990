"""POST /workflows/v1/workflow-runs/{workflow_run_id}/comments: comment on a run."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.run_api import AddCommentRequest
from workflow_service.models.runs import WorkflowRunResponse
from workflow_service.wiring import services


def add_workflow_run_comment(request: ApiRequest) -> WorkflowRunResponse:
    run_id = request.object_id("workflow_run_id")
    comment = request.body(AddCommentRequest)
    run = services().runs.comments.add(request.caller, run_id, comment.content, comment.logical_id)
    return WorkflowRunResponse(workflow_run=run)


handler = endpoint("add_workflow_run_comment", add_workflow_run_comment)
