"""Shapes of the camelCase ``/api/v1/schedules`` API over recurring cron schedules, as seed 002 documents them.

They present the recurring schedules of ``models.recurring``: ``nextRun``, ``lastRun`` and the
history times are rendered in the schedule's own time zone with its UTC offset
("2024-01-27T09:00:00-05:00"), ``createdAt``/``updatedAt`` in UTC with ``Z``.
"""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field

from workflow_service.models.common import ApiModel, AwareUtcDatetime, ObjectIdStr, RequestModel, empty_list, format_utc
from workflow_service.models.dst import CamelDstPolicy
from workflow_service.models.recurring import (
    CRON_EXPRESSION_DESCRIPTION,
    END_AT_DESCRIPTION,
    FLEXIBLE_WINDOW_DESCRIPTION,
    MAX_FLEXIBLE_WINDOW_MINUTES,
    OVERLAP_POLICY_DESCRIPTION,
    START_AT_DESCRIPTION,
    TIMEZONE_DESCRIPTION,
    ExecutionStatus,
    HistoryEntry,
    InputItem,
    OverlapPolicy,
    RecurringSchedule,
)
from workflow_service.models.recurring_api import BackfillResponse


def format_in_zone(value: datetime | None, timezone: str, *, milliseconds: bool = False) -> str | None:
    """``value`` as wall-clock time in ``timezone`` with its offset (``Z`` for a zero offset).

    Seed 002 writes scheduled times to the second ("2024-01-26T09:00:00-05:00") and the start and
    finish of an execution to the millisecond ("2024-01-26T09:00:01.000-05:00"); ``milliseconds``
    selects the latter (fractions are shown either way when present).
    """
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    local = aware.astimezone(ZoneInfo(timezone))
    timespec = "milliseconds" if milliseconds or local.microsecond else "seconds"
    text = local.isoformat(timespec=timespec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Schedule(ApiModel):
    id: str
    workflowId: str
    workflowName: str | None = None
    cronExpression: str = Field(description=CRON_EXPRESSION_DESCRIPTION)
    timezone: str = Field(description=TIMEZONE_DESCRIPTION)
    enabled: bool
    inputData: list[InputItem] = Field(default_factory=empty_list)
    nextRun: str | None = Field(None, description="Next firing, in the schedule's time zone; null while disabled")
    lastRun: str | None = Field(None, description="Scheduled time of the latest firing, in the schedule's time zone")
    lastStatus: ExecutionStatus | None = None
    runCount: int = 0
    successCount: int = 0
    failureCount: int = 0
    dstPolicy: CamelDstPolicy = Field(
        default_factory=CamelDstPolicy, description="What the schedule does on DST nights"
    )
    overlapPolicy: OverlapPolicy = Field(OverlapPolicy.ALLOW, description=OVERLAP_POLICY_DESCRIPTION)
    flexibleWindowMinutes: int = Field(0, description=FLEXIBLE_WINDOW_DESCRIPTION)
    startAt: str | None = Field(None, description=START_AT_DESCRIPTION + " (in the schedule's time zone)")
    endAt: str | None = Field(None, description=END_AT_DESCRIPTION + " (in the schedule's time zone)")
    createdAt: str | None = None
    updatedAt: str | None = None

    @classmethod
    def of(cls, schedule: RecurringSchedule) -> "Schedule":
        zone = schedule.timezone
        return cls(
            id=schedule.id or "",
            workflowId=schedule.workflow_id,
            workflowName=schedule.workflow_name,
            cronExpression=schedule.cron_expression,
            timezone=zone,
            enabled=schedule.enabled,
            inputData=schedule.input_data,
            nextRun=format_in_zone(schedule.next_run, zone),
            lastRun=format_in_zone(schedule.last_run, zone),
            lastStatus=schedule.last_status,
            runCount=schedule.run_count,
            successCount=schedule.success_count,
            failureCount=schedule.failure_count,
            dstPolicy=schedule.dst_policy.camel(),
            overlapPolicy=schedule.overlap_policy,
            flexibleWindowMinutes=schedule.flexible_window_minutes,
            startAt=format_in_zone(schedule.start_at, zone),
            endAt=format_in_zone(schedule.end_at, zone),
            createdAt=format_utc(schedule.created_at) if schedule.created_at else None,
            updatedAt=format_utc(schedule.updated_at) if schedule.updated_at else None,
        )


class ScheduleList(ApiModel):
    data: list[Schedule]
    total: int = Field(description="Schedules matching the filters (before limit/offset)")


class ListQuery(RequestModel):
    workflowId: ObjectIdStr | None = Field(None, description="Filter by workflow")
    enabled: bool | None = Field(None, description="Filter by enabled status")
    limit: int = Field(100, ge=1, le=500, description="Maximum schedules returned")
    offset: int = Field(0, ge=0, description="Schedules skipped first")


class CreateRequest(RequestModel):
    workflowId: ObjectIdStr = Field(description="Workflow to schedule")
    cronExpression: str = Field(min_length=1, max_length=200, description=CRON_EXPRESSION_DESCRIPTION)
    timezone: str = Field("UTC", min_length=1, max_length=64, description="IANA timezone (default: UTC)")
    enabled: bool = Field(True, description="Enable immediately (default: true)")
    inputData: list[InputItem] = Field(
        default_factory=empty_list,
        max_length=100,
        description="Input data for each run: the json objects are merged, in order, into the run's dynamic variables",
    )
    dstPolicy: CamelDstPolicy | None = Field(
        None, description="What the schedule does on DST nights (default: skip, first)"
    )
    overlapPolicy: OverlapPolicy = Field(OverlapPolicy.ALLOW, description=OVERLAP_POLICY_DESCRIPTION)
    flexibleWindowMinutes: int = Field(0, ge=0, le=MAX_FLEXIBLE_WINDOW_MINUTES, description=FLEXIBLE_WINDOW_DESCRIPTION)
    startAt: AwareUtcDatetime | None = Field(None, description=START_AT_DESCRIPTION)
    endAt: AwareUtcDatetime | None = Field(None, description=END_AT_DESCRIPTION)


class UpdateRequest(RequestModel):
    """A partial update: omitted fields keep their values.

    The read-only fields of a schedule (as returned by GET) are accepted and ignored so a client may
    send back what it read; ``workflowId`` must then be the schedule's own workflow.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    cronExpression: str | None = Field(None, min_length=1, max_length=200, description=CRON_EXPRESSION_DESCRIPTION)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    enabled: bool | None = None
    inputData: list[InputItem] | None = Field(None, max_length=100)
    workflowId: ObjectIdStr | None = Field(None, description="Read-only: must be the schedule's workflow")
    dstPolicy: CamelDstPolicy | None = None
    overlapPolicy: OverlapPolicy | None = Field(None, description=OVERLAP_POLICY_DESCRIPTION)
    flexibleWindowMinutes: int | None = Field(
        None, ge=0, le=MAX_FLEXIBLE_WINDOW_MINUTES, description=FLEXIBLE_WINDOW_DESCRIPTION
    )
    startAt: AwareUtcDatetime | None = Field(None, description=START_AT_DESCRIPTION + "; null clears it")
    endAt: AwareUtcDatetime | None = Field(None, description=END_AT_DESCRIPTION + "; null clears it")
    # Read-only fields, ignored.
    id: Any = Field(None, exclude=True)
    workflowName: Any = Field(None, exclude=True)
    nextRun: Any = Field(None, exclude=True)
    lastRun: Any = Field(None, exclude=True)
    lastStatus: Any = Field(None, exclude=True)
    runCount: Any = Field(None, exclude=True)
    successCount: Any = Field(None, exclude=True)
    failureCount: Any = Field(None, exclude=True)
    createdAt: Any = Field(None, exclude=True)
    updatedAt: Any = Field(None, exclude=True)


class EnabledState(ApiModel):
    id: str
    enabled: bool
    nextRun: str | None


class HistoryItem(ApiModel):
    executionId: str | None
    scheduledTime: str
    startedAt: str | None = None
    finishedAt: str | None = None
    status: ExecutionStatus
    duration: int | None = Field(None, description="Milliseconds from start to finish")
    error: str | None = Field(None, exclude_if=lambda value: value is None, description="Present when the run failed")
    reason: str | None = Field(
        None, exclude_if=lambda value: value is None, description="Present when the firing was skipped"
    )
    backfill: bool = Field(
        False, exclude_if=lambda value: not value, description="Present (true) when a backfill request made the firing"
    )

    @classmethod
    def of(cls, entry: HistoryEntry, timezone: str) -> "HistoryItem":
        return cls(
            executionId=entry.execution_id,
            scheduledTime=format_in_zone(entry.scheduled_time, timezone) or "",
            startedAt=format_in_zone(entry.started_at, timezone, milliseconds=True),
            finishedAt=format_in_zone(entry.finished_at, timezone, milliseconds=True),
            status=entry.status,
            duration=entry.duration_ms,
            error=entry.error,
            reason=entry.reason,
            backfill=entry.backfill,
        )


class HistoryQuery(RequestModel):
    limit: int = Field(20, ge=1, le=100, description="Maximum entries")


class ScheduleHistory(ApiModel):
    data: list[HistoryItem] = Field(description="Newest firing first")
    total: int


class BackfillRequest(RequestModel):
    start: AwareUtcDatetime = Field(description="Occurrences strictly after this instant")
    end: AwareUtcDatetime = Field(description="Occurrences up to and including this instant; not in the future")


class BackfillOccurrence(ApiModel):
    scheduledTime: str = Field(description="The occurrence, in the schedule's time zone")
    runId: str | None = None
    created: bool = Field(description="True: this request made the run; false: it existed already")
    error: str | None = Field(None, exclude_if=lambda value: value is None)


class BackfillResult(ApiModel):
    scheduleId: str
    start: str
    end: str
    occurrences: list[BackfillOccurrence]

    @classmethod
    def of(cls, result: BackfillResponse, timezone: str) -> "BackfillResult":
        return cls(
            scheduleId=result.schedule_id,
            start=format_in_zone(result.start, timezone) or "",
            end=format_in_zone(result.end, timezone) or "",
            occurrences=[
                BackfillOccurrence(
                    scheduledTime=format_in_zone(item.scheduled_time, timezone) or "",
                    runId=item.run_id,
                    created=item.created,
                    error=item.error,
                )
                for item in result.occurrences
            ],
        )
