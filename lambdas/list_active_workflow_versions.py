"""GET /workflows/v1/workflows/versions/active: every workflow's active version (the SDK's versions.list_active)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.sdk import ActiveVersionList, ActiveVersionsQuery
from workflow_service.wiring import services


def list_active_workflow_versions(request: ApiRequest) -> ActiveVersionList:
    request.join_repeated_query("categories")
    query = request.query_as(ActiveVersionsQuery)
    caller = request.caller
    return services().workflows.version_views.list_active(caller.team_id, caller.user_id, query)


handler = endpoint("list_active_workflow_versions", list_active_workflow_versions)
