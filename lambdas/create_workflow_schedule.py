"""POST /workflows/v1/workflows/{workflow_id}/schedules: schedule one run of a workflow at a future UTC time.

An ``Idempotency-Key`` header makes a retry within 24 h answer as the first request did, creating nothing.
"""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.idempotency import create_idempotently
from workflow_service.models.schedule_api import CreateScheduleRequest
from workflow_service.wiring import services


def create_workflow_schedule(request: ApiRequest) -> ApiResponse:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    body = request.body(CreateScheduleRequest)
    schedules = services().schedules
    return create_idempotently(
        request,
        services().core.idempotent_create,
        lambda schedule_id: schedules.one_time.create(
            caller.team_id, caller.user_id, workflow_id, body, schedule_id=schedule_id
        ),
    )


handler = endpoint("create_workflow_schedule", create_workflow_schedule)
