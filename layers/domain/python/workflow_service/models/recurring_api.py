"""The recurring schedule endpoints' request and response shapes under ``/workflows/v1`` (create,
update, list, history, preview, backfill).

Apart from ``models.recurring`` (what a recurring schedule and a firing are) so that the firing path
and the reaper declare none of them.
"""

from pydantic import Field

from workflow_service.models.common import (
    ApiModel,
    AwareUtcDatetime,
    ObjectIdStr,
    RequestModel,
    UtcDatetime,
    empty_list,
)
from workflow_service.models.dst import DstPolicy, Occurrence
from workflow_service.models.recurring import (
    CRON_EXPRESSION_DESCRIPTION,
    END_AT_DESCRIPTION,
    FLEXIBLE_WINDOW_DESCRIPTION,
    MAX_FLEXIBLE_WINDOW_MINUTES,
    OVERLAP_POLICY_DESCRIPTION,
    START_AT_DESCRIPTION,
    TIMEZONE_DESCRIPTION,
    HistoryEntry,
    InputItem,
    OverlapPolicy,
    RecurringSchedule,
)


class CreateRecurringScheduleRequest(RequestModel):
    cron_expression: str = Field(min_length=1, max_length=200, description=CRON_EXPRESSION_DESCRIPTION)
    timezone: str = Field("UTC", min_length=1, max_length=64, description=TIMEZONE_DESCRIPTION)
    enabled: bool = True
    input_data: list[InputItem] = Field(default_factory=empty_list, max_length=100)
    version: int | None = Field(None, ge=0, description="Version to run (default: the active one at each firing)")
    dst_policy: DstPolicy | None = Field(
        None, description="What the schedule does on DST nights (default: skip, first)"
    )
    overlap_policy: OverlapPolicy = Field(OverlapPolicy.ALLOW, description=OVERLAP_POLICY_DESCRIPTION)
    flexible_window_minutes: int = Field(
        0, ge=0, le=MAX_FLEXIBLE_WINDOW_MINUTES, description=FLEXIBLE_WINDOW_DESCRIPTION
    )
    start_at: AwareUtcDatetime | None = Field(None, description=START_AT_DESCRIPTION)
    end_at: AwareUtcDatetime | None = Field(None, description=END_AT_DESCRIPTION)


class UpdateRecurringScheduleRequest(RequestModel):
    """Any of the fields; omitted fields keep their values."""

    cron_expression: str | None = Field(None, min_length=1, max_length=200, description=CRON_EXPRESSION_DESCRIPTION)
    timezone: str | None = Field(None, min_length=1, max_length=64, description=TIMEZONE_DESCRIPTION)
    enabled: bool | None = None
    input_data: list[InputItem] | None = Field(None, max_length=100)
    version: int | None = Field(None, ge=0)
    dst_policy: DstPolicy | None = None
    overlap_policy: OverlapPolicy | None = Field(None, description=OVERLAP_POLICY_DESCRIPTION)
    flexible_window_minutes: int | None = Field(
        None, ge=0, le=MAX_FLEXIBLE_WINDOW_MINUTES, description=FLEXIBLE_WINDOW_DESCRIPTION
    )
    start_at: AwareUtcDatetime | None = Field(None, description=START_AT_DESCRIPTION + "; null clears it")
    end_at: AwareUtcDatetime | None = Field(None, description=END_AT_DESCRIPTION + "; null clears it")


class ListRecurringSchedulesQuery(RequestModel):
    workflow_id: ObjectIdStr | None = None
    enabled: bool | None = None
    skip: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=100)


class RecurringScheduleList(ApiModel):
    recurring_schedules: list[RecurringSchedule]
    total: int


class HistoryQuery(RequestModel):
    skip: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=100)


class RecurringScheduleHistory(ApiModel):
    history: list[HistoryEntry] = Field(description="Newest firing first")
    total: int


class PreviewRequest(RequestModel):
    cron_expression: str = Field(min_length=1, max_length=200, description=CRON_EXPRESSION_DESCRIPTION)
    timezone: str = Field("UTC", min_length=1, max_length=64, description=TIMEZONE_DESCRIPTION)
    start: AwareUtcDatetime | None = Field(None, description="List firings strictly after this instant (default: now)")
    count: int = Field(10, ge=1, le=100)
    dst_policy: DstPolicy | None = Field(None, description="The DST policy to apply (default: skip, first)")
    start_at: AwareUtcDatetime | None = Field(None, description="The schedule's start_at: no firing before it")
    end_at: AwareUtcDatetime | None = Field(None, description="The schedule's end_at: no firing after it")


class PreviewResponse(ApiModel):
    cron_expression: str = Field(description="The expression as stored (normalized)")
    timezone: str
    eventbridge_expression: str
    start: UtcDatetime
    fire_times: list[UtcDatetime] = Field(description="The next firings, in UTC")
    dst_policy: DstPolicy = Field(default_factory=DstPolicy)
    occurrences: list[Occurrence] = Field(
        default_factory=empty_list, description="The same firings with their wall times"
    )


MAX_BACKFILL_OCCURRENCES = 1000


class BackfillRequest(RequestModel):
    start: AwareUtcDatetime = Field(description="Occurrences strictly after this instant")
    end: AwareUtcDatetime = Field(description="Occurrences up to and including this instant; not in the future")


class BackfillOccurrence(ApiModel):
    scheduled_time: UtcDatetime
    run_id: str | None = Field(None, description="The occurrence's run (null when it could not start)")
    created: bool = Field(description="True: this request made the run; false: it existed already")
    error: str | None = None


class BackfillResponse(ApiModel):
    schedule_id: str
    start: UtcDatetime
    end: UtcDatetime
    occurrences: list[BackfillOccurrence]
