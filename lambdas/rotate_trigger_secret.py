"""POST .../triggers/{trigger_id}/rotate-secret: a new webhook secret, shown once; the old one stops working."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.triggers import TriggerWithSecret
from workflow_service.wiring import services


def rotate_trigger_secret(request: ApiRequest) -> TriggerWithSecret:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    trigger_id = request.object_id("trigger_id")
    return services().triggers.service.rotate_secret(caller.team_id, caller.user_id, workflow_id, trigger_id)


handler = endpoint("rotate_trigger_secret", rotate_trigger_secret)
