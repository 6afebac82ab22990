"""POST /workflows/v1/workflows/{workflow_id}/clone: a copy of a workflow with some or all of its versions."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.sdk import CloneWorkflowRequest
from workflow_service.models.workflow_api import WorkflowResponse
from workflow_service.wiring import services


def clone_workflow(request: ApiRequest) -> WorkflowResponse:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    body = request.body(CloneWorkflowRequest, optional=True)
    return WorkflowResponse(
        workflow=services().workflows.copies.clone(caller.team_id, caller.user_id, workflow_id, body)
    )


handler = endpoint("clone_workflow", clone_workflow)
