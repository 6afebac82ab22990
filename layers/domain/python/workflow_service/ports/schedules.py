"""Schedules: the scheduler (EventBridge Scheduler or its emulation), schedule repositories and the reconciler."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from workflow_service.models.recurring import HistoryEntry, HistoryRow, RecurringSchedule
    from workflow_service.models.schedules import ScheduleKind, ScheduleStatus, WorkflowSchedule


class ScheduleDefinition(NamedTuple):
    """One schedule in the scheduler (EventBridge Scheduler, or its local emulation).

    A one-time schedule has ``fire_at`` (aware, UTC) and is deleted after it fires; a recurring one
    has a validated 5-field POSIX ``cron_expression`` evaluated in ``timezone``. The target input is
    ``ScheduleTargetEvent.template(schedule_id, kind, generation)``: ``generation`` is the record's
    desired generation this definition is (None only for callers that predate generations).
    """

    name: str
    schedule_id: str
    kind: ScheduleKind
    fire_at: datetime | None = None
    cron_expression: str | None = None
    timezone: str = "UTC"
    enabled: bool = True
    generation: int | None = None
    # A recurring schedule's compensating one-time firing (DST): an at() schedule at ``fire_at`` whose
    # target input names this occurrence of the recurring schedule.
    occurrence: datetime | None = None
    # Recurring only: EventBridge's StartDate / EndDate (aware, UTC) and FlexibleTimeWindow (0: off).
    start_at: datetime | None = None
    end_at: datetime | None = None
    flexible_window_minutes: int = 0


class ListedSchedule(NamedTuple):
    """One schedule of the group as a listing shows it: its name and whether it is enabled."""

    name: str
    enabled: bool


class Scheduler(Protocol):
    """Schedules that invoke the schedule-target handler. Failures raise ``errors.UpstreamUnavailable``."""

    def arn_for(self, name: str) -> str:
        """The ARN the schedule called ``name`` has (or will have once created); no call is made."""
        ...

    def create(self, definition: ScheduleDefinition) -> str:
        """Create the schedule; returns its ARN. Idempotent by name: when a schedule of that name
        exists already (a retry after a lost answer), it is updated to ``definition`` instead."""
        ...

    def update(self, definition: ScheduleDefinition) -> str:
        """Replace the schedule's definition (creating it if it is missing); returns its ARN."""
        ...

    def delete(self, name: str) -> None:
        """Delete the schedule; a missing one is not an error."""
        ...

    def list_names(self, next_token: str | None, limit: int) -> tuple[builtins.list[str], str | None]:
        """One page (at most ``limit``) of the names in the service's schedule group, from ``next_token``
        (None: the start); returns them and the token of the next page (None: that was the last)."""
        ...

    def list_schedules(self, next_token: str | None, limit: int) -> tuple[builtins.list[ListedSchedule], str | None]:
        """``list_names`` with each schedule's state (ListSchedules returns it at no extra cost)."""
        ...


