"""GET /workflows/v1/workflows/{workflow_id}/export: a portable bundle of some versions (credentials masked)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.sdk import ExportQuery, WorkflowBundle
from workflow_service.wiring import services


def export_workflow(request: ApiRequest) -> WorkflowBundle:
    workflow_id = request.object_id("workflow_id")
    request.join_repeated_query("version_numbers")
    query = request.query_as(ExportQuery)
    return services().workflows.copies.export(
        request.caller.team_id, workflow_id, query.numbers(), query.active_version_number
    )


handler = endpoint("export_workflow", export_workflow)
