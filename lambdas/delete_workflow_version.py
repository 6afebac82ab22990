"""DELETE /workflows/v1/workflows/{workflow_id}/versions/{version_number}: never the active or last one."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import DeleteVersionResponse
from workflow_service.wiring import services


def delete_workflow_version(request: ApiRequest) -> DeleteVersionResponse:
    workflow_id, number = request.object_id("workflow_id"), request.path_int("version_number")
    caller = request.caller
    services().workflows.service.delete_version(caller.team_id, workflow_id, number, caller.user_id)
    return DeleteVersionResponse(workflow_id=workflow_id, version_number=number, message="Version deleted")


handler = endpoint("delete_workflow_version", delete_workflow_version)
