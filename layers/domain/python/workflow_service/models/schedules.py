"""What a one-time workflow schedule is (seeds 000 and 004, reference sections 4 and 9), and the event
EventBridge Scheduler delivers to the schedule-target Lambda; the endpoints' request and response
shapes are in ``models.schedule_api``.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.json_schema import SkipJsonSchema

from workflow_service.models.common import (
    ApiModel,
    AuditedModel,
    AwareUtcDatetime,
    ObjectIdStr,
    UtcDatetime,
)
from workflow_service.models.run_input import WorkflowRunInput

# EventBridge Scheduler substitutes this in the target input with the time the firing was due,
# e.g. "2030-07-28T18:26:00Z" (UTC). The local scheduler emulation substitutes it the same way.
SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>"


class ScheduleStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ScheduleKind(StrEnum):
    ONE_TIME = "one_time"
    RECURRING = "recurring"


def schedule_name(kind: ScheduleKind, schedule_id: str) -> str:
    """The EventBridge schedule name of a record: unique, stable, and derived from its id alone,
    so every operation (and a retry after a crash) addresses the same AWS schedule."""
    prefix = "once" if kind is ScheduleKind.ONE_TIME else "cron"
    return f"{prefix}-{schedule_id}"


def schedule_id_of(name: str) -> tuple[ScheduleKind, str] | None:
    """The record an EventBridge schedule name belongs to (the inverse of ``schedule_name``); None for
    a name the service did not give."""
    for kind in ScheduleKind:
        prefix = schedule_name(kind, "")
        if name.startswith(prefix) and len(name) == len(prefix) + 24:
            candidate = name[len(prefix) :]
            if all(char in "0123456789abcdef" for char in candidate):
                return kind, candidate
    return None


def _whole_seconds(value: datetime) -> datetime:
    # EventBridge's at() has one-second resolution; keeping the sub-second part would make the
    # record promise a time the schedule cannot honour.
    return value.replace(microsecond=0)


# A time without an offset is read as UTC (seed 000: "Scheduled time in UTC"): the product's SDK sends
# ``datetime.utcnow() + ...`` as its guide shows, which has none.
ScheduledTime = Annotated[
    UtcDatetime,
    AfterValidator(_whole_seconds),
    Field(
        description="When to run, in UTC (a time without an offset is taken as UTC); must be in the future. "
        "EventBridge schedules to the second, so fractions of a second are dropped.",
        examples=["2030-11-07T05:31:56Z"],
    ),
]


class WorkflowSchedule(AuditedModel):
    """Stores scheduled workflow runs."""

    workflow_id: ObjectIdStr = Field(description="ID of the workflow to run")
    scheduled_time: UtcDatetime = Field(description="The target time for the workflow execution (UTC)")
    status: ScheduleStatus = Field(ScheduleStatus.PENDING, description="Current status of the schedule")
    run_input: WorkflowRunInput | None = Field(None, description="Inputs and dynamic variables for the workflow run")
    version: int | None = Field(
        None, description="Version of the workflow to run; null runs the version active at the scheduled time"
    )
    schedule_name: str | None = Field(None, description="AWS EventBridge Schedule name (used for deletion)")
    scheduler_arn: str | None = Field(None, description="AWS EventBridge Scheduler ARN")
    actual_run_id: ObjectIdStr | None = Field(None, description="Link to the actual WorkflowRunsModel ID once executed")
    scheduled_by_name: str | None = Field(None, description="Display name of the user who created the schedule")
    error_message: str | None = Field(None, description="Error message if the schedule failed to execute")
    # Internal (never in an answer): the generation of the AWS state MongoDB wants and the last one AWS
    # is known to hold; a writer that crashed between the two leaves applied < desired for a retry or
    # the reaper to push (DESIGN.md section 4).
    desired_generation: SkipJsonSchema[int] = Field(0, exclude=True)
    applied_generation: SkipJsonSchema[int] = Field(0, exclude=True)

    @property
    def needs_push(self) -> bool:
        """AWS may not hold what MongoDB wants: a push (create, update or delete) is owed."""
        return self.applied_generation < self.desired_generation


class ScheduleTargetEvent(ApiModel):
    """The input EventBridge Scheduler passes to the schedule-target Lambda.

    ``scheduled_time`` is the placeholder text when the schedule is defined and the due time once
    EventBridge (or the local emulation) substitutes it. ``generation`` is the record's desired
    generation the push carried; a delivery with an older one comes from a stale AWS definition.
    Schedules pushed before generations existed deliver none.
    """

    schedule_id: ObjectIdStr
    kind: ScheduleKind
    scheduled_time: datetime | None = None
    generation: int | None = Field(None, ge=0)
    # Set by a recurring schedule's compensating one-time firing inside a DST transition window: the
    # occurrence it fires (the firing's key), whatever time EventBridge reports.
    occurrence: AwareUtcDatetime | None = None

    @classmethod
    def template(
        cls, schedule_id: str, kind: ScheduleKind, generation: int | None = None, occurrence: datetime | None = None
    ) -> dict[str, str | int]:
        """The target input to register with the scheduler (the placeholder left for AWS to fill)."""
        template: dict[str, str | int] = {
            "schedule_id": schedule_id,
            "kind": kind.value,
            "scheduled_time": SCHEDULED_TIME_PLACEHOLDER,
        }
        if generation is not None:
            template["generation"] = generation
        if occurrence is not None:
            template["occurrence"] = occurrence.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return template

    def due_time(self, fallback: datetime) -> datetime:
        """The firing's due time in UTC (``fallback`` when the event carried none)."""
        value = self.scheduled_time or fallback
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
