"""POST /workflows/v1/workflows/{workflow_id}/recurring-schedules: run a workflow on a cron expression.

An ``Idempotency-Key`` header makes a retry within 24 h answer as the first request did, creating nothing.
"""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.idempotency import create_idempotently
from workflow_service.models.recurring_api import CreateRecurringScheduleRequest
from workflow_service.schedules.recurring import RecurringPolicies
from workflow_service.wiring import services


def create_recurring_schedule(request: ApiRequest) -> ApiResponse:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    body = request.body(CreateRecurringScheduleRequest)
    schedules = services().schedules
    return create_idempotently(
        request,
        services().core.idempotent_create,
        lambda schedule_id: schedules.recurring.create(
            caller.team_id,
            caller.user_id,
            workflow_id,
            body.cron_expression,
            body.timezone,
            body.enabled,
            body.input_data,
            body.version,
            schedule_id=schedule_id,
            dst_policy=body.dst_policy,
            policies=RecurringPolicies(
                overlap_policy=body.overlap_policy,
                flexible_window_minutes=body.flexible_window_minutes,
                start_at=body.start_at,
                end_at=body.end_at,
            ),
        ),
    )


handler = endpoint("create_recurring_schedule", create_recurring_schedule)
