"""Schedules: one-time and recurring (cron) schedules, the camelCase cron API, firing, run outcomes,
workflow deletion and the reaper's reconciliation, all over one scheduler."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class SchedulesContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core
        self._settings = services.settings

    @cached_property
    def one_time(self):
        """One-time schedules (the scheduler is built on the first write only)."""
        from workflow_service.schedules.one_time import OneTimeScheduleService

        return OneTimeScheduleService(
            self.one_time_repository, self._services.workflows.reads, lambda: self.scheduler, self._core.clock
        )

    @cached_property
    def recurring(self):
        from workflow_service.adapters.mongo.schedules import MongoWorkflowNames
        from workflow_service.schedules.recurring import RecurringScheduleService

        return RecurringScheduleService(
            self.recurring_repository,
            self._services.workflows.reads,
            MongoWorkflowNames(self._core.database),
            lambda: self.scheduler,
            self._core.clock,
        )

    @cached_property
    def cron_api(self):
        """The camelCase /api/v1/schedules facade over the recurring schedules."""
        from workflow_service.schedules.cron_api import CronScheduleApi

        return CronScheduleApi(self.recurring, self.backfill)

    @cached_property
    def firing(self):
        from workflow_service.schedules.firing import ScheduleFiring

        return ScheduleFiring(
            self.one_time_repository,
            self.recurring_repository,
            self._services.runs.submission,
            self._core.clock,
            metrics=self._core.metrics,
            overlap=lambda: self.overlap,
        )

    @cached_property
    def overlap(self):
        """Recurring schedules' overlap policies (firings, run ends and the reaper's repairs)."""
        from workflow_service.adapters.mongo.schedule_overlap import MongoOverlapState
        from workflow_service.schedules.overlap import ScheduleOverlap
        from workflow_service.schedules.recurring_runs import RecurringRunStarter

        return ScheduleOverlap(
            self.recurring_repository,
            MongoOverlapState(self._core.database),
            self._services.runs.repository,
            RecurringRunStarter(self.recurring_repository, self._services.runs.submission),
            lambda: self._services.runs.lifecycle.cancel_run,
            self._core.clock,
            grace=timedelta(seconds=self._settings.reaper.schedule_firing_grace_seconds),
        )

    @cached_property
    def backfill(self):
        """Backfill of a recurring schedule's past occurrences."""
        from workflow_service.schedules.backfill import BackfillService
        from workflow_service.schedules.recurring_runs import RecurringRunStarter

        return BackfillService(
            self.recurring_repository,
            RecurringRunStarter(self.recurring_repository, self._services.runs.submission),
            self._core.clock,
        )

    @cached_property
    def run_listener(self):
        """A RunFinishedListener: one-time schedule outcomes, recurring history and counters."""
        from workflow_service.schedules.firing import ScheduleRunListener

        return ScheduleRunListener(
            self.one_time_repository, self.recurring_repository, self._core.clock, overlap=lambda: self.overlap
        )

    @cached_property
    def deletion_listener(self):
        """A WorkflowDeletionListener: cancels pending one-time and deletes recurring schedules."""
        from workflow_service.schedules.workflow_deletion import ScheduleDeletionListener

        return ScheduleDeletionListener(self.one_time_repository, self.recurring_repository, lambda: self.scheduler)

    @cached_property
    def sweep_cursors(self):
        """Where the reaper's bounded sweeps stopped, kept between passes in ``reconciler_state``."""
        from workflow_service.adapters.mongo.schedule_generations import MongoReconcilerState
        from workflow_service.reaper.cursors import SweepCursors

        return SweepCursors(MongoReconcilerState(self._core.database))

    @cached_property
    def reconciliation(self):
        """The reaper's sweep converging schedules with their runs."""
        from workflow_service.adapters.mongo.schedule_generations import MongoReconcilerState
        from workflow_service.schedules.aws_convergence import AwsConvergence
        from workflow_service.schedules.reconciliation import ScheduleReconciliation

        reaper = self._settings.reaper
        aws = AwsConvergence(
            self.one_time_repository,
            self.recurring_repository,
            lambda: self.scheduler,
            self.firing,
            MongoReconcilerState(self._core.database),
            self._core.clock,
            push_grace_seconds=reaper.schedule_push_grace_seconds,
            listing_interval_seconds=reaper.schedule_listing_interval_seconds,
        )
        return ScheduleReconciliation(
            self.one_time_repository,
            self.recurring_repository,
            self._services.runs.repository,
            self.run_listener,
            self.firing,
            self._core.clock,
            firing_grace_seconds=reaper.schedule_firing_grace_seconds,
            aws=aws,
            overlap=self.overlap,
            cursors=self.sweep_cursors,
        )

    @cached_property
    def scheduler(self):
        """EventBridge Scheduler; in the local runtime without SCHEDULE_TARGET_ARN, the in-memory one
        that ``local.scheduler_emulation`` fires (it reads this very instance)."""
        settings = self._settings.schedules
        if self._settings.runtime.local_runtime and not settings.target_lambda_arn:
            from workflow_service.adapters.local.scheduler import InMemoryScheduler
            from workflow_service.models.dst import FallBack

            fall_back = FallBack(self._settings.runtime.local_scheduler_fall_back)
            return InMemoryScheduler(settings.group_name, self._core.clock, fall_back=fall_back)
        from workflow_service.adapters.aws.scheduler import EventBridgeScheduler, scheduler_client

        return EventBridgeScheduler(scheduler_client(), settings)

    @cached_property
    def one_time_repository(self):
        from workflow_service.adapters.mongo.schedules import MongoOneTimeScheduleRepository

        return MongoOneTimeScheduleRepository(self._core.database, self._core.clock)

    @cached_property
    def recurring_repository(self):
        from workflow_service.adapters.mongo.schedules import MongoRecurringScheduleRepository

        return MongoRecurringScheduleRepository(
            self._core.database, self._core.clock, removal_window_seconds=self._settings.dedupe.window_seconds
        )
