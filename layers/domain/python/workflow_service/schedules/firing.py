"""What happens when a schedule fires, and when its run ends.

Firing (the schedule-target Lambda, one EventBridge delivery):
- one-time: one conditional update pending -> in_progress claims the firing, so a duplicate
  delivery or a schedule cancelled meanwhile is a no-op; the run is submitted with the dedupe key
  ``schedule:<id>`` (a retry after a crash finds the same run) and linked as ``actual_run_id``.
  A run that cannot start (workflow deleted, version gone) fails the schedule with the reason.
- recurring: each firing is keyed by (schedule id, scheduled time): the run's dedupe key is
  ``recurring:<id>:<scheduled time>`` and the history row is unique on the same pair, so a
  duplicate delivery never makes a second run, row or count (``schedules.recurring_runs``). A
  delivery outside the schedule's ``start_at``/``end_at`` starts nothing; a schedule with an
  ``overlap_policy`` other than ``allow`` fires through ``schedules.overlap``.
A delivery carrying an older generation than the record's desired one comes from a definition AWS
should no longer hold (a push that arrived late or out of order, or one a crash cut short): it is
dropped (no run, no history row) and the schedule is marked as owing a push, which the reaper's
sweep makes; pushing from here would load the AWS SDK into every delivery for a rare repair. A
delivery without a generation (a schedule pushed before generations existed) is accepted as before.
Inside a DST transition window the service, not EventBridge, decides (``schedules.dst``): a native
delivery there is dropped (debug log, no history row, no run) and the compensating one-time firing,
whose event names its ``occurrence``, fires under the same key (schedule id, occurrence).
A transient failure (database or AWS unreachable) is raised, so EventBridge retries the delivery.

Run outcome (``ScheduleRunListener``, a ``RunFinishedListener``): the one-time schedule becomes
``completed`` or ``failed`` (conditional on in_progress); a recurring firing's history row gets its
finish time, status, duration and error, and the counters move. Both are idempotent.

A lost outcome notification or a firing whose retries ran out is repaired by the reaper
(``schedules.reconciliation``), through the same methods.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import DomainError
from workflow_service.models.common import Caller, format_utc
from workflow_service.models.recurring import ExecutionStatus, HistoryEntry, OverlapPolicy
from workflow_service.models.runs import (
    TERMINAL_STATUSES,
    RunStatus,
    RunTrigger,
    TriggerType,
    WorkflowRunInput,
    WorkflowRunsModel,
)
from workflow_service.models.schedules import ScheduleKind, ScheduleStatus, ScheduleTargetEvent
from workflow_service.ports.dedupe import AlreadyProcessed
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.schedules import bounds
from workflow_service.schedules.dst import drops_native
from workflow_service.schedules.recurring_runs import (
    TRANSIENT,
    FiringOutcome,
    RecurringRunStarter,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from workflow_service.ports.clock import Clock
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.runs import RunSubmitter
    from workflow_service.ports.schedules import OneTimeScheduleRepository, RecurringScheduleRepository
    from workflow_service.schedules.overlap import ScheduleOverlap

logger = logging.getLogger(__name__)

# EventBridge Scheduler invokes with 60-second precision: an at() for hh:mm:45 may be delivered from
# hh:mm:00 on (and deletes itself after that delivery), so a delivery up to a minute before the record's
# time is its own. One further ahead is the old time of a schedule moved later while it was in flight.
EARLY_DELIVERY_TOLERANCE = timedelta(seconds=60)
_TRANSIENT = TRANSIENT


def one_time_dedupe_key(schedule_id: str) -> str:
    return f"schedule:{schedule_id}"


def duration_ms(started: datetime, finished: datetime) -> int:
    """A history row's duration (never negative, should clocks disagree)."""
    return max(0, int((finished - started).total_seconds() * 1000))


def run_failure_reason(run: WorkflowRunsModel) -> str:
    """Why a finished run did not succeed, for ``error_message`` and history rows."""
    inner = run.workflow_run
    if inner.error:
        return inner.error
    source = f" ({inner.termination_source})" if inner.termination_source else ""
    return f"the run ended with status {inner.status.value}{source}"


