"""The internal work queue on Amazon SQS (``ports.WorkQueue``).

The SQS client is created on the first enqueue, not at construction: every runs handler builds the
dispatcher, but only those that admit a run send a message, and the others must not pay for
importing boto3 (cold start, DESIGN.md section 10).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.concurrency import WorkMessage


def _default_client() -> Any:
    import boto3

    return boto3.client("sqs")


class SqsWorkQueue:
    """Sends ``{"run_id": ...}`` to the run-work queue; failures raise UpstreamUnavailable."""

    def __init__(self, queue_url: str | None, client_factory: Callable[[], Any] = _default_client) -> None:
        self._queue_url = queue_url
        self._client_factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()

    def enqueue_run(self, run_id: str) -> None:
        if not self._queue_url:
            raise UpstreamUnavailable("no run work queue configured: set RUN_WORK_QUEUE_URL")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._sqs().send_message(QueueUrl=self._queue_url, MessageBody=WorkMessage(run_id=run_id).to_body())
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise UpstreamUnavailable(f"could not queue run {run_id} for a worker ({code})") from error
        except BotoCoreError as error:
            raise UpstreamUnavailable(f"could not queue run {run_id} for a worker ({type(error).__name__})") from error

    def _sqs(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client
