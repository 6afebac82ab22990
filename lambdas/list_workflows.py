"""GET /workflows/v1/workflows: the team's workflows, newest first, paginated."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_summaries import ListWorkflowsQuery, WorkflowListResponse
from workflow_service.wiring import services


def list_workflows(request: ApiRequest) -> WorkflowListResponse:
    query = request.query_as(ListWorkflowsQuery)
    workflows, total = services().workflows.listing.page(request.caller.team_id, query.search, query.page, query.size)
    return WorkflowListResponse(workflows=workflows, total=total)


handler = endpoint("list_workflows", list_workflows)
