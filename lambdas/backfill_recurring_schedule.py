"""POST /workflows/v1/recurring-schedules/{schedule_id}/backfill: one run per past occurrence in (start, end]."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring_api import BackfillRequest, BackfillResponse
from workflow_service.wiring import services


def backfill_recurring_schedule(request: ApiRequest) -> BackfillResponse:
    caller = request.caller
    schedule_id = request.object_id("schedule_id")
    body = request.body(BackfillRequest)
    return services().schedules.backfill.backfill(caller.team_id, schedule_id, body.start, body.end)


handler = endpoint("backfill_recurring_schedule", backfill_recurring_schedule)
