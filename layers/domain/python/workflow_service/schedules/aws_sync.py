"""Converging EventBridge on what MongoDB holds, by generation (DESIGN.md section 4).

Every schedule record carries ``desired_generation`` (moved on by each change AWS must see) and
``applied_generation`` (the last one AWS is known to hold). A writer writes MongoDB first, then
pushes the record's desired state to AWS with its generation in the target input, then records the
generation as applied (conditional on it being lower). A crash anywhere in between leaves
``applied < desired``: a retried request, or the reaper's sweep, pushes again; pushing is idempotent.

Concurrent writers of one schedule can reach EventBridge in another order than MongoDB. After its
own push, a writer re-reads the record and pushes again while MongoDB's desired generation moved on;
since every writer does this after its own AWS call, the last one to do so leaves AWS on MongoDB's
latest state. Should a writer die right after a late push of an older generation, the delivery it
causes carries that older generation: the firing drops it and owes a push (``mark_stale``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.dst import compensation_name
from workflow_service.models.schedules import ScheduleKind, ScheduleStatus, WorkflowSchedule, schedule_name
from workflow_service.ports.schedules import ScheduleDefinition
from workflow_service.schedules.dst import compensation_definitions

if TYPE_CHECKING:
    from workflow_service.models.recurring import RecurringSchedule
    from workflow_service.ports.schedules import OneTimeScheduleRepository, RecurringScheduleRepository, Scheduler

PUSH_ATTEMPTS = 3
logger = logging.getLogger(__name__)


class Generational(Protocol):
    @property
    def desired_generation(self) -> int: ...


Record = TypeVar("Record", bound=Generational)
Owed = TypeVar("Owed", "WorkflowSchedule", "RecurringSchedule")


def converge_owed_push(schedule: Owed, push: Callable[[Owed], object], *, label: str) -> Owed:
    """Push what a crashed writer left owing (a retried request finishes its work) and return the
    schedule as AWS now holds it; an AWS failure is left to the reaper's sweep, since the request
    itself succeeded before."""
    if not schedule.needs_push:
        return schedule
    try:
        push(schedule)
    except UpstreamUnavailable as failure:
        logger.warning("%s: push left to the reaper: %s", label, failure.message)
        return schedule
    return schedule.model_copy(update={"applied_generation": schedule.desired_generation})


def restore_adopted(schedule: Owed, push: Callable[[], object], owe: Callable[[str, int], object]) -> Owed:
    """A create's undo found its schedule adopted by a retry of the same create: its delete may have
    removed what the retry pushed, so push the schedule again, or owe that push to the reaper's sweep."""
    try:
        push()
    except UpstreamUnavailable as failure:
        logger.warning("schedule %s: push after an undone create left to the reaper: %s", schedule.id, failure.message)
        owe(schedule.stored_id, schedule.desired_generation - 1)
        return schedule
    return schedule.model_copy(update={"applied_generation": schedule.desired_generation})


def one_time_definition(schedule: WorkflowSchedule) -> ScheduleDefinition:
    """The scheduler's view of a pending one-time schedule, at its desired generation."""
    return ScheduleDefinition(
        name=schedule_name(ScheduleKind.ONE_TIME, schedule.stored_id),
        schedule_id=schedule.stored_id,
        kind=ScheduleKind.ONE_TIME,
        fire_at=schedule.scheduled_time,
        generation=schedule.desired_generation,
    )


def recurring_definition(schedule: RecurringSchedule) -> ScheduleDefinition:
    """The scheduler's view of a recurring schedule, at its desired generation."""
    return ScheduleDefinition(
        name=schedule_name(ScheduleKind.RECURRING, schedule.stored_id),
        schedule_id=schedule.stored_id,
        kind=ScheduleKind.RECURRING,
        cron_expression=schedule.cron_expression,
        timezone=schedule.timezone,
        enabled=schedule.enabled,
        generation=schedule.desired_generation,
        start_at=schedule.start_at,
        end_at=schedule.end_at,
        flexible_window_minutes=schedule.flexible_window_minutes,
    )


