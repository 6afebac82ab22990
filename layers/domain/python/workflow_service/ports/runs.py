"""Runs: the run repository with its turn claims, the asynchronous submitter and run-finished listeners."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from workflow_service.models.common import Caller
    from workflow_service.models.runs import RunTrigger, WorkflowRunInput, WorkflowRunsModel


class TurnClaim(NamedTuple):
    """Proof that this executor owns the turn it is running (see RunRepository.claim_turn)."""

    run_id: str
    token: str
    turn: int
    # What the run's committed turns already take in storage (bytes), so a commit can tell, before it
    # writes, whether the run document would outgrow the store's limit.
    history_bytes: int = 0


class RunSlotState(NamedTuple):
    """What lease reconciliation needs of a run: its status and the token of the acquisition it recorded."""

    run_id: str
    team_id: str
    workflow_id: str
    status: str
    lease_token: str | None
    updated_at: datetime | None  # the run's last write (a status change records it)


class RunRepository(Protocol):
    """Run documents (collection ``workflow_runs``). Every status write is conditional on the
    statuses runs.transitions allows, so concurrent writers cannot both win."""

    def insert(
        self,
        run: WorkflowRunsModel,
        *,
        state: dict[str, Any] | None = None,
        pending_input: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """Raises DuplicateKey when a run with the same dedupe key already exists."""
        ...

    def insert_claimed(self, run: WorkflowRunsModel, claimed_at: datetime) -> TurnClaim:
        """Insert a new run (its status ``running``) already holding the claim on its next turn: one
        write instead of ``insert`` then ``claim_turn``, for a run whose creator executes that turn now."""
        ...

    def get(self, team_id: str | None, run_id: str) -> WorkflowRunsModel | None:
        """The run (of ``team_id`` unless None, for trusted internal callers)."""
        ...

    def find_by_dedupe_key(self, dedupe_key: str) -> WorkflowRunsModel | None: ...

    def claim_turn(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: builtins.list[str],
        heartbeat_at: datetime,
        heartbeat_deadline_at: datetime,
        *,
        where: dict[str, Any] | None = None,
    ) -> tuple[TurnClaim, WorkflowRunsModel, dict[str, Any] | None, dict[str, Any] | None] | None:
        """Atomically move an unclaimed run in ``from_statuses`` (and matching ``where``, conditions on
        ``workflow_run`` fields) to ``running`` and claim its next turn.

        Returns the claim, the run, its engine state and its pending input; None if no such run.
        """
        ...

    def commit_turn(
        self, claim: TurnClaim, changes: dict[str, Any], pair: dict[str, Any], state: dict[str, Any] | None
    ) -> WorkflowRunsModel | None:
        """Apply a finished turn if ``claim`` still holds (None if the run was stopped or reaped meanwhile)."""
        ...

    def touch_heartbeat(self, claim: TurnClaim, at: datetime, deadline: datetime) -> bool: ...

    def change_status(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: builtins.list[str],
        changes: dict[str, Any],
        *,
        unset: Sequence[str] = (),
        where: dict[str, Any] | None = None,
    ) -> WorkflowRunsModel | None:
        """Conditionally set ``workflow_run.<field>`` values; None if the run is not in ``from_statuses``
        or does not match the extra ``workflow_run.<field>`` conditions in ``where``."""
        ...

    def list(
        self, team_id: str, filters: dict[str, Any], skip: int, limit: int
    ) -> tuple[builtins.list[dict[str, Any]], int]: ...

    def delete(self, team_id: str, run_id: str) -> bool: ...

    def add_comment(self, team_id: str, run_id: str, comment: dict[str, Any]) -> WorkflowRunsModel | None: ...

    def delete_comment(self, team_id: str, run_id: str, comment_logical_id: str) -> WorkflowRunsModel | None: ...

    def queued_workflow_ids(self, team_id: str) -> builtins.list[str]:
        """The distinct ids of the team's workflows with queued runs (index-backed: the cost grows with
        the number of such workflows, not with the number of runs queued)."""
        ...

    def queue_head(self, team_id: str, workflow_id: str) -> WorkflowRunsModel | None:
        """The workflow's oldest queued run (``not_started`` with ``queued_at``; by ``queued_at``, then
        id), None when it has none: one bounded index read."""
        ...

    def queue_position(self, team_id: str, queued_at: datetime, run_id: str) -> int: ...

    def queue_lengths(self, team_id: str) -> dict[str, int]:
        """Queued runs per workflow id."""
        ...

    def stale(
        self, statuses: builtins.list[str], deadline_field: str, now: datetime, limit: int
    ) -> builtins.list[WorkflowRunsModel]:
        """Runs in ``statuses`` whose ``workflow_run.<deadline_field>`` (heartbeat_deadline_at,
        input_deadline_at, queue_deadline_at or pause_deadline_at) has passed, earliest deadline first."""
        ...

    def active_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[WorkflowRunsModel]: ...

    def statuses_of(self, run_ids: builtins.list[str]) -> dict[str, str]:
        """Current status of each existing run (missing ids are absent)."""
        ...

    def slot_states_of(self, run_ids: builtins.list[str]) -> dict[str, RunSlotState]:
        """Status and recorded lease token of each existing run (missing ids are absent), in one read."""
        ...

    def slot_holding(self, after_id: str | None, limit: int) -> builtins.list[RunSlotState]:
        """Up to ``limit`` runs in a slot-holding status, by id, after ``after_id`` (paging, index-backed)."""
        ...


class RunSubmitter(Protocol):
    """The asynchronous start of a run (runs.submission), for schedules, SQS and webhooks."""

    def submit(
        self,
        caller: Caller,
        workflow_id: str,
        version_number: int | None,
        run_input: WorkflowRunInput,
        trigger: RunTrigger,
        *,
        dedupe_key: str | None = None,
    ) -> WorkflowRunsModel:
        """Queue a run of ``caller`` (the owner the event source stored) for a slot; it starts at once when
        one is free. An already used ``dedupe_key`` returns the existing run, or raises
        ``ports.dedupe.AlreadyProcessed`` when that run was deleted (a key is never reused within its
        window). Raises NotFound for a missing workflow or version."""
        ...


class RunFinishedListener(Protocol):
    """Told once a run reaches a terminal status (e.g. schedules record the outcome).

    Called after the terminal status is committed; must be idempotent (the reaper may repeat it).
    """

    def on_run_finished(self, run: WorkflowRunsModel) -> None: ...