class OneTimeScheduleRepository(Protocol):
    """One-time schedules (collection ``workflow_schedules``). Status changes are single-document
    conditional updates, so a cancel racing a firing has exactly one winner."""

    def insert(self, schedule: WorkflowSchedule) -> None:
        """Raises DuplicateKey when a schedule with its id exists (a reserved id used twice)."""
        ...

    def remove(self, schedule_id: str) -> None:
        """Delete the document (undoing an insert whose scheduler call failed)."""
        ...

    def adopt(self, schedule_id: str) -> bool:
        """A retry of the create that inserted the schedule (same ``Idempotency-Key``) answers with it:
        mark it so that the create's undo (``remove_unless_adopted``) leaves it. True if it exists."""
        ...

    def remove_unless_adopted(self, schedule_id: str) -> bool:
        """Undo a create whose CreateSchedule failed: delete the document unless a retry adopted it or a
        push of it was recorded (another writer answered with it, or AWS holds it). True if deleted."""
        ...

    def get(self, team_id: str | None, schedule_id: str) -> WorkflowSchedule | None:
        """The schedule (of ``team_id`` unless None, for trusted internal callers)."""
        ...

    def list(
        self, team_id: str, workflow_id: str | None, status: ScheduleStatus | None, skip: int, limit: int
    ) -> builtins.list[WorkflowSchedule]:
        """Soonest scheduled time first."""
        ...

    def update_pending(
        self,
        team_id: str,
        schedule_id: str,
        fields: dict[str, Any],
        user_id: str,
        *,
        bump: bool = False,
        bump_unless: dict[str, Any] | None = None,
    ) -> WorkflowSchedule | None:
        """Set ``fields`` only while the schedule is pending (moving the desired generation on when
        ``bump``: the change is one AWS must see); returns it as it was BEFORE, or None.

        ``bump_unless`` (with ``bump``): keep the generation when the schedule already holds these
        values, decided in the same atomic write (then the write changes nothing AWS holds)."""
        ...

    def restore_pending(
        self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any], *, bump: bool = False
    ) -> bool:
        """Put back ``previous`` values if the schedule is still pending with the ``expected`` ones."""
        ...

    def cancel(
        self, team_id: str | None, schedule_id: str, user_id: str | None, reason: str | None = None
    ) -> WorkflowSchedule | None:
        """pending -> cancelled, wanting the AWS schedule absent (a new desired generation); returns
        the cancelled schedule, or None if it was not pending."""
        ...

    def claim_for_firing(
        self, schedule_id: str, at: datetime, due_by: datetime, generation: int | None = None
    ) -> WorkflowSchedule | None:
        """pending -> in_progress at ``at`` if its time is not after ``due_by`` (or an in_progress one
        whose run was never recorded, so a delivery retried after a crash can finish the job) and, when
        ``generation`` is given, its desired generation is not newer (for that in_progress one: not newer
        than the claim left it, one past the generation that fired); None otherwise. A pending one's
        generations both move on (the fired at() schedule deletes itself: "absent" wanted and held)."""
        ...

    def record_applied(self, schedule_id: str, generation: int) -> bool:
        """AWS holds ``generation`` (unless a later one was recorded already); True if recorded."""
        ...

    def mark_stale(self, schedule_id: str, generation: int) -> bool:
        """AWS delivered an older ``generation`` than the desired one: owe a push. True if it changed."""
        ...

    def needing_push(
        self, changed_before: datetime, after_id: str | None, limit: int
    ) -> builtins.list[WorkflowSchedule]:
        """Up to ``limit`` schedules owed a push whose generation moved before ``changed_before``, by id
        after ``after_id`` (index-backed: only such schedules are read)."""
        ...

    def overdue_pending(
        self, due_before: datetime, after_id: str | None, limit: int
    ) -> builtins.list[WorkflowSchedule]:
        """Up to ``limit`` pending schedules due before ``due_before``, by id after ``after_id`` (index-backed)."""
        ...

    def existing_ids(self, ids: builtins.list[str]) -> set[str]:
        """Which of ``ids`` have a record."""
        ...

    def record_run(self, schedule_id: str, run_id: str) -> None:
        """Link the run the firing started (idempotent)."""
        ...

    def finish(
        self, schedule_id: str, status: ScheduleStatus, error_message: str | None, run_id: str | None
    ) -> WorkflowSchedule | None:
        """in_progress -> completed/failed; None if it was not in progress (already finished)."""
        ...

    def pending_ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[str]: ...

    def in_progress(self, after_id: str | None, limit: int) -> builtins.list[WorkflowSchedule]:
        """Up to ``limit`` in-progress schedules by id, after ``after_id`` (paging; index-backed), for
        the reaper's reconciliation of firings whose outcome was never recorded."""
        ...


