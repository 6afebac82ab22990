"""The values a recurring schedule is created or changed with, as the repository stores them.

``RecurringPolicies`` are a create's optional policies; ``RecurringChanges`` a partial update, turned
into stored fields by the service (``schedules.recurring``), with the bounds' fields from
``policy_fields``; ``with_fields`` is a schedule once such fields are written, and ``write_changes``
writes them, with a new generation only when they change what AWS holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.errors import Conflict
from workflow_service.models.dst import DstPolicy
from workflow_service.models.recurring import InputItem, OverlapPolicy, RecurringSchedule
from workflow_service.ports.errors import DuplicateKey
from workflow_service.schedules import bounds
from workflow_service.schedules.aws_sync import recurring_aws_state
from workflow_service.schedules.dst import DstPlan, plan_after

if TYPE_CHECKING:
    from workflow_service.ports.schedules import RecurringScheduleRepository

DUPLICATE_MESSAGE = "Schedule already exists for this workflow"
# Fields whose change may alter the AWS schedule (the rest live only in MongoDB).
AWS_FIELDS = ("cron_expression", "timezone", "enabled", "start_at", "end_at", "flexible_window_minutes", "dst_policy")
# An update whose fields change nothing AWS holds is written on the generation it compared against:
# compared again after a racing change moved it on, then written with a new generation regardless.
_UNCHANGED_ATTEMPTS = 2


class RecurringPolicies(NamedTuple):
    """The optional policies of a recurring schedule (issue 14): overlap, flexible window, bounds."""

    overlap_policy: OverlapPolicy = OverlapPolicy.ALLOW
    flexible_window_minutes: int = 0
    start_at: datetime | None = None
    end_at: datetime | None = None


DEFAULT_POLICIES = RecurringPolicies()


def dst_fields(schedule: RecurringSchedule) -> dict[str, Any]:
    """The record's DST plan fields (internal: no answer shows them, so a dump leaves them out)."""
    return DstPlan(schedule.dst_compensations, schedule.dst_planned_until, schedule.dst_review_at).fields()


class RecurringChanges(NamedTuple):
    """A partial update; None means "keep"."""

    cron_expression: str | None = None
    timezone: str | None = None
    enabled: bool | None = None
    input_data: list[InputItem] | None = None
    version: int | None = None
    version_set: bool = False  # version given explicitly (None then means "the active version")
    overlap_policy: OverlapPolicy | None = None
    flexible_window_minutes: int | None = None
    start_at: datetime | None = None
    start_at_set: bool = False  # given explicitly (None then clears it)
    end_at: datetime | None = None
    end_at_set: bool = False
    dst_policy: DstPolicy | None = None


def with_fields(schedule: RecurringSchedule, fields: dict[str, Any]) -> RecurringSchedule:
    """``schedule`` with stored ``fields`` (as the repository writes them) applied."""
    return RecurringSchedule.model_validate({**schedule.model_dump(by_alias=True), **dst_fields(schedule), **fields})


def policy_fields(current: RecurringSchedule, changes: RecurringChanges, now: datetime) -> dict[str, Any]:
    """The stored fields an update's policies set, after checking the resulting bounds."""
    fields: dict[str, Any] = {}
    if changes.overlap_policy is not None:
        fields["overlap_policy"] = changes.overlap_policy.value
    if changes.flexible_window_minutes is not None:
        fields["flexible_window_minutes"] = changes.flexible_window_minutes
    if changes.start_at_set:
        fields["start_at"] = changes.start_at
    if changes.end_at_set:
        fields["end_at"] = changes.end_at
    if changes.start_at_set or changes.end_at_set:
        start_at = changes.start_at if changes.start_at_set else current.start_at
        end_at = changes.end_at if changes.end_at_set else current.end_at
        bounds.check_bounds(start_at, end_at, now, end_given=changes.end_at_set)
    return fields


def write_changes(
    schedules: RecurringScheduleRepository,
    team_id: str,
    user_id: str,
    current: RecurringSchedule,
    given: dict[str, Any],
    now: datetime,
) -> tuple[RecurringSchedule | None, dict[str, Any], bool]:
    """Write an update's ``given`` stored fields to the schedule ``current`` was read from, with a new
    generation only if they change what AWS holds. Returns the schedule as it was before (None: gone),
    the fields written (with the DST plan when a field AWS holds is given) and whether the generation
    moved on. Raises Conflict when the change would duplicate another schedule of the workflow."""
    schedule_id = current.stored_id

    def write(fields: dict[str, Any], bump: bool, expected: dict[str, Any] | None = None) -> RecurringSchedule | None:
        try:
            return schedules.update(
                team_id, schedule_id, {**fields, "updated_at": now}, user_id, bump=bump, expected=expected
            )
        except DuplicateKey:
            raise Conflict(DUPLICATE_MESSAGE) from None

    if not any(name in given for name in AWS_FIELDS):
        return write(given, False), given, False
    fields = given
    for _ in range(_UNCHANGED_ATTEMPTS):
        fields = {**given, **plan_after(current, given, now)}
        if recurring_aws_state(with_fields(current, fields)) != recurring_aws_state(current):
            break
        # Values AWS already holds make no new generation: one would turn a delivery of the current
        # generation, maybe already in flight, stale, and its occurrence would be lost. Written on the
        # generation compared against, so that a change landing meanwhile is compared against in turn.
        before = write(fields, False, {"desired_generation": current.desired_generation})
        if before is not None:
            return before, fields, False
        latest = schedules.get(team_id, schedule_id)
        if latest is None:
            return None, fields, False
        current = latest
    return write(fields, True), fields, True
