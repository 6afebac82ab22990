"""POST /api/v1/schedules (seed 002): create a cron schedule for a workflow.

An ``Idempotency-Key`` header makes a retry within 24 h answer as the first request did, creating nothing.
"""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.idempotency import create_idempotently
from workflow_service.models.cron_api import CreateRequest
from workflow_service.wiring import services


def api_create_schedule(request: ApiRequest) -> ApiResponse:
    caller = request.caller
    body = request.body(CreateRequest)
    schedules = services().schedules
    return create_idempotently(
        request,
        services().core.idempotent_create,
        lambda schedule_id: schedules.cron_api.create(caller.team_id, caller.user_id, body, schedule_id=schedule_id),
    )


handler = endpoint("api_create_schedule", api_create_schedule)
