"""GET /workflows/v1/workflows/{workflow_id}: one workflow with its active version's config."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflows import WorkflowResponse
from workflow_service.wiring import services


def get_workflow(request: ApiRequest) -> WorkflowResponse:
    workflow = services().workflows.service.get_with_config(request.caller.team_id, request.object_id("workflow_id"))
    return WorkflowResponse(workflow=workflow)


handler = endpoint("get_workflow", get_workflow)
