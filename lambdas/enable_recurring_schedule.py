"""POST /workflows/v1/recurring-schedules/{schedule_id}/enable: resume firing."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring import RecurringSchedule
from workflow_service.wiring import services


def enable_recurring_schedule(request: ApiRequest) -> RecurringSchedule:
    caller = request.caller
    return services().schedules.recurring.set_enabled(
        caller.team_id, caller.user_id, request.object_id("schedule_id"), True
    )


handler = endpoint("enable_recurring_schedule", enable_recurring_schedule)
