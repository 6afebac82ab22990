"""POST /workflows/v1/workflows/import/bundle: a new workflow from an exported bundle."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.sdk import ImportBundleRequest
from workflow_service.models.workflow_api import WorkflowResponse
from workflow_service.wiring import services


def import_workflow_bundle(request: ApiRequest) -> WorkflowResponse:
    caller = request.caller
    body = request.body(ImportBundleRequest)
    return WorkflowResponse(workflow=services().workflows.copies.import_bundle(caller.team_id, caller.user_id, body))


handler = endpoint("import_workflow_bundle", import_workflow_bundle)
