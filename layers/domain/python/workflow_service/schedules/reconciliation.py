"""The reaper's schedule step: repair what a lost run-outcome notification, a lost firing or a crash
between MongoDB and EventBridge left behind.

Four stuck states of the run side (the AWS side, (d) to (f), is ``schedules.aws_convergence``),
each found by an index-backed sweep (partial indexes hold only in-progress schedules and running
history rows) and repaired with the writes the normal path uses, all
conditional, so repeating a pass or racing the normal path changes nothing twice:

(a) a one-time schedule ``in_progress`` with an ``actual_run_id`` whose run has ended or no longer
    exists: the run's ``RunFinishedListener`` notification was lost (a crash, a store blip, a listener
    error). The run is loaded and ``ScheduleRunListener.record_one_time_outcome`` writes what the
    listener would have; a missing run fails the schedule with "run <id> no longer exists".
(b) a one-time schedule ``in_progress`` without a run, claimed longer than
    ``REAPER_SCHEDULE_FIRING_GRACE_SECONDS`` ago: a delivery claimed it, submitting the run failed
    transiently, and EventBridge gave up retrying (the event went to the schedule DLQ). It is fired
    again through ``ScheduleFiring.refire_one_time`` rather than failed, because firing is idempotent:
    the run's dedupe key ``schedule:<id>`` finds the run a crashed delivery did create, and a late
    redelivery (or a DLQ redrive) finds the run the reaper made. The schedule so still runs, late,
    with its original scheduled time on the run's trigger. A run that cannot start at all (workflow or
    version deleted) fails the schedule with the reason, as a delivery would; a transient failure is
    left for a later pass (the re-claim restarts the grace period, which spaces the attempts).
(c) a recurring history row still ``running`` whose run has ended or no longer exists: finished by
    ``ScheduleRunListener.record_recurring_outcome`` (a missing run: failed, "run <id> no longer
    exists"). The row update is conditional on the row being unfinished, so the success or failure
    counter moves once, whoever (listener or reaper) gets there first.
(c') a history row that still owes its schedule's counters (a crash between the row's write and the
    counters'): applied, once per row and phase (``adapters.mongo.history_counts``).

Schedules whose runs are still live are read and skipped, so a pass costs in proportion to the
firings in flight (one schedule read and one run-status read per batch), never to everything stored.
Order of a pass: pushes first (a lagging schedule fixed before anything reads it), then overdue
one-time schedules, in-progress ones, running history rows, rows owing counts, and one page of the group listing.

Every sweep resumes where the last pass stopped (``reaper.cursors``, when wired): the sets of healthy
items (live firings, running rows) and the sets of repairs alike, since a repair that keeps failing
(AWS refusing a push, a firing that cannot be written) leaves its candidate in the set, and more of
those than one pass reads would otherwise be all that any pass ever tried. A sweep writes its resume
point only when it moved: at most once a pass, twice for a sweep of repairs (``_Resume``), so a pass
over sets smaller than a batch writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from workflow_service.errors import StoreUnavailable
from workflow_service.models.recurring import ExecutionStatus, HistoryEntry, HistoryRow, RecurringSchedule
from workflow_service.models.runs import TERMINAL_STATUSES
from workflow_service.models.schedules import ScheduleStatus, WorkflowSchedule
from workflow_service.schedules.aws_convergence import AWS_REPAIR_COUNTS, AwsConvergence
from workflow_service.schedules.firing import duration_ms

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.runs import RunRepository
    from workflow_service.ports.schedules import OneTimeScheduleRepository, RecurringScheduleRepository
    from workflow_service.reaper.cursors import SweepCursors
    from workflow_service.schedules.firing import ScheduleFiring, ScheduleRunListener
    from workflow_service.schedules.overlap import ScheduleOverlap

logger = logging.getLogger(__name__)

# The counts ``reconcile`` reports, besides ``errors`` and ``complete``.
REPAIR_COUNTS = (
    "schedules_reconciled",
    "schedules_refired",
    "schedules_failed",
    "history_reconciled",
    "history_counts_settled",
    "overlap_repaired",
    *AWS_REPAIR_COUNTS,
)
_TERMINAL = frozenset(status.value for status in TERMINAL_STATUSES)
_T = TypeVar("_T")


def lost_run_reason(run_id: str) -> str:
    """The error recorded for a firing whose run was deleted before its outcome was recorded."""
    return f"run {run_id} no longer exists"


class ScheduleReconciliation:
    """``ports.ScheduleReconciler`` over the schedule repositories; see the module docstring."""

    def __init__(
        self,
        one_time: OneTimeScheduleRepository,
        recurring: RecurringScheduleRepository,
        runs: RunRepository,
        listener: ScheduleRunListener,
        firing: ScheduleFiring,
        clock: Clock,
        *,
        firing_grace_seconds: int,
        aws: AwsConvergence | None = None,
        overlap: ScheduleOverlap | None = None,
        cursors: SweepCursors | None = None,
    ) -> None:
        """``cursors`` keeps where the sweeps over in-progress schedules, running rows and active
        firings stopped, so that passes take turns over more of them than one pass reads."""
        self._cursors = cursors
        self._aws = aws
        self._overlap = overlap
        self._one_time = one_time
        self._recurring = recurring
        self._runs = runs
        self._listener = listener
        self._firing = firing
        self._clock = clock
        self._firing_grace = timedelta(seconds=firing_grace_seconds)

    def reconcile(
        self, limit: int, *, max_batches: int = 1, should_stop: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """One sweep of one-time schedules and one of history rows, each at most ``max_batches`` reads
        of ``limit``; returns the ``REPAIR_COUNTS``, ``errors`` and ``complete``."""
        report: dict[str, Any] = dict.fromkeys(REPAIR_COUNTS, 0)
        report.update(errors=0, complete=True)
        stop = should_stop or (lambda: False)
        complete = self._converge_aws(limit, max_batches, stop, report)
        # One call per record type rather than a loop: each sweep pages a different one.
        one_time_complete = _sweep(
            self._one_time.in_progress,
            _schedule_id,
            self._repair_one_time,
            limit,
            max_batches,
            stop,
            report,
            resumable=self._resumable("one_time_in_progress"),
        )
        history_complete = _sweep(
            self._recurring.running_executions,
            _row_id,
            self._repair_history,
            limit,
            max_batches,
            stop,
            report,
            resumable=self._resumable("running_history"),
        )
        counts_complete = _sweep(
            self._recurring.owing_counts,
            _same,
            self._settle_counts,
            limit,
            max_batches,
            stop,
            report,
            resumable=self._resumable("history_owing_counts", repairs=True),
        )
        overlap_complete = True
        overlap = self._overlap
        if overlap is not None:

            def repair_overlap(batch: list[RecurringSchedule], counts: dict[str, Any]) -> None:
                counts["overlap_repaired"] += _attempt(counts, "overlap repairs", overlap.repair, batch) or 0

            # After the history sweep: runs whose end was lost are recorded before their firing is released.
            # Paged like the others, so healthy long-running firings never hide one that needs repair.
            overlap_complete = _sweep(
                overlap.active,
                _schedule_id,
                repair_overlap,
                limit,
                max_batches,
                stop,
                report,
                resumable=self._resumable("active_firings"),
            )
        report["complete"] = (
            complete and one_time_complete and history_complete and counts_complete and overlap_complete
        )
        return report

    def _resumable(self, sweep: str, *, repairs: bool = False) -> _Resume | None:
        return None if self._cursors is None else _Resume(self._cursors, sweep, ahead=repairs)

    def _converge_aws(self, limit: int, max_batches: int, stop: Callable[[], bool], report: dict[str, Any]) -> bool:
        """(d) pushes, (e) overdue one-time schedules and (f) one listing page; False if the budget ran out."""
        aws = self._aws
        if aws is None:
            return True
        changed_before = aws.changed_before()
        due_before = changed_before  # the same grace: EventBridge delivers within it

        def with_attempt(repair: Callable[..., None]) -> Callable[[list[Any], dict[str, Any]], None]:
            return lambda batch, counts: repair(batch, counts, _attempt_into(counts))

        # Resumable: a candidate whose repair AWS keeps refusing (a ValidationException, an access
        # denied) stays a candidate, and more of them than a pass reads would otherwise fill every pass.
        sweeps: list[tuple[str, Callable[[str | None, int], list[Any]], Callable[..., None]]] = [
            (
                "one_time_needing_push",
                lambda after, size: self._one_time.needing_push(changed_before, after, size),
                aws.push_one_time_batch,
            ),
            (
                "recurring_needing_push",
                lambda after, size: self._recurring.needing_push(changed_before, after, size),
                aws.push_recurring_batch,
            ),
            (
                "one_time_overdue",
                lambda after, size: self._one_time.overdue_pending(due_before, after, size),
                aws.fire_overdue_batch,
            ),
            (
                "dst_review_due",
                lambda after, size: self._recurring.dst_review_due(aws.now(), after, size),
                aws.review_dst_batch,
            ),
        ]
        complete = True
        for name, read, repair in sweeps:
            resumable = self._resumable(name, repairs=True)
            complete &= _sweep(
                read, _schedule_id, with_attempt(repair), limit, max_batches, stop, report, resumable=resumable
            )
        if not stop():
            aws.list_group_page(limit, report, _attempt_into(report))
        return complete

    # -- one-time schedules: (b) then (a) ----------------------------------------------------------

    def _repair_one_time(self, batch: list[WorkflowSchedule], report: dict[str, Any]) -> None:
        runs_of: dict[str, str] = {
            schedule.id: schedule.actual_run_id for schedule in batch if schedule.actual_run_id and schedule.id
        }
        claimed_before = self._clock.now() - self._firing_grace
        for schedule in batch:
            if schedule.actual_run_id or not schedule.id:
                continue
            if schedule.updated_at is not None and schedule.updated_at > claimed_before:
                continue  # claimed recently: its delivery may still be submitting the run, or be retried
            outcome = _attempt(report, f"re-firing schedule {schedule.id}", self._firing.refire_one_time, schedule.id)
            if outcome is None:
                continue
            if outcome.outcome == "started":
                report["schedules_refired"] += 1
                logger.warning(
                    "reaper: schedule %s was left claimed without a run; fired again: run %s",
                    schedule.id,
                    outcome.run_id,
                )
            elif outcome.outcome == "failed":
                report["schedules_failed"] += 1
            if outcome.run_id:
                # A run found by its dedupe key may have ended already: repaired below in this pass.
                runs_of[schedule.id] = outcome.run_id
        if not runs_of:
            return
        statuses = self._runs.statuses_of(sorted(set(runs_of.values())))
        for schedule_id, run_id in runs_of.items():
            status = statuses.get(run_id)
            if status is not None and status not in _TERMINAL:
                continue  # still live: its own finalize records the outcome
            if _attempt(
                report, f"recording the outcome of schedule {schedule_id}", self._finish_one_time, schedule_id, run_id
            ):
                report["schedules_reconciled"] += 1
                logger.warning(
                    "reaper: schedule %s was still in progress after run %s ended (%s); outcome recorded",
                    schedule_id,
                    run_id,
                    status or "missing",
                )

    def _finish_one_time(self, schedule_id: str, run_id: str) -> bool:
        run = self._runs.get(None, run_id)
        if run is None:
            finished = self._one_time.finish(schedule_id, ScheduleStatus.FAILED, lost_run_reason(run_id), run_id)
            return finished is not None
        return self._listener.record_one_time_outcome(schedule_id, run)

    # -- recurring history rows: (c) ---------------------------------------------------------------

    def _repair_history(self, batch: list[HistoryRow], report: dict[str, Any]) -> None:
        statuses = self._runs.statuses_of(sorted({row.entry.execution_id for row in batch if row.entry.execution_id}))
        for row in batch:
            run_id = row.entry.execution_id
            if run_id is None:
                continue
            status = statuses.get(run_id)
            if status is not None and status not in _TERMINAL:
                continue
            what = f"recording the outcome of recurring schedule {row.schedule_id}'s run {run_id}"
            if _attempt(report, what, self._finish_history, row, run_id):
                report["history_reconciled"] += 1
                logger.warning(
                    "reaper: recurring schedule %s's firing at %s was still running after run %s ended (%s); "
                    "outcome recorded",
                    row.schedule_id,
                    row.entry.scheduled_time.isoformat(),
                    run_id,
                    status or "missing",
                )

    def _settle_counts(self, batch: list[str], report: dict[str, Any]) -> None:
        settled = _attempt(report, "settling recurring counters", self._recurring.settle_counts, batch) or 0
        if settled:
            report["history_counts_settled"] += settled
            logger.warning("reaper: %d recurring history rows still owed their schedule's counters; applied", settled)

    def _finish_history(self, row: HistoryRow, run_id: str) -> bool:
        run = self._runs.get(None, run_id)
        if run is not None:
            return self._listener.record_recurring_outcome(row.schedule_id, row.entry.scheduled_time, run)
        now = self._clock.now()
        started = row.entry.started_at or now
        return self._recurring.finish_execution(
            row.schedule_id,
            HistoryEntry(
                execution_id=run_id,
                scheduled_time=row.entry.scheduled_time,
                started_at=started,
                finished_at=now,
                status=ExecutionStatus.FAILED,
                duration_ms=duration_ms(started, now),
                error=lost_run_reason(run_id),
            ),
        )


def _sweep(
    read: Callable[[str | None, int], list[_T]],
    cursor: Callable[[_T], str | None],
    repair: Callable[[list[_T], dict[str, Any]], None],
    limit: int,
    max_batches: int,
    stop: Callable[[], bool],
    report: dict[str, Any],
    *,
    resumable: _Resume | None = None,
) -> bool:
    """Page through ``read`` by id and repair each batch; False if the budget or the time ran out first.

    Paging moves past a candidate whose repair raised, so the next pass retries it, never this one in a loop.
    A ``resumable`` sweep (over a set that holds healthy items, or candidates whose repair keeps
    failing) starts where the last pass stopped, and starts over once it reached the end
    (``reaper.cursors``).
    """
    after = resumable.cursors.resume(resumable.sweep) if resumable is not None else None
    finished = False
    for number in range(max_batches):
        if stop():
            break
        batch = read(after, limit)
        if not batch:
            finished = True
            break
        after = cursor(batch[-1])
        if resumable is not None and resumable.ahead and number == 0 and len(batch) == limit:
            # Recorded before the repair: a pass that dies later (a Lambda timeout or crash, a store
            # outage raised out of the pass) has still moved the sweep on by one batch, so passes that
            # all die at the same point get past it. Where the sweep stops is recorded below.
            resumable.cursors.stopped(resumable.sweep, after, finished=False)
        repair(batch, report)
        if len(batch) < limit:
            finished = True
            break
    if resumable is not None:
        resumable.cursors.stopped(resumable.sweep, after, finished=finished)
    return finished


class _Resume(NamedTuple):
    """Where a sweep resumes, and whether it records the end of its first full batch ahead of
    repairing it (``ahead``).

    Ahead for the sweeps of repairs (owed pushes, overdue schedules, DST plans due, rows owing
    counts): their sets are empty in a healthy service, so the write costs nothing then, and when they
    are not, each candidate costs a repair, mostly AWS calls (a throttled push retries for seconds),
    which is what makes a pass die mid-sweep. Not for the sets of healthy items (live firings, running
    rows), which may span several batches on every pass: the write would be paid on each pass, where
    most items cost nothing but the read.
    """

    cursors: SweepCursors
    sweep: str
    ahead: bool


def _schedule_id(schedule: WorkflowSchedule | RecurringSchedule) -> str | None:
    return schedule.id


def _attempt_into(report: dict[str, Any]) -> Callable[..., Any]:
    return lambda what, action, *args: _attempt(report, what, action, *args)


def _same(row_id: str) -> str:
    return row_id


def _row_id(row: HistoryRow) -> str:
    return row.row_id


def _attempt(report: dict[str, Any], what: str, action: Callable[..., _T], *args: Any) -> _T | None:
    """Run one repair; a failure other than a store outage is logged and counted, and leaves the
    candidate for the next pass (one broken schedule must not keep the others stuck)."""
    try:
        return action(*args)
    except StoreUnavailable:
        raise  # nothing else can be repaired either: the pass fails and the next one retries
    except Exception:
        report["errors"] += 1
        logger.exception("reaper: %s failed; left for the next pass", what)
        return None