class RecurringScheduleRepository(Protocol):
    """Recurring schedules (collection ``recurring_schedules``) and their history
    (``recurring_schedule_history``, one row per (schedule, scheduled time))."""

    def insert(self, schedule: RecurringSchedule) -> None:
        """Raises DuplicateKey when the workflow already has a schedule with the same expression and zone."""
        ...

    def remove(self, schedule_id: str) -> None:
        """Delete the schedule (a tombstone too) and its history, remembering first that it was
        removed (``was_removed``) for the dedupe window. Not for undoing a create (``remove_unless_adopted``)."""
        ...

    def was_removed(self, schedule_id: str) -> bool:
        """Whether ``remove`` deleted a schedule with this id within the dedupe window: a create retried
        with the id its ``Idempotency-Key`` reserved must then not make the deleted schedule again."""
        ...

    def adopt(self, schedule_id: str) -> bool:
        """A retry of the create that inserted the schedule (same ``Idempotency-Key``) answers with it:
        mark it so that the create's undo (``remove_unless_adopted``) leaves it. True if it exists."""
        ...

    def remove_unless_adopted(self, schedule_id: str) -> bool:
        """Undo a create whose CreateSchedule failed: delete the document unless a retry adopted it or a
        push of it was recorded (another writer answered with it, or AWS holds it). True if deleted."""
        ...

    def get(self, team_id: str | None, schedule_id: str) -> RecurringSchedule | None:
        """The schedule, unless it is missing or a tombstone."""
        ...

    def get_any(self, schedule_id: str) -> RecurringSchedule | None:
        """The record, tombstones included (for the reconciler and create's id check)."""
        ...

    def tombstone(self, team_id: str | None, schedule_id: str) -> RecurringSchedule | None:
        """Mark the schedule deleted (invisible from now on; AWS absent wanted, a new generation);
        returns the tombstone, or None if it was missing or already one."""
        ...

    def revive(self, schedule_id: str, generation: int) -> bool:
        """Undo ``tombstone`` (its AWS delete failed) while the tombstone is at ``generation``; the
        generation moves on again, since AWS may have deleted the schedule after all."""
        ...

    def tombstone_in_the_way(self, team_id: str, workflow_id: str, cron_expression: str, timezone: str) -> str | None:
        """The id of a tombstone holding this (workflow, expression, zone) in the unique index, if any."""
        ...

    def record_applied(self, schedule_id: str, generation: int) -> bool:
        """AWS holds ``generation`` (unless a later one was recorded already); True if recorded."""
        ...

    def mark_stale(self, schedule_id: str, generation: int) -> bool:
        """AWS delivered an older ``generation`` than the desired one: owe a push. True if it changed."""
        ...

    def needing_push(
        self, changed_before: datetime, after_id: str | None, limit: int
    ) -> builtins.list[RecurringSchedule]:
        """Up to ``limit`` schedules (tombstones included) owed a push whose generation moved before
        ``changed_before``, by id after ``after_id`` (index-backed)."""
        ...

    def existing_ids(self, ids: builtins.list[str]) -> set[str]:
        """Which of ``ids`` have a record (tombstones included)."""
        ...

    def get_many(self, ids: builtins.list[str]) -> builtins.list[RecurringSchedule]:
        """The records of ``ids`` that exist, tombstones included (one read)."""
        ...

    def list(
        self, team_id: str, workflow_id: str | None, enabled: bool | None, skip: int, limit: int
    ) -> tuple[builtins.list[RecurringSchedule], int]:
        """Oldest first, and the number matching the filters."""
        ...

    def ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[str]: ...

    def update(
        self,
        team_id: str,
        schedule_id: str,
        fields: dict[str, Any],
        user_id: str,
        *,
        bump: bool = False,
        expected: dict[str, Any] | None = None,
    ) -> RecurringSchedule | None:
        """Set ``fields`` (moving the desired generation on when ``bump``), only while the schedule
        holds the ``expected`` values when given; returns the schedule as it was BEFORE, or None if
        missing (or not as expected). Raises DuplicateKey when the change would duplicate another
        schedule of the workflow."""
        ...

    def restore(
        self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any], *, bump: bool = False
    ) -> bool:
        """Put back ``previous`` values if the schedule still has the ``expected`` ones."""
        ...

    def dst_review_due(self, before: datetime, after_id: str | None, limit: int) -> builtins.list[RecurringSchedule]:
        """Up to ``limit`` live schedules whose DST compensations must be planned again by ``before``
        (``dst_review_at`` passed), by id after ``after_id`` (index-backed)."""
        ...

    def set_dst_plan(self, schedule_id: str, generation: int, fields: dict[str, Any], *, bump: bool) -> bool:
        """Set the DST plan ``fields`` while the desired generation is still ``generation`` (a writer that
        moved it on planned itself), moving it on when ``bump``; True if written."""
        ...

    def start_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        """Add the history row of a firing unless one exists for its scheduled time; True if added
        (then ``run_count`` and, for the latest firing, ``last_run``/``last_status`` are updated).
        Counts are applied once per row even when a crash or a retry repeats the call."""
        ...

    def decided_execution(self, schedule_id: str, scheduled_time: datetime) -> HistoryEntry | None:
        """The history row of the occurrence at ``scheduled_time``, if it has one (then the occurrence is
        decided: it ran, runs, was skipped or could not start); counts a crashed writer left owing on the
        row are applied, as a repeated ``start_execution`` would."""
        ...

    def finish_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        """Record a firing's outcome once (adding the row if the firing's own write has not happened
        yet); True if this call recorded it (then the success or failure counter is bumped)."""
        ...

    def restart_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        """Give an occurrence whose row has no run (``skipped``, or ``failed`` to start) the run in
        ``entry`` (a backfill's), moving the counters to match; True if this call did."""
        ...

    def owing_counts(self, after_id: str | None, limit: int) -> builtins.list[str]:
        """Ids of history rows whose counts a crash left unapplied, by id after ``after_id``
        (index-backed), for the reaper."""
        ...

    def settle_counts(self, row_ids: builtins.list[str]) -> int:
        """Apply what these rows still owe to their schedules' counters (once); how many moved."""
        ...

    def history(self, schedule_id: str, skip: int, limit: int) -> tuple[builtins.list[HistoryEntry], int]:
        """Newest scheduled time first, and the number of rows."""
        ...

    def running_executions(self, after_id: str | None, limit: int) -> builtins.list[HistoryRow]:
        """Up to ``limit`` history rows still ``running`` (with their run's id) by row id, after
        ``after_id`` (paging; index-backed), for the reaper's reconciliation."""
        ...


