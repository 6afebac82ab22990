"""What the run use cases share: timeouts, the versions runs execute, concurrency slots, new run
documents, and how a conditional write that found no run is explained."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import uuid4

from workflow_service import invocation_time
from workflow_service.errors import (
    Conflict,
    FieldProblem,
    IllegalTransition,
    NoSlotAvailable,
    NoSlotDetails,
    NotFound,
    ValidationFailed,
)
from workflow_service.models.common import audit_fields
from workflow_service.models.runs import RunStatus, RunTrigger, WorkflowRun, WorkflowRunInput, WorkflowRunsModel

if TYPE_CHECKING:
    from workflow_service.models.common import Caller
    from workflow_service.models.workflows import WorkflowVersion
    from workflow_service.ports.concurrency import Admission
    from workflow_service.ports.runs import RunRepository
    from workflow_service.runs.transitions import Transition
    from workflow_service.workflows.reads import WorkflowReads

# Deadlines that stop applying once a run leaves the status they guard.
DEADLINES = ["heartbeat_deadline_at", "input_deadline_at", "queue_deadline_at", "queued_at", "pause_deadline_at"]


class RunTimeouts(NamedTuple):
    """Service-wide defaults; a workflow config may set its own run and input timeouts."""

    run_timeout_seconds: int
    input_timeout_seconds: int
    queue_ttl_seconds: int
    heartbeat_interval_seconds: float
    retry_after_seconds: int
    pause_ttl_seconds: int
    turn_time_budget_seconds: float = 600.0
    turn_time_margin_seconds: float = 3.0

    def turn_time_left(self) -> Callable[[], float]:
        """A countdown of the turn's time budget, starting now: the budget, cut short to end the margin
        before the current invocation times out."""
        budget = self.turn_time_budget_seconds
        invocation_left = invocation_time.seconds_left()
        if invocation_left is not None:
            budget = min(budget, invocation_left - self.turn_time_margin_seconds)
        ends = time.monotonic() + budget
        return lambda: ends - time.monotonic()

    def pause_ttl(self) -> timedelta:
        """How long a paused run may wait to be resumed before the reaper fails it."""
        return timedelta(seconds=self.pause_ttl_seconds)

    def run_timeout(self, version: WorkflowVersion) -> timedelta:
        """How long a turn of ``version`` may go without a heartbeat."""
        return timedelta(seconds=version.workflow_config.run_timeout_seconds or self.run_timeout_seconds)

    def input_timeout(self, version: WorkflowVersion | None) -> timedelta:
        """How long a run of ``version`` may wait for input; the default when the version is not known."""
        seconds = version.workflow_config.input_timeout_seconds if version else None
        return timedelta(seconds=seconds or self.input_timeout_seconds)


class VersionCache:
    """Versions by (workflow id, number, config revision), per container. A revision's config never
    changes (an update makes a new revision), so entries never go stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, int, int], WorkflowVersion] = OrderedDict()

    def get(self, workflow_id: str, number: int, revision: int = 0) -> WorkflowVersion | None:
        version = self._entries.get((workflow_id, number, revision))
        if version is not None:
            self._entries.move_to_end((workflow_id, number, revision))
        return version

    def put(self, version: WorkflowVersion) -> None:
        if self._size == 0:
            return
        self._entries[(version.workflow_id, version.version_number, version.config_revision)] = version
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


def check_start_node(version: WorkflowVersion, run_input: WorkflowRunInput) -> None:
    """A run asked to start at a node must name a node of its version (422 before anything is written)."""
    problem = version.unknown_start_node(run_input.start_node_logical_id)
    if problem is not None:
        raise ValidationFailed(
            FieldProblem(
                ("body", "run_input", "start_node_logical_id"), problem, "value_error", run_input.start_node_logical_id
            )
        )


