"""DELETE /workflows/v1/recurring-schedules/{schedule_id}: delete a recurring schedule and its history."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.wiring import services


def delete_recurring_schedule(request: ApiRequest) -> None:
    services().schedules.recurring.delete(request.caller.team_id, request.object_id("schedule_id"))


handler = endpoint("delete_recurring_schedule", delete_recurring_schedule)
