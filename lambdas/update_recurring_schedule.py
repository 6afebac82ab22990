"""PATCH /workflows/v1/recurring-schedules/{schedule_id}: change its fields (any subset)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring import RecurringSchedule
from workflow_service.models.recurring_api import UpdateRecurringScheduleRequest
from workflow_service.schedules.recurring import RecurringChanges
from workflow_service.wiring import services


def update_recurring_schedule(request: ApiRequest) -> RecurringSchedule:
    caller = request.caller
    schedule_id = request.object_id("schedule_id")
    body = request.body(UpdateRecurringScheduleRequest)
    changes = RecurringChanges(
        cron_expression=body.cron_expression,
        timezone=body.timezone,
        enabled=body.enabled,
        input_data=body.input_data,
        version=body.version,
        version_set="version" in body.model_fields_set,
        dst_policy=body.dst_policy,
        overlap_policy=body.overlap_policy,
        flexible_window_minutes=body.flexible_window_minutes,
        start_at=body.start_at,
        start_at_set="start_at" in body.model_fields_set,
        end_at=body.end_at,
        end_at_set="end_at" in body.model_fields_set,
    )
    return services().schedules.recurring.update(caller.team_id, caller.user_id, schedule_id, changes)


handler = endpoint("update_recurring_schedule", update_recurring_schedule)
