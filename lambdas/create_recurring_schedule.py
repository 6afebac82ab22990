"""POST /workflows/v1/workflows/{workflow_id}/recurring-schedules: run a workflow on a cron expression."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring import CreateRecurringScheduleRequest, RecurringSchedule
from workflow_service.wiring import services


def create_recurring_schedule(request: ApiRequest) -> RecurringSchedule:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    body = request.body(CreateRecurringScheduleRequest)
    return services().schedules.recurring.create(
        caller.team_id,
        caller.user_id,
        workflow_id,
        body.cron_expression,
        body.timezone,
        body.enabled,
        body.input_data,
        body.version,
    )


handler = endpoint("create_recurring_schedule", create_recurring_schedule)
