"""One SQS queue's sending side, shared by the queues the service itself sends to.

The client is created on the first send, not at construction: a function that wires a queue but
sends nothing never imports boto3 (cold start, DESIGN.md section 10). Every failure becomes
UpstreamUnavailable (a 503), naming what was being queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from workflow_service.errors import UpstreamUnavailable


def default_sqs_client() -> Any:
    import boto3

    return boto3.client("sqs")


class SqsSender:
    """Sends message bodies to ``queue_url``; ``missing_url_hint`` says which setting to set when it is unset."""

    def __init__(
        self, queue_url: str | None, missing_url_hint: str, client_factory: Callable[[], Any] = default_sqs_client
    ) -> None:
        self._queue_url = queue_url
        self._missing_url_hint = missing_url_hint
        self._client_factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()

    def send(self, body: str, *, what: str, delay_seconds: int | None = None) -> None:
        """Send ``body``; ``what`` names the message in errors (e.g. "run 123 for a worker")."""
        if not self._queue_url:
            raise UpstreamUnavailable(self._missing_url_hint)
        from botocore.exceptions import BotoCoreError, ClientError

        extra = {} if delay_seconds is None else {"DelaySeconds": delay_seconds}
        try:
            self._sqs().send_message(QueueUrl=self._queue_url, MessageBody=body, **extra)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise UpstreamUnavailable(f"could not queue {what} ({code})") from error
        except BotoCoreError as error:
            raise UpstreamUnavailable(f"could not queue {what} ({type(error).__name__})") from error

    def _sqs(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client
