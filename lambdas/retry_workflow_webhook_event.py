"""POST /workflows/v1/workflow-webhooks/events/{event_id}/retry: deliver an event again (back to pending).

The documented path names the parameter ``_id``; an event's ``_id`` and ``event_id`` are the same
string, and API Gateway needs one name for the variable segment under /events.
"""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.webhooks import RetryWebhookEventResponse
from workflow_service.wiring import services


def retry_workflow_webhook_event(request: ApiRequest) -> RetryWebhookEventResponse:
    caller = request.caller
    event_id = request.object_id("event_id")
    return services().webhooks.event_log.retry(caller.team_id, caller.user_id, event_id)


handler = endpoint("retry_workflow_webhook_event", retry_workflow_webhook_event)
