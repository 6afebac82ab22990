"""Starting the run of one recurring occurrence: what a firing, a buffered firing and a backfill share.

Every occurrence is keyed by (schedule id, scheduled time): the run's dedupe key is
``recurring:<id>:<scheduled time>`` and the history row is unique on the same pair, so a firing, a
retry, a buffered start and a backfill of the same occurrence all find one run, one row, one count.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from workflow_service.errors import DomainError, StoreUnavailable, UpstreamUnavailable
from workflow_service.models.common import Caller, format_utc
from workflow_service.models.recurring import (
    ExecutionStatus,
    HistoryEntry,
    OverlapPolicy,
    RecurringSchedule,
    merged_dynamic_variables,
)
from workflow_service.models.runs import RunTrigger, TriggerType, WorkflowRunInput
from workflow_service.ports.dedupe import AlreadyProcessed

if TYPE_CHECKING:
    from workflow_service.ports.runs import RunSubmitter
    from workflow_service.ports.schedules import RecurringScheduleRepository

logger = logging.getLogger(__name__)
# Errors worth a redelivery: the same firing can succeed once the dependency is back.
TRANSIENT = (StoreUnavailable, UpstreamUnavailable)


class FiringOutcome(NamedTuple):
    """What one delivery did: ``started`` (a run), ``duplicate`` (the firing's run already existed),
    ``skipped`` (nothing to do, with the reason), ``buffered`` (waiting for the previous run to end)
    or ``failed`` (the run could not start)."""

    outcome: str
    schedule_id: str
    run_id: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"outcome": self.outcome, "schedule_id": self.schedule_id, "run_id": self.run_id, "reason": self.reason}


def recurring_dedupe_key(schedule_id: str, scheduled_time: datetime) -> str:
    return f"recurring:{schedule_id}:{format_utc(scheduled_time)}"


class RecurringRunStarter:
    """Submits an occurrence's run (through admission: queued when the team is full) and adds its row."""

    def __init__(self, recurring: RecurringScheduleRepository, runs: RunSubmitter) -> None:
        self._recurring = recurring
        self._runs = runs

    def start(
        self,
        schedule: RecurringSchedule,
        scheduled_time: datetime,
        now: datetime,
        *,
        backfill: bool = False,
        overlap_policy: OverlapPolicy | None = None,
    ) -> FiringOutcome:
        """``started`` when this call added the occurrence's history row, ``duplicate`` when it existed,
        ``failed`` when the run could not start (a failed row is added). Transient errors are raised.
        ``overlap_policy`` (on the run's trigger) tells the run's end to release the schedule's active firing.
        An occurrence with a history row is a ``duplicate`` before any run is submitted (see ``decided``),
        except for a backfill, which gives a skipped or failed occurrence its run."""
        schedule_id = schedule.stored_id
        if not backfill and (decided := self.decided(schedule_id, scheduled_time)) is not None:
            return decided
        trigger = RunTrigger(
            type=TriggerType.SCHEDULE,
            recurring_schedule_id=schedule_id,
            scheduled_time=scheduled_time,
            overlap_policy=overlap_policy.value if overlap_policy is not None else None,
            backfill=backfill,
        )
        run_input = WorkflowRunInput(dynamic_variables=merged_dynamic_variables(schedule.input_data))
        try:
            run = self._runs.submit(
                Caller(schedule.owner_team_id, schedule.created_by or ""),
                schedule.workflow_id,
                schedule.version,
                run_input,
                trigger,
                dedupe_key=recurring_dedupe_key(schedule_id, scheduled_time),
            )
        except TRANSIENT:
            raise
        except AlreadyProcessed as fired:
            reason = f"already fired for {format_utc(scheduled_time)}: its run {fired.target_id} was deleted"
            logger.info("recurring schedule %s: duplicate delivery: %s", schedule_id, reason)
            return FiringOutcome("duplicate", schedule_id, run_id=fired.target_id, reason=reason)
        except DomainError as refused:
            reason = f"the run could not start: {refused.message}"
            self._recurring.start_execution(
                schedule_id,
                HistoryEntry(
                    scheduled_time=scheduled_time,
                    started_at=now,
                    finished_at=now,
                    status=ExecutionStatus.FAILED,
                    duration_ms=0,
                    error=reason,
                    backfill=backfill,
                ),
            )
            logger.warning(
                "recurring schedule %s: firing %s failed: %s", schedule_id, format_utc(scheduled_time), reason
            )
            return FiringOutcome("failed", schedule_id, reason=reason)
        entry = HistoryEntry(
            execution_id=run.id,
            scheduled_time=scheduled_time,
            started_at=run.created_at or now,
            status=ExecutionStatus.RUNNING,
            backfill=backfill,
        )
        started = self._recurring.start_execution(schedule_id, entry)
        if not started and backfill:
            # A backfill asks for the occurrence's run: one that was skipped or could not start gets it now.
            started = self._recurring.restart_execution(schedule_id, entry)
        if not started:
            logger.info(
                "recurring schedule %s: duplicate delivery for %s (run %s)",
                schedule_id,
                format_utc(scheduled_time),
                run.id,
            )
            return FiringOutcome("duplicate", schedule_id, run_id=run.id)
        logger.info("recurring schedule %s fired for %s: run %s", schedule_id, format_utc(scheduled_time), run.id)
        return FiringOutcome("started", schedule_id, run_id=run.id)

    def decided(self, schedule_id: str, scheduled_time: datetime) -> FiringOutcome | None:
        """``duplicate`` (naming its run, if any) when the occurrence already has a history row, None when not.

        A row is written once the occurrence is decided (running, ended, skipped, or could not start), so
        a redelivery that finds one must make no run: submitting first would make a run its row never
        names. A delivery that died after submitting the run but before the row finds none, and its
        retry's submission finds that run by the dedupe key."""
        row = self._recurring.decided_execution(schedule_id, scheduled_time)
        if row is None:
            return None
        reason = f"already decided for {format_utc(scheduled_time)}: {row.status.value}"
        logger.info("recurring schedule %s: duplicate delivery: %s", schedule_id, reason)
        return FiringOutcome("duplicate", schedule_id, run_id=row.execution_id, reason=reason)

    def skip(self, schedule: RecurringSchedule, scheduled_time: datetime, now: datetime, reason: str) -> bool:
        """Record a ``skipped`` row for the occurrence (once); True if this call added it."""
        return self._recurring.start_execution(
            schedule.stored_id,
            HistoryEntry(
                scheduled_time=scheduled_time,
                started_at=now,
                finished_at=now,
                status=ExecutionStatus.SKIPPED,
                duration_ms=0,
                reason=reason,
            ),
        )
