"""Lambda's SQS event source mapping: polls a ``LocalSqsQueue`` and feeds batches to an SQS handler.

The real SQS handlers run unchanged: they receive ``{"Records": [...]}`` batches with a Lambda
context, and their partial batch responses (ReportBatchItemFailures) decide what is deleted, read by
Lambda's rules (``failed_message_ids``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from local.background_loop import BackgroundLoop
from local.lambda_runtime import LambdaHandler, LocalLambdaContext

if TYPE_CHECKING:
    from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOutcome:
    """What one poll did: the message ids handed to the handler and those left for redelivery."""

    delivered: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    handler_error: bool = False

    @property
    def deleted(self) -> tuple[str, ...]:
        return tuple(message_id for message_id in self.delivered if message_id not in self.failed)


class UnreadableBatchResponse(ValueError):
    """A batch response Lambda cannot read: it retries the entire batch."""


def failed_message_ids(response: Any, delivered_ids: set[str]) -> set[str]:
    """The message ids a ReportBatchItemFailures response asks to retry, by Lambda's rules.

    None, ``{}`` and an empty or null ``batchItemFailures`` mean success. A response Lambda cannot
    read — a null/empty/unknown ``itemIdentifier``, a wrong key — fails the whole batch.
    """
    if response is None:
        return set()
    if not isinstance(response, Mapping):
        raise UnreadableBatchResponse(f"response is a {type(response).__name__}, not a batch item failures object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise UnreadableBatchResponse("batchItemFailures is not a list")
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in delivered_ids:
            raise UnreadableBatchResponse(f"invalid batch item failure {failure!r}")
        failed.add(identifier)
    return failed


@dataclass
class LocalQueuePoller:
    """Feeds a ``LocalSqsQueue`` to an SQS handler the way a Lambda event source mapping does.

    Batches of up to ``batch_size`` records are passed as ``{"Records": [...]}`` with a Lambda
    context. With ReportBatchItemFailures semantics, the messages the response lists stay on the
    queue (redelivered after the visibility timeout) and the rest are deleted; if the handler raises,
    nothing is deleted. ``start()`` runs this on a daemon thread; ``drain_once()`` runs one poll.
    """

    queue: LocalSqsQueue
    handler: LambdaHandler
    batch_size: int = 10
    interval_seconds: float = 0.2
    function_name: str | None = None
    timeout_seconds: float = 30.0
    _loop: BackgroundLoop = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10:
            raise ValueError("batch_size must be 1..10")
        self._loop = BackgroundLoop(
            f"poller-{self.queue.name}",
            self._poll,
            self.interval_seconds,
            logger=logger,
            failure_message=f"poller for {self.queue.name} failed; continuing",
        )
        if self.function_name is None:
            self.function_name = f"{self.queue.name}-consumer"

    def drain_once(self) -> BatchOutcome:
        """Receive one batch, invoke the handler, delete what succeeded; an empty queue does nothing."""
        records = self.queue.receive(self.batch_size)
        if not records:
            return BatchOutcome()
        delivered = tuple(record["messageId"] for record in records)
        context = LocalLambdaContext(str(self.function_name), timeout_seconds=self.timeout_seconds)
        try:
            response = self.handler({"Records": records}, context)
            failed = failed_message_ids(response, set(delivered))
        except UnreadableBatchResponse as problem:
            logger.error("%s: unreadable batch response (%s); retrying the whole batch", self.function_name, problem)
            return BatchOutcome(delivered=delivered, failed=delivered, handler_error=True)
        except Exception:
            logger.exception("%s failed; all %d messages will be retried", self.function_name, len(records))
            return BatchOutcome(delivered=delivered, failed=delivered, handler_error=True)
        for record in records:
            if record["messageId"] not in failed:
                self.queue.delete(record["receiptHandle"])
        if failed:
            logger.warning("%s reported %d of %d messages as failed", self.function_name, len(failed), len(records))
        return BatchOutcome(delivered=delivered, failed=tuple(i for i in delivered if i in failed))

    def start(self) -> None:
        """Start polling on a daemon thread (idempotent)."""
        self._loop.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop polling; waits up to ``timeout_seconds`` for a batch in progress to finish."""
        self._loop.stop(timeout_seconds)

    def _poll(self) -> bool:
        # A full queue is polled again at once; only an empty poll waits, as Lambda's long polling.
        return bool(self.drain_once().delivered)


__all__ = ["BatchOutcome", "LocalQueuePoller", "UnreadableBatchResponse", "failed_message_ids"]