class ScheduleFiring:
    """Handles one schedule-target delivery."""

    def __init__(
        self,
        one_time: OneTimeScheduleRepository,
        recurring: RecurringScheduleRepository,
        runs: RunSubmitter,
        clock: Clock,
        metrics: Metrics = DISCARDED_METRICS,
        overlap: Callable[[], ScheduleOverlap] | None = None,
    ) -> None:
        """``overlap`` applies a schedule's overlap policy (None: every firing starts a run)."""
        self._one_time = one_time
        self._recurring = recurring
        self._runs = runs
        self._clock = clock
        self._metrics = metrics
        self._starter = RecurringRunStarter(recurring, runs)
        self._overlap = overlap

    def _record_lateness(self, schedule_id: str, scheduled_time: datetime | None, fired_at: datetime) -> None:
        """ScheduleFireLateness: how long after its scheduled time a schedule's run was submitted."""
        if scheduled_time is not None:
            late_ms = (fired_at - scheduled_time).total_seconds() * 1000
            self._metrics.emit("ScheduleFireLateness", late_ms, "Milliseconds", metadata={"schedule_id": schedule_id})

    def fire(self, event: ScheduleTargetEvent) -> FiringOutcome:
        if event.kind is ScheduleKind.ONE_TIME:
            return self._fire_one_time(event)
        return self._fire_recurring(event)

    def refire_one_time(self, schedule_id: str) -> FiringOutcome:
        """Fire again a one-time schedule left in progress without a run (its delivery failed to submit
        the run and EventBridge stopped retrying). Safe to repeat and to race a late redelivery: the run's
        dedupe key makes every attempt find the same run, and a finished schedule is not claimed again."""
        return self._fire_one_time(ScheduleTargetEvent(schedule_id=schedule_id, kind=ScheduleKind.ONE_TIME))

    def fire_overdue_one_time(self, schedule_id: str) -> FiringOutcome:
        """Fire now a pending one-time schedule whose time passed without a firing (its AWS schedule was
        never created, or fired into a dropped delivery); the lateness is recorded like any firing's."""
        return self._fire_one_time(ScheduleTargetEvent(schedule_id=schedule_id, kind=ScheduleKind.ONE_TIME))

    def _drop_stale(self, kind: ScheduleKind, schedule_id: str, delivered: int, desired: int) -> FiringOutcome:
        if kind is ScheduleKind.ONE_TIME:
            self._one_time.mark_stale(schedule_id, delivered)
        else:
            self._recurring.mark_stale(schedule_id, delivered)
        reason = f"stale delivery: generation {delivered}, the schedule is at {desired}; re-push owed"
        logger.info("%s schedule %s: delivery dropped: %s", kind.value, schedule_id, reason)
        return FiringOutcome("skipped", schedule_id, reason=reason)

    def _fire_one_time(self, event: ScheduleTargetEvent) -> FiringOutcome:
        schedule_id = event.schedule_id
        now = self._clock.now()
        claimed = self._one_time.claim_for_firing(schedule_id, now, now + EARLY_DELIVERY_TOLERANCE, event.generation)
        if claimed is None:
            return self._explain_unclaimed(schedule_id, event.generation)
        trigger = RunTrigger(type=TriggerType.SCHEDULE, schedule_id=schedule_id, scheduled_time=claimed.scheduled_time)
        run_input = claimed.run_input or WorkflowRunInput()
        try:
            run = self._runs.submit(
                Caller(claimed.owner_team_id, claimed.created_by or ""),
                claimed.workflow_id,
                claimed.version,
                run_input,
                trigger,
                dedupe_key=one_time_dedupe_key(schedule_id),
            )
        except _TRANSIENT:
            # The schedule stays claimable (in_progress without a run): a redelivery finishes it, or
            # the reaper re-fires it once EventBridge has given up (``refire_one_time``).
            raise
        except AlreadyProcessed as fired:
            # This firing made a run that was deleted since: it never runs twice, and it is over.
            reason = f"already fired: its run {fired.target_id} was deleted"
            self._one_time.finish(schedule_id, ScheduleStatus.FAILED, reason, fired.target_id)
            return FiringOutcome("duplicate", schedule_id, run_id=fired.target_id, reason=reason)
        except DomainError as refused:
            reason = f"the run could not start: {refused.message}"
            self._one_time.finish(schedule_id, ScheduleStatus.FAILED, reason, None)
            logger.warning("schedule %s failed: %s", schedule_id, reason)
            return FiringOutcome("failed", schedule_id, reason=reason)
        self._one_time.record_run(schedule_id, run.stored_id)
        self._record_lateness(schedule_id, claimed.scheduled_time, now)
        logger.info("schedule %s fired: run %s", schedule_id, run.id)
        return FiringOutcome("started", schedule_id, run_id=run.id)

    def _explain_unclaimed(self, schedule_id: str, generation: int | None) -> FiringOutcome:
        current = self._one_time.get(None, schedule_id)
        if current is None:
            reason = "no such schedule"
        elif (
            current.status is ScheduleStatus.PENDING
            and generation is not None
            and current.desired_generation > generation
        ):
            return self._drop_stale(ScheduleKind.ONE_TIME, schedule_id, generation, current.desired_generation)
        elif current.status is ScheduleStatus.PENDING:
            reason = f"delivered early: the schedule was moved to {format_utc(current.scheduled_time)}"
        elif current.status is ScheduleStatus.CANCELLED:
            reason = "the schedule was cancelled"
        else:
            reason = f"already fired (status {current.status.value}, run {current.actual_run_id})"
        logger.info("schedule %s: delivery ignored: %s", schedule_id, reason)
        run_id = current.actual_run_id if current is not None else None
        outcome = "duplicate" if run_id else "skipped"
        return FiringOutcome(outcome, schedule_id, run_id=run_id, reason=reason)

    def _fire_recurring(self, event: ScheduleTargetEvent) -> FiringOutcome:
        schedule_id = event.schedule_id
        now = self._clock.now()
        if event.scheduled_time is None:
            logger.warning("recurring schedule %s: delivery without a scheduled time; keyed by the minute", schedule_id)
        if event.occurrence is not None:
            scheduled_time = event.occurrence.astimezone(UTC).replace(microsecond=0)
        else:
            scheduled_time = event.due_time(now.replace(second=0, microsecond=0)).replace(microsecond=0)
        schedule = self._recurring.get(None, schedule_id)
        if schedule is not None and event.generation is not None and schedule.desired_generation > event.generation:
            return self._drop_stale(ScheduleKind.RECURRING, schedule_id, event.generation, schedule.desired_generation)
        if schedule is None or not schedule.enabled:
            reason = "no such schedule" if schedule is None else "the schedule is disabled"
            logger.info("recurring schedule %s: delivery ignored: %s", schedule_id, reason)
            return FiringOutcome("skipped", schedule_id, reason=reason)
        if event.occurrence is None and drops_native(
            schedule.cron_expression, schedule.timezone, schedule.dst_planned_until, scheduled_time
        ):
            reason = "inside a DST transition window: its compensating firings decide"
            logger.debug(
                "recurring schedule %s: native delivery for %s dropped: %s", schedule_id, scheduled_time, reason
            )
            return FiringOutcome("skipped", schedule_id, reason=reason)
        if not bounds.within(scheduled_time, schedule.start_at, schedule.end_at):
            # AWS keeps a past EndDate out of the definition (it refuses one), so the bound is kept here.
            logger.info("recurring schedule %s: delivery for %s outside start_at/end_at", schedule_id, scheduled_time)
            return FiringOutcome("skipped", schedule_id, reason="outside the schedule's start_at/end_at")
        if schedule.overlap_policy is not OverlapPolicy.ALLOW and self._overlap is not None:
            outcome = self._overlap().fire(schedule, scheduled_time, now)
        else:
            outcome = self._starter.start(schedule, scheduled_time, now)
        if outcome.outcome == "started":
            self._record_lateness(schedule_id, scheduled_time, now)
        return outcome


