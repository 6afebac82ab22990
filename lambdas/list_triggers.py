"""GET /workflows/v1/workflows/{workflow_id}/triggers: the workflow's triggers, oldest first (no secrets)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.triggers import TriggerList
from workflow_service.wiring import services


def list_triggers(request: ApiRequest) -> TriggerList:
    triggers = services().triggers.service.list(request.caller.team_id, request.object_id("workflow_id"))
    return TriggerList(triggers=triggers, total=len(triggers))


handler = endpoint("list_triggers", list_triggers)
