"""Workflow runs: interactive turns, asynchronous starts, and the run lifecycle.

A turn is claimed before it executes: one conditional update moves the run to ``running`` and
records a claim token, so two concurrent turns cannot both execute (the loser gets 409) and LLM
and HTTP side effects happen once. The result is committed with a second conditional update on
that token; if the run was stopped or reaped meanwhile, the result is discarded. Every status
change is checked against ``runs.transitions``.

Concurrency slots go through the ``Admission`` port; a run releases its slot when it pauses or
ends (``finalize``), which also tells listeners (schedules) and dispatches queued runs.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from workflow_service.engine import TurnResult, WorkflowEngine, merge_llm_usage
from workflow_service.errors import (
    Conflict,
    FieldProblem,
    IllegalTransition,
    NoSlotAvailable,
    NoSlotDetails,
    NotFound,
    Unstorable,
    ValidationFailed,
)
from workflow_service.models.common import audit_fields
from workflow_service.models.runs import (
    SLOT_HOLDING_STATUSES,
    TERMINAL_STATUSES,
    ExecuteWorkflowResponse,
    RunCommand,
    RunStatus,
    RunTrigger,
    TerminationSource,
    WorkflowRun,
    WorkflowRunInput,
    WorkflowRunsModel,
)
from workflow_service.ports.errors import DuplicateKey
from workflow_service.runs.queries import RunQueries
from workflow_service.runs.transitions import Transition, check, sources

if TYPE_CHECKING:
    from workflow_service.models.workflows import WorkflowVersion
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import Admission, RunDispatcher
    from workflow_service.ports.runs import RunFinishedListener, RunRepository, TurnClaim
    from workflow_service.workflows.service import WorkflowService

logger = logging.getLogger(__name__)

_COMMAND_TRANSITION = {
    RunCommand.START: Transition.START,
    RunCommand.DATA: Transition.DATA,
    RunCommand.RESUME: Transition.RESUME,
    RunCommand.PAUSE: Transition.PAUSE,
    RunCommand.STOP: Transition.STOP,
}
# Deadlines that stop applying once a run leaves the status they guard.
_DEADLINES = ["heartbeat_deadline_at", "input_deadline_at", "queue_deadline_at", "queued_at"]


def check_start_node(version: WorkflowVersion, run_input: WorkflowRunInput) -> None:
    """A run asked to start at a node must name a node of its version (422 before anything is written)."""
    wanted = run_input.start_node_logical_id
    if wanted and wanted not in {node.logical_id for node in version.workflow_config.nodes}:
        raise ValidationFailed(
            FieldProblem(
                ("body", "run_input", "start_node_logical_id"),
                f"version {version.version_number} has no node '{wanted}'",
                "value_error",
                wanted,
            )
        )


@dataclass(frozen=True)
class RunTimeouts:
    run_timeout_seconds: int
    input_timeout_seconds: int
    queue_ttl_seconds: int
    heartbeat_interval_seconds: float
    retry_after_seconds: int


class VersionCache:
    """Versions by (workflow id, number), per container. A version's config never changes after it
    is written (new configs are new versions), so entries never go stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, int], WorkflowVersion] = OrderedDict()

    def get(self, workflow_id: str, number: int) -> WorkflowVersion | None:
        version = self._entries.get((workflow_id, number))
        if version is not None:
            self._entries.move_to_end((workflow_id, number))
        return version

    def put(self, version: WorkflowVersion) -> None:
        if self._size == 0:
            return
        self._entries[(version.workflow_id, version.version_number)] = version
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


@dataclass
class TurnOutcome:
    run: WorkflowRunsModel
    events: list[dict[str, Any]]


