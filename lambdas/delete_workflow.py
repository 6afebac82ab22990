"""DELETE /workflows/v1/workflows/{workflow_id}: delete a workflow and its versions."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import DeleteWorkflowResponse
from workflow_service.wiring import services


def delete_workflow(request: ApiRequest) -> DeleteWorkflowResponse:
    workflow_id = request.object_id("workflow_id")
    services().workflows.service.delete(request.caller.team_id, workflow_id)
    return DeleteWorkflowResponse(workflow_id=workflow_id, message="Workflow deleted")


handler = endpoint("delete_workflow", delete_workflow)
