"""POST /api/v1/schedules/{id}/backfill: one run per past occurrence in (start, end], in seed 002's style."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import BackfillRequest, BackfillResult
from workflow_service.wiring import services


def api_backfill_schedule(request: ApiRequest) -> BackfillResult:
    caller = request.caller
    body = request.body(BackfillRequest)
    return services().schedules.cron_api.backfill(caller.team_id, request.path("id"), body.start, body.end)


handler = endpoint("api_backfill_schedule", api_backfill_schedule)
