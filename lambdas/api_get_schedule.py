"""GET /api/v1/schedules/{id} (seed 002): one schedule with its counters."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import Schedule
from workflow_service.wiring import services


def api_get_schedule(request: ApiRequest) -> Schedule:
    return services().schedules.cron_api.get(request.caller.team_id, request.path("id"))


handler = endpoint("api_get_schedule", api_get_schedule)
