"""``ScheduleDefinition`` builders for the scheduler suites (the local scheduler's and the port contract)."""

from __future__ import annotations

from datetime import datetime

from workflow_service.models.schedules import ScheduleKind
from workflow_service.ports import ScheduleDefinition

SCHEDULE_ID = "65f1a2b3c4d5e6f708192a3b"


def one_time(
    at: datetime, name: str = "once-1", *, enabled: bool = True, generation: int | None = None
) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=name,
        schedule_id=SCHEDULE_ID,
        kind=ScheduleKind.ONE_TIME,
        fire_at=at,
        enabled=enabled,
        generation=generation,
    )


def recurring(
    expression: str,
    timezone: str = "UTC",
    enabled: bool = True,
    name: str = "cron-1",
    *,
    generation: int | None = None,
) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=name,
        schedule_id=SCHEDULE_ID,
        kind=ScheduleKind.RECURRING,
        cron_expression=expression,
        timezone=timezone,
        enabled=enabled,
        generation=generation,
    )
