"""One-time schedules: run a workflow once at a future UTC time (seeds 000 and 004).

Write order (``schedules.aws_sync``): MongoDB (the desired generation moves on), then AWS (the
generation in the target input), then the applied generation. A crash in between leaves the record
owing a push, which a retried request or the reaper's sweep makes; an AWS error answer is undone:

- create: the record is inserted (pending, generation 1), then the EventBridge schedule named from
  its id is created (idempotent by name), then generation 1 is recorded as applied. If the AWS call
  answers an error, the schedule is deleted (in case AWS created it but the answer was lost), then
  the record, and the caller gets 503. A crash before CreateSchedule leaves a pending
  record the sweep pushes (or, once its time has passed, fires late). A retry with the same
  ``Idempotency-Key`` that finds a record never pushed adopts it (one conditional write) before
  answering with it; the undo deletes only a record nobody adopted or pushed, so of the two the
  first write wins: the retry's answer stands (the first request answers the same schedule and
  pushes it again, or owes that push to the sweep), or the retry finds it gone and creates it again.
- update: one conditional update while pending (a new generation when the time changes, decided in
  that write on the value it replaces: the stored time sent again writes MongoDB only, so a delivery
  in flight stays current), then UpdateSchedule, then applied. If AWS answers an error, the previous
  values are put back (still conditional on pending) under yet another generation, because AWS may
  have applied the change before failing: the sweep then pushes the restored definition, and a
  delivery of the failed push's generation is stale. The caller gets 503. A retry pushes whenever
  the record owes a push, even when the time it sends is the one already stored.
- cancel: one conditional update pending -> cancelled (AWS absent wanted) decides the race with a
  firing; then the AWS schedule is deleted and the generation recorded. Should that delete fail, the
  cancel still succeeds: the sweep deletes it later, and a firing meanwhile is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow_service.errors import Conflict, FieldProblem, NotFound, UpstreamUnavailable, ValidationFailed
from workflow_service.models.common import audit_fields, format_utc, new_object_id
from workflow_service.models.run_input import RunCommand, WorkflowRunInput
from workflow_service.models.schedules import ScheduleKind, ScheduleStatus, WorkflowSchedule, schedule_name
from workflow_service.ports.clock import Clock
from workflow_service.ports.errors import DuplicateKey
from workflow_service.ports.schedules import OneTimeScheduleRepository, ScheduleDefinition, Scheduler
from workflow_service.schedules.aws_sync import (
    converge_owed_push,
    one_time_aws_state,
    one_time_definition,
    push_one_time,
    push_until_agreed,
    reassert_unchanged,
    restore_adopted,
)

if TYPE_CHECKING:
    from workflow_service.models.schedule_api import CreateScheduleRequest, UpdateScheduleRequest
    from workflow_service.models.workflows import Workflow
    from workflow_service.workflows.reads import WorkflowReads

logger = logging.getLogger(__name__)


def definition_of(schedule: WorkflowSchedule) -> ScheduleDefinition:
    """The scheduler's view of a one-time schedule (at its desired generation)."""
    return one_time_definition(schedule)


def check_run_input(run_input: WorkflowRunInput | None, workflow_id: str, loc: tuple[str, ...]) -> None:
    """A scheduled run starts a new run of the schedule's workflow: refuse input that says otherwise."""
    if run_input is None:
        return
    if run_input.command is not RunCommand.START:
        raise ValidationFailed(
            FieldProblem(
                (*loc, "command"),
                f"a scheduled run always starts a new run; command must be 'start', not '{run_input.command.value}'",
                "value_error",
                run_input.command.value,
            )
        )
    if run_input.workflow_id is not None and run_input.workflow_id != workflow_id:
        raise ValidationFailed(
            FieldProblem(
                (*loc, "workflow_id"),
                f"must be the scheduled workflow {workflow_id} (or omitted)",
                "value_error",
                run_input.workflow_id,
            )
        )


def own_run_input(run_input: WorkflowRunInput | None, team_id: str) -> WorkflowRunInput | None:
    """The input a scheduled run is stored with: a scheduled run always starts a new run in the
    schedule's team, so a run id or another team id in the body (seed 000's example has both) means nothing."""
    if run_input is None:
        return None
    return run_input.model_copy(update={"workflow_run_id": None, "team_id": team_id})


