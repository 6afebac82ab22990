"""What a recurring (cron) schedule and its execution history are, under ``/workflows/v1``; the
endpoints' request and response shapes are in ``models.recurring_api``.

The same records are served in seed 002's camelCase shape under ``/api/v1/schedules``
(``models.cron_api``). A recurring schedule fires at every time its 5-field POSIX cron
expression matches in its IANA time zone; each firing starts one run whose ``dynamic_variables``
are the ``json`` objects of ``input_data`` merged in order (a later item's key wins).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from workflow_service.models.common import (
    ApiModel,
    AuditedModel,
    ObjectIdStr,
    RequestModel,
    UtcDatetime,
    empty_list,
)
from workflow_service.models.dst import DstPolicy

CRON_EXPRESSION_DESCRIPTION = (
    "5-field POSIX cron: minute hour day-of-month month day-of-week (0-6, Sunday = 0; 7 is also Sunday). "
    "Supports *, lists, ranges, steps and JAN-DEC / SUN-SAT names. Restricting both day fields is "
    "rejected, because EventBridge cannot express cron's 'either day matches' rule."
)
TIMEZONE_DESCRIPTION = (
    "IANA time zone the expression is evaluated in. Around DST changes the schedule's dst_policy decides: "
    "by default a time inside the spring-forward gap is skipped and a repeated time fires at its first instant."
)


class ExecutionStatus(StrEnum):
    """Outcome of one firing (and a schedule's ``last_status``)."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


class OverlapPolicy(StrEnum):
    """What a firing does while the previous run this schedule started is still active (not terminal)."""

    ALLOW = "allow"  # start another run
    SKIP = "skip"  # start nothing; a ``skipped`` history row with reason ``overlap``
    BUFFER_ONE = "buffer_one"  # keep at most one firing waiting; start it when the previous run ends
    CANCEL_PREVIOUS = "cancel_previous"  # stop the previous run, then start the new one


MAX_FLEXIBLE_WINDOW_MINUTES = 1440
OVERLAP_POLICY_DESCRIPTION = (
    "What a firing does while the previous run of this schedule is still active: allow (start another), "
    "skip (record a skipped firing), buffer_one (start it when the previous run ends; at most one waits) "
    "or cancel_previous (stop the previous run, then start)"
)
FLEXIBLE_WINDOW_DESCRIPTION = (
    "0: fire on time; 1-1440: EventBridge may deliver each firing up to this many minutes late (FlexibleTimeWindow)"
)
START_AT_DESCRIPTION = "No firing before this instant (EventBridge StartDate); null: from now"
END_AT_DESCRIPTION = "No firing after this instant (EventBridge EndDate); must be in the future; null: no end"


class InputItem(RequestModel):
    """One input item; its ``json`` object is merged into the run's dynamic variables."""

    # Only the documented key: "data" (the Python name) is an unknown field to clients.
    model_config = ConfigDict(populate_by_name=False, extra="forbid")

    data: dict[str, Any] = Field(alias="json", description="Values merged into the run's dynamic_variables")


def merged_dynamic_variables(items: list[InputItem]) -> dict[str, Any]:
    """The run's dynamic variables: each item's ``json`` merged in order (later keys win)."""
    merged: dict[str, Any] = {}
    for item in items:
        merged.update(item.data)
    return merged


class ActiveFiring(ApiModel):
    """The firing (scheduled time) whose run is the schedule's active one, with the run once known."""

    scheduled_time: UtcDatetime
    run_id: str | None = None
    claimed_at: UtcDatetime


class RecurringSchedule(AuditedModel):
    workflow_id: ObjectIdStr
    workflow_name: str | None = Field(None, description="The workflow's current name")
    cron_expression: str = Field(description=CRON_EXPRESSION_DESCRIPTION, examples=["0 9 * * MON-FRI"])
    timezone: str = Field("UTC", description=TIMEZONE_DESCRIPTION, examples=["America/New_York"])
    enabled: bool = True
    input_data: list[InputItem] = Field(default_factory=empty_list)
    version: int | None = Field(None, description="Version to run; null runs the version active at each firing")
    overlap_policy: OverlapPolicy = Field(OverlapPolicy.ALLOW, description=OVERLAP_POLICY_DESCRIPTION)
    flexible_window_minutes: int = Field(0, description=FLEXIBLE_WINDOW_DESCRIPTION)
    start_at: UtcDatetime | None = Field(None, description=START_AT_DESCRIPTION)
    end_at: UtcDatetime | None = Field(None, description=END_AT_DESCRIPTION)
    eventbridge_expression: str | None = Field(
        None, description="The equivalent EventBridge Scheduler expression", examples=["cron(0 9 ? * 2-6 *)"]
    )
    schedule_name: str | None = Field(None, description="AWS EventBridge Schedule name")
    scheduler_arn: str | None = Field(None, description="AWS EventBridge Scheduler ARN")
    next_run: UtcDatetime | None = Field(None, description="Next firing (UTC); null while disabled")
    last_run: UtcDatetime | None = Field(None, description="Scheduled time of the latest firing (UTC)")
    last_status: ExecutionStatus | None = None
    run_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    dst_policy: DstPolicy = Field(default_factory=DstPolicy, description="What the schedule does on DST nights")
    # Internal: the compensating one-time firings inside DST transition windows that AWS should hold
    # (part of the desired generation), and until when / when next they are planned (``schedules.dst``).
    dst_compensations: SkipJsonSchema[list[UtcDatetime]] = Field(default_factory=empty_list, exclude=True)
    dst_planned_until: SkipJsonSchema[UtcDatetime | None] = Field(None, exclude=True)
    dst_review_at: SkipJsonSchema[UtcDatetime | None] = Field(None, exclude=True)
    # Internal (never in an answer): see ``WorkflowSchedule.desired_generation``. ``deleted_at`` marks a
    # tombstone: invisible to the API, kept until AWS has deleted the schedule.
    desired_generation: SkipJsonSchema[int] = Field(0, exclude=True)
    applied_generation: SkipJsonSchema[int] = Field(0, exclude=True)
    deleted_at: SkipJsonSchema[UtcDatetime | None] = Field(None, exclude=True)
    # Internal: the overlap policy's state (``schedules.overlap``): the firing whose run is active and
    # the one firing waiting for it (buffer_one).
    active_firing: SkipJsonSchema[ActiveFiring | None] = Field(None, exclude=True)
    buffered_firing: SkipJsonSchema[UtcDatetime | None] = Field(None, exclude=True)

    @property
    def needs_push(self) -> bool:
        """AWS may not hold what MongoDB wants: a push (create, update or delete) is owed."""
        return self.applied_generation < self.desired_generation


class HistoryEntry(ApiModel):
    """One firing: the run it started and how that run ended."""

    execution_id: str | None = Field(None, description="The run's id (null when the run could not start)")
    scheduled_time: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    status: ExecutionStatus
    duration_ms: int | None = Field(None, description="From start to finish, in milliseconds")
    error: str | None = None
    reason: str | None = Field(
        None, exclude_if=lambda value: value is None, description="Present when the firing was skipped (overlap)"
    )
    backfill: bool = Field(
        False, exclude_if=lambda value: not value, description="Present (true) when a backfill request made the firing"
    )


@dataclass(frozen=True)
class HistoryRow:
    """A stored history row with what the API does not show: the row's own id (a paging cursor) and
    the schedule it belongs to. Internal: the reaper's schedule reconciliation reads these."""

    row_id: str
    schedule_id: str
    entry: HistoryEntry
