"""POST /api/v1/schedules/{id}/enable (seed 002): enable a disabled schedule."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import EnabledState
from workflow_service.wiring import services


def api_enable_schedule(request: ApiRequest) -> EnabledState:
    caller = request.caller
    return services().schedules.cron_api.set_enabled(caller.team_id, caller.user_id, request.path("id"), True)


handler = endpoint("api_enable_schedule", api_enable_schedule)
