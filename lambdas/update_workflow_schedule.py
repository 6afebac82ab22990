"""PATCH /workflows/v1/workflow-schedules/{schedule_id}: change a pending schedule's time, input or version."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.schedule_api import UpdateScheduleRequest
from workflow_service.models.schedules import WorkflowSchedule
from workflow_service.wiring import services


def update_workflow_schedule(request: ApiRequest) -> WorkflowSchedule:
    caller = request.caller
    schedule_id = request.object_id("schedule_id")
    return services().schedules.one_time.update(
        caller.team_id, caller.user_id, schedule_id, request.body(UpdateScheduleRequest)
    )


handler = endpoint("update_workflow_schedule", update_workflow_schedule)
