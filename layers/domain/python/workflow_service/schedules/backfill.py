"""Backfill: one run per past occurrence of a recurring schedule in an interval (start, end].

Each occurrence is started exactly like a firing (``RecurringRunStarter``: the run keyed by
(schedule id, scheduled time), through admission, queued when the team is full), so repeating a
backfill, or backfilling a time that fired for real, makes no second run: the answer says which runs
this request made and which existed. The overlap policy does not apply (a backfill asks for every
occurrence); ``start_at``/``end_at`` do. Rows are marked ``backfill``. A crash or a transient
failure part-way leaves the occurrences started so far; the retried request starts the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from workflow_service.errors import FieldProblem, NotFound, ValidationFailed
from workflow_service.models.recurring import RecurringSchedule
from workflow_service.models.recurring_api import MAX_BACKFILL_OCCURRENCES, BackfillOccurrence, BackfillResponse
from workflow_service.schedules import bounds
from workflow_service.schedules.cron import parse_cron
from workflow_service.schedules.occurrences import next_occurrences

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.schedules import RecurringScheduleRepository
    from workflow_service.schedules.recurring_runs import RecurringRunStarter


class BackfillService:
    """Starts the runs of a schedule's occurrences in a past interval, idempotently."""

    def __init__(self, recurring: RecurringScheduleRepository, starter: RecurringRunStarter, clock: Clock) -> None:
        self._recurring = recurring
        self._starter = starter
        self._clock = clock

    def occurrences(self, schedule: RecurringSchedule, start: datetime, end: datetime) -> list[datetime]:
        """The schedule's occurrences t with start < t <= end, inside its bounds; refuses (naming ``end``)
        an interval with more than ``MAX_BACKFILL_OCCURRENCES``."""
        cron = parse_cron(schedule.cron_expression, schedule.timezone)
        # The schedule's DST policy decides, as for its firings and previews.
        upcoming = next_occurrences(cron, schedule.dst_policy, start, MAX_BACKFILL_OCCURRENCES + 1)
        found = [occurrence.utc for occurrence in upcoming if occurrence.utc <= end]
        if len(found) > MAX_BACKFILL_OCCURRENCES:
            raise ValidationFailed(
                FieldProblem(
                    ("body", "end"),
                    f"the interval holds more than {MAX_BACKFILL_OCCURRENCES} occurrences; backfill it in parts",
                    "value_error",
                    end.isoformat(),
                )
            )
        return bounds.bounded(found, schedule.start_at, schedule.end_at)

    def backfill(self, team_id: str, schedule_id: str, start: datetime, end: datetime) -> BackfillResponse:
        """Start (or find) the run of every occurrence in (start, end]; ``end`` may not be in the future."""
        now = self._clock.now()
        if end > now:
            raise ValidationFailed(FieldProblem(("body", "end"), "must not be in the future", "value_error", str(end)))
        if start >= end:
            raise ValidationFailed(FieldProblem(("body", "start"), "must be before end", "value_error", str(start)))
        schedule = self._recurring.get(team_id, schedule_id)
        if schedule is None:
            raise NotFound("schedule", schedule_id)
        made: list[BackfillOccurrence] = []
        for scheduled_time in self.occurrences(schedule, start, end):
            outcome = self._starter.start(schedule, scheduled_time, now, backfill=True)
            made.append(
                BackfillOccurrence(
                    scheduled_time=scheduled_time,
                    run_id=outcome.run_id,
                    created=outcome.outcome == "started",
                    error=outcome.reason if outcome.outcome == "failed" else None,
                )
            )
        return BackfillResponse(schedule_id=schedule.stored_id, start=start, end=end, occurrences=made)
