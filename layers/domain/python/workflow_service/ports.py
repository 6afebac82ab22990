"""Protocols for every piece of I/O. Services and the engine depend on these; adapters implement them.

``wiring`` is the only module that constructs adapters. Each capability keeps its ports in its own
section below.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from workflow_service.models.auth import ApiKey, Team
    from workflow_service.models.concurrency import HoldResult, Lease, LeaseScope
    from workflow_service.models.llm import LlmRequest, LlmResponse
    from workflow_service.models.recurring import HistoryEntry, RecurringSchedule
    from workflow_service.models.runs import RunTrigger, TerminationSource, WorkflowRunInput, WorkflowRunsModel
    from workflow_service.models.schedules import ScheduleKind, ScheduleStatus, WorkflowSchedule
    from workflow_service.models.triggers import Trigger
    from workflow_service.models.workflows import Workflow, WorkflowVersion


# --- time ---------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


# --- secrets ------------------------------------------------------------------------------------


class SecretReader(Protocol):
    def read(self, secret_id: str) -> str:
        """The secret's string value (cached by the adapter for the container's lifetime)."""
        ...


# --- LLM ----------------------------------------------------------------------------------------


class LlmError(Exception):
    """A provider call failed (network, throttling, bad credentials, unparseable answer)."""


class LlmGateway(Protocol):
    def complete(self, request: LlmRequest) -> LlmResponse:
        """Run one completion with the provider ``request.llm_config`` names; raises LlmError."""
        ...


# --- outbound HTTP (http_request and tool nodes) -------------------------------------------------


class OutboundRequestRefused(Exception):
    """The target address is not allowed (loopback, link-local, private) by the settings."""


class OutboundRequestFailed(Exception):
    """Timeout, connection failure, TLS error or an oversized response."""


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float

    def json_or_text(self) -> Any:
        import json

        text = self.body.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


class HttpClient(Protocol):
    def send(self, request: OutboundRequest) -> OutboundResponse:
        """Send one request; non-2xx statuses are returned, not raised.

        Raises OutboundRequestRefused or OutboundRequestFailed.
        """
        ...


# --- teams and API keys (auth) -----------------------------------------------------------------


class TeamRepository(Protocol):
    def insert(self, team: Team) -> None: ...

    def get(self, team_id: str) -> Team | None: ...

    def set_max_concurrent_runs(self, team_id: str, limit: int) -> Team | None: ...


class ApiKeyRepository(Protocol):
    def insert(self, key: ApiKey) -> None:
        """Raises KeyError if a key with the same hash exists (so a fixed dev key is idempotent)."""
        ...

    def find_active_by_hash(self, key_hash: str) -> ApiKey | None: ...

    def revoke(self, key_id: str, revoked_at: datetime) -> bool: ...

    def list_for_team(self, team_id: str) -> list[ApiKey]: ...


# --- workflows and versions ---------------------------------------------------------------------


class WorkflowRepository(Protocol):
    """Workflow documents. ``version_numbers`` on the workflow is the authority on which versions
    exist, so activation and deletion rules are single-document conditional updates."""

    def insert(self, workflow: Workflow) -> None: ...

    def get(self, team_id: str, workflow_id: str, *, include_deleted: bool = False) -> Workflow | None: ...

    def list(self, team_id: str, search: str | None, skip: int, limit: int) -> tuple[list[Workflow], int]: ...

    def update_fields(
        self, team_id: str, workflow_id: str, fields: dict[str, Any], user_id: str
    ) -> Workflow | None: ...

    def reserve_version_number(self, team_id: str, workflow_id: str) -> int | None: ...

    def add_version(
        self, team_id: str, workflow_id: str, version_number: int, activate: bool, user_id: str
    ) -> Workflow | None: ...

    def activate_version(self, team_id: str, workflow_id: str, version_number: int, user_id: str) -> Workflow | None:
        """Sets the active version only if ``version_number`` exists; None otherwise."""
        ...

    def remove_version(self, team_id: str, workflow_id: str, version_number: int) -> bool:
        """Removes ``version_number`` only if it exists, is not active and is not the last one."""
        ...

    def mark_deleted(self, team_id: str, workflow_id: str) -> Workflow | None: ...

    def delete(self, team_id: str, workflow_id: str) -> None: ...


class VersionRepository(Protocol):
    def insert(self, version: WorkflowVersion) -> None: ...

    def get(self, workflow_id: str, version_number: int) -> WorkflowVersion | None: ...

    def list(self, workflow_id: str, version_numbers: list[int]) -> list[WorkflowVersion]: ...

    def rename(
        self, workflow_id: str, version_number: int, version_name: str, user_id: str
    ) -> WorkflowVersion | None: ...

    def delete_all(self, workflow_id: str) -> None: ...


class WorkflowDeletionListener(Protocol):
    """Capabilities that own objects of a workflow (runs, schedules, triggers) wind them down here.

    Called after the workflow is marked deleted and before its documents are removed; must be
    idempotent, because a retried DELETE calls it again.
    """

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None: ...


# --- runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnClaim:
    """Proof that this executor owns the turn it is running (see RunRepository.claim_turn)."""

    run_id: str
    token: str
    turn: int


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
        """Raises KeyError when a run with the same dedupe key already exists."""
        ...

    def get(self, team_id: str | None, run_id: str) -> WorkflowRunsModel | None:
        """The run (of ``team_id`` unless None, for trusted internal callers)."""
        ...

    def find_by_dedupe_key(self, dedupe_key: str) -> WorkflowRunsModel | None: ...

    def claim_turn(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: list[str],
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
        from_statuses: list[str],
        changes: dict[str, Any],
        *,
        unset: list[str] = (),
        where: dict[str, Any] | None = None,
    ) -> WorkflowRunsModel | None:
        """Conditionally set ``workflow_run.<field>`` values; None if the run is not in ``from_statuses``
        or does not match the extra ``workflow_run.<field>`` conditions in ``where``."""
        ...

    def list(
        self, team_id: str, filters: dict[str, Any], skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]: ...

    def delete(self, team_id: str, run_id: str) -> bool: ...

    def add_comment(self, team_id: str, run_id: str, comment: dict[str, Any]) -> WorkflowRunsModel | None: ...

    def delete_comment(self, team_id: str, run_id: str, comment_logical_id: str) -> WorkflowRunsModel | None: ...

    def queued(
        self, team_id: str, limit: int, *, exclude_workflow_ids: Collection[str] = ()
    ) -> list[WorkflowRunsModel]:
        """Up to ``limit`` of the team's queued runs (``not_started`` with ``queued_at``), oldest first
        (``queued_at``, then id), leaving out runs of ``exclude_workflow_ids``: the dispatcher passes
        the workflows it found full, so runs of other workflows queued behind them can be reached."""
        ...

    def queue_position(self, team_id: str, queued_at: datetime, run_id: str) -> int: ...

    def queue_lengths(self, team_id: str) -> dict[str, int]:
        """Queued runs per workflow id."""
        ...

    def stale(self, statuses: list[str], deadline_field: str, now: datetime, limit: int) -> list[WorkflowRunsModel]:
        """Runs in ``statuses`` whose ``workflow_run.<deadline_field>`` (heartbeat_deadline_at,
        input_deadline_at or queue_deadline_at) has passed, earliest deadline first."""
        ...

    def active_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> list[WorkflowRunsModel]: ...

    def statuses_of(self, run_ids: list[str]) -> dict[str, str]:
        """Current status of each existing run (missing ids are absent)."""
        ...


@dataclass(frozen=True)
class SlotDecision:
    granted: bool
    scope: str = ""  # "team" or "workflow" when refused
    limit: int = 0
    holders: tuple[str, ...] = ()


class Admission(Protocol):
    """Concurrency slots (DESIGN.md section 5). Acquire and release are idempotent per run id."""

    def try_acquire(self, team_id: str, workflow_id: str, run_id: str) -> SlotDecision: ...

    def release(self, team_id: str, workflow_id: str, run_id: str) -> None: ...


class WorkQueue(Protocol):
    """The internal queue of admitted runs whose first turn a worker executes."""

    def enqueue_run(self, run_id: str) -> None: ...


class RunDispatcher(Protocol):
    """Starts queued runs of a team, FIFO, while slots are free (respecting workflow limits)."""

    def dispatch(self, team_id: str, *, run_inline: str | None = None) -> list[str]:
        """Admit what fits; returns the admitted run ids.

        The first turn of each admitted run is enqueued for a worker, except ``run_inline``, whose
        caller executes it itself (an interactive start that got a slot at once).
        """
        ...


class RunSubmitter(Protocol):
    """The asynchronous start of a run (RunService.submit), for schedules, SQS and webhooks."""

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
    ) -> WorkflowRunsModel:
        """Queue the run for a slot (it starts at once when one is free); an already used ``dedupe_key``
        returns the existing run. Raises NotFound for a missing workflow or version."""
        ...


class RunFinishedListener(Protocol):
    """Told once a run reaches a terminal status (e.g. schedules record the outcome).

    Called after the terminal status is committed; must be idempotent (the reaper may repeat it).
    """

    def on_run_finished(self, run: WorkflowRunsModel) -> None: ...


# --- concurrency --------------------------------------------------------------------------------
# (imported here rather than at the top so this section stays self-contained for its owner)


class LeaseStore(Protocol):
    """Lease documents, one per team and per workflow (collection ``concurrency_leases``).

    Every write is a single-document conditional update, so concurrent writers need no transaction.
    """

    def try_hold(
        self, scope: LeaseScope, owner_id: str, team_id: str, run_id: str, limit: int, at: datetime
    ) -> HoldResult:
        """Add ``run_id`` to the lease's holders if it is one already or fewer than ``limit`` (0 = no
        cap) hold it; granted if ``run_id`` holds a slot afterwards, else the holders that fill it."""
        ...

    def get(self, scope: LeaseScope, owner_id: str) -> Lease | None: ...

    def release(self, run_id: str, leases: list[tuple[LeaseScope, str]]) -> None:
        """Remove ``run_id`` from each listed lease (idempotent)."""
        ...

    def for_team(self, team_id: str) -> list[Lease]:
        """The team's lease and its workflows' leases."""
        ...

    def held(self, after_key: str | None, limit: int) -> list[Lease]:
        """Leases with at least one holder, by key, starting after ``after_key`` (paging)."""
        ...

    def drop_holder(self, key: str, run_id: str, since: datetime | None) -> bool:
        """Remove ``run_id`` only if it still holds the slot it acquired at ``since`` (so a run that
        acquired again meanwhile keeps its slot); True if removed."""
        ...


class ConcurrencyLimits(Protocol):
    """The configured limits: the team's licence and each workflow's own cap (0 = no cap)."""

    def team_limit(self, team_id: str) -> int | None:
        """None if the team is unknown."""
        ...

    def workflow_limits(self, team_id: str, workflow_ids: list[str]) -> dict[str, int]:
        """The cap of each existing workflow of the team (missing ids are absent)."""
        ...


class RunTerminator(Protocol):
    """Fails runs on behalf of the service itself (implemented by the runs service)."""

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
        """Fail the run if it is still in ``from_statuses`` and, with ``deadline_field``, still past that
        deadline (then release, notify, dispatch); None otherwise."""
        ...


class QueuedTeamFinder(Protocol):
    """Finds teams with queued runs, so the reaper can start runs a lost dispatch left waiting."""

    def queued_team_ids(self, limit: int) -> list[str]:
        """Up to ``limit`` distinct team ids having queued runs (index-backed); when more teams have
        some, a varying subset, so that successive calls reach every team."""
        ...


# --- triggers -----------------------------------------------------------------------------------


class TriggerRepository(Protocol):
    """Webhook and SQS triggers (collection ``workflow_triggers``). The webhook secret is stored with
    its trigger but only ``find_webhook`` returns it."""

    def insert(self, trigger: Trigger, secret: str | None) -> None:
        """Raises KeyError when ``trigger`` is an SQS trigger and its workflow already has one."""
        ...

    def get(self, team_id: str, workflow_id: str, trigger_id: str) -> Trigger | None: ...

    def list_for_workflow(self, team_id: str, workflow_id: str) -> list[Trigger]: ...

    def update_fields(
        self, team_id: str, workflow_id: str, trigger_id: str, fields: dict[str, Any], user_id: str
    ) -> Trigger | None: ...

    def replace_secret(
        self, team_id: str, workflow_id: str, trigger_id: str, secret: str, user_id: str
    ) -> Trigger | None:
        """Sets a webhook trigger's new secret; None if no such webhook trigger."""
        ...

    def delete(self, team_id: str, workflow_id: str, trigger_id: str) -> bool: ...

    def delete_for_workflow(self, team_id: str, workflow_id: str) -> int: ...

    def find_webhook(self, trigger_id: str) -> tuple[Trigger, str] | None:
        """The webhook trigger and its secret, whatever its team (the public endpoint's lookup)."""
        ...

    def find_sqs_trigger(self, workflow_id: str) -> Trigger | None:
        """The workflow's SQS trigger, whatever its team (the trigger queue names only the workflow)."""
        ...