def check_version(workflow: Workflow, version: int | None, loc: tuple[str, ...]) -> None:
    if version is not None and version not in workflow.version_numbers:
        raise ValidationFailed(
            FieldProblem(
                loc,
                f"version {version} does not exist; the workflow has versions {workflow.version_numbers}",
                "value_error",
                version,
            )
        )


def check_future(value: datetime, now: datetime, loc: tuple[str, ...]) -> None:
    if value <= now:
        raise ValidationFailed(
            FieldProblem(
                loc,
                f"must be in the future (it is {format_utc(value)}, now is {format_utc(now)})",
                "value_error",
                format_utc(value),
            )
        )


class OneTimeScheduleService:
    """Create, read, change and cancel the one-time schedules of a team.

    ``scheduler`` is resolved on the first write, so read-only handlers never load the AWS SDK.
    """

    def __init__(
        self,
        schedules: OneTimeScheduleRepository,
        workflows: WorkflowReads,
        scheduler: Callable[[], Scheduler],
        clock: Clock,
    ) -> None:
        self._schedules = schedules
        self._workflows = workflows
        self._scheduler = scheduler
        self._clock = clock

    def create(
        self,
        team_id: str,
        user_id: str,
        workflow_id: str,
        request: CreateScheduleRequest,
        *,
        schedule_id: str | None = None,
    ) -> WorkflowSchedule:
        """Schedule a run of the workflow (inserted, then pushed to EventBridge).

        ``schedule_id`` (a retry of one create, e.g. by an ``Idempotency-Key``): when the team has
        a schedule with that id, nothing is created: the schedule is converged with AWS (pushed if
        it owes a push) and returned; otherwise the schedule is created with exactly that id.
        """
        if schedule_id is not None:
            existing = self._existing(team_id, schedule_id)
            if existing is not None:
                return existing
        now = self._clock.now()
        check_future(request.scheduled_time, now, ("body", "scheduled_time"))
        check_run_input(request.run_input, workflow_id, ("body", "run_input"))
        version = request.version
        version_loc: tuple[str, ...] = ("body", "version")
        if version is None and request.run_input is not None and request.run_input.version_number is not None:
            version, version_loc = request.run_input.version_number, ("body", "run_input", "version_number")
        workflow = self._workflows.get(team_id, workflow_id)
        check_version(workflow, version, version_loc)
        self._check_start_node(team_id, workflow_id, version, request.run_input)

        schedule_id = schedule_id or new_object_id()
        scheduler = self._scheduler()
        name = schedule_name(ScheduleKind.ONE_TIME, schedule_id)
        schedule = WorkflowSchedule(
            **audit_fields(team_id, user_id, now, schedule_id),
            workflow_id=workflow_id,
            scheduled_time=request.scheduled_time,
            status=ScheduleStatus.PENDING,
            run_input=own_run_input(request.run_input, team_id),
            version=version,
            schedule_name=name,
            scheduler_arn=scheduler.arn_for(name),
            scheduled_by_name=request.scheduled_by_name,
            desired_generation=1,
        )
        try:
            self._schedules.insert(schedule)
        except DuplicateKey:
            # Only a reserved id can already exist: a concurrent retry of the same request inserted it.
            existing = self._existing(team_id, schedule_id)
            if existing is None:
                raise
            return existing
        try:
            arn = scheduler.create(definition_of(schedule))
        except Exception as failure:
            adopted = self._undo_create(scheduler, schedule)
            if adopted is not None:
                return adopted  # a retry of this create answered with the schedule meanwhile: it stays
            if isinstance(failure, UpstreamUnavailable):
                raise UpstreamUnavailable(
                    f"could not create the EventBridge schedule, so the schedule was not saved: {failure.message}"
                ) from failure
            raise
        self._schedules.record_applied(schedule_id, schedule.desired_generation)
        schedule = schedule.model_copy(update={"applied_generation": schedule.desired_generation})
        if arn != schedule.scheduler_arn:
            # Only if the predicted ARN was wrong (a misconfigured role ARN): keep what AWS says.
            self._schedules.restore_pending(schedule_id, {}, {"scheduler_arn": arn})
            schedule = schedule.model_copy(update={"scheduler_arn": arn})
        return schedule

    def _existing(self, team_id: str, schedule_id: str) -> WorkflowSchedule | None:
        """The team's schedule ``schedule_id`` converged with AWS, or None if there is none."""
        existing = self._schedules.get(None, schedule_id)
        if existing is None:
            return None
        if existing.team_id != team_id:
            raise Conflict(f"schedule id {schedule_id} is taken")
        # Never pushed: its create may still be running, and undo it. Adopting it first keeps it; if the
        # undo came first, this retry creates the schedule afresh.
        if existing.applied_generation == 0 and not self._schedules.adopt(schedule_id):
            return None
        return self._converge(existing)

    def _converge(self, schedule: WorkflowSchedule) -> WorkflowSchedule:
        return converge_owed_push(
            schedule,
            lambda owed: push_one_time(self._scheduler(), self._schedules, owed),
            label=f"schedule {schedule.id}",
        )

    def get(self, team_id: str, schedule_id: str) -> WorkflowSchedule:
        schedule = self._schedules.get(team_id, schedule_id)
        if schedule is None:
            raise NotFound("workflow schedule", schedule_id)
        return schedule

    def list(
        self, team_id: str, workflow_id: str | None, status: ScheduleStatus | None, skip: int, limit: int
    ) -> list[WorkflowSchedule]:
        """The team's schedules (of one workflow, which must exist, when ``workflow_id`` is given)."""
        if workflow_id is not None:
            self._workflows.get(team_id, workflow_id)
        return self._schedules.list(team_id, workflow_id, status, skip, limit)

    def update(self, team_id: str, user_id: str, schedule_id: str, request: UpdateScheduleRequest) -> WorkflowSchedule:
        changes = {name: getattr(request, name) for name in request.model_fields_set}
        for name in ("scheduled_time", "run_input"):
            if name in changes and changes[name] is None:
                raise ValidationFailed(FieldProblem(("body", name), f"{name} cannot be null", "value_error"))
        if not changes:
            return self.get(team_id, schedule_id)
        now = self._clock.now()
        if "scheduled_time" in changes:
            check_future(changes["scheduled_time"], now, ("body", "scheduled_time"))
        if "run_input" in changes or changes.get("version") is not None:
            # Both checks need the schedule's workflow: one read, only when they apply.
            current = self.get(team_id, schedule_id)
            self._refuse_unless_pending(current)
            check_run_input(changes.get("run_input"), current.workflow_id, ("body", "run_input"))
            if changes.get("version") is not None:
                check_version(
                    self._workflows.get(team_id, current.workflow_id), changes["version"], ("body", "version")
                )
            if "run_input" in changes:
                changes["run_input"] = own_run_input(changes["run_input"], team_id)
            self._check_start_node(
                team_id,
                current.workflow_id,
                changes.get("version", current.version),
                changes.get("run_input", current.run_input),
            )

        stored = {name: _stored(value) for name, value in changes.items()}
        timed = "scheduled_time" in changes
        # Only a new time is a change AWS must see. The stored time sent again makes no new generation
        # (decided by the write itself, on the value it replaces): one would turn a delivery of the
        # current generation, maybe already in flight, stale, and the firing would be dropped.
        before = self._schedules.update_pending(
            team_id,
            schedule_id,
            {**stored, "updated_at": now},
            user_id,
            bump=timed,
            bump_unless={"scheduled_time": changes["scheduled_time"]} if timed else None,
        )
        if before is None:
            self._refuse_unless_pending(self.get(team_id, schedule_id))
            raise Conflict(f"schedule {schedule_id} changed while it was being updated; retry")
        changed = before.model_copy(update={**changes, "updated_at": now, "updated_by": user_id})
        moves = one_time_aws_state(changed) != one_time_aws_state(before)
        generation = before.desired_generation + (1 if moves else 0)
        after = changed.model_copy(update={"desired_generation": generation})
        if not moves:
            if timed:
                after = reassert_unchanged(
                    after,
                    lambda current: push_one_time(self._scheduler(), self._schedules, current),
                    lambda: self._schedules.get(team_id, schedule_id),
                    label=f"schedule {schedule_id}",
                )
            return self._converge(after)
        try:
            push_one_time(self._scheduler(), self._schedules, after)
        except UpstreamUnavailable as failure:
            previous = {name: _stored(getattr(before, name)) for name in changes}
            previous.update(updated_at=before.updated_at, updated_by=before.updated_by)
            if not self._schedules.restore_pending(schedule_id, stored, previous, bump=True):
                logger.error(
                    "schedule %s: could not restore its previous values after %s", schedule_id, failure.message
                )
            raise UpstreamUnavailable(
                f"could not move the EventBridge schedule, so the schedule was not changed: {failure.message}"
            ) from failure
        return push_until_agreed(
            lambda: self._schedules.get(team_id, schedule_id),
            lambda current: push_one_time(self._scheduler(), self._schedules, current),
            after.model_copy(update={"applied_generation": generation}),
            label=f"schedule {schedule_id}",
        )

    def cancel(self, team_id: str, user_id: str, schedule_id: str) -> None:
        """Cancel a pending schedule (the record stays, ``cancelled``); repeating it is harmless and
        finishes an AWS delete a crash or an outage left undone."""
        cancelled = self._schedules.cancel(team_id, schedule_id, user_id)
        if cancelled is None:
            current = self.get(team_id, schedule_id)
            if current.status is not ScheduleStatus.CANCELLED:
                self._refuse_unless_pending(current)
                raise Conflict(f"schedule {schedule_id} changed while it was being cancelled; retry")
            self._converge(current)
            return
        try:
            push_one_time(self._scheduler(), self._schedules, cancelled)
        except UpstreamUnavailable as failure:
            # The cancellation is recorded; a firing of the leftover AWS schedule is a no-op and the
            # reaper's sweep deletes it.
            logger.warning(
                "schedule %s cancelled but its EventBridge schedule remains: %s", schedule_id, failure.message
            )

    def _check_start_node(
        self, team_id: str, workflow_id: str, version: int | None, run_input: WorkflowRunInput | None
    ) -> None:
        """A schedule whose run would start at a node its version lacks is refused now, not when it fires
        (one version read, only when a start node is named)."""
        if run_input is None or not run_input.start_node_logical_id:
            return
        _, scheduled_version = self._workflows.get_workflow_and_version(team_id, workflow_id, version)
        problem = scheduled_version.unknown_start_node(run_input.start_node_logical_id)
        if problem is not None:
            raise ValidationFailed(
                FieldProblem(
                    ("body", "run_input", "start_node_logical_id"),
                    problem,
                    "value_error",
                    run_input.start_node_logical_id,
                )
            )

    @staticmethod
    def _refuse_unless_pending(schedule: WorkflowSchedule) -> None:
        if schedule.status is not ScheduleStatus.PENDING:
            raise Conflict(
                f"schedule {schedule.id} is {schedule.status.value}; "
                "only a pending schedule can be changed or cancelled"
            )

    def _undo_create(self, scheduler: Scheduler, schedule: WorkflowSchedule) -> WorkflowSchedule | None:
        """Undo a create whose CreateSchedule failed; None once undone. A schedule a retry of the same
        create adopted meanwhile (it answered with it) is kept instead, and returned."""
        try:
            # AWS may have created it even though the call failed (a lost answer). Deleted before the
            # record goes, so that a retry's create, which can only follow the record's removal, is kept.
            scheduler.delete(schedule_name(ScheduleKind.ONE_TIME, schedule.stored_id))
        except Exception:
            # Left behind, it fires into "no such schedule"; the sweep's listing deletes it.
            logger.warning("schedule %s: could not confirm the EventBridge schedule is absent", schedule.id)
        if self._schedules.remove_unless_adopted(schedule.stored_id):
            return None
        current = self._schedules.get(None, schedule.stored_id)
        if current is None:
            return None
        logger.info("schedule %s: kept, a retry of its create answered with it", schedule.id)
        return restore_adopted(
            current, lambda: push_one_time(scheduler, self._schedules, current), self._schedules.mark_stale
        )


def _stored(value: Any) -> Any:
    """A value as the repository stores it (models as JSON-ready dicts; datetimes stay datetimes)."""
    if isinstance(value, WorkflowRunInput):
        return value.model_dump(mode="json")
    return value
