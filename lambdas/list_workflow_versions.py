"""GET /workflows/v1/workflows/{workflow_id}/versions: every version (not paginated)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_api import VersionListResponse
from workflow_service.wiring import services


def list_workflow_versions(request: ApiRequest) -> VersionListResponse:
    versions = services().workflows.service.list_versions(request.caller.team_id, request.object_id("workflow_id"))
    return VersionListResponse(versions=versions)


handler = endpoint("list_workflow_versions", list_workflow_versions)
