"""POST /workflows/v1/workflows/{workflow_id}/versions: snapshot a new version."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import CreateVersionRequest, CreateVersionResponse
from workflow_service.wiring import services


def create_workflow_version(request: ApiRequest) -> CreateVersionResponse:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    version, parent = services().workflows.service.create_version(
        caller.team_id, caller.user_id, workflow_id, request.body(CreateVersionRequest)
    )
    return CreateVersionResponse(version=version, parent_active_version=parent)


handler = endpoint("create_workflow_version", create_workflow_version)
