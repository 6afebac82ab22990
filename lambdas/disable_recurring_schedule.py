"""POST /workflows/v1/recurring-schedules/{schedule_id}/disable: stop firing (next_run becomes null)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring import RecurringSchedule
from workflow_service.wiring import services


def disable_recurring_schedule(request: ApiRequest) -> RecurringSchedule:
    caller = request.caller
    return services().schedules.recurring.set_enabled(
        caller.team_id, caller.user_id, request.object_id("schedule_id"), False
    )


handler = endpoint("disable_recurring_schedule", disable_recurring_schedule)
