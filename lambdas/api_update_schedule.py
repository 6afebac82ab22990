"""PUT /api/v1/schedules/{id} (seed 002): change a schedule's expression, time zone, input or state."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import Schedule, UpdateRequest
from workflow_service.wiring import services


def api_update_schedule(request: ApiRequest) -> Schedule:
    caller = request.caller
    schedule_id = request.path("id")
    return services().schedules.cron_api.update(
        caller.team_id, caller.user_id, schedule_id, request.body(UpdateRequest)
    )


handler = endpoint("api_update_schedule", api_update_schedule)
