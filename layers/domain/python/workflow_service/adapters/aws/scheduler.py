"""Amazon EventBridge Scheduler behind ``ports.Scheduler``.

One schedule per record, in the service's schedule group, invoking the schedule-target Lambda with
the role EventBridge Scheduler assumes. One-time schedules are ``at(yyyy-mm-ddThh:mm:ss)`` in UTC
and delete themselves after firing (``ActionAfterCompletion=DELETE``); recurring ones are the exact
``cron(...)`` translation of their POSIX expression with ``ScheduleExpressionTimezone``. Every
schedule has a retry policy and (when configured) a dead-letter queue; a recurring one may carry a
flexible window (``FlexibleTimeWindow`` FLEXIBLE with its maximum) and ``StartDate`` / ``EndDate``
bounds (a bound already past is left out: it would no longer restrict anything, and AWS refuses some).
The target input carries the schedule id, its kind, the record's generation (so a delivery from a
stale definition is recognised) and ``<aws.scheduler.scheduled-time>``, which keys each firing.
CreateSchedule is idempotent by name: a ``ConflictException`` (the schedule exists: a retry after a
lost answer) becomes an UpdateSchedule.

Any AWS failure (throttling, an outage, missing permissions) raises ``UpstreamUnavailable`` naming
the operation and AWS's error code, so callers answer 503 and undo their own writes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.schedules import ScheduleKind, ScheduleTargetEvent
from workflow_service.ports.schedules import ListedSchedule
from workflow_service.schedules.cron import parse_cron, to_eventbridge

if TYPE_CHECKING:
    from workflow_service.ports.schedules import ScheduleDefinition
    from workflow_service.settings.schedules import ScheduleSettings

_NOT_FOUND = "ResourceNotFoundException"
_CONFLICT = "ConflictException"


def scheduler_client(region_name: str | None = None) -> Any:
    """A boto3 ``scheduler`` client with bounded timeouts and standard retries (throttling included)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
    return boto3.client("scheduler", region_name=region_name, config=config)


def at_expression(definition: ScheduleDefinition) -> str:
    if definition.fire_at is None:
        raise ValueError(f"one-time schedule {definition.name} has no fire_at")
    return f"at({definition.fire_at.strftime('%Y-%m-%dT%H:%M:%S')})"


