"""GET /workflows/v1/workflow-webhooks/events/{event_id}/attempts: an event's delivery attempts, in order."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import ListWebhookAttemptsQuery, WebhookAttemptList
from workflow_service.wiring import services


def list_workflow_webhook_event_attempts(request: ApiRequest) -> WebhookAttemptList:
    event_id = request.object_id("event_id")
    query = request.query_as(ListWebhookAttemptsQuery)
    return services().webhooks.event_log.list_attempts(request.caller.team_id, event_id, query)


handler = endpoint("list_workflow_webhook_event_attempts", list_workflow_webhook_event_attempts)
