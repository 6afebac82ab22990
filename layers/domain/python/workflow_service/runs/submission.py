"""Runs that queue for a concurrency slot: POST /workflow-runs (seed 001), schedules, SQS and webhooks.

A submitted run is stored ``not_started`` with a ``queued_at`` and its input, then the team's queue
is dispatched: a run admitted at once executes its first turn inline (``start``) or on the worker
(``run_first_turn``); otherwise it waits, and its queue position is visible.

A run submitted with a dedupe key (``<source>:<key>``: a webhook id, an SQS message id or
idempotency key, a schedule firing) is made at most once per key, even after it is deleted, with
single-document writes only:

1. reserve the key's dedupe record with a pre-generated run id (or read the record that holds it);
2. insert the run with exactly that id: a retry after a crash between 1 and 2 finds the record and
   inserts the same run, and a duplicate id means the run exists;
3. mark the record ``created``.

A record that says ``created`` but whose run is gone means the run was deleted: the duplicate makes
no run and raises ``AlreadyProcessed``. Deleting a run marks its record ``created`` first, so this holds
even when the delivery that made it died between 2 and 3. The run's own unique ``dedupe_key`` stays as a second line
of defence, for runs made while no record existed (before records, or after one expired).

A start with an ``Idempotency-Key`` (its record is the key's, ``workflow_service.idempotency``) gets
the run id the key reserved: a retry whose first answer was never stored returns the run with that
id, or makes it (a crash before the insert), unless the run was deleted since: deleting a run
remembers its removal first (``ports.dedupe.Removals``), and the retry then answers ``DeletedSince``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import Conflict, FieldProblem, IllegalTransition, NotFound, ValidationFailed
from workflow_service.models.common import new_object_id
from workflow_service.models.runs import RunCommand, RunStatus, RunTrigger, WorkflowRunInput, WorkflowRunsModel
from workflow_service.ports.dedupe import AlreadyProcessed, DedupeWindows, DeletedSince
from workflow_service.ports.errors import DuplicateKey
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.runs.metrics import record_run_started
from workflow_service.runs.shared import new_run
from workflow_service.runs.transitions import Transition

if TYPE_CHECKING:
    from workflow_service.models.common import Caller
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import RunDispatcher
    from workflow_service.ports.dedupe import DedupeRecord, DedupeRecords, Removals
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
        dedupe: DedupeRecords,
        metrics: Metrics = DISCARDED_METRICS,
        dedupe_windows: DedupeWindows | None = None,
        removals: Removals | None = None,
    ) -> None:
        """``removals``: the deleted runs ``RunLifecycle.delete`` remembers, which a retried keyed start
        must not make again."""
        self._runs = runs
        self._removals = removals
        self._dedupe = dedupe
        self._dedupe_windows = dedupe_windows or DedupeWindows()
        self._metrics = metrics
        self._versions = versions
        self._dispatcher = dispatcher
        self._turns = turns
        self._queries = queries
        self._clock = clock
        self._timeouts = timeouts

    def start_or_resume(
        self, caller: Caller, run_input: WorkflowRunInput, *, run_id: str | None = None, retried: bool = False
    ) -> WorkflowRunsModel:
        """``start`` queues for a slot (running at once when one is free); other commands act on a run.

        ``run_id`` (an idempotent request's reserved id) is the id a started run gets; when the caller's
        run with that id exists, it is returned instead (a retry after a crash). For another command it is
        the command's id: a run whose last committed turn carried it is returned as it is.
        ``retried``: an earlier request reserved ``run_id`` (a retry of a start whose answer was never
        stored); raises DeletedSince (409) when that request's run was deleted since.
        """
        if run_input.command is RunCommand.START:
            if run_input.workflow_id is None:
                raise ValidationFailed(
                    FieldProblem(("body", "workflow_id"), "workflow_id is required to start", "missing")
                )
            if run_id is not None and (existing := self._runs.get(caller.team_id, run_id)) is not None:
                return self._with_position(existing)
            # No run with the reserved id: never inserted (a crash before the insert: make it now), or
            # deleted since (making it again would undo the user's delete). Only a retry can tell, and
            # asks: a first request's id is fresh. Read after the run, which goes only after its removal
            # is remembered, so a delete racing this retry is seen one way or the other.
            if retried and run_id is not None and self._removals is not None and self._removals.was_removed(run_id):
                raise DeletedSince("workflow run", run_id, "start another")
            return self.submit(
                caller,
                run_input.workflow_id,
                run_input.version_number,
                run_input,
                RunTrigger(),
                run_inline=True,
                run_id=run_id,
            )
        if run_input.workflow_run_id is None:
            raise ValidationFailed(
                FieldProblem(
                    ("body", "workflow_run_id"),
                    f"workflow_run_id is required for command '{run_input.command.value}'",
                    "missing",
                )
            )
        if run_id is not None:
            current = self._runs.get(caller.team_id, run_input.workflow_run_id)
            if current is not None and current.workflow_run.last_command_id == run_id:
                # This command's turn committed but its answer was never stored (a crash): not applied again.
                return self._with_position(current)
        outcome = self._turns.apply(caller.team_id, run_input.workflow_run_id, run_input, command_id=run_id)
        return self._with_position(outcome.run)

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
        run_id: str | None = None,
    ) -> WorkflowRunsModel:
        """Queue a run (with id ``run_id`` when given) for a slot, then dispatch the team's queue.

        A reused ``dedupe_key`` returns the run it made instead of making a second one; raises
        ``AlreadyProcessed`` when that run was deleted since (see the module docstring).
        """
        run_id = run_id or new_object_id()
        record: DedupeRecord | None = None
        if dedupe_key is not None:
            record = self._reserve(dedupe_key, run_id)
            if record.target_id != run_id:
                if (earlier := self._runs.get(None, record.target_id)) is not None:
                    self._mark_created(record)  # repairs a crash between the run's insert and the mark
                    return self._with_position(earlier)
                if record.created:
                    raise AlreadyProcessed(record.source, record.key, record.target_id)
                # Reserved, but the run was never inserted (a crash, or a delivery still under way): make it
                # with the reserved id, so both attempts converge on one run.
                run_id = record.target_id
        version = self._versions.for_new_run(caller.team_id, workflow_id, version_number, run_input)
        now = self._clock.now()
        run = new_run(caller, version, run_input, trigger, RunStatus.NOT_STARTED, now).model_copy(update={"id": run_id})
        run.workflow_run.queued_at = now
        run.workflow_run.queue_deadline_at = now + timedelta(seconds=self._timeouts.queue_ttl_seconds)
        pending = run_input.model_copy(update={"command": RunCommand.START}).model_dump(mode="json")
        try:
            self._runs.insert(run, pending_input=pending, dedupe_key=dedupe_key)
        except DuplicateKey:
            # The same id (a concurrent attempt on the same record) or the same run dedupe key (a run
            # made while no record existed): either way the run exists.
            existing = self._runs.get(None, run_id) or self._runs.find_by_dedupe_key(dedupe_key or "")
            if existing is None:
                raise
            if record is not None and existing.id == record.target_id:
                self._mark_created(record)
            elif record is not None:
                self._dedupe.release(record.source, record.key, record.target_id)
            return self._with_position(existing)
        if record is not None:
            self._mark_created(record)
        record_run_started(self._metrics, run, "queued")
        admitted = self._dispatcher.dispatch(caller.team_id, run_inline=run.id if run_inline else None)
        if run_inline and run.id in admitted:
            return self._turns.take(caller.team_id, run.id, Transition.START, None).run
        return self._with_position(self._internal(run.stored_id))

    def _reserve(self, dedupe_key: str, run_id: str) -> DedupeRecord:
        source, _, key = dedupe_key.partition(":")
        now = self._clock.now()
        expires_at = now + timedelta(seconds=self._dedupe_windows.seconds_for(source))
        return self._dedupe.reserve(source, key, run_id, now=now, expires_at=expires_at)

    def _mark_created(self, record: DedupeRecord) -> None:
        if not record.created:
            self._dedupe.mark_created(record.source, record.key, record.target_id)

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
