"""POST /api/v1/schedules/{id}/disable (seed 002): disable a schedule (nextRun becomes null)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import EnabledState
from workflow_service.wiring import services


def api_disable_schedule(request: ApiRequest) -> EnabledState:
    caller = request.caller
    return services().schedules.cron_api.set_enabled(caller.team_id, caller.user_id, request.path("id"), False)


handler = endpoint("api_disable_schedule", api_disable_schedule)
