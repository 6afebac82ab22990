"""GET /workflows/v1/recurring-schedules/{schedule_id}/history: firings, newest first."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring_api import HistoryQuery, RecurringScheduleHistory
from workflow_service.wiring import services


def get_recurring_schedule_history(request: ApiRequest) -> RecurringScheduleHistory:
    schedule_id = request.object_id("schedule_id")
    query = request.query_as(HistoryQuery)
    _, entries, total = services().schedules.recurring.history(
        request.caller.team_id, schedule_id, query.skip, query.limit
    )
    return RecurringScheduleHistory(history=entries, total=total)


handler = endpoint("get_recurring_schedule_history", get_recurring_schedule_history)
