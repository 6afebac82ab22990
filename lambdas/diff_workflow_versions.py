"""GET /workflows/v1/workflows/{workflow_id}/versions/{version1}/diff/{version2}: what changed between two versions."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.sdk import VersionDiff
from workflow_service.wiring import services


def diff_workflow_versions(request: ApiRequest) -> VersionDiff:
    workflow_id = request.object_id("workflow_id")
    first, second = request.path_int("version1"), request.path_int("version2")
    return services().workflows.version_views.diff(request.caller.team_id, workflow_id, first, second)


handler = endpoint("diff_workflow_versions", diff_workflow_versions)
