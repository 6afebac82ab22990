"""GET /workflows/v1/workflow-schedules: the team's one-time schedules (a bare array)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.schedule_api import ListSchedulesQuery, WorkflowScheduleList
from workflow_service.wiring import services


def list_team_workflow_schedules(request: ApiRequest) -> WorkflowScheduleList:
    query = request.query_as(ListSchedulesQuery)
    schedules = services().schedules.one_time.list(request.caller.team_id, None, query.status, query.skip, query.limit)
    return WorkflowScheduleList(schedules)


handler = endpoint("list_team_workflow_schedules", list_team_workflow_schedules)
