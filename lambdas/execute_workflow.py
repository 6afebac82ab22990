"""POST /workflows/v1/workflows/{workflow_id}/execute: one interactive turn (seed 003)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.execution import ExecuteWorkflowQuery, ExecuteWorkflowRequest, ExecuteWorkflowResponse
from workflow_service.wiring import services


def execute_workflow(request: ApiRequest) -> ExecuteWorkflowResponse:
    workflow_id = request.object_id("workflow_id")
    version = request.query_as(ExecuteWorkflowQuery).version
    body = request.body(ExecuteWorkflowRequest)
    return services().runs.turns.execute(request.caller, workflow_id, body.run_input, body.run_id, version)


handler = endpoint("execute_workflow", execute_workflow)
