"""POST /workflows/v1/schedule-previews: the next fire times of a cron expression, in UTC (nothing is saved)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.recurring_api import PreviewRequest, PreviewResponse
from workflow_service.schedules.recurring import preview
from workflow_service.wiring import services


def preview_schedule(request: ApiRequest) -> PreviewResponse:
    body = request.body(PreviewRequest)
    start = body.start or services().core.clock.now()
    return preview(
        body.cron_expression, body.timezone, start, body.count, body.start_at, body.end_at, dst_policy=body.dst_policy
    )


handler = endpoint("preview_schedule", preview_schedule)