class RunVersions:
    """The workflow version a run executes: read from the caller's team for a new run, then served
    from the cache for the run's later turns."""

    def __init__(self, workflows: WorkflowReads, cache: VersionCache) -> None:
        self._workflows = workflows
        self._cache = cache

    def for_new_run(
        self, team_id: str, workflow_id: str, number: int | None, run_input: WorkflowRunInput
    ) -> WorkflowVersion:
        """The version a new run starts on (the active one when ``number`` is None); 404 or 422 otherwise."""
        return self.for_new_run_with_cap(team_id, workflow_id, number, run_input)[0]

    def for_new_run_with_cap(
        self, team_id: str, workflow_id: str, number: int | None, run_input: WorkflowRunInput
    ) -> tuple[WorkflowVersion, int]:
        """``for_new_run`` and the workflow's concurrency cap (0 = none), read with it: a run admitted at
        once hands the cap to admission instead of admission reading the workflow again."""
        workflow, version = self._workflows.get_workflow_and_version(team_id, workflow_id, number)
        check_start_node(version, run_input)
        self._cache.put(version)
        return version, workflow.max_concurrent_runs

    def of_run(self, run: WorkflowRunsModel) -> WorkflowVersion:
        """The version the run started with, even if it was deleted since."""
        inner = run.workflow_run
        version = self._cache.get(inner.workflow_id, inner.version_number, inner.config_revision)
        if version is None:
            version = self._workflows.version_of_run(
                run.owner_team_id, inner.workflow_id, inner.version_number, inner.config_revision
            )
            self._cache.put(version)
        return version


class Slots:
    """Concurrency slots for runs that must start now: without a free slot the caller gets a 429."""

    def __init__(
        self, admission: Admission, retry_after_seconds: int, dispatch_team: Callable[[str], None] | None = None
    ) -> None:
        """``dispatch_team`` starts a team's queued runs when a refusal or a release freed a team slot
        that a concurrent dispatch may have seen taken (it never raises)."""
        self._admission = admission
        self._retry_after_seconds = retry_after_seconds
        self._dispatch_team = dispatch_team or (lambda team_id: None)

    def acquire(self, team_id: str, workflow_id: str, run_id: str, *, workflow_limit: int | None = None) -> str:
        """Take the run's team and workflow slots and return the acquisition's lease token (the run records
        it), or raise NoSlotAvailable (429 with Retry-After). ``workflow_limit``: the workflow's cap when
        the caller has just read the workflow."""
        decision = self._admission.try_acquire(team_id, workflow_id, run_id, workflow_limit=workflow_limit)
        if not decision.granted:
            if decision.gave_back_team_slot:
                self._dispatch_team(team_id)
            raise NoSlotAvailable(
                NoSlotDetails(
                    scope=decision.scope,
                    limit=decision.limit,
                    retry_after_seconds=self._retry_after_seconds,
                    holders=tuple(decision.holders),
                )
            )
        return decision.token

    def release(self, team_id: str, workflow_id: str, run_id: str, token: str | None) -> None:
        """Give back the acquisition ``token`` names (nothing if a later one took the slot since)."""
        self._admission.release(team_id, workflow_id, run_id, token)
        self._dispatch_team(team_id)


def new_run(
    caller: Caller,
    version: WorkflowVersion,
    run_input: WorkflowRunInput,
    trigger: RunTrigger,
    status: RunStatus,
    now: datetime,
) -> WorkflowRunsModel:
    """A run document of ``version``, not yet stored."""
    return WorkflowRunsModel(
        **audit_fields(caller.team_id, caller.user_id, now),
        workflow_run=WorkflowRun(
            logical_id=f"workflow_run_{uuid4()}",
            workflow_id=version.workflow_id,
            version_number=version.version_number,
            version_name=version.version_name,
            config_revision=version.config_revision,
            status=status,
            run_by=run_input.run_by or caller.user_id,
            trigger=trigger,
        ),
    )


def refusal(
    runs: RunRepository,
    team_id: str | None,
    run_id: str,
    transition: Transition,
    where: dict[str, Any] | None = None,
) -> Exception:
    """Why a conditional write found no run: missing (or not matching ``where``), busy, or wrong status."""
    run = runs.get(team_id, run_id)
    if run is None or any(getattr(run.workflow_run, field) != value for field, value in (where or {}).items()):
        return NotFound("workflow run", run_id)
    if run.workflow_run.status is RunStatus.RUNNING:
        return Conflict(f"a turn is already executing on run {run_id}; retry when it has finished")
    return IllegalTransition(run.workflow_run.status.value, transition.value)
