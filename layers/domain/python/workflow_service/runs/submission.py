"""Runs that queue for a concurrency slot: POST /workflow-runs (seed 001), schedules, SQS and webhooks.

A submitted run is stored ``not_started`` with a ``queued_at`` and its input, then the team's queue
is dispatched: a run admitted at once executes its first turn inline (``start``) or on the worker
(``run_first_turn``); otherwise it waits, and its queue position is visible.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import Conflict, FieldProblem, IllegalTransition, NotFound, ValidationFailed
from workflow_service.models.runs import RunCommand, RunStatus, RunTrigger, WorkflowRunInput, WorkflowRunsModel
from workflow_service.ports.errors import DuplicateKey
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.runs.metrics import record_run_started
from workflow_service.runs.shared import new_run
from workflow_service.runs.transitions import Transition

if TYPE_CHECKING:
    from workflow_service.models.common import Caller
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import RunDispatcher
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.runs import RunRepository
    from workflow_service.runs.queries import RunQueries
    from workflow_service.runs.shared import RunTimeouts, RunVersions
    from workflow_service.runs.turns import TurnRunner

logger = logging.getLogger(__name__)


class RunSubmission:
    """Starts runs through the queue (a ``RunSubmitter``), resumes them, and runs an admitted run's first turn."""

    def __init__(
        self,
        runs: RunRepository,
        versions: RunVersions,
        dispatcher: RunDispatcher,
        turns: TurnRunner,
        queries: RunQueries,
        clock: Clock,
        timeouts: RunTimeouts,
        metrics: Metrics = DISCARDED_METRICS,
    ) -> None:
        self._runs = runs
        self._metrics = metrics
        self._versions = versions
        self._dispatcher = dispatcher
        self._turns = turns
        self._queries = queries
        self._clock = clock
        self._timeouts = timeouts

    def start_or_resume(self, caller: Caller, run_input: WorkflowRunInput) -> WorkflowRunsModel:
        """``start`` queues for a slot (running at once when one is free); other commands act on a run."""
        if run_input.command is RunCommand.START:
            if run_input.workflow_id is None:
                raise ValidationFailed(
                    FieldProblem(("body", "workflow_id"), "workflow_id is required to start", "missing")
                )
            return self.submit(
                caller, run_input.workflow_id, run_input.version_number, run_input, RunTrigger(), run_inline=True
            )
        if run_input.workflow_run_id is None:
            raise ValidationFailed(
                FieldProblem(
                    ("body", "workflow_run_id"),
                    f"workflow_run_id is required for command '{run_input.command.value}'",
                    "missing",
                )
            )
        return self._with_position(self._turns.apply(caller.team_id, run_input.workflow_run_id, run_input).run)

    def submit(
        self,
        caller: Caller,
        workflow_id: str,
        version_number: int | None,
        run_input: WorkflowRunInput,
        trigger: RunTrigger,
        *,
        dedupe_key: str | None = None,
        run_inline: bool = False,
    ) -> WorkflowRunsModel:
        """Queue a run for a slot, then dispatch the team's queue. A reused ``dedupe_key`` returns the
        existing run instead of making a second one."""
        if dedupe_key is not None and (existing := self._runs.find_by_dedupe_key(dedupe_key)) is not None:
            return self._with_position(existing)
        version = self._versions.for_new_run(caller.team_id, workflow_id, version_number, run_input)
        now = self._clock.now()
        run = new_run(caller, version, run_input, trigger, RunStatus.NOT_STARTED, now)
        run.workflow_run.queued_at = now
        run.workflow_run.queue_deadline_at = now + timedelta(seconds=self._timeouts.queue_ttl_seconds)
        pending = run_input.model_copy(update={"command": RunCommand.START}).model_dump(mode="json")
        try:
            self._runs.insert(run, pending_input=pending, dedupe_key=dedupe_key)
        except DuplicateKey:
            existing = self._runs.find_by_dedupe_key(dedupe_key or "")
            if existing is None:
                raise
            return self._with_position(existing)
        record_run_started(self._metrics, run, "queued")
        admitted = self._dispatcher.dispatch(caller.team_id, run_inline=run.id if run_inline else None)
        if run_inline and run.id in admitted:
            return self._turns.take(caller.team_id, run.id, Transition.START, None).run
        return self._with_position(self._internal(run.stored_id))

    def run_first_turn(self, run_id: str) -> WorkflowRunsModel | None:
        """Execute the first turn of an admitted run (the worker's job); None if it is not ``started``
        any more (a duplicate delivery, or the run was stopped or paused meanwhile)."""
        try:
            return self._turns.take(None, run_id, Transition.START, None).run
        except (IllegalTransition, Conflict, NotFound) as refused:
            logger.info("run %s: first turn not executed: %s", run_id, refused.message)
            return None

    def _with_position(self, run: WorkflowRunsModel | None) -> WorkflowRunsModel:
        if run is None:
            raise NotFound("workflow run", "")
        return self._queries.with_queue_position(run)

    def _internal(self, run_id: str) -> WorkflowRunsModel:
        run = self._runs.get(None, run_id)
        if run is None:
            raise NotFound("workflow run", run_id)
        return run
