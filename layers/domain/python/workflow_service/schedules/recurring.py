"""Recurring schedules: a 5-field POSIX cron expression in an IANA time zone (seed 002, DESIGN.md section 4).

Expressions are validated and translated by ``schedules.cron`` before anything is written; one that
EventBridge cannot represent is refused with the reason, never changed. ``next_run`` and the
preview follow the schedule's DST policy (``schedules.occurrences``); the compensating one-time
firings inside transition windows (``schedules.dst``) are planned with every write AWS must see and
pushed with the cron schedule.

Write order (``schedules.aws_sync``): MongoDB (the desired generation moves on), then AWS (the
generation in the target input), then the applied generation; a crash in between leaves the record
owing a push, which a retried request or the reaper's sweep makes. An AWS error answer is undone:
- create: insert the record (the unique index answers 409 for a duplicate before AWS is called),
  then CreateSchedule (idempotent by name), then applied; if AWS answers an error the AWS schedule,
  then the record, are removed and the caller gets 503 (unless a retry with the same
  ``Idempotency-Key`` adopted the record meanwhile: as for one-time schedules, it then stays).
  A retry that finds the schedule deleted since (a tombstone, or a removal the repository
  remembers for the key's window) answers 409 instead of making it again.
- update / enable / disable: update the record (a new generation only when what AWS holds changes:
  the definition and the compensating firings, compared before and after, the write conditional on
  the generation compared against; values AWS already holds are written to MongoDB only, so a
  delivery in flight stays current), then UpdateSchedule, then applied; if AWS answers an error the
  previous values are put back under yet another generation (AWS may have applied the change before
  failing, so the sweep pushes the restored definition) and the caller gets 503. A retry pushes
  whenever the record owes a push, even when the values it sends are the stored ones.
- delete: the record becomes a tombstone (invisible: 404 from then on; AWS absent wanted), then
  DeleteSchedule, then the record and its history are removed. If AWS answers an error the
  tombstone is revived and the caller gets 503; a crash leaves the tombstone for the sweep.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.errors import Conflict, FieldProblem, NotFound, UpstreamUnavailable, ValidationFailed
from workflow_service.models.common import audit_fields, new_object_id
from workflow_service.models.dst import DstPolicy, compensation_name
from workflow_service.models.recurring import HistoryEntry, InputItem, RecurringSchedule
from workflow_service.models.recurring_api import PreviewResponse
from workflow_service.models.schedules import ScheduleKind, schedule_name
from workflow_service.ports.clock import Clock
from workflow_service.ports.dedupe import DeletedSince
from workflow_service.ports.errors import DuplicateKey
from workflow_service.ports.schedules import RecurringScheduleRepository, ScheduleDefinition, Scheduler, WorkflowNames
from workflow_service.schedules import bounds
from workflow_service.schedules.aws_sync import (
    converge_owed_push,
    push_recurring,
    push_until_agreed,
    reassert_unchanged,
    recurring_definition,
    restore_adopted,
)
from workflow_service.schedules.cron import (
    CronError,
    CronSchedule,
    parse_cron,
    to_eventbridge,
)
from workflow_service.schedules.dst import compensation_definitions, plan
from workflow_service.schedules.occurrences import next_occurrences
from workflow_service.schedules.one_time import check_version
from workflow_service.schedules.recurring_changes import (
    AWS_FIELDS,
    DEFAULT_POLICIES,
    DUPLICATE_MESSAGE,
    RecurringChanges,
    RecurringPolicies,
    dst_fields,
    policy_fields,
    with_fields,
    write_changes,
)

if TYPE_CHECKING:
    from workflow_service.workflows.reads import WorkflowReads

logger = logging.getLogger(__name__)

_DATE_FIELDS = ("start_at", "end_at")


class CompiledCron(NamedTuple):
    schedule: CronSchedule
    eventbridge_expression: str


def compile_cron(
    expression: str,
    timezone: str,
    *,
    expression_loc: tuple[str, ...] = ("body", "cron_expression"),
    timezone_loc: tuple[str, ...] = ("body", "timezone"),
) -> CompiledCron:
    """Validate and translate, or raise ValidationFailed naming the field and saying why."""
    try:
        schedule = parse_cron(expression, timezone)
        return CompiledCron(schedule, to_eventbridge(schedule))
    except CronError as error:
        loc = timezone_loc if error.field == "timezone" else expression_loc
        raise ValidationFailed(
            FieldProblem(loc, error.message, "value_error", timezone if error.field == "timezone" else expression)
        ) from None


def definition_of(schedule: RecurringSchedule) -> ScheduleDefinition:
    """The scheduler's view of a recurring schedule (at its desired generation)."""
    return recurring_definition(schedule)


