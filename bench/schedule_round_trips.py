"""Round trips per schedule operation (MongoDB operations and EventBridge Scheduler calls), counted not timed.

``measure_round_trips()`` is self-contained for ``make bench``: an in-memory MongoDB, EventBridge
Scheduler under moto, the real handlers. Each row is one operation with its counts and the minimum
the design allows (DESIGN.md section 10); ``schedule_mongo`` counts only the schedule collections,
``mongo`` everything (a firing also pays for the run it starts, which the runs budget covers).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

SCHEDULE_COLLECTIONS = ("workflow_schedules", "recurring_schedules", "recurring_schedule_history")
_GROUP = "workflow-schedules-bench"
_ENVIRONMENT = {
    "WORKFLOWS_LOCAL_RUNTIME": "true",
    "STAGE": "bench",
    "SCHEDULE_GROUP_NAME": _GROUP,
    "SCHEDULE_TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:schedule-target",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
    "SCHEDULE_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:schedule-dlq",
}
_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class RoundTrips:
    operation: str
    mongo: int
    schedule_mongo: int
    aws: int
    minimum_schedule_mongo: int
    minimum_aws: int
    detail: dict[str, int]

    @property
    def within_minimum(self) -> bool:
        return self.schedule_mongo <= self.minimum_schedule_mongo and self.aws <= self.minimum_aws


# operation -> (schedule-collection ops, AWS calls) the design needs, and why.
MINIMUMS: dict[str, tuple[int, int, str]] = {
    # Every write AWS must see ends with one more MongoDB write: the generation AWS now holds.
    "create one-time": (2, 1, "workflow lookup (workflows), insert, CreateSchedule, record applied"),
    "update time": (
        3,
        1,
        "conditional update while pending, UpdateSchedule, record applied, re-read to converge with racing updates",
    ),
    "cancel": (2, 1, "conditional pending->cancelled, DeleteSchedule, record applied"),
    "fire one-time": (2, 0, "claim pending->in_progress, link actual_run_id (+ the run's own start)"),
    "one-time run outcome": (1, 0, "conditional in_progress->completed"),
    "create recurring": (2, 1, "workflow lookup (workflows), insert, CreateSchedule, record applied"),
    "fire recurring": (
        5,
        0,
        "read schedule, read the occurrence's row (a decided one makes no run), history row owing its counts,"
        " counters, clear the row's mark (+ the run's own start)",
    ),
    "recurring run outcome": (3, 0, "history row owing its counts, counters, clear the row's mark"),
    "disable recurring": (
        4,
        1,
        "read, update, UpdateSchedule, record applied, re-read to converge (+ the workflow name)",
    ),
}


def measure_round_trips() -> list[RoundTrips]:
    """Run each schedule operation once and count its round trips."""
    from moto import mock_aws

    with mock.patch.dict(os.environ, _AWS_ENVIRONMENT), mock_aws():
        return _measure()


def _measure() -> list[RoundTrips]:
    import boto3

    from tests.fakes.clock import ManualClock
    from tests.support.api import Caller, call
    from workflow_service import wiring
    from workflow_service.adapters.mongo.indexes import create_indexes
    from workflow_service.adapters.mongo.store import in_memory
    from workflow_service.ports.metrics import DISCARDED_METRICS
    from workflow_service.settings import Settings

    boto3.client("scheduler").create_schedule_group(Name=_GROUP)
    clock = ManualClock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    database = in_memory()
    create_indexes(database)
    services = wiring.Services(
        Settings.from_environ(_ENVIRONMENT), database=database, clock=clock, metrics=DISCARDED_METRICS
    )
    wiring.install(services)
    try:
        team = services.auth.service.create_team("Bench", max_concurrent_runs=10)
        caller = Caller(team.id, "bench")
        workflow = call("create_workflow", caller=caller, body={"name": "Bench"}).body["workflow"]
        scheduler = services.schedules.scheduler  # built now, so its construction is not counted
        rows: list[RoundTrips] = []

        def measure(operation: str, action: Callable[[], Any]) -> Any:
            database.counter.reset()
            scheduler.calls.clear()
            result = action()
            calls = dict(database.counter.calls)
            schedule_ops = sum(n for key, n in calls.items() if key.split(".")[0] in SCHEDULE_COLLECTIONS)
            minimum_mongo, minimum_aws, _ = MINIMUMS[operation]
            rows.append(
                RoundTrips(
                    operation,
                    sum(calls.values()),
                    schedule_ops,
                    sum(scheduler.calls.values()),
                    minimum_mongo,
                    minimum_aws,
                    {**calls, **scheduler.calls},
                )
            )
            return result

        when = clock.now() + timedelta(hours=1)
        created = measure(
            "create one-time",
            lambda: (
                call(
                    "create_workflow_schedule",
                    caller=caller,
                    path={"workflow_id": workflow["_id"]},
                    body={"scheduled_time": when.isoformat()},
                ).body
            ),
        )
        measure(
            "update time",
            lambda: call(
                "update_workflow_schedule",
                caller=caller,
                path={"schedule_id": created["_id"]},
                body={"scheduled_time": (when + timedelta(hours=1)).isoformat()},
            ),
        )
        measure("cancel", lambda: call("cancel_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}))

        second = call(
            "create_workflow_schedule",
            caller=caller,
            path={"workflow_id": workflow["_id"]},
            body={"scheduled_time": when.isoformat()},
        ).body
        clock.current = when
        from schedule_target import handler

        fired = measure(
            "fire one-time",
            lambda: handler(
                {"schedule_id": second["_id"], "kind": "one_time", "scheduled_time": second["scheduled_time"]}, None
            ),
        )
        finished = services.runs.submission.run_first_turn(fired["run_id"])
        measure("one-time run outcome", lambda: services.schedules.run_listener.on_run_finished(finished))

        recurring = measure(
            "create recurring",
            lambda: (
                call(
                    "create_recurring_schedule",
                    caller=caller,
                    path={"workflow_id": workflow["_id"]},
                    body={"cron_expression": "0 * * * *"},
                ).body
            ),
        )
        clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
        fired = measure(
            "fire recurring",
            lambda: handler(
                {"schedule_id": recurring["_id"], "kind": "recurring", "scheduled_time": "2030-01-01T14:00:00Z"}, None
            ),
        )
        services.runs.submission.run_first_turn(fired["run_id"])
        # Finishing that run already told the listener; the outcome is measured on a fresh firing
        # whose run finishes with the listener muted, so the measured call does the real work.
        clock.current = datetime(2030, 1, 1, 15, 0, 1, tzinfo=UTC)
        fired = handler(
            {"schedule_id": recurring["_id"], "kind": "recurring", "scheduled_time": "2030-01-01T15:00:00Z"}, None
        )
        finished = _finish_without_listeners(services, fired["run_id"])
        measure("recurring run outcome", lambda: services.schedules.run_listener.on_run_finished(finished))
        measure(
            "disable recurring",
            lambda: call("disable_recurring_schedule", caller=caller, path={"schedule_id": recurring["_id"]}),
        )
        return rows
    finally:
        wiring.install(None)


def _finish_without_listeners(services, run_id: str):
    """Execute the run's first turn while the schedule listener is muted, and return the finished run."""
    listener = services.schedules.run_listener
    original = listener.on_run_finished
    listener.on_run_finished = lambda run: None
    try:
        return services.runs.submission.run_first_turn(run_id)
    finally:
        listener.on_run_finished = original


def format_table(rows: list[RoundTrips]) -> str:
    """A fixed-width table for the bench report."""
    header = f"{'operation':<24}{'mongo (all)':>12}{'mongo (sched.)':>16}{'min':>5}{'aws':>5}{'min':>5}  ok"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.operation:<24}{row.mongo:>12}{row.schedule_mongo:>16}{row.minimum_schedule_mongo:>5}"
            f"{row.aws:>5}{row.minimum_aws:>5}  {'yes' if row.within_minimum else 'NO'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(measure_round_trips()))


def rows() -> list[dict[str, Any]]:
    """The table ``make bench`` prints: MongoDB operations and AWS calls per schedule operation."""
    return [
        {
            "operation": row.operation,
            "mongo_all": row.mongo,
            "mongo_schedule_collections": row.schedule_mongo,
            "minimum": row.minimum_schedule_mongo,
            "aws_calls": row.aws,
            "aws_minimum": row.minimum_aws,
            "ok": row.within_minimum,
            "why": MINIMUMS[row.operation][2],
        }
        for row in measure_round_trips()
    ]
