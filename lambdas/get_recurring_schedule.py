"""GET /workflows/v1/recurring-schedules/{schedule_id}: one recurring schedule with its next run."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring import RecurringSchedule
from workflow_service.wiring import services


def get_recurring_schedule(request: ApiRequest) -> RecurringSchedule:
    return services().schedules.recurring.get(request.caller.team_id, request.object_id("schedule_id"))


handler = endpoint("get_recurring_schedule", get_recurring_schedule)