def one_time_aws_state(schedule: WorkflowSchedule) -> ScheduleDefinition | None:
    """What AWS must hold for a one-time schedule, whatever its generation (None: nothing). Two states
    that compare equal need no new generation between them: the update that goes from one to the other
    changes nothing AWS sees, so a delivery of the current generation (maybe in flight) stays valid."""
    if schedule.status is not ScheduleStatus.PENDING:
        return None
    return one_time_definition(schedule)._replace(generation=None)


def recurring_aws_state(schedule: RecurringSchedule) -> tuple[ScheduleDefinition, tuple[datetime, ...]] | None:
    """What AWS must hold for a recurring schedule, whatever its generation: its cron schedule and its
    compensating DST firings (None: nothing, a tombstone). See ``one_time_aws_state``."""
    if schedule.deleted_at is not None:
        return None
    return recurring_definition(schedule)._replace(generation=None), tuple(sorted(schedule.dst_compensations))


def push_one_time(scheduler: Scheduler, schedules: OneTimeScheduleRepository, schedule: WorkflowSchedule) -> None:
    """Make AWS hold what the record wants (its at() schedule while pending, nothing otherwise), then
    record the generation applied. Raises ``UpstreamUnavailable`` with nothing recorded."""
    if schedule.status is ScheduleStatus.PENDING:
        scheduler.update(one_time_definition(schedule))  # creates it when missing
    else:
        scheduler.delete(schedule_name(ScheduleKind.ONE_TIME, schedule.stored_id))
    schedules.record_applied(schedule.stored_id, schedule.desired_generation)


def push_recurring(
    scheduler: Scheduler,
    schedules: RecurringScheduleRepository,
    schedule: RecurringSchedule,
    previous_compensations: Iterable[datetime] = (),
) -> None:
    """Make AWS hold what the record wants: its cron schedule and its compensating DST firings
    (``schedules.dst``), deleting ``previous_compensations`` it no longer wants; a tombstone is
    deleted in AWS (compensations too), then removed with its history."""
    schedule_id = schedule.stored_id
    if schedule.deleted_at is not None:
        scheduler.delete(schedule_name(ScheduleKind.RECURRING, schedule_id))
        for instant in {*schedule.dst_compensations, *previous_compensations}:
            scheduler.delete(compensation_name(schedule_id, instant))
        schedules.remove(schedule_id)
        return
    scheduler.update(recurring_definition(schedule))
    wanted = set(schedule.dst_compensations)
    for instant in sorted(set(previous_compensations) - wanted):
        scheduler.delete(compensation_name(schedule_id, instant))
    for definition in compensation_definitions(
        schedule_id, sorted(wanted), schedule.desired_generation, schedule.cron_expression, schedule.timezone
    ):
        scheduler.update(definition)
    schedules.record_applied(schedule_id, schedule.desired_generation)


def reassert_unchanged(
    schedule: Owed,
    push: Callable[[Owed], object],
    read: Callable[[], Owed | None],
    *,
    label: str,
) -> Owed:
    """Push again, at the same generation, what AWS should already hold after an update that re-sent
    values it holds: such an update makes no generation (a delivery in flight stays current), yet
    re-sending a schedule still repairs one missing from EventBridge (deleted by hand, say), as every
    update did before. A failure is only logged: the update changed nothing AWS must see. A schedule
    owing a push is left to the caller's converge."""
    if schedule.needs_push:
        return schedule
    try:
        push(schedule)
    except UpstreamUnavailable as failure:
        logger.warning("%s: pushing the unchanged values again failed: %s", label, failure.message)
        return schedule
    return push_until_agreed(read, push, schedule, label=label)


def push_until_agreed(
    read: Callable[[], Record | None],
    push: Callable[[Record], object],
    pushed: Record,
    *,
    label: str,
) -> Record:
    """After pushing ``pushed``: the record as MongoDB holds it once no writer moved its desired
    generation past the last push (``pushed`` when it is gone)."""
    for _ in range(PUSH_ATTEMPTS):
        current = read()
        if current is None or current.desired_generation == pushed.desired_generation:
            return current if current is not None else pushed
        push(current)
        pushed = current
    logger.warning("%s: still changing after %d pushes; left to the last writer", label, PUSH_ATTEMPTS)
    return pushed
