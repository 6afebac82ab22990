"""The local runtime's EventBridge Scheduler: fires due schedules into the real schedule-target handler.

A background thread wakes every ``POLL_SECONDS`` and asks the in-memory scheduler (the SAME
instance the services write to: ``runtime.services.schedules.scheduler``) for the firings due now. Each is
delivered like EventBridge does: the schedule's target input with ``<aws.scheduler.scheduled-time>``
replaced by the due time, invoked on a small pool so one slow firing does not delay the others.
A delivery that raises is retried with exponential backoff up to the retry policy's attempts
(``SCHEDULE_RETRY_ATTEMPTS``) and then dropped with an error log, where AWS would use the DLQ.

Register it in ``local.runtime.background_components`` with ``create_local_scheduler_component``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.background_loop import BackgroundLoop
from local.lambda_runtime import LambdaHandler, LocalLambdaContext, import_lambda_handler
from workflow_service.adapters.local.scheduler import DueFiring, InMemoryScheduler
from workflow_service.models.common import format_utc
from workflow_service.models.schedules import SCHEDULED_TIME_PLACEHOLDER, ScheduleTargetEvent

logger = logging.getLogger("local.scheduler")

POLL_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 60.0
TARGET_FUNCTION_NAME = "schedule_target"


def target_event(firing: DueFiring) -> dict[str, Any]:
    """The event EventBridge Scheduler would send for ``firing``: the target input, placeholder filled."""
    definition = firing.definition
    template = json.dumps(
        ScheduleTargetEvent.template(
            definition.schedule_id, definition.kind, definition.generation, definition.occurrence
        )
    )
    filled = template.replace(SCHEDULED_TIME_PLACEHOLDER, format_utc(firing.scheduled_time.replace(microsecond=0)))
    return json.loads(filled)


@dataclass
class _Retry:
    event: dict[str, Any]
    attempt: int
    due_monotonic: float


class LocalSchedulerEmulation:
    """The polling thread; ``start``/``stop`` are the runtime's background-component interface."""

    def __init__(
        self,
        scheduler: InMemoryScheduler,
        handler: LambdaHandler | None = None,
        *,
        retry_attempts: int = 3,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = POLL_SECONDS,
        workers: int = 4,
    ) -> None:
        self._scheduler = scheduler
        self._handler = handler
        self._retry_attempts = retry_attempts
        self._now = now
        self._poll_seconds = poll_seconds
        self._workers = workers
        self._loop = BackgroundLoop(
            "local-scheduler",
            self._scheduled_poll,
            poll_seconds,
            logger=logger,
            failure_message="local scheduler: a poll failed; continuing",
        )
        self._pool: ThreadPoolExecutor | None = None
        self._retries: list[_Retry] = []
        self._retries_lock = threading.Lock()

    def start(self) -> None:
        """Start polling for due firings (idempotent); imports the target handler if none was given."""
        if self._loop.running:
            return
        if self._handler is None:
            # Imported like a Lambda cold start, only when the emulation runs.
            self._handler = import_lambda_handler(TARGET_FUNCTION_NAME)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="local-scheduler-target")
        self._loop.start()
        logger.info("local scheduler started (polling every %.2f s)", self._poll_seconds)

    def stop(self) -> None:
        """Stop polling, then wait for the deliveries in progress (queued ones are dropped)."""
        self._loop.stop(timeout_seconds=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def tick(self) -> int:
        """Deliver everything due now (and retries whose backoff elapsed); returns how many were sent."""
        sent = 0
        for firing in self._scheduler.take_due(self._now()):
            self._submit(target_event(firing), attempt=0)
            sent += 1
        now = time.monotonic()
        with self._retries_lock:
            ready = [retry for retry in self._retries if retry.due_monotonic <= now]
            self._retries = [retry for retry in self._retries if retry.due_monotonic > now]
        for retry in ready:
            self._submit(retry.event, retry.attempt)
            sent += 1
        return sent

    def _scheduled_poll(self) -> bool:
        self.tick()
        # Everything due was taken in this tick: the next firings come due with time, not at once.
        return False

    def _submit(self, event: dict[str, Any], attempt: int) -> None:
        if self._pool is None:
            self.deliver(event, attempt)
        else:
            self._pool.submit(self.deliver, event, attempt)

    def deliver(self, event: dict[str, Any], attempt: int = 0) -> Any:
        """Invoke the target handler once with ``event``; a failure schedules a retry."""
        handler = self._handler
        if handler is None:
            raise RuntimeError("the local scheduler has no target handler; call start() first")
        try:
            result = handler(event, LocalLambdaContext(TARGET_FUNCTION_NAME))
        except Exception:
            if attempt >= self._retry_attempts:
                logger.exception(
                    "local scheduler: delivery %s failed %d times; dropped (AWS would send it to the "
                    "schedule's dead-letter queue)",
                    event,
                    attempt + 1,
                )
                return None
            delay = min(MAX_BACKOFF_SECONDS, 2.0**attempt)
            logger.exception("local scheduler: delivery %s failed; retrying in %.0f s", event, delay)
            with self._retries_lock:
                self._retries.append(_Retry(event, attempt + 1, time.monotonic() + delay))
            return None
        logger.info("local scheduler: fired %s -> %s", event, result)
        return result


def create_local_scheduler_component(runtime: Any) -> LocalSchedulerEmulation | _Inactive:
    """The background component for ``local.runtime``: fires the schedules of ``runtime.services``.

    When the services use EventBridge (``SCHEDULE_TARGET_ARN`` set), AWS fires the schedules and
    this component does nothing.
    """
    services = runtime.services
    scheduler = services.schedules.scheduler
    if not isinstance(scheduler, InMemoryScheduler):
        logger.info("local scheduler inactive: schedules are in EventBridge Scheduler")
        return _Inactive()
    return LocalSchedulerEmulation(scheduler, retry_attempts=runtime.settings.schedules.retry_attempts)


class _Inactive:
    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None
