"""GET /workflows/v1/workflows/{workflow_id}/versions/{version_number}: one version."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import VersionResponse
from workflow_service.wiring import services


def get_workflow_version(request: ApiRequest) -> VersionResponse:
    workflow_id, number = request.object_id("workflow_id"), request.path_int("version_number")
    return VersionResponse(
        version=services().workflows.service.get_version(request.caller.team_id, workflow_id, number)
    )


handler = endpoint("get_workflow_version", get_workflow_version)
