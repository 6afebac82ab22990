"""DELETE /workflows/v1/workflow-webhooks/{webhook_id}: delete a subscription; its deliveries stop."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import DeleteWebhookResponse
from workflow_service.wiring import services


def delete_workflow_webhook(request: ApiRequest) -> DeleteWebhookResponse:
    caller = request.caller
    webhook_id = request.object_id("webhook_id")
    return services().webhooks.subscription_service.delete(caller.team_id, caller.user_id, webhook_id)


handler = endpoint("delete_workflow_webhook", delete_workflow_webhook)
