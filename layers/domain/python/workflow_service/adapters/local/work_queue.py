"""The internal work queue in the local runtime: a ``LocalSqsQueue`` with SQS semantics (``ports.WorkQueue``).

The local worker emulation polls the same queue instance with the real run-worker handler.
"""

from __future__ import annotations

from workflow_service.adapters.local.sqs_queue import LocalSqsQueue
from workflow_service.models.concurrency import WorkMessage

WORK_QUEUE_NAME = "run-work"
# As deployed: a worker has this long before a message it holds is redelivered.
VISIBILITY_TIMEOUT_SECONDS = 120
MAX_RECEIVE_COUNT = 3


def create_local_work_queue() -> LocalSqsQueue:
    """The run-work queue (with its dead-letter queue) the local runtime and its worker share."""
    return LocalSqsQueue(WORK_QUEUE_NAME, VISIBILITY_TIMEOUT_SECONDS, MAX_RECEIVE_COUNT)


class LocalWorkQueue:
    """Sends ``{"run_id": ...}`` to an in-process SQS-like queue."""

    def __init__(self, queue: LocalSqsQueue) -> None:
        self.queue = queue

    def enqueue_run(self, run_id: str) -> None:
        self.queue.send_message(WorkMessage(run_id=run_id).to_body())
