"""PATCH /workflows/v1/workflows/{workflow_id}/versions/{version_number}: rename a version."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import RenameVersionRequest, VersionResponse
from workflow_service.wiring import services


def rename_workflow_version(request: ApiRequest) -> VersionResponse:
    caller = request.caller
    workflow_id, number = request.object_id("workflow_id"), request.path_int("version_number")
    name = request.body(RenameVersionRequest).version_name
    version = services().workflows.service.rename_version(caller.team_id, caller.user_id, workflow_id, number, name)
    return VersionResponse(version=version)


handler = endpoint("rename_workflow_version", rename_workflow_version)
