"""DELETE /api/v1/schedules/{id} (seed 002): delete a schedule (204)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.wiring import services


def api_delete_schedule(request: ApiRequest) -> None:
    services().schedules.cron_api.delete(request.caller.team_id, request.path("id"))


handler = endpoint("api_delete_schedule", api_delete_schedule)
