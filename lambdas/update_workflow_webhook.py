"""PATCH /workflows/v1/workflow-webhooks/{webhook_id}: change a subscription's fields (absent or null: unchanged)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import UpdateWebhookRequest, WorkflowWebhook
from workflow_service.wiring import services


def update_workflow_webhook(request: ApiRequest) -> WorkflowWebhook:
    caller = request.caller
    webhook_id = request.object_id("webhook_id")
    changes = request.body(UpdateWebhookRequest, optional=True)
    return services().webhooks.subscription_service.update(caller.team_id, caller.user_id, webhook_id, changes)


handler = endpoint("update_workflow_webhook", update_workflow_webhook)
