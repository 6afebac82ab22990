"""GET /api/v1/schedules/{id}/history (seed 002): the latest firings, newest first."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import HistoryQuery, ScheduleHistory
from workflow_service.wiring import services


def api_get_schedule_history(request: ApiRequest) -> ScheduleHistory:
    schedule_id = request.path("id")
    query = request.query_as(HistoryQuery)
    return services().schedules.cron_api.history(request.caller.team_id, schedule_id, query.limit)


handler = endpoint("api_get_schedule_history", api_get_schedule_history)
