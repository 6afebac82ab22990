"""Settings of outbound webhook deliveries."""

from pydantic import Field

from workflow_service.settings import _Section


class WebhookDeliverySettings(_Section):
    """Outbound webhook deliveries: the delivery queue and the deliverer's lease on an event."""

    delivery_queue_url: str | None = Field(None, alias="WEBHOOK_DELIVERY_QUEUE_URL")
    # An attempt holds its event this long: longer than the longest attempt (timeout_seconds <= 60 plus
    # the store writes), so a second deliverer never overlaps a live one, and a crashed one's event is
    # taken again (by a redelivered message or the reaper's due sweep) soon after.
    lease_seconds: int = Field(120, alias="WEBHOOK_DELIVERY_LEASE_SECONDS", ge=70, le=900)
    # The reaper re-sends an event only this long after it became due, so events whose queue message
    # is on its way are not sent twice.
    due_grace_seconds: int = Field(60, alias="WEBHOOK_DELIVERY_DUE_GRACE_SECONDS", ge=0, le=3600)
