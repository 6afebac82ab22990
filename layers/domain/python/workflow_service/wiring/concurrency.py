"""Concurrency: slot leases and limits, the FIFO dispatcher, the run-work queue, the overview."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class ConcurrencyContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core
        self._settings = services.settings.concurrency

    @cached_property
    def admission(self):
        from workflow_service.concurrency.leases import LeaseAdmission

        return LeaseAdmission(
            self.lease_store,
            self.limits,
            self._core.clock,
            default_team_limit=self._settings.default_team_max_concurrent_runs,
            metrics=self._core.metrics,
        )

    @property
    def dispatch_team(self) -> Callable[[str], None]:
        """``FifoDispatcher.dispatch_after_freeing``, the dispatcher built on the first call."""
        return lambda team_id: self.dispatcher.dispatch_after_freeing(team_id)

    @cached_property
    def dispatcher(self):
        from workflow_service.concurrency.dispatcher import FifoDispatcher

        return FifoDispatcher(
            self._services.runs.repository,
            self.admission,
            self.work_queue,
            self._core.clock,
            run_timeout_seconds=self._services.settings.reaper.heartbeat_timeout_seconds,
            max_workflows=self._settings.dispatch_max_workflows,
            max_runs=self._settings.dispatch_max_runs,
            metrics=self._core.metrics,
            webhooks=self._services.webhooks.run_outbox,
        )

    @cached_property
    def work_queue(self):
        """SQS when RUN_WORK_QUEUE_URL is set; in the local runtime otherwise, the in-process queue the
        local worker emulation polls (this very instance)."""
        url = self._settings.work_queue_url
        if url is None and self._services.settings.runtime.local_runtime:
            from workflow_service.adapters.local.work_queue import LocalWorkQueue, create_local_work_queue

            return LocalWorkQueue(create_local_work_queue())
        from workflow_service.adapters.aws.work_queue import SqsWorkQueue

        # Without a URL outside the local runtime, enqueueing fails with a clear 503-class error.
        return SqsWorkQueue(url)

    @cached_property
    def overview(self):
        from workflow_service.concurrency.overview import ConcurrencyOverviewService

        return ConcurrencyOverviewService(
            self.lease_store,
            self.limits,
            self._services.runs.repository,
            default_team_limit=self._settings.default_team_max_concurrent_runs,
        )

    @cached_property
    def lease_store(self):
        from workflow_service.adapters.mongo.leases import MongoLeaseStore

        return MongoLeaseStore(self._core.database)

    @cached_property
    def limits(self):
        from workflow_service.adapters.mongo.leases import MongoConcurrencyLimits

        return MongoConcurrencyLimits(self._core.database)
