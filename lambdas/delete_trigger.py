"""DELETE /workflows/v1/workflows/{workflow_id}/triggers/{trigger_id}: delete a trigger (204)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.wiring import services


def delete_trigger(request: ApiRequest) -> None:
    workflow_id = request.object_id("workflow_id")
    trigger_id = request.object_id("trigger_id")
    services().triggers.service.delete(request.caller.team_id, workflow_id, trigger_id)


handler = endpoint("delete_trigger", delete_trigger)
