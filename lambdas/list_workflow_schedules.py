"""GET /workflows/v1/workflows/{workflow_id}/schedules: one workflow's one-time schedules (a bare array)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.schedule_api import ListSchedulesQuery, WorkflowScheduleList
from workflow_service.wiring import services


def list_workflow_schedules(request: ApiRequest) -> WorkflowScheduleList:
    workflow_id = request.object_id("workflow_id")
    query = request.query_as(ListSchedulesQuery)
    schedules = services().schedules.one_time.list(
        request.caller.team_id, workflow_id, query.status, query.skip, query.limit
    )
    return WorkflowScheduleList(schedules)


handler = endpoint("list_workflow_schedules", list_workflow_schedules)
