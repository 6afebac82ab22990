"""Drives recurring schedules through DST nights as the local runtime does: the in-memory EventBridge
emulation fires what is due (its native rule, with the configured fall-back instant, and the
compensating at() schedules), each firing goes to the schedule-target handler, and the runs it made
are read back by their scheduled time, so that doubled or missing firings show."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tests.integration.schedules.crashes import deliver_due
from tests.support.api import call


def create_recurring(caller, workflow_id: str, cron: str, timezone: str, dst_policy: dict[str, str]) -> dict[str, Any]:
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"cron_expression": cron, "timezone": timezone, "dst_policy": dst_policy},
    )
    assert reply.status == 200, reply
    return reply.body


def preview_times(
    caller, cron: str, timezone: str, dst_policy: dict[str, str], start: datetime, end: datetime
) -> list[datetime]:
    """The preview's occurrences in (start, end]."""
    reply = call(
        "preview_schedule",
        caller=caller,
        body={
            "cron_expression": cron,
            "timezone": timezone,
            "dst_policy": dst_policy,
            "start": start.isoformat(),
            "count": 100,
        },
    )
    assert reply.status == 200, reply
    times = [datetime.fromisoformat(item["utc"].replace("Z", "+00:00")) for item in reply.body["occurrences"]]
    assert len(times) < 100 or times[-1] > end, "the interval holds more occurrences than one preview shows"
    return [time for time in times if time <= end]


def run_clock_until(services, clock, end: datetime) -> list[dict[str, Any]]:
    """Move the clock from due time to due time up to ``end``, delivering every firing; the outcomes."""
    scheduler = services.schedules.scheduler
    outcomes: list[dict[str, Any]] = []
    while True:
        due = [at for name in scheduler.names() if (at := scheduler.next_due(name)) is not None]
        soonest = min(due, default=None)
        if soonest is None or soonest > end:
            clock.current = max(clock.current, end)
            return outcomes
        clock.current = max(clock.current, soonest)
        outcomes += deliver_due(services, clock)


def fired_times(services, schedule_id: str) -> Counter[datetime]:
    """How many runs each scheduled time of the schedule started."""
    runs = services.core.database.raw["workflow_runs"].find(
        {"workflow_run.trigger.recurring_schedule_id": schedule_id},
        projection={"workflow_run.trigger.scheduled_time": 1},
    )
    counted: Counter[datetime] = Counter()
    for run in runs:
        value = run["workflow_run"]["trigger"]["scheduled_time"]
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        counted[value.replace(tzinfo=None)] += 1
    return counted


def in_interval(counted: Counter[datetime], start: datetime, end: datetime) -> Counter[datetime]:
    naive_start, naive_end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return Counter({time: n for time, n in counted.items() if naive_start < time <= naive_end})


def naive(times: list[datetime]) -> Counter[datetime]:
    return Counter(time.replace(tzinfo=None) for time in times)


AROUND = timedelta(hours=6)
