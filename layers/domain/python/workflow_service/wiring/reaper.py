"""The stale-run reaper: fails hung runs, reconciles leases and schedules, dispatches queues."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class ReaperContainer:
    def __init__(self, services: Services) -> None:
        self._services = services

    @cached_property
    def service(self):
        from workflow_service.reaper.service import StaleRunReaper

        services = self._services
        counter = getattr(services.core.database, "counter", None)
        return StaleRunReaper(
            services.runs.repository,
            services.runs.lifecycle,
            services.concurrency.lease_store,
            services.concurrency.dispatcher,
            services.runs.repository,
            services.core.clock,
            services.settings.reaper,
            schedules=services.schedules.reconciliation,
            round_trips=(lambda: counter.total) if counter is not None else None,
            metrics=services.core.metrics,
            restorer=services.concurrency.admission,
            webhook_deliveries=services.webhooks.due_deliveries,
            webhook_outboxes=(services.webhooks.run_outbox, services.webhooks.workflow_outbox),
            workflow_deletions=services.workflows.abandoned_deletions,
            cursors=services.schedules.sweep_cursors,
            work_queue=services.concurrency.work_queue,
        )
