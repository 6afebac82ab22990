"""POST /workflows/v1/workflow-webhooks/{webhook_id}/rotate-secret: a new signing secret, shown once;
deliveries carry signatures by the new and the previous secret for 24 h."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import RotatedWebhookSecret
from workflow_service.wiring import services


def rotate_workflow_webhook_secret(request: ApiRequest) -> RotatedWebhookSecret:
    caller = request.caller
    webhook_id = request.object_id("webhook_id")
    return services().webhooks.subscription_service.rotate_secret(caller.team_id, caller.user_id, webhook_id)


handler = endpoint("rotate_workflow_webhook_secret", rotate_workflow_webhook_secret)