class ScheduleRunListener:
    """``ports.RunFinishedListener``: records the outcome of runs started by schedules.

    The reaper's reconciliation (``schedules.reconciliation``) calls the same ``record_*`` methods for
    runs whose notification was lost, so both paths write exactly the same outcome, once.
    """

    def __init__(
        self,
        one_time: OneTimeScheduleRepository,
        recurring: RecurringScheduleRepository,
        clock: Clock,
        overlap: Callable[[], ScheduleOverlap] | None = None,
    ) -> None:
        """``overlap``: told of every recurring run's end, after its outcome is recorded."""
        self._one_time = one_time
        self._recurring = recurring
        self._clock = clock
        self._overlap = overlap

    def on_run_finished(self, run: WorkflowRunsModel) -> None:
        trigger = run.workflow_run.trigger
        if trigger.type is not TriggerType.SCHEDULE:
            return
        if trigger.schedule_id:
            self.record_one_time_outcome(trigger.schedule_id, run)
        if trigger.recurring_schedule_id and trigger.scheduled_time is not None:
            self.record_recurring_outcome(trigger.recurring_schedule_id, trigger.scheduled_time, run)
            if self._overlap is not None:
                self._overlap().on_run_finished(run)

    def record_one_time_outcome(self, schedule_id: str, run: WorkflowRunsModel) -> bool:
        """Finish the in-progress one-time schedule with its run's outcome; True if this call did
        (False: the run has not ended, or the schedule was finished before)."""
        inner = run.workflow_run
        if inner.status not in TERMINAL_STATUSES:
            return False
        succeeded = inner.status is RunStatus.COMPLETED
        status = ScheduleStatus.COMPLETED if succeeded else ScheduleStatus.FAILED
        if self._one_time.finish(schedule_id, status, None if succeeded else run_failure_reason(run), run.id) is None:
            return False
        logger.info("schedule %s %s (run %s)", schedule_id, status.value, run.id)
        return True

    def record_recurring_outcome(self, schedule_id: str, scheduled_time: datetime, run: WorkflowRunsModel) -> bool:
        """Finish the history row of the firing due at ``scheduled_time`` with its run's outcome and move
        the counters; True if this call did (False: the run has not ended, or it was recorded before)."""
        inner = run.workflow_run
        if inner.status not in TERMINAL_STATUSES:
            return False
        succeeded = inner.status is RunStatus.COMPLETED
        finished = inner.finished_at or self._clock.now()
        started = run.created_at or inner.started_at or finished
        return self._recurring.finish_execution(
            schedule_id,
            HistoryEntry(
                execution_id=run.id,
                scheduled_time=scheduled_time,
                started_at=started,
                finished_at=finished,
                status=ExecutionStatus.SUCCESS if succeeded else ExecutionStatus.FAILED,
                duration_ms=duration_ms(started, finished),
                error=None if succeeded else run_failure_reason(run),
            ),
        )
