"""GET /workflows/v1/workflows/{workflow_id}: one workflow with its active version's config.

``?fully_hydrate=true`` answers the config in the product SDK's hydrated shape
(``workflow_config`` / ``node_configs`` / ``edge_configs``).
"""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_read import GetWorkflowQuery, WorkflowReadResponse
from workflow_service.wiring import services


def get_workflow(request: ApiRequest) -> WorkflowReadResponse:
    workflows = services().workflows.reads
    team_id, workflow_id = request.caller.team_id, request.object_id("workflow_id")
    if request.query_as(GetWorkflowQuery).fully_hydrate:
        return WorkflowReadResponse(workflow=workflows.get_hydrated(team_id, workflow_id))
    return WorkflowReadResponse(workflow=workflows.get_with_config(team_id, workflow_id))


handler = endpoint("get_workflow", get_workflow)