def flexible_time_window(minutes: int) -> dict[str, Any]:
    """EventBridge's FlexibleTimeWindow for a window of ``minutes`` (0: deliver on time)."""
    if minutes <= 0:
        return {"Mode": "OFF"}
    return {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": minutes}


def date_bounds(definition: ScheduleDefinition, now: datetime) -> dict[str, Any]:
    """``StartDate`` / ``EndDate`` of a recurring definition, each only while it lies ahead of ``now``."""
    bounds: dict[str, Any] = {}
    if definition.start_at is not None and definition.start_at > now:
        bounds["StartDate"] = definition.start_at
    if definition.end_at is not None and definition.end_at > now:
        bounds["EndDate"] = definition.end_at
    return bounds


class EventBridgeScheduler:
    """``ports.Scheduler`` over a boto3 ``scheduler`` client.

    ``calls`` counts the API calls made (by operation name), for round-trip benchmarks.
    """

    def __init__(self, client: Any, settings: ScheduleSettings) -> None:
        self._client = client
        self._settings = settings
        self.calls: Counter[str] = Counter()

    # -- ports.Scheduler ------------------------------------------------------------------------

    def arn_for(self, name: str) -> str:
        partition, account = self._partition_and_account()
        region = self._client.meta.region_name
        return f"arn:{partition}:scheduler:{region}:{account}:schedule/{self._settings.group_name}/{name}"

    def create(self, definition: ScheduleDefinition) -> str:
        request = self._request(definition)
        try:
            answer = self._call("CreateSchedule", self._client.create_schedule, raw_codes={_CONFLICT}, **request)
        except _AwsError as conflict:
            if conflict.code != _CONFLICT:
                raise conflict.as_upstream("CreateSchedule") from conflict.cause
            # It exists (an earlier attempt's answer was lost): make it this definition.
            answer = self._call("UpdateSchedule", self._client.update_schedule, **request)
        return str(answer.get("ScheduleArn") or self.arn_for(definition.name))

    def update(self, definition: ScheduleDefinition) -> str:
        request = self._request(definition)
        try:
            answer = self._call("UpdateSchedule", self._client.update_schedule, raw_codes={_NOT_FOUND}, **request)
        except _AwsError as missing:
            if missing.code != _NOT_FOUND:
                raise missing.as_upstream("UpdateSchedule") from missing.cause
            # Gone (e.g. deleted after an earlier firing, or never created after a crash): recreate it.
            answer = self._call("CreateSchedule", self._client.create_schedule, **request)
        return str(answer.get("ScheduleArn") or self.arn_for(definition.name))

    def delete(self, name: str) -> None:
        try:
            self._call(
                "DeleteSchedule",
                self._client.delete_schedule,
                raw_codes={_NOT_FOUND},
                Name=name,
                GroupName=self._settings.group_name,
            )
        except _AwsError as error:
            if error.code != _NOT_FOUND:
                raise error.as_upstream("DeleteSchedule") from error.cause

    def list_names(self, next_token: str | None, limit: int) -> tuple[list[str], str | None]:
        listed, token = self.list_schedules(next_token, limit)
        return [schedule.name for schedule in listed], token

    def list_schedules(self, next_token: str | None, limit: int) -> tuple[list[ListedSchedule], str | None]:
        request: dict[str, Any] = {"GroupName": self._settings.group_name, "MaxResults": max(1, min(limit, 100))}
        if next_token:
            request["NextToken"] = next_token
        answer = self._call("ListSchedules", self._client.list_schedules, **request)
        listed = [
            ListedSchedule(str(schedule["Name"]), schedule.get("State", "ENABLED") == "ENABLED")
            for schedule in answer.get("Schedules", [])
        ]
        return listed, answer.get("NextToken") or None

    # -- helpers --------------------------------------------------------------------------------

    def _request(self, definition: ScheduleDefinition) -> dict[str, Any]:
        settings = self._settings
        if not settings.target_lambda_arn or not settings.scheduler_role_arn:
            raise UpstreamUnavailable(
                "scheduling is not configured: SCHEDULE_TARGET_ARN and SCHEDULER_ROLE_ARN must be set"
            )
        target: dict[str, Any] = {
            "Arn": settings.target_lambda_arn,
            "RoleArn": settings.scheduler_role_arn,
            "Input": json.dumps(
                ScheduleTargetEvent.template(
                    definition.schedule_id, definition.kind, definition.generation, definition.occurrence
                ),
                separators=(",", ":"),
            ),
            "RetryPolicy": {
                "MaximumRetryAttempts": settings.retry_attempts,
                "MaximumEventAgeInSeconds": settings.max_event_age_seconds,
            },
        }
        if settings.dead_letter_queue_arn:
            target["DeadLetterConfig"] = {"Arn": settings.dead_letter_queue_arn}
        if definition.kind is ScheduleKind.ONE_TIME or definition.occurrence is not None:
            expression, timezone, after_completion = at_expression(definition), "UTC", "DELETE"
        else:
            if definition.cron_expression is None:
                raise ValueError(f"recurring schedule {definition.name} has no cron expression")
            expression = to_eventbridge(parse_cron(definition.cron_expression, definition.timezone))
            timezone, after_completion = definition.timezone, "NONE"
        request: dict[str, Any] = {
            "Name": definition.name,
            "GroupName": settings.group_name,
            "Description": f"{definition.kind.value} workflow schedule {definition.schedule_id}",
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": flexible_time_window(definition.flexible_window_minutes),
            "State": "ENABLED" if definition.enabled else "DISABLED",
            "ActionAfterCompletion": after_completion,
            "Target": target,
        }
        request.update(date_bounds(definition, datetime.now(UTC)))
        return request

    def _call(self, operation: str, method: Any, *, raw_codes: Collection[str] = (), **request: Any) -> dict:
        self.calls[operation] += 1
        try:
            return method(**request)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            if code in raw_codes:
                raise _AwsError(code, error) from error
            raise _AwsError(code, error).as_upstream(operation) from error
        except BotoCoreError as error:
            raise UpstreamUnavailable(
                f"EventBridge Scheduler {operation} failed ({type(error).__name__}); nothing was changed, retry later"
            ) from error

    def _partition_and_account(self) -> tuple[str, str]:
        # The schedule lives in the account of the role it assumes (both are created by one stack).
        parts = (self._settings.scheduler_role_arn or "").split(":")
        if len(parts) < 6 or not parts[4]:
            raise UpstreamUnavailable("scheduling is not configured: SCHEDULER_ROLE_ARN must be an IAM role ARN")
        return parts[1], parts[4]


class _AwsError(Exception):
    """A ClientError the caller handles by code before it becomes UpstreamUnavailable."""

    def __init__(self, code: str, cause: ClientError) -> None:
        super().__init__(code)
        self.code = code
        self.cause = cause

    def as_upstream(self, operation: str) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            f"EventBridge Scheduler {operation} failed ({self.code}); nothing was changed, retry later"
        )