# --- schedules ----------------------------------------------------------------------------------
# (imported here rather than at the top so this section stays self-contained for its owner)

if TYPE_CHECKING:
    from workflow_service.models.recurring import HistoryRow


@dataclass(frozen=True)
class ScheduleDefinition:
    """One schedule in the scheduler (EventBridge Scheduler, or its local emulation).

    A one-time schedule has ``fire_at`` (aware, UTC) and is deleted after it fires; a recurring one
    has a validated 5-field POSIX ``cron_expression`` evaluated in ``timezone``. The target input is
    ``ScheduleTargetEvent.template(schedule_id, kind)``.
    """

    name: str
    schedule_id: str
    kind: ScheduleKind
    fire_at: datetime | None = None
    cron_expression: str | None = None
    timezone: str = "UTC"
    enabled: bool = True


class Scheduler(Protocol):
    """Schedules that invoke the schedule-target handler. Failures raise ``errors.UpstreamUnavailable``."""

    def arn_for(self, name: str) -> str:
        """The ARN the schedule called ``name`` has (or will have once created); no call is made."""
        ...

    def create(self, definition: ScheduleDefinition) -> str:
        """Create the schedule; returns its ARN."""
        ...

    def update(self, definition: ScheduleDefinition) -> str:
        """Replace the schedule's definition (creating it if it is missing); returns its ARN."""
        ...

    def delete(self, name: str) -> None:
        """Delete the schedule; a missing one is not an error."""
        ...


