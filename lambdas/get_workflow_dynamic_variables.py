"""GET /workflows/v1/workflows/dynamic-variables/{workflow_id}: the workflow's default dynamic variables."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import DynamicVariablesResponse
from workflow_service.wiring import services


def get_workflow_dynamic_variables(request: ApiRequest) -> DynamicVariablesResponse:
    variables = services().workflows.service.dynamic_variables(request.caller.team_id, request.object_id("workflow_id"))
    return DynamicVariablesResponse(dynamic_variables=variables)


handler = endpoint("get_workflow_dynamic_variables", get_workflow_dynamic_variables)
