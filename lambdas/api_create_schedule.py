"""POST /api/v1/schedules (seed 002): create a cron schedule for a workflow."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.cron_api import CreateRequest, Schedule
from workflow_service.wiring import services


def api_create_schedule(request: ApiRequest) -> Schedule:
    caller = request.caller
    return services().schedules.cron_api.create(caller.team_id, caller.user_id, request.body(CreateRequest))


handler = endpoint("api_create_schedule", api_create_schedule)
