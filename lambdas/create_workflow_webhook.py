"""POST /workflows/v1/workflow-webhooks: subscribe a receiver URL to workflow events (signing secret shown once).

An ``Idempotency-Key`` header makes a retry within 24 h answer as the first request did, creating nothing.
"""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.idempotency import create_idempotently
from workflow_service.models.webhooks import CreateWebhookRequest
from workflow_service.wiring import services


def create_workflow_webhook(request: ApiRequest) -> ApiResponse:
    caller = request.caller
    body = request.body(CreateWebhookRequest)
    subscriptions = services().webhooks.subscription_service
    return create_idempotently(
        request,
        services().core.idempotent_create,
        lambda subscription_id: subscriptions.create(
            caller.team_id, caller.user_id, body, subscription_id=subscription_id
        ),
    )


handler = endpoint("create_workflow_webhook", create_workflow_webhook)
