"""The webhook delivery queue in the local runtime: a ``LocalSqsQueue`` (``ports.webhooks.WebhookDeliveryQueue``).

The local delivery emulation (``local.webhook_delivery_emulation``) polls the same queue instance with
the real delivery handler: SQS-shaped batches, delays, visibility timeout, redelivery, dead-letter queue.
"""

from __future__ import annotations

from workflow_service.adapters.aws.webhook_delivery_queue import MAX_DELAY_SECONDS, delivery_message
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

QUEUE_NAME = "webhook-deliveries"
# Shorter than deployed, so a failed message's redelivery shows within a minute; the count as deployed.
VISIBILITY_TIMEOUT_SECONDS = 90
MAX_RECEIVE_COUNT = 5


def create_local_webhook_delivery_queue() -> LocalSqsQueue:
    return LocalSqsQueue(QUEUE_NAME, VISIBILITY_TIMEOUT_SECONDS, MAX_RECEIVE_COUNT)


class LocalWebhookDeliveryQueue:
    """Sends ``{"event_id": ...}`` to an in-process SQS-like queue, with SQS's delay."""

    def __init__(self, queue: LocalSqsQueue) -> None:
        self.queue = queue

    def send(self, event_id: str, *, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds {delay_seconds} is outside SQS's 0..{MAX_DELAY_SECONDS}")
        self.queue.send_message(delivery_message(event_id), delay_seconds=delay_seconds)
