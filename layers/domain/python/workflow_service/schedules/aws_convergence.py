"""The reaper's AWS half of schedule reconciliation: make EventBridge hold what MongoDB wants.

(d) pushes: every schedule whose applied generation lags its desired one (a writer crashed between
    MongoDB and AWS, an AWS error it could not undo, a stale delivery seen), once
    ``REAPER_SCHEDULE_PUSH_GRACE_SECONDS`` have passed since its generation moved (so in-flight
    writers finish first; pushing is idempotent anyway). A pending one-time schedule gets its at()
    schedule (UpdateSchedule creates a missing one), any other one-time schedule none; a recurring
    schedule gets its definition, and a tombstone is deleted in AWS, then removed with its history.
    A partial index holds only the schedules owing a push, so this costs in proportion to them.
(e) overdue one-time schedules: pending, their time passed (plus the grace) and nothing fired them
    (a crash before CreateSchedule, or an AWS firing whose stale delivery was dropped). Fired now
    through ``ScheduleFiring``, which records how late (``ScheduleFireLateness``), or failed with the
    reason when their workflow or version is gone. Pushing them instead would ask AWS for a time in
    the past.
(f) orphans: a slow cursor-based listing of the schedule group, one page per pass, a full round at
    most once per ``REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS``, its cursor kept in
    ``reconciler_state``; an AWS schedule named by the service whose record does not exist at all is
    deleted. (A record is always inserted before its AWS schedule is created, so a schedule being
    created is never mistaken for an orphan.) A compensating DST firing (``dst-<id>-<instant>``) whose
    record is gone, or no longer wants that instant, is deleted the same way.
(g) DST plans: a recurring schedule whose ``dst_review_at`` passed (its 35-day horizon is about to
    reach a transition window) is planned again (``schedules.dst.plan``); when its compensating
    firings change, the new plan is a new generation, written conditionally on the generation read
    (a writer that moved it on planned itself) and pushed, deleting the firings no longer wanted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from workflow_service.models.dst import compensation_of
from workflow_service.models.schedules import ScheduleKind, ScheduleStatus, WorkflowSchedule, schedule_id_of
from workflow_service.schedules.aws_sync import push_one_time, push_recurring, push_until_agreed
from workflow_service.schedules.dst import plan

if TYPE_CHECKING:
    from workflow_service.models.recurring import RecurringSchedule
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.schedules import (
        ListedSchedule,
        OneTimeScheduleRepository,
        ReconcilerStateStore,
        RecurringScheduleRepository,
        Scheduler,
    )
    from workflow_service.schedules.firing import ScheduleFiring

logger = logging.getLogger(__name__)

# The counts this half adds to the reconciler's report.
AWS_REPAIR_COUNTS = (
    "schedules_pushed",
    "tombstones_applied",
    "schedules_fired_late",
    "orphans_deleted",
    "drift_found",
    "dst_plans_renewed",
)
LISTING_STATE_KEY = "schedule_group_listing"

Attempt = Callable[..., Any]


class AwsConvergence:
    """Pushes, late firings and the orphan listing; every repair goes through ``attempt`` (the
    reconciler's error accounting) and is idempotent, so racing the normal path is harmless."""

    def __init__(
        self,
        one_time: OneTimeScheduleRepository,
        recurring: RecurringScheduleRepository,
        scheduler: Callable[[], Scheduler],
        firing: ScheduleFiring,
        state: ReconcilerStateStore,
        clock: Clock,
        *,
        push_grace_seconds: int,
        listing_interval_seconds: int,
    ) -> None:
        self._one_time = one_time
        self._recurring = recurring
        self._scheduler = scheduler
        self._firing = firing
        self._state = state
        self._clock = clock
        self._push_grace = timedelta(seconds=push_grace_seconds)
        self._listing_interval = timedelta(seconds=listing_interval_seconds)

    def now(self) -> datetime:
        return self._clock.now()

    def changed_before(self) -> datetime:
        return self._clock.now() - self._push_grace

    # -- (d) pushes ---------------------------------------------------------------------------------

    def push_one_time_batch(self, batch: list[WorkflowSchedule], report: dict[str, Any], attempt: Attempt) -> None:
        now = self._clock.now()
        for schedule in batch:
            if schedule.status is ScheduleStatus.PENDING and schedule.scheduled_time <= now:
                continue  # overdue: (e) fires it; AWS cannot be asked for a time in the past
            if attempt(f"pushing schedule {schedule.id}", self._push_one_time, schedule):
                report["schedules_pushed"] += 1
                logger.warning(
                    "reaper: schedule %s owed AWS generation %d (applied %d); pushed",
                    schedule.id,
                    schedule.desired_generation,
                    schedule.applied_generation,
                )

    def _push_one_time(self, schedule: WorkflowSchedule) -> bool:
        # A writer may have moved the record on since it was read: then push what it holds now,
        # as every writer does after its own push.
        push = partial(push_one_time, self._scheduler(), self._one_time)
        push(schedule)
        push_until_agreed(lambda: self._one_time.get(None, schedule.stored_id), push, schedule, label=_label(schedule))
        return True

    def push_recurring_batch(self, batch: list[RecurringSchedule], report: dict[str, Any], attempt: Attempt) -> None:
        for schedule in batch:
            tombstone = schedule.deleted_at is not None
            if attempt(f"pushing recurring schedule {schedule.id}", self._push_recurring, schedule):
                report["tombstones_applied" if tombstone else "schedules_pushed"] += 1
                logger.warning(
                    "reaper: recurring schedule %s owed AWS generation %d (applied %d); %s",
                    schedule.id,
                    schedule.desired_generation,
                    schedule.applied_generation,
                    "deleted" if tombstone else "pushed",
                )

    def _push_recurring(self, schedule: RecurringSchedule) -> bool:
        push = partial(push_recurring, self._scheduler(), self._recurring)
        push(schedule)
        push_until_agreed(lambda: self._recurring.get_any(schedule.stored_id), push, schedule, label=_label(schedule))
        return True

    # -- (g) DST plans ------------------------------------------------------------------------------

    def review_dst_batch(self, batch: list[RecurringSchedule], report: dict[str, Any], attempt: Attempt) -> None:
        for schedule in batch:
            if attempt(f"planning DST firings of recurring schedule {schedule.id}", self._review_dst, schedule):
                report["dst_plans_renewed"] += 1

    def _review_dst(self, schedule: RecurringSchedule) -> bool:
        """Plan again; True when the compensating firings changed (and were pushed)."""
        renewed = plan(
            schedule.cron_expression, schedule.timezone, schedule.dst_policy, schedule.enabled, self._clock.now()
        )
        changed = renewed.compensations != [
            instant for instant in schedule.dst_compensations if instant > self._clock.now()
        ]
        if not self._recurring.set_dst_plan(
            schedule.stored_id, schedule.desired_generation, renewed.fields(), bump=changed
        ):
            return False  # a writer moved the schedule on meanwhile, with a plan of its own
        if not changed:
            return False
        current = self._recurring.get_any(schedule.stored_id)
        if current is None:
            return False
        push = partial(push_recurring, self._scheduler(), self._recurring)
        push(current, schedule.dst_compensations)
        push_until_agreed(lambda: self._recurring.get_any(schedule.stored_id), push, current, label=_label(schedule))
        logger.info(
            "reaper: recurring schedule %s: %d compensating DST firings planned until %s",
            schedule.id,
            len(renewed.compensations),
            renewed.planned_until.isoformat() if renewed.planned_until else None,
        )
        return True

    # -- (e) overdue one-time schedules ---------------------------------------------------------------

    def fire_overdue_batch(self, batch: list[WorkflowSchedule], report: dict[str, Any], attempt: Attempt) -> None:
        for schedule in batch:
            outcome = attempt(f"firing overdue schedule {schedule.id}", self._firing.fire_overdue_one_time, schedule.id)
            if outcome is None:
                continue
            if outcome.outcome == "started":
                report["schedules_fired_late"] += 1
                logger.warning(
                    "reaper: schedule %s was still pending after its time %s; fired late: run %s",
                    schedule.id,
                    schedule.scheduled_time.isoformat(),
                    outcome.run_id,
                )
            elif outcome.outcome == "failed":
                report["schedules_failed"] += 1

    # -- (f) orphans ----------------------------------------------------------------------------------

    def list_group_page(self, limit: int, report: dict[str, Any], attempt: Attempt) -> None:
        """One page of the schedule-group listing, when a round is under way or due."""
        state = self._state.load(LISTING_STATE_KEY) or {}
        token = state.get("next_token")
        finished_at = state.get("finished_at")
        now = self._clock.now()
        if token is None and finished_at is not None and _aware(finished_at) > now - self._listing_interval:
            return
        page = attempt("listing the schedule group", self._scheduler().list_schedules, token, limit)
        if page is None:
            return
        listed, next_token = page
        self._check_listed(listed, report, attempt)
        self._state.save(
            LISTING_STATE_KEY,
            {"next_token": next_token, "finished_at": now if next_token is None else finished_at},
        )

    def _check_listed(self, listed: list[ListedSchedule], report: dict[str, Any], attempt: Attempt) -> None:
        """Delete the orphans of one page; a recurring schedule whose AWS state disagrees with its
        record (a late push of an older generation that no delivery can reveal: a disabled schedule
        never fires) is marked as owing a push."""
        owners = {item.name: owner for item in listed if (owner := schedule_id_of(item.name)) is not None}
        compensations = {item.name: found for item in listed if (found := compensation_of(item.name)) is not None}
        ids = {kind: [owner for k, owner in owners.values() if k is kind] for kind in ScheduleKind}
        one_time_ids = self._one_time.existing_ids(ids[ScheduleKind.ONE_TIME])
        recurring_ids = ids[ScheduleKind.RECURRING] + [owner for owner, _ in compensations.values()]
        recurring = {schedule.stored_id: schedule for schedule in self._recurring.get_many(recurring_ids)}
        for item in listed:
            if item.name in compensations:
                self._check_compensation(item.name, *compensations[item.name], recurring, report, attempt)
                continue
            if item.name not in owners:
                continue  # not a name the service gives: not ours to judge
            kind, schedule_id = owners[item.name]
            if kind is ScheduleKind.ONE_TIME and schedule_id in one_time_ids:
                continue
            record = recurring.get(schedule_id) if kind is ScheduleKind.RECURRING else None
            if record is None:
                if attempt(f"deleting orphan AWS schedule {item.name}", self._delete, item.name):
                    report["orphans_deleted"] += 1
                    logger.warning("reaper: AWS schedule %s had no record; deleted", item.name)
                continue
            if record.needs_push or record.deleted_at is not None or record.enabled == item.enabled:
                continue
            if self._recurring.mark_stale(schedule_id, record.applied_generation - 1):
                report["drift_found"] += 1
                logger.warning(
                    "reaper: AWS schedule %s is %s, its record %s; push owed",
                    item.name,
                    "enabled" if item.enabled else "disabled",
                    "enabled" if record.enabled else "disabled",
                )

    def _check_compensation(
        self,
        name: str,
        schedule_id: str,
        instant: datetime,
        recurring: dict[str, RecurringSchedule],
        report: dict[str, Any],
        attempt: Attempt,
    ) -> None:
        record = recurring.get(schedule_id)
        if record is not None and (record.needs_push or instant in record.dst_compensations):
            return  # wanted, or a push is under way that decides
        if attempt(f"deleting unwanted compensating schedule {name}", self._delete, name):
            report["orphans_deleted"] += 1
            logger.warning("reaper: compensating DST schedule %s is not wanted by its record; deleted", name)

    def _delete(self, name: str) -> bool:
        self._scheduler().delete(name)
        return True


def _label(schedule: WorkflowSchedule | RecurringSchedule) -> str:
    return f"reaper push of schedule {schedule.id}"


def _aware(value: datetime) -> datetime:
    # MongoDB hands datetimes back naive (UTC).
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
