"""GET /api/v1/schedules (seed 002): the team's schedules, filtered by workflowId and enabled."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import ListQuery, ScheduleList
from workflow_service.wiring import services


def api_list_schedules(request: ApiRequest) -> ScheduleList:
    return services().schedules.cron_api.list(request.caller.team_id, request.query_as(ListQuery))


handler = endpoint("api_list_schedules", api_list_schedules)
