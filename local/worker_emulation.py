"""The run worker in the local runtime: polls the local run-work queue with the real SQS handler.

``wiring.Services.concurrency.work_queue`` is a ``LocalWorkQueue`` in the local runtime (unless RUN_WORK_QUEUE_URL
points at a real queue), and this component polls that very queue instance, so a run admitted by a
webhook, a schedule or the reaper starts its first turn here exactly as the deployed worker would:
SQS-shaped batches, visibility timeout, redelivery, dead-letter queue.
"""

from __future__ import annotations

import logging
from typing import Any

from local.lambda_runtime import import_lambda_handler
from local.sqs_event_source import LocalQueuePoller
from workflow_service.adapters.local.work_queue import LocalWorkQueue

logger = logging.getLogger("local.worker")

WORKER_FUNCTION_NAME = "run_worker"
# As the deployed event source mapping: small batches, so one slow run delays few others.
BATCH_SIZE = 5
POLL_INTERVAL_SECONDS = 0.1
WORKER_TIMEOUT_SECONDS = 900.0


class LocalWorkerComponent:
    """start()/stop() for the local run worker; does nothing when the work queue is a real SQS queue."""

    def __init__(self, work_queue: Any) -> None:
        self.poller: LocalQueuePoller | None = None
        if isinstance(work_queue, LocalWorkQueue):
            self.poller = LocalQueuePoller(
                work_queue.queue,
                import_lambda_handler(WORKER_FUNCTION_NAME),
                batch_size=BATCH_SIZE,
                interval_seconds=POLL_INTERVAL_SECONDS,
                function_name=WORKER_FUNCTION_NAME,
                timeout_seconds=WORKER_TIMEOUT_SECONDS,
            )

    def start(self) -> None:
        if self.poller is None:
            logger.info("run work queue is a real SQS queue (RUN_WORK_QUEUE_URL); no local worker started")
            return
        self.poller.start()

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()


def create_local_worker_component(runtime: Any) -> LocalWorkerComponent:
    """The worker component for ``runtime`` (a started ``local.runtime.LocalRuntime``)."""
    return LocalWorkerComponent(runtime.services.concurrency.work_queue)
