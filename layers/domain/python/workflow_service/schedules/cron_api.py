"""The camelCase ``/api/v1/schedules`` API (documented by seed 002) over the recurring cron schedules.

The facade only translates: camelCase shapes in and out, error locations renamed to the camelCase
field names (``cronExpression``, ``inputData`` ...), and a body ``workflowId`` that names no
workflow of the team reported as an invalid field (400) rather than a missing resource.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from workflow_service.errors import FieldProblem, NotFound, ValidationFailed
from workflow_service.models.cron_api import (
    BackfillResult,
    CreateRequest,
    EnabledState,
    HistoryItem,
    ListQuery,
    Schedule,
    ScheduleHistory,
    ScheduleList,
    UpdateRequest,
    format_in_zone,
)
from workflow_service.schedules.recurring import RecurringChanges, RecurringPolicies, RecurringScheduleService

if TYPE_CHECKING:
    from workflow_service.schedules.backfill import BackfillService

ResultT = TypeVar("ResultT")

_CAMEL_CASE_FIELD_NAMES = {
    "cron_expression": "cronExpression",
    "input_data": "inputData",
    "workflow_id": "workflowId",
    "dst_policy": "dstPolicy",
    "start_at": "startAt",
    "end_at": "endAt",
    "flexible_window_minutes": "flexibleWindowMinutes",
    "overlap_policy": "overlapPolicy",
}


def camel_case_locations(error: ValidationFailed) -> ValidationFailed:
    """The same problems with the camelCase field names."""
    renamed = [
        FieldProblem(
            tuple(_CAMEL_CASE_FIELD_NAMES.get(part, part) if isinstance(part, str) else part for part in p.loc),
            p.msg,
            p.type,
            p.input,
        )
        for p in error.problems
    ]
    return ValidationFailed(renamed)


def _camel_case_errors(action: Callable[[], ResultT], workflow_id: str | None = None) -> ResultT:
    try:
        return action()
    except ValidationFailed as error:
        raise camel_case_locations(error) from None
    except NotFound as missing:
        if workflow_id is not None and missing.resource == "workflow":
            raise ValidationFailed(
                FieldProblem(
                    ("body", "workflowId"),
                    f"workflow {workflow_id} does not exist in this team",
                    "value_error",
                    workflow_id,
                )
            ) from None
        raise


class CronScheduleApi:
    """The ``/api/v1/schedules`` operations, each a thin translation of a ``RecurringScheduleService`` call."""

    def __init__(self, recurring: RecurringScheduleService, backfills: BackfillService | None = None) -> None:
        self._recurring = recurring
        self._backfills = backfills

    def backfill(self, team_id: str, schedule_id: str, start: datetime, end: datetime) -> BackfillResult:
        """``BackfillService.backfill``, answered with times in the schedule's zone."""
        if self._backfills is None:
            raise RuntimeError("the cron API was built without backfills")
        backfills = self._backfills
        result = _camel_case_errors(lambda: backfills.backfill(team_id, schedule_id, start, end))
        schedule = self._recurring.get(team_id, schedule_id, named=False)
        return BackfillResult.of(result, schedule.timezone)

    def list(self, team_id: str, query: ListQuery) -> ScheduleList:
        schedules, total = self._recurring.list(team_id, query.workflowId, query.enabled, query.offset, query.limit)
        return ScheduleList(data=[Schedule.of(schedule) for schedule in schedules], total=total)

    def get(self, team_id: str, schedule_id: str) -> Schedule:
        return Schedule.of(self._recurring.get(team_id, schedule_id))

    def create(self, team_id: str, user_id: str, request: CreateRequest, *, schedule_id: str | None = None) -> Schedule:
        """Create (see ``RecurringScheduleService.create``, ``schedule_id`` included)."""
        schedule = _camel_case_errors(
            lambda: self._recurring.create(
                team_id,
                user_id,
                request.workflowId,
                request.cronExpression,
                request.timezone,
                request.enabled,
                request.inputData,
                None,
                schedule_id=schedule_id,
                dst_policy=request.dstPolicy.snake() if request.dstPolicy is not None else None,
                policies=RecurringPolicies(
                    overlap_policy=request.overlapPolicy,
                    flexible_window_minutes=request.flexibleWindowMinutes,
                    start_at=request.startAt,
                    end_at=request.endAt,
                ),
            ),
            workflow_id=request.workflowId,
        )
        return Schedule.of(schedule)

    def update(self, team_id: str, user_id: str, schedule_id: str, request: UpdateRequest) -> Schedule:
        if request.workflowId is not None:
            current = self._recurring.get(team_id, schedule_id, named=False)
            if request.workflowId != current.workflow_id:
                raise ValidationFailed(
                    FieldProblem(
                        ("body", "workflowId"),
                        "a schedule's workflow cannot be changed; create a new schedule",
                        "value_error",
                        request.workflowId,
                    )
                )
        changes = RecurringChanges(
            cron_expression=request.cronExpression,
            timezone=request.timezone,
            enabled=request.enabled,
            input_data=request.inputData,
            dst_policy=request.dstPolicy.snake() if request.dstPolicy is not None else None,
            overlap_policy=request.overlapPolicy,
            flexible_window_minutes=request.flexibleWindowMinutes,
            start_at=request.startAt,
            start_at_set="startAt" in request.model_fields_set,
            end_at=request.endAt,
            end_at_set="endAt" in request.model_fields_set,
        )
        return Schedule.of(_camel_case_errors(lambda: self._recurring.update(team_id, user_id, schedule_id, changes)))

    def delete(self, team_id: str, schedule_id: str) -> None:
        self._recurring.delete(team_id, schedule_id)

    def set_enabled(self, team_id: str, user_id: str, schedule_id: str, enabled: bool) -> EnabledState:
        schedule = self._recurring.set_enabled(team_id, user_id, schedule_id, enabled, named=False)
        return EnabledState(
            id=schedule.id or schedule_id,
            enabled=schedule.enabled,
            nextRun=format_in_zone(schedule.next_run, schedule.timezone),
        )

    def history(self, team_id: str, schedule_id: str, limit: int) -> ScheduleHistory:
        schedule, entries, total = self._recurring.history(team_id, schedule_id, 0, limit)
        return ScheduleHistory(data=[HistoryItem.of(entry, schedule.timezone) for entry in entries], total=total)
