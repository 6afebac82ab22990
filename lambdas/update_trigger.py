"""PATCH /workflows/v1/workflows/{workflow_id}/triggers/{trigger_id}: enable, disable or rename a trigger."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.triggers import Trigger, UpdateTriggerRequest
from workflow_service.wiring import services


def update_trigger(request: ApiRequest) -> Trigger:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    trigger_id = request.object_id("trigger_id")
    changes = request.body(UpdateTriggerRequest)
    return services().triggers.service.update(caller.team_id, caller.user_id, workflow_id, trigger_id, changes)


handler = endpoint("update_trigger", update_trigger)
