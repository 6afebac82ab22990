"""Issue 14's window and bounds reach EventBridge: the CreateSchedule/UpdateSchedule parameters the
adapter sends, read back from moto with GetSchedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.support.api import call
from workflow_service.adapters.aws.scheduler import EventBridgeScheduler
from workflow_service.settings import Settings

REGION = "us-east-1"
GROUP = "workflow-schedules-policies"
ENVIRONMENT = {
    "SCHEDULE_GROUP_NAME": GROUP,
    "SCHEDULE_TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:schedule-target",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler-invokes-target",
}
START = "2030-02-01T00:00:00Z"
END = "2030-12-31T00:00:00Z"


@pytest.fixture
def aws(mocked_aws: str) -> Iterator[Any]:
    client = boto3.client("scheduler", region_name=REGION)
    client.create_schedule_group(Name=GROUP)
    yield client


@pytest.fixture
def settings(aws) -> Settings:
    return Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "STAGE": "test", **ENVIRONMENT})


def stored(aws, name: str) -> dict[str, Any]:
    return aws.get_schedule(Name=name, GroupName=GROUP)


def test_window_and_bounds_are_sent_on_create_and_update_and_cleared_again(services, aws, caller, workflow):
    assert isinstance(services.schedules.scheduler, EventBridgeScheduler)
    # Given a schedule created with a 15-minute window and start/end bounds
    created = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "0 9 * * *", "flexible_window_minutes": 15, "start_at": START, "end_at": END},
    )
    assert created.status == 200, created
    body = created.body
    # Then the answer shows them and EventBridge holds FlexibleTimeWindow, StartDate and EndDate
    assert (body["flexible_window_minutes"], body["start_at"], body["end_at"]) == (15, START, END)
    assert body["overlap_policy"] == "allow"
    held = stored(aws, body["schedule_name"])
    assert held["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert held["StartDate"] == datetime(2030, 2, 1, tzinfo=UTC)
    assert held["EndDate"] == datetime(2030, 12, 31, tzinfo=UTC)
    # When the window is switched off and the end cleared (UpdateSchedule)
    updated = call(
        "update_recurring_schedule",
        caller=caller,
        path={"schedule_id": body["_id"]},
        body={"flexible_window_minutes": 0, "end_at": None},
    )
    assert updated.status == 200, updated
    assert updated.body["end_at"] is None and updated.body["start_at"] == START
    held = stored(aws, body["schedule_name"])
    assert held["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert "EndDate" not in held and held["StartDate"] == datetime(2030, 2, 1, tzinfo=UTC)
    # And the change moved the generation (AWS holds what MongoDB wants)
    document = services.core.database.raw["recurring_schedules"].find_one({})
    assert document["desired_generation"] == document["applied_generation"] == 2


def test_the_camel_case_api_sends_the_same(services, aws, caller, workflow):
    created = call(
        "api_create_schedule",
        caller=caller,
        body={
            "workflowId": workflow["_id"],
            "cronExpression": "0 9 * * *",
            "timezone": "America/New_York",
            "flexibleWindowMinutes": 60,
            "endAt": END,
        },
    )
    assert created.status == 201, created
    assert created.body["flexibleWindowMinutes"] == 60 and created.body["endAt"] == "2030-12-30T19:00:00-05:00"
    name = services.core.database.raw["recurring_schedules"].find_one({})["schedule_name"]
    held = stored(aws, name)
    assert held["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 60}
    assert held["EndDate"] == datetime(2030, 12, 31, tzinfo=UTC) and "StartDate" not in held


def test_a_bound_already_past_is_left_out_of_the_request():
    from workflow_service.adapters.aws.scheduler import date_bounds, flexible_time_window
    from workflow_service.models.schedules import ScheduleKind
    from workflow_service.ports import ScheduleDefinition

    now = datetime(2030, 6, 1, tzinfo=UTC)
    definition = ScheduleDefinition(
        name="cron-x",
        schedule_id="65f1a2b3c4d5e6f708192a3b",
        kind=ScheduleKind.RECURRING,
        cron_expression="0 9 * * *",
        start_at=datetime(2030, 1, 1, tzinfo=UTC),
        end_at=datetime(2030, 7, 1, tzinfo=UTC),
    )
    assert date_bounds(definition, now) == {"EndDate": datetime(2030, 7, 1, tzinfo=UTC)}
    assert date_bounds(definition, datetime(2030, 8, 1, tzinfo=UTC)) == {}
    assert flexible_time_window(0) == {"Mode": "OFF"}
    assert flexible_time_window(1440) == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1440}


def test_bounds_put_back_after_an_aws_failure_are_stored_as_dates(services, aws, caller, workflow, monkeypatch):
    from workflow_service.errors import UpstreamUnavailable

    # Given a schedule with start/end bounds
    created = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "0 9 * * *", "start_at": START, "end_at": END},
    )
    assert created.status == 200, created

    # When moving its bounds fails in EventBridge (the previous values are put back)
    def unavailable(*args, **kwargs):
        raise UpstreamUnavailable("EventBridge Scheduler UpdateSchedule failed (ThrottlingException)")

    monkeypatch.setattr(services.schedules.scheduler, "update", unavailable)
    reply = call(
        "update_recurring_schedule",
        caller=caller,
        path={"schedule_id": created.body["_id"]},
        body={"start_at": "2030-03-01T00:00:00Z", "end_at": "2030-11-30T00:00:00Z"},
    )
    assert reply.status == 503, reply
    # Then the stored bounds are the previous ones, as dates (what every other write stores), not text
    document = services.core.database.raw["recurring_schedules"].find_one({})
    assert document["start_at"].replace(tzinfo=UTC) == datetime(2030, 2, 1, tzinfo=UTC)
    assert document["end_at"].replace(tzinfo=UTC) == datetime(2030, 12, 31, tzinfo=UTC)