class OneTimeScheduleRepository(Protocol):
    """One-time schedules (collection ``workflow_schedules``). Status changes are single-document
    conditional updates, so a cancel racing a firing has exactly one winner."""

    def insert(self, schedule: WorkflowSchedule) -> None: ...

    def remove(self, schedule_id: str) -> None:
        """Delete the document (undoing an insert whose scheduler call failed)."""
        ...

    def get(self, team_id: str | None, schedule_id: str) -> WorkflowSchedule | None:
        """The schedule (of ``team_id`` unless None, for trusted internal callers)."""
        ...

    def list(
        self, team_id: str, workflow_id: str | None, status: ScheduleStatus | None, skip: int, limit: int
    ) -> list[WorkflowSchedule]:
        """Soonest scheduled time first."""
        ...

    def update_pending(
        self, team_id: str, schedule_id: str, fields: dict[str, Any], user_id: str
    ) -> WorkflowSchedule | None:
        """Set ``fields`` only while the schedule is pending; returns it as it was BEFORE, or None."""
        ...

    def restore_pending(self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any]) -> bool:
        """Put back ``previous`` values if the schedule is still pending with the ``expected`` ones."""
        ...

    def cancel(
        self, team_id: str | None, schedule_id: str, user_id: str | None, reason: str | None = None
    ) -> WorkflowSchedule | None:
        """pending -> cancelled; returns the cancelled schedule, or None if it was not pending."""
        ...

    def claim_for_firing(self, schedule_id: str, at: datetime, due_by: datetime) -> WorkflowSchedule | None:
        """pending -> in_progress at ``at`` if its time is not after ``due_by`` (or an in_progress one
        whose run was never recorded, so a delivery retried after a crash can finish the job); None otherwise."""
        ...

    def record_run(self, schedule_id: str, run_id: str) -> None:
        """Link the run the firing started (idempotent)."""
        ...

    def finish(
        self, schedule_id: str, status: ScheduleStatus, error_message: str | None, run_id: str | None
    ) -> WorkflowSchedule | None:
        """in_progress -> completed/failed; None if it was not in progress (already finished)."""
        ...

    def pending_ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> list[str]: ...

    def in_progress(self, after_id: str | None, limit: int) -> list[WorkflowSchedule]:
        """Up to ``limit`` in-progress schedules by id, after ``after_id`` (paging; index-backed), for
        the reaper's reconciliation of firings whose outcome was never recorded."""
        ...


