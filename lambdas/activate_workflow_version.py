"""POST /workflows/v1/workflows/{workflow_id}/versions/{version_number}/activate: set the active version."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import WorkflowResponse
from workflow_service.wiring import services


def activate_workflow_version(request: ApiRequest) -> WorkflowResponse:
    caller = request.caller
    workflow_id, number = request.object_id("workflow_id"), request.path_int("version_number")
    workflow = services().workflows.service.activate_version(caller.team_id, caller.user_id, workflow_id, number)
    return WorkflowResponse(workflow=workflow)


handler = endpoint("activate_workflow_version", activate_workflow_version)
