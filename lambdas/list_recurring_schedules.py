"""GET /workflows/v1/recurring-schedules: the team's recurring schedules, oldest first."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring_api import ListRecurringSchedulesQuery, RecurringScheduleList
from workflow_service.wiring import services


def list_recurring_schedules(request: ApiRequest) -> RecurringScheduleList:
    query = request.query_as(ListRecurringSchedulesQuery)
    schedules, total = services().schedules.recurring.list(
        request.caller.team_id, query.workflow_id, query.enabled, query.skip, query.limit
    )
    return RecurringScheduleList(recurring_schedules=schedules, total=total)


handler = endpoint("list_recurring_schedules", list_recurring_schedules)