class RunService:
    """Starts, advances, stops and reads workflow runs."""

    def __init__(
        self,
        runs: RunRepository,
        workflows: WorkflowService,
        engine: WorkflowEngine,
        admission: Admission,
        dispatcher: RunDispatcher,
        clock: Clock,
        timeouts: RunTimeouts,
        version_cache: VersionCache,
        listeners: Callable[[], Sequence[RunFinishedListener]] = tuple,
    ) -> None:
        """``listeners`` is called when a run first ends: read-only handlers never build them."""
        self._runs = runs
        self._workflows = workflows
        self._engine = engine
        self._admission = admission
        self._dispatcher = dispatcher
        self._clock = clock
        self._timeouts = timeouts
        self._versions = version_cache
        self._listeners = listeners
        self._queries = RunQueries(runs, clock)

    # -- interactive: POST /workflows/{id}/execute ------------------------------------------------

    def execute(
        self,
        team_id: str,
        user_id: str,
        workflow_id: str,
        run_input: WorkflowRunInput,
        run_id: str | None,
        version: int | None,
    ) -> ExecuteWorkflowResponse:
        """One turn of seed 003's protocol. The first turn (no run_id) needs a free slot: 429 otherwise."""
        if run_id is None:
            if run_input.command is not RunCommand.START:
                raise ValidationFailed(
                    FieldProblem(
                        ("body", "run_id"), f"run_id is required for command '{run_input.command.value}'", "missing"
                    )
                )
            number = version if version is not None else run_input.version_number
            run = self._create_admitted(team_id, user_id, workflow_id, number, run_input)
            outcome = self._turn(team_id, run.id, Transition.START, run_input)
        else:
            # The run must be this workflow's: a condition of the write itself, not a read before it.
            outcome = self._command(team_id, run_id, run_input, where={"workflow_id": workflow_id})
        return self._execute_response(outcome)

    # -- interactive: POST /workflow-runs (seed 001) ----------------------------------------------

    def start_or_resume(self, team_id: str, user_id: str, run_input: WorkflowRunInput) -> WorkflowRunsModel:
        """``start`` queues for a slot (running at once when one is free); other commands act on a run."""
        if run_input.command is RunCommand.START:
            if run_input.workflow_id is None:
                raise ValidationFailed(
                    FieldProblem(("body", "workflow_id"), "workflow_id is required to start", "missing")
                )
            return self.submit(
                team_id,
                user_id,
                run_input.workflow_id,
                run_input.version_number,
                run_input,
                RunTrigger(),
                run_inline=True,
            )
        if run_input.workflow_run_id is None:
            raise ValidationFailed(
                FieldProblem(
                    ("body", "workflow_run_id"),
                    f"workflow_run_id is required for command '{run_input.command.value}'",
                    "missing",
                )
            )
        return self._with_position(self._command(team_id, run_input.workflow_run_id, run_input).run)

    # -- asynchronous starts (schedules, SQS, webhooks) --------------------------------------------

    def submit(
        self,
        team_id: str,
        user_id: str,
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
        version = self._workflows.get_version(team_id, workflow_id, version_number)
        check_start_node(version, run_input)
        now = self._clock.now()
        run = self._new_run(team_id, user_id, version, run_input, trigger, RunStatus.NOT_STARTED, now)
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
        admitted = self._dispatcher.dispatch(team_id, run_inline=run.id if run_inline else None)
        if run_inline and run.id in admitted:
            return self._turn(team_id, run.id, Transition.START, None).run
        return self._with_position(self._internal(run.id))

    def run_first_turn(self, run_id: str) -> WorkflowRunsModel | None:
        """Execute the first turn of an admitted run (the worker's job); None if it is not ``started``
        any more (a duplicate delivery, or the run was stopped or paused meanwhile)."""
        try:
            return self._turn(None, run_id, Transition.START, None).run
        except (IllegalTransition, Conflict, NotFound) as refused:
            logger.info("run %s: first turn not executed: %s", run_id, refused.message)
            return None

    # -- lifecycle --------------------------------------------------------------------------------

    def fail_run(
        self,
        run_id: str,
        reason: str,
        source: TerminationSource,
        from_statuses: list[str],
        *,
        deadline_field: str | None = None,
        deadline_before: datetime | None = None,
    ) -> WorkflowRunsModel | None:
        """Fail a run still in ``from_statuses`` (the reaper); None if it moved on meanwhile.

        With ``deadline_field``, the run must also still be past that deadline at write time, so a
        heartbeat that lands between the reaper's read and this write saves the run.
        """
        if not set(from_statuses) <= set(sources(Transition.REAP)):
            raise IllegalTransition(",".join(from_statuses), Transition.REAP.value)
        where = {deadline_field: {"$lt": deadline_before}} if deadline_field and deadline_before else None
        run = self._runs.change_status(
            None,
            run_id,
            from_statuses,
            {
                "status": RunStatus.FAILED.value,
                "termination_source": source.value,
                "error": reason,
                "finished_at": self._clock.now(),
                "claim": None,
                "next_input_hint": None,
            },
            unset=_DEADLINES,
            where=where,
        )
        if run is not None:
            self.finalize(run)
        return run

    def finalize(self, run: WorkflowRunsModel) -> None:
        """After a run leaves the slot-holding statuses: release its slot, tell listeners when it ended,
        and start queued runs. Idempotent, so the reaper can repeat it after a crash."""
        inner = run.workflow_run
        steps: list[tuple[str, Callable[[], Any]]] = []
        if inner.status not in SLOT_HOLDING_STATUSES:
            steps.append(("release", partial(self._admission.release, run.team_id, inner.workflow_id, run.id)))
        if inner.status in TERMINAL_STATUSES:
            steps += [
                (type(listener).__name__, partial(listener.on_run_finished, run)) for listener in self._listeners()
            ]
        steps.append(("dispatch", partial(self._dispatcher.dispatch, run.team_id)))
        # Each step runs even if an earlier one failed: the run's outcome is already committed, and the
        # reaper repairs what a failed step leaves (leases by reconciliation, schedules by its sweep).
        for name, step in steps:
            try:
                step()
            except Exception:
                logger.exception("after run %s ended, %s failed; the reaper will reconcile it", run.id, name)

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None:
        """Cancel the live runs of a deleted workflow; finished runs stay readable."""
        for run in self._runs.active_for_workflow(team_id, workflow_id, limit=10_000):
            stopped = self._stop(team_id, run.id, "workflow deleted", "workflow_deleted")
            if stopped is not None:
                self.finalize(stopped)

    # -- reads and housekeeping -------------------------------------------------------------------

    def get(self, team_id: str, run_id: str) -> WorkflowRunsModel:
        return self._queries.get(team_id, run_id)

    def delete(self, team_id: str, run_id: str) -> None:
        """Delete a run; a live one is cancelled first so its slot is released."""
        run = self.get(team_id, run_id)
        if run.workflow_run.status not in TERMINAL_STATUSES:
            stopped = self._stop(team_id, run_id, "run deleted", TerminationSource.USER_STOP.value)
            if stopped is not None:
                self.finalize(stopped)
        if not self._runs.delete(team_id, run_id):
            raise NotFound("workflow run", run_id)

    def add_comment(
        self, team_id: str, user_id: str, run_id: str, content: str, logical_id: str | None
    ) -> WorkflowRunsModel:
        now = self._clock.now()
        comment = {
            "logical_id": logical_id or f"comment_{uuid4()}",
            "content": content,
            "createdBy": user_id,
            "updatedBy": user_id,
            "createdAt": now,
            "updatedAt": now,
        }
        run = self._runs.add_comment(team_id, run_id, comment)
        if run is None:
            raise NotFound("workflow run", run_id)
        return run

    def delete_comment(self, team_id: str, run_id: str, comment_logical_id: str) -> WorkflowRunsModel:
        run = self._runs.delete_comment(team_id, run_id, comment_logical_id)
        if run is None:
            self.get(team_id, run_id)
            raise NotFound("comment", comment_logical_id)
        return run

    # -- internals --------------------------------------------------------------------------------

    def _command(
        self, team_id: str, run_id: str, run_input: WorkflowRunInput, *, where: dict[str, Any] | None = None
    ) -> TurnOutcome:
        """Apply a command to the caller's run; ``where`` adds conditions on the run (e.g. its workflow)."""
        command = run_input.command
        if command is RunCommand.STOP:
            stopped = self._stop(team_id, run_id, "stopped by the user", TerminationSource.USER_STOP.value, where)
            if stopped is None:
                raise self._refusal(team_id, run_id, Transition.STOP, where)
            self.finalize(stopped)
            return TurnOutcome(stopped, [])
        if command is RunCommand.PAUSE:
            paused = self._runs.change_status(
                team_id,
                run_id,
                sources(Transition.PAUSE),
                {"status": RunStatus.PAUSED.value},
                unset=_DEADLINES,
                where=where,
            )
            if paused is None:
                raise self._refusal(team_id, run_id, Transition.PAUSE, where)
            self.finalize(paused)
            return TurnOutcome(paused, [])
        if command is RunCommand.RESUME:
            # Claim first, then take the slot: of two racing resumes only the claimant touches the lease,
            # so the loser cannot release the slot the winner holds.
            return self._turn(team_id, run_id, Transition.RESUME, run_input, needs_slot=True, where=where)
        return self._turn(team_id, run_id, _COMMAND_TRANSITION[command], run_input, where=where)

    def _stop(
        self, team_id: str | None, run_id: str, reason: str, source: str, where: dict[str, Any] | None = None
    ) -> WorkflowRunsModel | None:
        return self._runs.change_status(
            team_id,
            run_id,
            sources(Transition.STOP),
            {
                "status": RunStatus.CANCELLED.value,
                "termination_source": source,
                "error": None,
                "finished_at": self._clock.now(),
                "claim": None,
                "next_input_hint": None,
                "miscellaneous.cancel_reason": reason,
            },
            unset=_DEADLINES,
            where=where,
        )

    def _acquire(self, team_id: str, workflow_id: str, run_id: str) -> None:
        decision = self._admission.try_acquire(team_id, workflow_id, run_id)
        if not decision.granted:
            raise NoSlotAvailable(
                NoSlotDetails(
                    scope=decision.scope,
                    limit=decision.limit,
                    retry_after_seconds=self._timeouts.retry_after_seconds,
                    holders=list(decision.holders),
                )
            )

    def _acquire_for_claim(self, claim: TurnClaim, run: WorkflowRunsModel) -> None:
        """Take a slot for a claimed paused run; without one, hand the run back as it was (paused)."""
        try:
            self._acquire(run.team_id or "", run.workflow_run.workflow_id, run.id)
        except BaseException:
            self._runs.change_status(
                None,
                run.id,
                [RunStatus.RUNNING.value],
                {"status": RunStatus.PAUSED.value, "claim": None},
                where={"claim.token": claim.token},
            )
            raise

    def _create_admitted(
        self, team_id: str, user_id: str, workflow_id: str, version_number: int | None, run_input: WorkflowRunInput
    ) -> WorkflowRunsModel:
        """A new run holding a slot (execute API): slot first, so a refusal leaves no run behind."""
        version = self._workflows.get_version(team_id, workflow_id, version_number)
        check_start_node(version, run_input)
        now = self._clock.now()
        run = self._new_run(team_id, user_id, version, run_input, RunTrigger(), RunStatus.STARTED, now)
        run.workflow_run.started_at = now
        run.workflow_run.heartbeat_at = now
        run.workflow_run.heartbeat_deadline_at = now + self._run_timeout(version)
        self._acquire(team_id, workflow_id, run.id)
        try:
            self._runs.insert(run)
        except BaseException:
            self._admission.release(team_id, workflow_id, run.id)
            raise
        return run

    def _new_run(
        self,
        team_id: str,
        user_id: str,
        version: WorkflowVersion,
        run_input: WorkflowRunInput,
        trigger: RunTrigger,
        status: RunStatus,
        now: datetime,
    ) -> WorkflowRunsModel:
        self._versions.put(version)
        return WorkflowRunsModel(
            **audit_fields(team_id, user_id, now),
            workflow_run=WorkflowRun(
                logical_id=f"workflow_run_{uuid4()}",
                workflow_id=version.workflow_id,
                version_number=version.version_number,
                version_name=version.version_name,
                status=status,
                run_by=run_input.run_by or user_id,
                trigger=trigger,
            ),
        )

    def _version(self, run: WorkflowRunsModel) -> WorkflowVersion:
        inner = run.workflow_run
        version = self._versions.get(inner.workflow_id, inner.version_number)
        if version is None:
            version = self._workflows.version_of_run(run.team_id or "", inner.workflow_id, inner.version_number)
            self._versions.put(version)
        return version

    def _run_timeout(self, version: WorkflowVersion) -> timedelta:
        seconds = version.workflow_config.run_timeout_seconds or self._timeouts.run_timeout_seconds
        return timedelta(seconds=seconds)

    def _refusal(
        self, team_id: str | None, run_id: str, transition: Transition, where: dict[str, Any] | None = None
    ) -> Exception:
        """Why a conditional write found no run: missing (or not matching ``where``), busy, or wrong status."""
        run = self._runs.get(team_id, run_id)
        if run is None or any(getattr(run.workflow_run, field) != value for field, value in (where or {}).items()):
            return NotFound("workflow run", run_id)
        if run.workflow_run.status is RunStatus.RUNNING:
            return Conflict(f"a turn is already executing on run {run_id}; retry when it has finished")
        return IllegalTransition(run.workflow_run.status.value, transition.value)

    def _turn(
        self,
        team_id: str | None,
        run_id: str,
        transition: Transition,
        run_input: WorkflowRunInput | None,
        *,
        needs_slot: bool = False,
        where: dict[str, Any] | None = None,
    ) -> TurnOutcome:
        now = self._clock.now()
        # The deadline is provisional until the version is known; the first heartbeat corrects it.
        claimed = self._runs.claim_turn(
            team_id,
            run_id,
            sources(transition),
            now,
            now + timedelta(seconds=self._timeouts.run_timeout_seconds),
            where=where,
        )
        if claimed is None:
            raise self._refusal(team_id, run_id, transition, where)
        claim, run, state, pending = claimed
        if needs_slot:
            self._acquire_for_claim(claim, run)
        turn_input = run_input
        if state is None:
            # A run's first turn always starts the workflow, with the input it was queued with.
            base = run_input if run_input is not None else WorkflowRunInput.model_validate(pending or {})
            turn_input = base.model_copy(update={"command": RunCommand.START})
        result = self._execute_turn(claim, run, turn_input, state)
        committed = self._commit(claim, run, turn_input, result)
        if committed.workflow_run.status in TERMINAL_STATUSES:
            self.finalize(committed)
        return TurnOutcome(committed, result.events)

    def _execute_turn(
        self, claim: TurnClaim, run: WorkflowRunsModel, turn_input: WorkflowRunInput, state: dict[str, Any] | None
    ) -> TurnResult:
        try:
            version = self._version(run)
        except NotFound as missing:
            return TurnResult(status=RunStatus.FAILED, events=[], state=state or {}, error=missing.message)
        timeout = self._run_timeout(version)
        last_beat = [self._clock.now()]

        def heartbeat() -> None:
            now = self._clock.now()
            if (now - last_beat[0]).total_seconds() >= self._timeouts.heartbeat_interval_seconds:
                last_beat[0] = now
                self._runs.touch_heartbeat(claim, now, now + timeout)

        try:
            return self._engine.run_turn(version.workflow_config, turn_input, state, heartbeat=heartbeat)
        except Exception as crash:
            logger.exception("engine crashed on run %s", run.id)
            return TurnResult(
                status=RunStatus.FAILED,
                events=[],
                state=state or {},
                error=f"internal error while executing the turn: {type(crash).__name__}",
            )

    def _commit(
        self, claim: TurnClaim, run: WorkflowRunsModel, turn_input: WorkflowRunInput, result: TurnResult
    ) -> WorkflowRunsModel:
        now = self._clock.now()
        try:
            check(Transition.FINISH_TURN, RunStatus.RUNNING, result.status)
        except IllegalTransition:
            logger.error("engine ended a turn of run %s in status %s; failing the run", run.id, result.status)
            result = TurnResult(
                status=RunStatus.FAILED,
                events=result.events,
                state=result.state,
                error=f"internal error: a turn cannot end in status {result.status.value}",
            )
        inner = run.workflow_run
        token_usage, latency = merge_llm_usage(
            inner.llm_token_usage.model_dump(), inner.llm_latency_stats.model_dump(), result.llm_calls
        )
        changes: dict[str, Any] = {
            "status": result.status.value,
            "turn_number": claim.turn,
            "error": result.error,
            "next_input_hint": result.next_input_hint,
            "llm_token_usage": token_usage,
            "llm_latency_stats": latency,
            "heartbeat_at": now,
            "heartbeat_deadline_at": None,
            "started_at": inner.started_at or now,
        }
        if result.status is RunStatus.WAITING_FOR_USER_INPUT:
            version = self._versions.get(inner.workflow_id, inner.version_number)
            seconds = (
                version.workflow_config.input_timeout_seconds if version else None
            ) or self._timeouts.input_timeout_seconds
            changes["input_deadline_at"] = now + timedelta(seconds=seconds)
        if result.status in TERMINAL_STATUSES:
            changes["finished_at"] = now
            if result.status is RunStatus.FAILED:
                changes["termination_source"] = TerminationSource.EXECUTION_ERROR.value
        pair = {
            "run_input": turn_input.model_dump(mode="json"),
            "run_output": {"events": result.events, "thread_to_node_outputs": result.thread_to_node_outputs},
            "evaluation": {},
            "iteration_end_state_miscellaneous": {},
        }
        try:
            committed = self._runs.commit_turn(claim, changes, pair, result.state)
        except Unstorable as unstorable:
            # The turn's output cannot be stored (e.g. an integer beyond 64 bits from an HTTP node): fail the
            # run with the reason rather than leave it claimed and holding its slot.
            changes.update(
                status=RunStatus.FAILED.value,
                finished_at=now,
                error=unstorable.message,
                termination_source=TerminationSource.EXECUTION_ERROR.value,
                next_input_hint=None,
                input_deadline_at=None,
            )
            pair["run_output"] = {"events": [], "thread_to_node_outputs": {}}
            committed = self._runs.commit_turn(claim, changes, pair, None)
        if committed is None:
            current = self._runs.get(None, run.id)
            status = current.workflow_run.status.value if current else "deleted"
            raise Conflict(f"run {run.id} was {status} while this turn executed; the turn's result was discarded")
        return committed

    def _with_position(self, run: WorkflowRunsModel | None) -> WorkflowRunsModel:
        if run is None:
            raise NotFound("workflow run", "")
        return self._queries.with_queue_position(run)

    def _internal(self, run_id: str) -> WorkflowRunsModel:
        run = self._runs.get(None, run_id)
        if run is None:
            raise NotFound("workflow run", run_id)
        return run

    @staticmethod
    def _execute_response(outcome: TurnOutcome) -> ExecuteWorkflowResponse:
        inner = outcome.run.workflow_run
        return ExecuteWorkflowResponse(
            run_id=outcome.run.id or "",
            status=inner.status,
            turn_number=inner.turn_number,
            events=outcome.events,
            is_waiting_for_input=inner.status is RunStatus.WAITING_FOR_USER_INPUT,
            is_completed=inner.status in TERMINAL_STATUSES,
            error=inner.error,
            next_input_hint=inner.next_input_hint if inner.status is RunStatus.WAITING_FOR_USER_INPUT else None,
        )
