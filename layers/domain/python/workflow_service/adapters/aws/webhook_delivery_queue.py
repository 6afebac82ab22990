"""The webhook delivery queue on Amazon SQS (``ports.webhooks.WebhookDeliveryQueue``).

Message body ``{"event_id": "<id>"}``; a retry is sent with ``DelaySeconds`` (SQS's maximum is 900 s:
longer waits are the reaper's due-time sweep). The SQS client is created on the first send, not at
construction: functions that wire the delivery capability but send nothing never import boto3.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from workflow_service.errors import UpstreamUnavailable

MAX_DELAY_SECONDS = 900


def delivery_message(event_id: str) -> str:
    """The queue message asking for an attempt of ``event_id``."""
    return json.dumps({"event_id": event_id}, separators=(",", ":"))


def _default_client() -> Any:
    import boto3

    return boto3.client("sqs")


class SqsWebhookDeliveryQueue:
    """Sends delivery requests to the queue at ``queue_url``; failures raise UpstreamUnavailable."""

    def __init__(self, queue_url: str | None, client_factory: Callable[[], Any] = _default_client) -> None:
        self._queue_url = queue_url
        self._client_factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()

    def send(self, event_id: str, *, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds {delay_seconds} is outside SQS's 0..{MAX_DELAY_SECONDS}")
        if not self._queue_url:
            raise UpstreamUnavailable("no webhook delivery queue configured: set WEBHOOK_DELIVERY_QUEUE_URL")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._sqs().send_message(
                QueueUrl=self._queue_url, MessageBody=delivery_message(event_id), DelaySeconds=delay_seconds
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise UpstreamUnavailable(f"could not queue webhook event {event_id} for delivery ({code})") from error
        except BotoCoreError as error:
            raise UpstreamUnavailable(
                f"could not queue webhook event {event_id} for delivery ({type(error).__name__})"
            ) from error

    def _sqs(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client