def preview(
    cron_expression: str,
    timezone: str,
    start: datetime,
    count: int,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    *,
    dst_policy: DstPolicy | None = None,
) -> PreviewResponse:
    """The next ``count`` firings after ``start`` inside ``start_at``/``end_at`` under ``dst_policy``
    (what ``next_run`` uses)."""
    compiled = compile_cron(cron_expression, timezone)
    bounds.check_bounds(start_at, end_at, start, end_given=False)
    policy = dst_policy or DstPolicy()
    found = next_occurrences(compiled.schedule, policy, bounds.cursor_after(start, start_at), count)
    occurrences = [o for o in found if bounds.within(o.utc, start_at, end_at)]
    return PreviewResponse(
        cron_expression=compiled.schedule.expression,
        timezone=compiled.schedule.timezone,
        eventbridge_expression=compiled.eventbridge_expression,
        start=start,
        fire_times=[occurrence.utc for occurrence in occurrences],
        dst_policy=policy,
        occurrences=occurrences,
    )


class RecurringScheduleService:
    """Create, read, change, enable/disable and delete recurring schedules; their history; previews.

    ``scheduler`` is resolved on the first write, so read-only handlers never load the AWS SDK.
    """

    def __init__(
        self,
        schedules: RecurringScheduleRepository,
        workflows: WorkflowReads,
        names: WorkflowNames,
        scheduler: Callable[[], Scheduler],
        clock: Clock,
    ) -> None:
        self._schedules = schedules
        self._workflows = workflows
        self._names = names
        self._scheduler = scheduler
        self._clock = clock

    def create(
        self,
        team_id: str,
        user_id: str,
        workflow_id: str,
        cron_expression: str,
        timezone: str,
        enabled: bool,
        input_data: builtins.list[InputItem],
        version: int | None,
        *,
        schedule_id: str | None = None,
        policies: RecurringPolicies = DEFAULT_POLICIES,
        dst_policy: DstPolicy | None = None,
    ) -> RecurringSchedule:
        """Create a recurring schedule (inserted, then pushed to EventBridge).

        ``schedule_id`` (a retry of one create, e.g. by an ``Idempotency-Key``): when the team has
        a schedule with that id, nothing is created: the schedule is converged with AWS (pushed if
        it owes a push) and returned; when it had one that was deleted since, DeletedSince (a
        Conflict); otherwise the schedule is created with exactly that id.
        """
        if schedule_id is not None:
            existing = self._existing(team_id, schedule_id)
            if existing is not None:
                return self._present(existing, self._clock.now())
        compiled = compile_cron(cron_expression, timezone)
        now = self._clock.now()
        bounds.check_bounds(policies.start_at, policies.end_at, now)
        workflow = self._workflows.get(team_id, workflow_id)
        check_version(workflow, version, ("body", "version"))
        new_id = schedule_id or new_object_id()
        scheduler = self._scheduler()
        name = schedule_name(ScheduleKind.RECURRING, new_id)
        policy = dst_policy or DstPolicy()
        dst_plan = plan(compiled.schedule.expression, compiled.schedule.timezone, policy, enabled, now)
        schedule = RecurringSchedule(
            **audit_fields(team_id, user_id, now, new_id),
            workflow_id=workflow_id,
            cron_expression=compiled.schedule.expression,
            timezone=compiled.schedule.timezone,
            enabled=enabled,
            input_data=input_data,
            version=version,
            overlap_policy=policies.overlap_policy,
            flexible_window_minutes=policies.flexible_window_minutes,
            start_at=policies.start_at,
            end_at=policies.end_at,
            eventbridge_expression=compiled.eventbridge_expression,
            schedule_name=name,
            scheduler_arn=scheduler.arn_for(name),
            desired_generation=1,
            dst_policy=policy,
            **dst_plan.fields(),
        )
        try:
            self._insert(scheduler, schedule)
        except Conflict:
            if schedule_id is not None and (existing := self._existing(team_id, schedule_id)) is not None:
                return self._present(existing, now)  # a concurrent retry of the same request inserted it
            raise
        try:
            scheduler.create(definition_of(schedule))
            for compensation in compensation_definitions(
                new_id, schedule.dst_compensations, 1, schedule.cron_expression, schedule.timezone
            ):
                scheduler.create(compensation)
        except Exception as failure:
            adopted = _undo_create(scheduler, self._schedules, schedule)
            if adopted is not None:
                return self._present(adopted, now)  # a retry of this create answered with it meanwhile
            if isinstance(failure, UpstreamUnavailable):
                raise UpstreamUnavailable(
                    f"could not create the EventBridge schedule, so the schedule was not saved: {failure.message}"
                ) from failure
            raise
        self._schedules.record_applied(new_id, schedule.desired_generation)
        schedule = schedule.model_copy(update={"applied_generation": schedule.desired_generation})
        return self._present(schedule, now, workflow_name=workflow.name)

    def _insert(self, scheduler: Scheduler, schedule: RecurringSchedule) -> None:
        """Insert, or answer 409 for a duplicate; a tombstone in the way is applied first (its
        delete is only waiting for the reaper), so deleting and re-creating works at once."""
        try:
            self._schedules.insert(schedule)
            return
        except DuplicateKey:
            if not self._clear_tombstone_like(scheduler, schedule):
                raise Conflict(DUPLICATE_MESSAGE) from None
        try:
            self._schedules.insert(schedule)
        except DuplicateKey:
            raise Conflict(DUPLICATE_MESSAGE) from None

    def _clear_tombstone_like(self, scheduler: Scheduler, schedule: RecurringSchedule) -> bool:
        tombstone_id = self._schedules.tombstone_in_the_way(
            schedule.owner_team_id, schedule.workflow_id, schedule.cron_expression, schedule.timezone
        )
        if tombstone_id is None:
            return False
        scheduler.delete(schedule_name(ScheduleKind.RECURRING, tombstone_id))
        self._schedules.remove(tombstone_id)
        return True

    def _existing(self, team_id: str, schedule_id: str) -> RecurringSchedule | None:
        """The team's schedule ``schedule_id`` converged with AWS, or None if there is none."""
        existing = self._schedules.get_any(schedule_id)
        # Deleted since this create made it (its first answer was never stored, or a retry would replay
        # it): making it again would undo the user's delete. Read after the record, which goes only
        # after its removal is remembered, so a delete racing this retry is seen one way or the other.
        if existing is None:
            if self._schedules.was_removed(schedule_id):
                raise DeletedSince("schedule", schedule_id)
            return None
        if existing.team_id != team_id:
            raise Conflict(f"schedule id {schedule_id} is taken")
        if existing.deleted_at is not None:
            raise DeletedSince("schedule", schedule_id)
        # Never pushed: its create may still be running, and undo it. Adopting it first keeps it; if the
        # undo came first, this retry creates the schedule afresh.
        if existing.applied_generation == 0 and not self._schedules.adopt(schedule_id):
            return None
        return self._converge(existing)

    def _converge(self, schedule: RecurringSchedule) -> RecurringSchedule:
        return converge_owed_push(
            schedule,
            lambda owed: push_recurring(self._scheduler(), self._schedules, owed),
            label=f"recurring schedule {schedule.id}",
        )

    def get(self, team_id: str, schedule_id: str, *, named: bool = True) -> RecurringSchedule:
        schedule = self._current(team_id, schedule_id)
        return self._present(schedule, self._clock.now(), named=named)

    def list(
        self, team_id: str, workflow_id: str | None, enabled: bool | None, skip: int, limit: int
    ) -> tuple[builtins.list[RecurringSchedule], int]:
        schedules, total = self._schedules.list(team_id, workflow_id, enabled, skip, limit)
        names = self._names.names(team_id, [s.workflow_id for s in schedules]) if schedules else {}
        now = self._clock.now()
        return [self._present(s, now, workflow_name=names.get(s.workflow_id)) for s in schedules], total

    def update(
        self, team_id: str, user_id: str, schedule_id: str, changes: RecurringChanges, *, named: bool = True
    ) -> RecurringSchedule:
        current = self._current(team_id, schedule_id)
        fields: dict[str, Any] = {}
        if changes.cron_expression is not None or changes.timezone is not None:
            compiled = compile_cron(
                changes.cron_expression or current.cron_expression, changes.timezone or current.timezone
            )
            fields.update(
                cron_expression=compiled.schedule.expression,
                timezone=compiled.schedule.timezone,
                eventbridge_expression=compiled.eventbridge_expression,
            )
        if changes.enabled is not None:
            fields["enabled"] = changes.enabled
        if changes.dst_policy is not None:
            fields["dst_policy"] = changes.dst_policy.model_dump(mode="json")
        if changes.input_data is not None:
            fields["input_data"] = [item.model_dump(by_alias=True, mode="json") for item in changes.input_data]
        if changes.version_set:
            if changes.version is not None:
                check_version(self._workflows.get(team_id, current.workflow_id), changes.version, ("body", "version"))
            fields["version"] = changes.version
        fields.update(policy_fields(current, changes, self._clock.now()))
        if not fields:
            return self._present(current, self._clock.now(), named=named)
        return self._apply(team_id, user_id, current, fields, named=named)

    def set_enabled(
        self, team_id: str, user_id: str, schedule_id: str, enabled: bool, *, named: bool = True
    ) -> RecurringSchedule:
        current = self._current(team_id, schedule_id)
        if current.enabled == enabled:
            # Nothing to change, but a crashed earlier request may have left AWS behind: push it.
            return self._present(self._converge(current), self._clock.now(), named=named)
        return self._apply(team_id, user_id, current, {"enabled": enabled}, named=named)

    def delete(self, team_id: str, schedule_id: str) -> None:
        """Delete the schedule and its history (404 from now on, whatever AWS answers next)."""
        tombstone = self._schedules.tombstone(team_id, schedule_id)
        if tombstone is None:
            raise NotFound("schedule", schedule_id)
        try:
            push_recurring(self._scheduler(), self._schedules, tombstone)
        except UpstreamUnavailable as failure:
            if not self._schedules.revive(schedule_id, tombstone.desired_generation):
                logger.error("recurring schedule %s: could not revive it after %s", schedule_id, failure.message)
            raise UpstreamUnavailable(
                f"could not delete the EventBridge schedule, so the schedule was not deleted: {failure.message}"
            ) from failure

    def history(
        self, team_id: str, schedule_id: str, skip: int, limit: int
    ) -> tuple[RecurringSchedule, builtins.list[HistoryEntry], int]:
        """The schedule (for its time zone), a page of its firings, newest first, and their number."""
        schedule = self._current(team_id, schedule_id)
        entries, total = self._schedules.history(schedule_id, skip, limit)
        return schedule, entries, total

    # -- helpers --------------------------------------------------------------------------------

    def _current(self, team_id: str, schedule_id: str) -> RecurringSchedule:
        schedule = self._schedules.get(team_id, schedule_id)
        if schedule is None:
            raise NotFound("schedule", schedule_id)
        return schedule

    def _apply(
        self, team_id: str, user_id: str, current: RecurringSchedule, fields: dict[str, Any], *, named: bool
    ) -> RecurringSchedule:
        schedule_id = current.stored_id
        now = self._clock.now()
        before, fields, moves = write_changes(self._schedules, team_id, user_id, current, fields, now)
        if before is None:
            raise NotFound("schedule", schedule_id)
        generation = before.desired_generation + (1 if moves else 0)
        after = with_fields(
            before,
            {
                **fields,
                "updated_at": now,
                "updated_by": user_id,
                "desired_generation": generation,
                "applied_generation": before.applied_generation,
            },
        )
        if not moves:
            if any(name in fields for name in AWS_FIELDS):
                after = _push_again(self._scheduler(), self._schedules, team_id, after)
            return self._present(self._converge(after), now, named=named)
        try:
            push_recurring(self._scheduler(), self._schedules, after, before.dst_compensations)
        except UpstreamUnavailable as failure:
            previous = before.model_dump(by_alias=True, mode="json", include=set(fields))
            # The bounds as the update wrote them: dates, not the text the JSON dump makes of them.
            previous.update({name: getattr(before, name) for name in _DATE_FIELDS if name in previous})
            previous.update(updated_at=before.updated_at, updated_by=before.updated_by, **dst_fields(before))
            expected = {name: value for name, value in fields.items() if name in AWS_FIELDS}
            if not self._schedules.restore(schedule_id, expected, previous, bump=True):
                logger.error(
                    "recurring schedule %s: could not restore its previous values after %s",
                    schedule_id,
                    failure.message,
                )
            raise UpstreamUnavailable(
                f"could not update the EventBridge schedule, so the schedule was not changed: {failure.message}"
            ) from failure
        after = push_until_agreed(
            lambda: self._schedules.get(team_id, schedule_id),
            lambda current: push_recurring(self._scheduler(), self._schedules, current, after.dst_compensations),
            after.model_copy(update={"applied_generation": generation}),
            label=f"recurring schedule {schedule_id}",
        )
        return self._present(after, now, named=named)

    def _present(
        self, schedule: RecurringSchedule, now: datetime, *, named: bool = True, workflow_name: str | None = None
    ) -> RecurringSchedule:
        """The schedule with its computed fields: next firing (null while disabled) and workflow name."""
        next_run = None
        if schedule.enabled:
            cron = parse_cron(schedule.cron_expression, schedule.timezone)

            def next_occurrence(after: datetime) -> datetime | None:
                found = next_occurrences(cron, schedule.dst_policy, after, 1)
                return found[0].utc if found else None

            next_run = bounds.next_within(next_occurrence, now, schedule.start_at, schedule.end_at)
        if workflow_name is None and named:
            workflow_name = self._names.names(schedule.owner_team_id, [schedule.workflow_id]).get(schedule.workflow_id)
        return schedule.model_copy(update={"next_run": next_run, "workflow_name": workflow_name})


