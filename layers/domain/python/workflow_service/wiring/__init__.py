"""The composition root: the only place adapters are constructed.

One ``Services`` per process (a Lambda container or the local runtime) builds each adapter and
service lazily, the first time a handler needs it, so a handler pays only for what it uses.
Handlers call ``services()``; the local runtime and tests ``install`` their own instance.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from workflow_service.errors import StoreUnavailable
from workflow_service.settings import Settings, load_settings


class Services:
    def __init__(self, settings: Settings, *, database: Any = None, clock: Any = None) -> None:
        self.settings = settings
        if database is not None:
            self.__dict__["database"] = database
        if clock is not None:
            self.__dict__["clock"] = clock

    # -- adapters ---------------------------------------------------------------------------------

    @cached_property
    def clock(self):
        from workflow_service.adapters.clock import SystemClock

        return SystemClock()

    @cached_property
    def secrets(self):
        import boto3

        from workflow_service.adapters.aws.secrets import SecretsManagerReader

        return SecretsManagerReader(boto3.client("secretsmanager"))

    @cached_property
    def database(self):
        from workflow_service.adapters.mongo import store

        settings = self.settings.store
        uri = settings.mongodb_uri
        if uri is None and settings.mongodb_secret_arn:
            uri = self.secrets.read_mongodb_uri(settings.mongodb_secret_arn)
        if uri is None:
            if self.settings.runtime.local_runtime:
                return store.in_memory(settings.database_name)
            raise StoreUnavailable("no database configured: set MONGODB_URI or MONGODB_SECRET_ARN")
        return store.connect(
            uri,
            settings.database_name,
            server_selection_timeout_ms=settings.server_selection_timeout_ms,
            app_name=self.settings.runtime.service_name,
        )

    # -- auth -------------------------------------------------------------------------------------

    @cached_property
    def auth(self):
        from workflow_service.adapters.mongo.auth import MongoApiKeyRepository, MongoTeamRepository
        from workflow_service.auth.service import AuthService

        return AuthService(MongoTeamRepository(self.database), MongoApiKeyRepository(self.database), self.clock)

    # -- workflows --------------------------------------------------------------------------------

    @cached_property
    def workflows(self):
        from workflow_service.adapters.mongo.workflows import MongoVersionRepository, MongoWorkflowRepository
        from workflow_service.workflows.service import WorkflowService

        return WorkflowService(
            MongoWorkflowRepository(self.database, self.clock),
            MongoVersionRepository(self.database, self.clock),
            self.clock,
            deletion_listeners=lambda: self.workflow_deletion_listeners,
        )

    @property
    def workflow_deletion_listeners(self) -> list[Any]:
        """Capabilities owning objects of a workflow, wound down when it is deleted."""
        return [self.schedule_deletion_listener, self.trigger_deletion_listener, self.runs.lifecycle]

    # -- runs ----------------------------------------------------------------------------------------

    @cached_property
    def runs(self):
        from workflow_service.wiring.runs import RunsContainer

        return RunsContainer(self)

    # -- concurrency, dispatch, work queue, reaper (owner: concurrency) ------------------------------

    @cached_property
    def admission(self):
        from workflow_service.adapters.mongo.leases import MongoConcurrencyLimits, MongoLeaseStore
        from workflow_service.concurrency.leases import LeaseAdmission

        return LeaseAdmission(
            MongoLeaseStore(self.database),
            MongoConcurrencyLimits(self.database),
            self.clock,
            default_team_limit=self.settings.concurrency.default_team_max_concurrent_runs,
        )

    @cached_property
    def dispatcher(self):
        from workflow_service.concurrency.dispatcher import FifoDispatcher

        concurrency = self.settings.concurrency
        return FifoDispatcher(
            self.runs.repository,
            self.admission,
            self.work_queue,
            self.clock,
            run_timeout_seconds=self.settings.reaper.heartbeat_timeout_seconds,
            page_size=concurrency.dispatch_page_size,
            max_pages=concurrency.dispatch_max_pages,
        )

    @cached_property
    def work_queue(self):
        """SQS when RUN_WORK_QUEUE_URL is set; in the local runtime otherwise, the in-process queue the
        local worker emulation polls (this very instance)."""
        url = self.settings.concurrency.work_queue_url
        if url is None and self.settings.runtime.local_runtime:
            from workflow_service.adapters.local.work_queue import LocalWorkQueue, create_local_work_queue

            return LocalWorkQueue(create_local_work_queue())
        from workflow_service.adapters.aws.work_queue import SqsWorkQueue

        # Without a URL outside the local runtime, enqueueing fails with a clear 503-class error.
        return SqsWorkQueue(url)

    @cached_property
    def reaper(self):
        from workflow_service.adapters.mongo.leases import MongoLeaseStore
        from workflow_service.reaper.service import StaleRunReaper
        from workflow_service.schedules.reconciliation import ScheduleReconciliation

        counter = getattr(self.database, "counter", None)
        schedules = ScheduleReconciliation(
            self.one_time_schedule_repository,
            self.recurring_schedule_repository,
            self.runs.repository,
            self.schedule_run_listener,
            self.schedule_firing,
            self.clock,
            firing_grace_seconds=self.settings.reaper.schedule_firing_grace_seconds,
        )
        return StaleRunReaper(
            self.runs.repository,
            self.runs.lifecycle,
            MongoLeaseStore(self.database),
            self.dispatcher,
            self.runs.repository,
            self.clock,
            self.settings.reaper,
            schedules=schedules,
            round_trips=(lambda: counter.total) if counter is not None else None,
        )

    @cached_property
    def concurrency_overview(self):
        from workflow_service.adapters.mongo.leases import MongoConcurrencyLimits, MongoLeaseStore
        from workflow_service.concurrency.overview import ConcurrencyOverviewService

        return ConcurrencyOverviewService(
            MongoLeaseStore(self.database),
            MongoConcurrencyLimits(self.database),
            self.runs.repository,
            default_team_limit=self.settings.concurrency.default_team_max_concurrent_runs,
        )

    # -- schedules: one-time, recurring, seed 002 (owner: schedules) --------------------------------

    @cached_property
    def scheduler(self):
        """EventBridge Scheduler; in the local runtime without SCHEDULE_TARGET_ARN, the in-memory one
        that ``local.scheduler_emulation`` fires (it reads this very instance)."""
        settings = self.settings.schedules
        if self.settings.runtime.local_runtime and not settings.target_lambda_arn:
            from workflow_service.adapters.local.scheduler import InMemoryScheduler

            return InMemoryScheduler(settings.group_name, self.clock)
        from workflow_service.adapters.aws.scheduler import EventBridgeScheduler, scheduler_client

        return EventBridgeScheduler(scheduler_client(), settings)

    @cached_property
    def one_time_schedule_repository(self):
        from workflow_service.adapters.mongo.schedules import MongoOneTimeScheduleRepository

        return MongoOneTimeScheduleRepository(self.database, self.clock)

    @cached_property
    def recurring_schedule_repository(self):
        from workflow_service.adapters.mongo.schedules import MongoRecurringScheduleRepository

        return MongoRecurringScheduleRepository(self.database, self.clock)

    @cached_property
    def schedules(self):
        """One-time schedules (the scheduler is built on the first write only)."""
        from workflow_service.schedules.one_time import OneTimeScheduleService

        return OneTimeScheduleService(
            self.one_time_schedule_repository, self.workflows, lambda: self.scheduler, self.clock
        )

    @cached_property
    def recurring_schedules(self):
        from workflow_service.adapters.mongo.schedules import MongoWorkflowNames
        from workflow_service.schedules.recurring import RecurringScheduleService

        return RecurringScheduleService(
            self.recurring_schedule_repository,
            self.workflows,
            MongoWorkflowNames(self.database),
            lambda: self.scheduler,
            self.clock,
        )

    @cached_property
    def schedules_api(self):
        """The camelCase /api/v1/schedules facade over the recurring schedules."""
        from workflow_service.schedules.cron_api import CronScheduleApi

        return CronScheduleApi(self.recurring_schedules)

    @cached_property
    def schedule_firing(self):
        from workflow_service.schedules.firing import ScheduleFiring

        return ScheduleFiring(
            self.one_time_schedule_repository, self.recurring_schedule_repository, self.runs.submission, self.clock
        )

    @cached_property
    def schedule_run_listener(self):
        """A RunFinishedListener: one-time schedule outcomes, recurring history and counters."""
        from workflow_service.schedules.firing import ScheduleRunListener

        return ScheduleRunListener(self.one_time_schedule_repository, self.recurring_schedule_repository, self.clock)

    @cached_property
    def schedule_deletion_listener(self):
        """A WorkflowDeletionListener: cancels pending one-time and deletes recurring schedules."""
        from workflow_service.schedules.workflow_deletion import ScheduleDeletionListener

        return ScheduleDeletionListener(
            self.one_time_schedule_repository, self.recurring_schedule_repository, lambda: self.scheduler
        )

    # -- triggers: SQS and inbound webhooks (owner: triggers) ---------------------------------------

    @cached_property
    def trigger_repository(self):
        from workflow_service.adapters.mongo.triggers import MongoTriggerRepository

        return MongoTriggerRepository(self.database, self.clock)

    @cached_property
    def triggers(self):
        """Trigger management (no run machinery, so the CRUD functions stay light)."""
        from workflow_service.triggers.service import TriggerService

        return TriggerService(self.trigger_repository, self.workflows, self.clock)

    @cached_property
    def inbound_triggers(self):
        """Webhook calls and trigger-queue messages -> runs."""
        from workflow_service.triggers.inbound import InboundTriggers

        return InboundTriggers(self.trigger_repository, self.runs.submission, self.clock, self.settings.triggers)

    @cached_property
    def trigger_deletion_listener(self):
        from workflow_service.triggers.service import TriggerDeletionListener

        return TriggerDeletionListener(self.trigger_repository)

    @cached_property
    def trigger_queue(self):
        """The local runtime's in-process trigger queue. In AWS producers send to SQS directly and the
        service only consumes it (the event source mapping), so nothing deployed uses this."""
        if not self.settings.runtime.local_runtime:
            raise RuntimeError("the in-process trigger queue exists only in the local runtime")
        from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

        # max_receive_count matches the deployed redrive policy; a shorter visibility timeout than
        # AWS's makes a failed message's redelivery (and its trip to the DLQ) visible within a minute.
        return LocalSqsQueue("workflow-trigger-queue", visibility_timeout_seconds=10, max_receive_count=5)


_services: Services | None = None


def services() -> Services:
    """This process's services, built from the environment on first use."""
    global _services
    if _services is None:
        _services = Services(load_settings())
    return _services


def install(instance: Services | None) -> None:
    """Use ``instance`` for this process (local runtime, tests); None resets to the environment."""
    global _services
    _services = instance
