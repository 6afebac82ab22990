"""POST /workflows/v1/workflows: create a workflow and its version 0."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import CreateWorkflowRequest, WorkflowResponse
from workflow_service.wiring import services


def create_workflow(request: ApiRequest) -> WorkflowResponse:
    caller = request.caller
    workflow = services().workflows.service.create(caller.team_id, caller.user_id, request.body(CreateWorkflowRequest))
    return WorkflowResponse(workflow=workflow)


handler = endpoint("create_workflow", create_workflow)