class WorkflowNames(Protocol):
    """Current workflow names, for schedule listings (one batched read)."""

    def names(self, team_id: str, workflow_ids: list[str]) -> dict[str, str]: ...


class ReconcilerStateStore(Protocol):
    """Small named documents the reconciler keeps between passes (e.g. the schedule-group listing cursor)."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, state: dict[str, Any]) -> None: ...


class ScheduleReconciler(Protocol):
    """Repairs schedule state whose run-outcome notification or firing was lost, and converges
    EventBridge on MongoDB (the reaper calls it).

    Every repair is a conditional write, so repeating it (or racing the normal path) changes nothing twice.
    """

    def reconcile(
        self, limit: int, *, max_batches: int = 1, should_stop: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """Read at most ``max_batches`` batches of ``limit`` per kind, stopping early once ``should_stop()``.

        Returns counts (``schedules_reconciled``, ``schedules_refired``, ``schedules_failed``,
        ``history_reconciled``, ``history_counts_settled``, ``schedules_pushed``, ``tombstones_applied``,
        ``schedules_fired_late``, ``orphans_deleted``), ``errors`` (repairs that raised and are left for
        the next pass) and ``complete`` (False when the budget or the time ran out before every candidate
        was seen).
        """
        ...


class OverlapState(Protocol):
    """A recurring schedule's overlap-policy state on its own document (``schedules.overlap``): the
    active firing (its scheduled time, its run once known) and at most one buffered firing. Every
    change is one conditional update, so two racing firings cannot both find "no active run"."""

    def claim(self, schedule_id: str, scheduled_time: datetime, now: datetime) -> bool:
        """Make the firing at ``scheduled_time`` the active one if none is; True if this call did."""
        ...

    def record_run(self, schedule_id: str, scheduled_time: datetime, run_id: str) -> bool:
        """Note the active firing's run, while that firing is still the active one."""
        ...

    def buffer(self, schedule_id: str, active_time: datetime, scheduled_time: datetime) -> bool:
        """Keep the firing at ``scheduled_time`` waiting while ``active_time`` is active and none waits."""
        ...

    def release(
        self, schedule_id: str, active_time: datetime, buffered: datetime | None, now: datetime, *, promote: bool = True
    ) -> bool:
        """The active firing's run ended: the buffered firing (as read) becomes the active one (dropped
        instead when not ``promote``), or nothing is active. One write, conditional on both as read;
        True if this call made it."""
        ...

    def with_active(self, after_id: str | None, limit: int) -> builtins.list[RecurringSchedule]:
        """Up to ``limit`` live schedules with an active firing, by id after ``after_id`` (index-backed)."""
        ...
