"""Interactive turns: the execute API, and how one turn is claimed, executed and committed.

A turn is claimed before it executes: one conditional update moves the run to ``running`` and
records a claim token, so two concurrent turns cannot both execute (the loser gets 409) and LLM
and HTTP side effects happen once. The result is committed with a second conditional update on
that token; if the run was stopped or reaped meanwhile, the result is discarded.

No side effect after a stop: a turn re-checks its claim after taking its slot (a resume records its
lease token with a write conditional on the claim) and before each LLM and HTTP call (the guarded
ports of runs.side_effects, a heartbeat write conditional on the claim and on ``running``). A stop
clears the claim, so a turn it overtook executes nothing more, commits nothing, and holds no slot.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workflow_service.engine import TurnResult, merge_llm_usage
from workflow_service.errors import Conflict, FieldProblem, IllegalTransition, NotFound, Unstorable, ValidationFailed
from workflow_service.models.execution import ExecuteWorkflowResponse
from workflow_service.models.runs import (
    TERMINAL_STATUSES,
    RunCommand,
    RunStatus,
    RunTrigger,
    TerminationSource,
    WorkflowRunInput,
    WorkflowRunsModel,
)
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.runs.metrics import record_run_started, record_turn_duration
from workflow_service.runs.shared import new_run, refusal
from workflow_service.runs.side_effects import ClaimLost, SideEffectGuard
from workflow_service.runs.transitions import Transition, check, sources
from workflow_service.webhooks.outbox import RunOutbox

if TYPE_CHECKING:
    from workflow_service.engine import WorkflowEngine
    from workflow_service.models.common import Caller
    from workflow_service.models.workflows import WorkflowVersion
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.runs import RunRepository, TurnClaim
    from workflow_service.runs.lifecycle import RunLifecycle
    from workflow_service.runs.shared import RunTimeouts, RunVersions, Slots

logger = logging.getLogger(__name__)

_COMMAND_TRANSITION = {
    RunCommand.START: Transition.START,
    RunCommand.DATA: Transition.DATA,
    RunCommand.RESUME: Transition.RESUME,
    RunCommand.PAUSE: Transition.PAUSE,
    RunCommand.STOP: Transition.STOP,
}


@dataclass
class TurnOutcome:
    run: WorkflowRunsModel
    events: list[dict[str, Any]]


class TurnRunner:
    """Runs one turn of a run (claim, engine, commit), and applies a user's command to a run."""

    def __init__(
        self,
        runs: RunRepository,
        engine: WorkflowEngine,
        versions: RunVersions,
        slots: Slots,
        lifecycle: RunLifecycle,
        clock: Clock,
        timeouts: RunTimeouts,
        metrics: Metrics = DISCARDED_METRICS,
        guard: SideEffectGuard | None = None,
        webhooks: RunOutbox | None = None,
    ) -> None:
        """``guard``: the one the engine's LLM and HTTP ports ask before each call (see runs.side_effects).
        ``webhooks``: the outbox whose ``workflow_run_completed`` marker a terminal commit carries."""
        self._webhooks = webhooks or RunOutbox(None, None, clock)
        self._runs = runs
        self._metrics = metrics
        self._guard = guard or SideEffectGuard()
        self._engine = engine
        self._versions = versions
        self._slots = slots
        self._lifecycle = lifecycle
        self._clock = clock
        self._timeouts = timeouts

    def apply(
        self,
        team_id: str,
        run_id: str,
        run_input: WorkflowRunInput,
        *,
        where: dict[str, Any] | None = None,
        command_id: str | None = None,
    ) -> TurnOutcome:
        """Apply a command to the caller's run; ``where`` adds conditions on the run (e.g. its workflow).

        ``command_id`` (an Idempotency-Key's reserved id) is recorded by the turn's commit, so a retry can
        tell that the command was applied (``WorkflowRun.last_command_id``)."""
        command = run_input.command
        if command is RunCommand.STOP:
            return TurnOutcome(self._lifecycle.stop(team_id, run_id, where=where, command_id=command_id), [])
        if command is RunCommand.PAUSE:
            return TurnOutcome(self._lifecycle.pause(team_id, run_id, where=where, command_id=command_id), [])
        if command is RunCommand.RESUME:
            # Claim first, then take the slot: of two racing resumes only the claimant touches the lease,
            # so the loser cannot release the slot the winner holds.
            return self.take(
                team_id, run_id, Transition.RESUME, run_input, needs_slot=True, where=where, command_id=command_id
            )
        return self.take(team_id, run_id, _COMMAND_TRANSITION[command], run_input, where=where, command_id=command_id)

    def take(
        self,
        team_id: str | None,
        run_id: str,
        transition: Transition,
        run_input: WorkflowRunInput | None,
        *,
        needs_slot: bool = False,
        where: dict[str, Any] | None = None,
        command_id: str | None = None,
    ) -> TurnOutcome:
        """Claim the run's next turn (``team_id`` None: any team's, for the worker), execute and commit it."""
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
            raise refusal(self._runs, team_id, run_id, transition, where)
        claim, run, state, pending = claimed
        if needs_slot:
            self._acquire_for_claim(claim, run)
        return self.run_claimed(claim, run, state, pending, run_input, command_id=command_id)

    def run_claimed(
        self,
        claim: TurnClaim,
        run: WorkflowRunsModel,
        state: dict[str, Any] | None,
        pending: dict[str, Any] | None,
        run_input: WorkflowRunInput | None,
        *,
        command_id: str | None = None,
    ) -> TurnOutcome:
        """Execute and commit the turn ``claim`` holds (the run holds its slot): ``state`` is the engine's
        state (None before the first turn), ``pending`` the input a queued run was submitted with."""
        turn_input = run_input
        if state is None:
            # A run's first turn always starts the workflow, with the input it was queued with (and what a
            # resume of it before that turn adds: a run admitted, then paused, then resumed).
            base = _first_turn_input(pending, run_input)
            turn_input = base.model_copy(update={"command": RunCommand.START})
        if turn_input is None:
            raise ValueError("a turn after the first needs its input")
        started = time.perf_counter()
        try:
            result, version = self._execute(claim, run, turn_input, state)
        except ClaimLost:
            raise self._discarded(run, "nothing more was executed") from None
        committed = self._commit(claim, run, turn_input, result, version, command_id)
        record_turn_duration(self._metrics, committed, (time.perf_counter() - started) * 1000)
        if committed.workflow_run.status in TERMINAL_STATUSES:
            self._lifecycle.finalize(committed)
        return TurnOutcome(committed, result.events)

    def _acquire_for_claim(self, claim: TurnClaim, run: WorkflowRunsModel) -> None:
        """Take a slot for a claimed paused run and record its token on the run, conditional on the claim
        (the turn's re-check after taking the slot); without a slot, hand the run back as it was (paused).

        The claim comes first so that of two racing resumes only the claimant touches the lease. A stop
        landing between the claim and the acquire cleared the claim: the recording write then matches
        nothing, this acquisition is given back, and the turn executes nothing.
        """
        team_id, workflow_id = run.owner_team_id, run.workflow_run.workflow_id
        try:
            token = self._slots.acquire(team_id, workflow_id, run.stored_id)
        except BaseException:
            self._runs.change_status(
                None,
                run.stored_id,
                [RunStatus.RUNNING.value],
                {"status": RunStatus.PAUSED.value, "claim": None},
                where={"claim.token": claim.token},
            )
            raise
        # A failure of this write is left to the reaper rather than answered with a release: the write may
        # have applied, and the run would then hold a slot without a lease. Either way the lease entry is
        # the run's, and reconciliation aligns its token with the run's after the grace period.
        recorded = self._runs.change_status(
            None,
            run.stored_id,
            [RunStatus.RUNNING.value],
            {"lease_token": token},
            where={"claim.token": claim.token},
        )
        if recorded is None:
            self._slots.release(team_id, workflow_id, run.stored_id, token)
            raise self._discarded(run, "nothing was executed")

    def _execute(
        self, claim: TurnClaim, run: WorkflowRunsModel, turn_input: WorkflowRunInput, state: dict[str, Any] | None
    ) -> tuple[TurnResult, WorkflowVersion | None]:
        """The turn's result and the version it ran (None when the version is gone)."""
        try:
            version = self._versions.of_run(run)
        except NotFound as missing:
            return TurnResult(status=RunStatus.FAILED, events=[], state=state or {}, error=missing.message), None
        timeout = self._timeouts.run_timeout(version)
        last_beat = [self._clock.now()]

        def still_claimed() -> None:
            # One conditional write: the heartbeat and the "is this turn still the run's?" check at once.
            now = self._clock.now()
            if not self._runs.touch_heartbeat(claim, now, now + timeout):
                raise ClaimLost(run.stored_id)
            last_beat[0] = now

        def heartbeat() -> None:
            if (self._clock.now() - last_beat[0]).total_seconds() >= self._timeouts.heartbeat_interval_seconds:
                still_claimed()

        try:
            with self._guard.checking(still_claimed):
                result = self._engine.run_turn(
                    version.workflow_config,
                    turn_input,
                    state,
                    heartbeat=heartbeat,
                    time_left=self._timeouts.turn_time_left(),
                )
        except Exception as crash:
            logger.exception("engine crashed on run %s", run.id)
            result = TurnResult(
                status=RunStatus.FAILED,
                events=[],
                state=state or {},
                error=f"internal error while executing the turn: {type(crash).__name__}",
            )
        return result, version

    def _commit(
        self,
        claim: TurnClaim,
        run: WorkflowRunsModel,
        turn_input: WorkflowRunInput,
        result: TurnResult,
        version: WorkflowVersion | None,
        command_id: str | None = None,
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
        if command_id is not None:
            changes["last_command_id"] = command_id
        if result.status is RunStatus.WAITING_FOR_USER_INPUT:
            # The version the turn ran, not the container's cache: an evicted (or uncached) version
            # would give the service's default input timeout instead of the workflow's.
            changes["input_deadline_at"] = now + self._timeouts.input_timeout(version)
        if result.status in TERMINAL_STATUSES:
            changes["finished_at"] = now
            # Emitted by the lifecycle's finalize, from the committed run.
            changes.update(self._webhooks.marker(run.owner_team_id, WebhookAction.WORKFLOW_RUN_COMPLETED))
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
            changes.update(self._webhooks.marker(run.owner_team_id, WebhookAction.WORKFLOW_RUN_COMPLETED))
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
            raise self._discarded(run, "the turn's result was discarded")
        return committed

    def _discarded(self, run: WorkflowRunsModel, what: str) -> Conflict:
        """The 409 of a turn whose run was stopped, paused or reaped while it executed."""
        current = self._runs.get(None, run.stored_id)
        status = current.workflow_run.status.value if current else "deleted"
        return Conflict(f"run {run.id} was {status} while this turn executed; {what}")


class InteractiveTurns:
    """Seed 003's execute protocol: one turn per request, the first one on a new run holding a slot."""

    def __init__(
        self,
        runs: RunRepository,
        versions: RunVersions,
        slots: Slots,
        turns: TurnRunner,
        clock: Clock,
        timeouts: RunTimeouts,
        metrics: Metrics = DISCARDED_METRICS,
        webhooks: RunOutbox | None = None,
    ) -> None:
        """``webhooks``: the outbox whose ``workflow_run_started`` marker the new run's insert carries."""
        self._webhooks = webhooks or RunOutbox(None, None, clock)
        self._runs = runs
        self._metrics = metrics
        self._versions = versions
        self._slots = slots
        self._turns = turns
        self._clock = clock
        self._timeouts = timeouts

    def execute(
        self,
        caller: Caller,
        workflow_id: str,
        run_input: WorkflowRunInput,
        run_id: str | None,
        version: int | None,
    ) -> ExecuteWorkflowResponse:
        """One turn (POST /workflows/{id}/execute). The first turn (no run_id) needs a free slot: 429 otherwise."""
        if run_id is None:
            if run_input.command is not RunCommand.START:
                raise ValidationFailed(
                    FieldProblem(
                        ("body", "run_id"), f"run_id is required for command '{run_input.command.value}'", "missing"
                    )
                )
            number = version if version is not None else run_input.version_number
            outcome = self._start_admitted(caller, workflow_id, number, run_input)
        else:
            outcome = self._continue(caller.team_id, workflow_id, run_id, run_input)
        return _execute_response(outcome)

    def _continue(self, team_id: str, workflow_id: str, run_id: str, run_input: WorkflowRunInput) -> TurnOutcome:
        # The run must be this workflow's: a condition of the write itself, not a read before it.
        where = {"workflow_id": workflow_id}
        try:
            return self._turns.apply(team_id, run_id, run_input, where=where)
        except IllegalTransition as refused:
            # The product SDK's handle sends its default command, "start", on every turn and echoes the
            # run_id: on a run waiting for input that is the next message, i.e. "data".
            if run_input.command is not RunCommand.START or refused.current != RunStatus.WAITING_FOR_USER_INPUT:
                raise
        return self._turns.apply(
            team_id, run_id, run_input.model_copy(update={"command": RunCommand.DATA}), where=where
        )

    def _start_admitted(
        self, caller: Caller, workflow_id: str, version_number: int | None, run_input: WorkflowRunInput
    ) -> TurnOutcome:
        """A new run holding a slot, inserted with its first turn claimed, then that turn.

        Slot first, so a refusal leaves no run behind. The run is inserted already ``running`` with
        the claim (what ``claim_turn`` would write on a ``started`` run, in the same write as the insert):
        no one else can reach the run before it exists, and from then on every other writer meets the
        claim exactly as after a separate claim. Round trips: workflow and version reads, the team
        limit read, both lease holds in one batch, the insert, the commit.
        """
        version, workflow_cap = self._versions.for_new_run_with_cap(
            caller.team_id, workflow_id, version_number, run_input
        )
        now = self._clock.now()
        run = new_run(caller, version, run_input, RunTrigger(), RunStatus.STARTED, now)
        run.workflow_run.status = check(Transition.START, RunStatus.STARTED, RunStatus.RUNNING)
        run.workflow_run.started_at = now
        run.workflow_run.heartbeat_at = now
        run.workflow_run.heartbeat_deadline_at = now + self._timeouts.run_timeout(version)
        token = self._slots.acquire(caller.team_id, workflow_id, run.stored_id, workflow_limit=workflow_cap)
        # The acquisition's token is part of the inserted document: the run is slot-holding from its first write.
        run.workflow_run.lease_token = token
        run.workflow_run.webhook_outbox = self._webhooks.marks(caller.team_id, WebhookAction.WORKFLOW_RUN_STARTED)
        try:
            claim = self._runs.insert_claimed(run, now)
        except BaseException:
            self._slots.release(caller.team_id, workflow_id, run.stored_id, token)
            raise
        record_run_started(self._metrics, run, "started")
        self._webhooks.emit(run, WebhookAction.WORKFLOW_RUN_STARTED)
        return self._turns.run_claimed(claim, run, None, None, run_input)


def _execute_response(outcome: TurnOutcome) -> ExecuteWorkflowResponse:
    inner = outcome.run.workflow_run
    return ExecuteWorkflowResponse(
        run_id=outcome.run.stored_id,
        status=inner.status,
        turn_number=inner.turn_number,
        events=outcome.events,
        is_waiting_for_input=inner.status is RunStatus.WAITING_FOR_USER_INPUT,
        is_completed=inner.status in TERMINAL_STATUSES,
        error=inner.error,
        next_input_hint=inner.next_input_hint if inner.status is RunStatus.WAITING_FOR_USER_INPUT else None,
    )


_FIRST_TURN_MAPPINGS = ("dynamic_variables", "runtime_variables", "miscellaneous", "thread_to_node_inputs")


def _first_turn_input(pending: dict[str, Any] | None, run_input: WorkflowRunInput | None) -> WorkflowRunInput:
    """The input of a run's first turn: the one it was queued with, updated by the command that runs the
    turn (its variables added over the queued ones); without a queued input, the command's own."""
    if pending is None:
        return run_input if run_input is not None else WorkflowRunInput()
    queued = WorkflowRunInput.model_validate(pending)
    if run_input is None:
        return queued
    added = {
        name: {**getattr(queued, name), **getattr(run_input, name)}
        for name in _FIRST_TURN_MAPPINGS
        if name in run_input.model_fields_set
    }
    return queued.model_copy(update=added)
