"""Webhook deliveries in the local runtime: polls the local delivery queue with the real delivery handler.

``wiring.Services.webhooks.delivery_queue`` is a ``LocalWebhookDeliveryQueue`` in the local runtime
(unless WEBHOOK_DELIVERY_QUEUE_URL points at a real queue), and this component polls that very queue
instance, so an event is delivered here exactly as the deployed function would: SQS-shaped batches,
retry delays, visibility timeout, redelivery, dead-letter queue. Receivers on 127.0.0.1 over plain
http are allowed here (and only here); the reaper emulation runs the due-time sweep.
"""

from __future__ import annotations

import logging
from typing import Any

from local.lambda_runtime import import_lambda_handler
from local.sqs_event_source import LocalQueuePoller
from workflow_service.adapters.local.webhook_delivery_queue import LocalWebhookDeliveryQueue

logger = logging.getLogger("local.webhook_delivery")

DELIVERY_FUNCTION_NAME = "deliver_webhook_events"
# As the deployed event source mapping (cdk.json webhook_delivery_queue.batch_size).
BATCH_SIZE = 5
POLL_INTERVAL_SECONDS = 0.1
DELIVERY_TIMEOUT_SECONDS = 330.0


class LocalWebhookDeliveryComponent:
    """start()/stop() for the local deliverer; does nothing when the delivery queue is a real SQS queue."""

    def __init__(self, delivery_queue: Any) -> None:
        self.poller: LocalQueuePoller | None = None
        if isinstance(delivery_queue, LocalWebhookDeliveryQueue):
            self.poller = LocalQueuePoller(
                delivery_queue.queue,
                import_lambda_handler(DELIVERY_FUNCTION_NAME),
                batch_size=BATCH_SIZE,
                interval_seconds=POLL_INTERVAL_SECONDS,
                function_name=DELIVERY_FUNCTION_NAME,
                timeout_seconds=DELIVERY_TIMEOUT_SECONDS,
            )

    def start(self) -> None:
        if self.poller is None:
            logger.info("webhook delivery queue is a real SQS queue (WEBHOOK_DELIVERY_QUEUE_URL); no local deliverer")
            return
        self.poller.start()

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()


def create_local_webhook_delivery_component(runtime: Any) -> LocalWebhookDeliveryComponent:
    """The delivery component for ``runtime`` (a started ``local.runtime.LocalRuntime``)."""
    return LocalWebhookDeliveryComponent(runtime.services.webhooks.delivery_queue)
