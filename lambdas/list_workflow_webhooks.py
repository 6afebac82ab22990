"""GET /workflows/v1/workflow-webhooks: the team's webhook subscriptions, newest first (no tokens, no secrets)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import ListWebhooksQuery, WorkflowWebhookList
from workflow_service.wiring import services


def list_workflow_webhooks(request: ApiRequest) -> WorkflowWebhookList:
    query = request.query_as(ListWebhooksQuery)
    return services().webhooks.subscription_service.list(request.caller.team_id, query)


handler = endpoint("list_workflow_webhooks", list_workflow_webhooks)
