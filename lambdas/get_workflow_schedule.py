"""GET /workflows/v1/workflow-schedules/{schedule_id}: one one-time schedule."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.schedules import WorkflowSchedule
from workflow_service.wiring import services


def get_workflow_schedule(request: ApiRequest) -> WorkflowSchedule:
    return services().schedules.one_time.get(request.caller.team_id, request.object_id("schedule_id"))


handler = endpoint("get_workflow_schedule", get_workflow_schedule)
