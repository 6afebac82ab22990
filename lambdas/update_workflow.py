"""PATCH /workflows/v1/workflows/{workflow_id}: change the name or description."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import UpdateWorkflowRequest, WorkflowResponse
from workflow_service.wiring import services


def update_workflow(request: ApiRequest) -> WorkflowResponse:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    changes = request.body(UpdateWorkflowRequest)
    return WorkflowResponse(
        workflow=services().workflows.service.update(caller.team_id, caller.user_id, workflow_id, changes)
    )


handler = endpoint("update_workflow", update_workflow)
