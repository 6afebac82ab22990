"""POST /workflows/v1/hooks/{trigger_id}: a public, Standard Webhooks-signed call that starts a run (202).

No API Gateway authorizer: the signature (webhook-id, webhook-timestamp, webhook-signature headers,
HMAC-SHA256 with the trigger's secret) is the authentication. 413 for a body over
WEBHOOK_MAX_BODY_BYTES, 404 for an unknown or disabled trigger, 401 for a missing or bad signature
or a timestamp outside WEBHOOK_TOLERANCE_SECONDS, 422 for a body that is not a JSON object. The
body's keys become the run's dynamic variables (see workflow_service.triggers.inbound); a replayed
webhook-id answers 202 with the run it already started (with no status if that run was deleted:
a webhook id is never processed twice).
"""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.triggers import WebhookAccepted
from workflow_service.observability import append_keys
from workflow_service.wiring import services


def receive_webhook(request: ApiRequest) -> WebhookAccepted:
    # The raw path value: an id that cannot exist is simply an unknown trigger (404), not a 422.
    trigger_id = request.path("trigger_id")
    append_keys(trigger="webhook")  # the signature headers are never logged
    return services().triggers.inbound.receive_webhook(trigger_id, request.headers, request.raw_body)


handler = endpoint("receive_webhook", receive_webhook)
