"""POST /workflows/v1/workflows/{workflow_id}/schedules: schedule one run of a workflow at a future UTC time."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.schedules import CreateScheduleRequest, WorkflowSchedule
from workflow_service.wiring import services


def create_workflow_schedule(request: ApiRequest) -> WorkflowSchedule:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    return services().schedules.one_time.create(
        caller.team_id, caller.user_id, workflow_id, request.body(CreateScheduleRequest)
    )


handler = endpoint("create_workflow_schedule", create_workflow_schedule)