class RecurringScheduleRepository(Protocol):
    """Recurring schedules (collection ``recurring_schedules``) and their history
    (``recurring_schedule_history``, one row per (schedule, scheduled time))."""

    def insert(self, schedule: RecurringSchedule) -> None:
        """Raises KeyError when the workflow already has a schedule with the same expression and zone."""
        ...

    def remove(self, schedule_id: str) -> None:
        """Delete the schedule and its history."""
        ...

    def get(self, team_id: str | None, schedule_id: str) -> RecurringSchedule | None: ...

    def list(
        self, team_id: str, workflow_id: str | None, enabled: bool | None, skip: int, limit: int
    ) -> tuple[list[RecurringSchedule], int]:
        """Oldest first, and the number matching the filters."""
        ...

    def ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> list[str]: ...

    def update(self, team_id: str, schedule_id: str, fields: dict[str, Any], user_id: str) -> RecurringSchedule | None:
        """Set ``fields``; returns the schedule as it was BEFORE, or None if missing.
        Raises KeyError when the change would duplicate another schedule of the workflow."""
        ...

    def restore(self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any]) -> bool:
        """Put back ``previous`` values if the schedule still has the ``expected`` ones."""
        ...

    def start_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        """Add the history row of a firing unless one exists for its scheduled time; True if added
        (then ``run_count`` and, for the latest firing, ``last_run``/``last_status`` are updated)."""
        ...

    def finish_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        """Record a firing's outcome once (adding the row if the firing's own write has not happened
        yet); True if this call recorded it (then the success or failure counter is bumped)."""
        ...

    def history(self, schedule_id: str, skip: int, limit: int) -> tuple[list[HistoryEntry], int]:
        """Newest scheduled time first, and the number of rows."""
        ...

    def running_executions(self, after_id: str | None, limit: int) -> list[HistoryRow]:
        """Up to ``limit`` history rows still ``running`` (with their run's id) by row id, after
        ``after_id`` (paging; index-backed), for the reaper's reconciliation."""
        ...


class WorkflowNames(Protocol):
    """Current workflow names, for schedule listings (one batched read)."""

    def names(self, team_id: str, workflow_ids: list[str]) -> dict[str, str]: ...


# --- schedule reconciliation (the reaper's schedule step) ----------------------------------------

if TYPE_CHECKING:
    from collections.abc import Callable


class ScheduleReconciler(Protocol):
    """Repairs schedule state whose run-outcome notification or firing was lost (the reaper calls it).

    Every repair is a conditional write, so repeating it (or racing the normal path) changes nothing twice.
    """

    def reconcile(
        self, limit: int, *, max_batches: int = 1, should_stop: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """Read at most ``max_batches`` batches of ``limit`` per kind, stopping early once ``should_stop()``.

        Returns counts (``schedules_reconciled``, ``schedules_refired``, ``schedules_failed``,
        ``history_reconciled``), ``errors`` (repairs that raised and are left for the next pass) and
        ``complete`` (False when the budget or the time ran out before every candidate was seen).
        """
        ...
