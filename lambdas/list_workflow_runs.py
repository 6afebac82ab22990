"""GET /workflows/v1/workflow-runs: the team's runs, newest first (window of at most 31 days)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.run_api import ListWorkflowRunsQuery, WorkflowRunListResponse
from workflow_service.wiring import services


def list_workflow_runs(request: ApiRequest) -> WorkflowRunListResponse:
    query = request.query_as(ListWorkflowRunsQuery)
    runs, total = services().runs.queries.list(
        request.caller.team_id,
        workflow_id=query.workflow_id,
        status=query.status,
        start=query.start,
        end=query.end,
        search=query.search,
        page=query.page,
        size=query.size,
        # A turn index narrows the source run's re-runs; on its own it means nothing (the SDK ignores it too).
        source_workflow_run_id=query.source_workflow_run_id,
    )
    return WorkflowRunListResponse(workflow_runs=runs, total=total)


handler = endpoint("list_workflow_runs", list_workflow_runs)
