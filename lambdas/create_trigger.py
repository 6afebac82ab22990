"""POST /workflows/v1/workflows/{workflow_id}/triggers: create a webhook or SQS trigger (secret shown once)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.triggers import CreateTriggerRequest, TriggerWithSecret
from workflow_service.wiring import services


def create_trigger(request: ApiRequest) -> TriggerWithSecret:
    caller = request.caller
    workflow_id = request.object_id("workflow_id")
    return services().triggers.service.create(
        caller.team_id, caller.user_id, workflow_id, request.body(CreateTriggerRequest)
    )


handler = endpoint("create_trigger", create_trigger)
