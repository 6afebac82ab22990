"""Runs: the run repository and reads, the engine with its LLM and HTTP ports, and one object per
run use case (turns, submission, lifecycle, comments)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_service.wiring import Services

REMOVED_RUN_SOURCE = "removed_workflow_run"


class RunsContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core
        self._settings = services.settings

    @cached_property
    def repository(self):
        from workflow_service.adapters.mongo.runs import MongoRunRepository

        return MongoRunRepository(self._core.database, self._core.clock)

    @cached_property
    def queries(self):
        """Run reads only: read endpoints wire neither the engine nor concurrency."""
        from workflow_service.runs.queries import RunQueries

        return RunQueries(self.repository, self._core.clock)

    @cached_property
    def turns(self):
        """The execute API (seed 003)."""
        from workflow_service.runs.turns import InteractiveTurns

        return InteractiveTurns(
            self.repository,
            self.versions,
            self.slots,
            self.turn_runner,
            self._core.clock,
            self.timeouts,
            metrics=self._core.metrics,
            webhooks=self._services.webhooks.run_outbox,
        )

    @cached_property
    def submission(self):
        """POST /workflow-runs and every asynchronous start (schedules, SQS, webhooks); the worker's first turn."""
        from workflow_service.runs.submission import RunSubmission
        from workflow_service.wiring.core import Deferred

        return RunSubmission(
            self.repository,
            self.versions,
            self._services.concurrency.dispatcher,
            # Only a start that runs its first turn here needs the engine; queued starts never load it.
            Deferred(lambda: self.turn_runner),
            self.queries,
            self._core.clock,
            self.timeouts,
            self._core.dedupe_records,
            metrics=self._core.metrics,
            dedupe_windows=self.dedupe_windows,
            removals=self.removals,
        )

    @cached_property
    def dedupe_windows(self):
        """Webhook ids are remembered for at least twice the signature tolerance: a replay inside the
        tolerance must always find its record, whatever the clocks' skew."""
        from workflow_service.ports.dedupe import DedupeWindows

        window = self._settings.dedupe.window_seconds
        webhook = max(window, 2 * self._settings.triggers.webhook_tolerance_seconds)
        return DedupeWindows(default_seconds=window, by_source={"webhook": webhook})

    @cached_property
    def lifecycle(self):
        from workflow_service.runs.lifecycle import RunLifecycle

        return RunLifecycle(
            self.repository,
            self.queries,
            self._services.concurrency.admission,
            self._services.concurrency.dispatcher,
            self._core.clock,
            listeners=lambda: self.finished_listeners,
            pause_ttl=self.timeouts.pause_ttl(),
            webhooks=self._services.webhooks.run_outbox,
            dedupe=self._core.dedupe_records,
            removals=self.removals,
        )

    @cached_property
    def removals(self):
        """Deleted runs, remembered for as long as the Idempotency-Key that may have made one."""
        from workflow_service.ports.dedupe import Removals

        return Removals(
            self._core.dedupe_records, self._core.clock, REMOVED_RUN_SOURCE, self._settings.dedupe.window_seconds
        )

    @cached_property
    def comments(self):
        from workflow_service.runs.comments import RunComments

        return RunComments(self.repository, self.queries, self._core.clock)

    @property
    def finished_listeners(self) -> list[Any]:
        """Capabilities told when a run ends (schedules record outcomes and history)."""
        return [self._services.schedules.run_listener, self.metrics_listener]

    @cached_property
    def metrics_listener(self):
        from workflow_service.runs.metrics import RunMetricsListener

        return RunMetricsListener(self._core.metrics)

    # -- what the use cases share ------------------------------------------------------------------

    @cached_property
    def turn_runner(self):
        from workflow_service.runs.turns import TurnRunner

        return TurnRunner(
            self.repository,
            self.engine,
            self.versions,
            self.slots,
            self.lifecycle,
            self._core.clock,
            self.timeouts,
            metrics=self._core.metrics,
            guard=self.side_effect_guard,
            webhooks=self._services.webhooks.run_outbox,
        )

    @cached_property
    def timeouts(self):
        from workflow_service.runs.shared import RunTimeouts

        return RunTimeouts(
            run_timeout_seconds=self._settings.reaper.heartbeat_timeout_seconds,
            input_timeout_seconds=self._settings.reaper.input_timeout_seconds,
            queue_ttl_seconds=self._settings.reaper.queue_ttl_seconds,
            heartbeat_interval_seconds=self._settings.engine.heartbeat_interval_seconds,
            retry_after_seconds=self._settings.concurrency.retry_after_seconds,
            pause_ttl_seconds=self._settings.reaper.pause_ttl_seconds,
            turn_time_budget_seconds=self._settings.engine.turn_time_budget_seconds,
            turn_time_margin_seconds=self._settings.engine.turn_time_margin_seconds,
        )

    @cached_property
    def versions(self):
        from workflow_service.runs.shared import RunVersions, VersionCache

        return RunVersions(self._services.workflows.reads, VersionCache(self._settings.engine.version_cache_size))

    @cached_property
    def slots(self):
        from workflow_service.runs.shared import Slots

        concurrency = self._services.concurrency
        return Slots(concurrency.admission, self._settings.concurrency.retry_after_seconds, concurrency.dispatch_team)

    # -- the engine and the ports it calls through --------------------------------------------------

    @cached_property
    def engine(self):
        from workflow_service.engine import WorkflowEngine
        from workflow_service.runs.side_effects import GuardedHttp, GuardedLlm

        max_steps = self._settings.engine.max_steps_per_turn
        # The engine calls out only through ports the turn runner can veto once its run was stopped.
        guard = self.side_effect_guard
        llm, http = GuardedLlm(self.llm, guard), GuardedHttp(self.deferred_http, guard)
        return WorkflowEngine(llm, http, self._core.clock, max_steps_per_turn=max_steps)

    @cached_property
    def side_effect_guard(self):
        from workflow_service.runs.side_effects import SideEffectGuard

        return SideEffectGuard()

    @cached_property
    def llm(self):
        from workflow_service.adapters.llm.gateway import ProviderRoutingLlmGateway

        settings = self._settings.llm
        return ProviderRoutingLlmGateway(
            settings, self._core.secrets if settings.reads_secrets else None, guarded_http=self.deferred_http
        )

    @cached_property
    def deferred_http(self):
        """``http_client``, built on the first outbound call: a turn without an HTTP node, a tool call or
        a config-URL LLM never imports the SSRF-guarded client and its address policy."""
        from workflow_service.wiring.core import Deferred

        return Deferred(lambda: self.http_client)

    @cached_property
    def http_client(self):
        from workflow_service.adapters.http.outbound import UrllibHttpClient

        return UrllibHttpClient(self._settings.http_node)
