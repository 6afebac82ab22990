"""The webhook delivery queue on Amazon SQS (``ports.webhooks.WebhookDeliveryQueue``).

Message body ``{"event_id": "<id>"}``; a retry is sent with ``DelaySeconds`` (SQS's maximum is 900 s:
longer waits are the reaper's due-time sweep). The SQS client is created on the first send
(adapters/aws/sqs_sender.py): functions that wire delivery but send nothing never import boto3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from workflow_service.adapters.aws.sqs_sender import SqsSender, default_sqs_client

MAX_DELAY_SECONDS = 900


def delivery_message(event_id: str) -> str:
    """The queue message asking for an attempt of ``event_id``."""
    return json.dumps({"event_id": event_id}, separators=(",", ":"))


class SqsWebhookDeliveryQueue:
    """Sends delivery requests to the queue at ``queue_url``; failures raise UpstreamUnavailable."""

    def __init__(self, queue_url: str | None, client_factory: Callable[[], Any] = default_sqs_client) -> None:
        self._sender = SqsSender(
            queue_url, "no webhook delivery queue configured: set WEBHOOK_DELIVERY_QUEUE_URL", client_factory
        )

    def send(self, event_id: str, *, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds {delay_seconds} is outside SQS's 0..{MAX_DELAY_SECONDS}")
        self._sender.send(
            delivery_message(event_id), what=f"webhook event {event_id} for delivery", delay_seconds=delay_seconds
        )
