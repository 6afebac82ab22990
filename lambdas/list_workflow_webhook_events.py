"""GET /workflows/v1/workflow-webhooks/events: the team's webhook events, newest first, with delivery status."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import ListWebhookEventsQuery, WebhookEventList
from workflow_service.wiring import services


def list_workflow_webhook_events(request: ApiRequest) -> WebhookEventList:
    query = request.query_as(ListWebhookEventsQuery)
    return services().webhooks.event_log.list_events(request.caller.team_id, query)


handler = endpoint("list_workflow_webhook_events", list_workflow_webhook_events)