def _undo_create(
    scheduler: Scheduler, schedules: RecurringScheduleRepository, schedule: RecurringSchedule
) -> RecurringSchedule | None:
    """Undo a create whose CreateSchedule failed; None once undone. A schedule a retry of the same
    create adopted meanwhile (it answered with it) is kept instead, and returned."""
    try:
        # Deleted before the record goes, so that a retry's create, which can only follow the
        # record's removal, is kept.
        scheduler.delete(schedule_name(ScheduleKind.RECURRING, schedule.stored_id))
        for instant in schedule.dst_compensations:
            scheduler.delete(compensation_name(schedule.stored_id, instant))
    except Exception:
        # Left behind, it fires into "no such schedule"; the sweep's listing deletes it.
        logger.warning("recurring schedule %s: could not confirm the EventBridge schedule is absent", schedule.id)
    if schedules.remove_unless_adopted(schedule.stored_id):
        return None
    current = schedules.get(None, schedule.stored_id)
    if current is None:
        return None
    logger.info("recurring schedule %s: kept, a retry of its create answered with it", schedule.id)
    return restore_adopted(current, lambda: push_recurring(scheduler, schedules, current), schedules.mark_stale)


def _push_again(
    scheduler: Scheduler, schedules: RecurringScheduleRepository, team_id: str, schedule: RecurringSchedule
) -> RecurringSchedule:
    """``aws_sync.reassert_unchanged`` for a recurring schedule an update re-sent unchanged."""
    return reassert_unchanged(
        schedule,
        lambda current: push_recurring(scheduler, schedules, current, current.dst_compensations),
        lambda: schedules.get(team_id, schedule.stored_id),
        label=f"recurring schedule {schedule.stored_id}",
    )
