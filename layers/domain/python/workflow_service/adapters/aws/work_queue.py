"""The internal work queue on Amazon SQS (``ports.WorkQueue``).

Every runs handler builds the dispatcher, but only those that admit a run send a message: the SQS
client is created on the first enqueue (adapters/aws/sqs_sender.py), so the others never import boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow_service.adapters.aws.sqs_sender import SqsSender, default_sqs_client
from workflow_service.models.concurrency import WorkMessage


class SqsWorkQueue:
    """Sends ``{"run_id": ...}`` to the run-work queue; failures raise UpstreamUnavailable."""

    def __init__(self, queue_url: str | None, client_factory: Callable[[], Any] = default_sqs_client) -> None:
        self._sender = SqsSender(queue_url, "no run work queue configured: set RUN_WORK_QUEUE_URL", client_factory)

    def enqueue_run(self, run_id: str) -> None:
        self._sender.send(WorkMessage(run_id=run_id).to_body(), what=f"run {run_id} for a worker")
