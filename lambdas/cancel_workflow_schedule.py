"""DELETE /workflows/v1/workflow-schedules/{schedule_id}: cancel a pending schedule (the record stays, cancelled)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.wiring import services


def cancel_workflow_schedule(request: ApiRequest) -> None:
    caller = request.caller
    services().schedules.one_time.cancel(caller.team_id, caller.user_id, request.object_id("schedule_id"))


handler = endpoint("cancel_workflow_schedule", cancel_workflow_schedule)
