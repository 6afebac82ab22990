"""``ports.Scheduler``: the same assertions over EventBridge Scheduler (moto), the local runtime's in-memory
scheduler and the tests' recording fake.

Each implementation comes with a probe that reads back what the scheduler holds under a name, in
EventBridge's terms (expression, time zone, state, target input), so "stored" means the same thing for
all. moto never fires schedules, so firing is the local scheduler's own suite (tests/unit/schedules).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.fakes.clock import ManualClock
from tests.fakes.schedules import RecordingScheduler
from tests.support.schedule_definitions import SCHEDULE_ID, one_time, recurring
from workflow_service.adapters.aws.scheduler import EventBridgeScheduler, at_expression
from workflow_service.adapters.local.scheduler import InMemoryScheduler
from workflow_service.models.schedules import ScheduleKind
from workflow_service.ports import ScheduleDefinition, Scheduler
from workflow_service.schedules.cron import parse_cron, to_eventbridge
from workflow_service.settings.schedules import ScheduleSettings

GROUP = "workflow-schedules-contract"
ACCOUNT = "123456789012"  # moto's account: the AWS adapter names the role's account in its ARNs
ONCE, CRON = "once-1", "cron-1"  # the names the definition builders give


@dataclass(frozen=True)
class Stored:
    """A schedule as EventBridge would hold it."""

    expression: str
    timezone: str
    enabled: bool
    target_input: dict[str, Any]
    generation: int | None = field(default=None, compare=False)


@dataclass
class SchedulerUnderTest:
    scheduler: Scheduler
    stored: Callable[[str], Stored | None]
    calls: Counter[str]


def as_stored(definition: ScheduleDefinition | None) -> Stored | None:
    """What EventBridge holds for ``definition`` (the probe of the in-process implementations)."""
    if definition is None:
        return None
    if definition.kind is ScheduleKind.ONE_TIME or definition.occurrence is not None:
        expression, timezone = at_expression(definition), "UTC"
    else:
        expression = to_eventbridge(parse_cron(definition.cron_expression or "", definition.timezone))
        timezone = definition.timezone
    target = {"schedule_id": definition.schedule_id, "kind": definition.kind.value}
    if definition.occurrence is not None:
        target["occurrence"] = definition.occurrence.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Stored(expression, timezone, definition.enabled, target, definition.generation)


def eventbridge(request: pytest.FixtureRequest) -> SchedulerUnderTest:
    region = request.getfixturevalue("mocked_aws")
    client = boto3.client("scheduler", region_name=region)
    client.create_schedule_group(Name=GROUP)
    settings = ScheduleSettings.model_validate(
        {
            "SCHEDULE_GROUP_NAME": GROUP,
            "SCHEDULE_TARGET_ARN": f"arn:aws:lambda:{region}:{ACCOUNT}:function:schedule-target",
            "SCHEDULER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/scheduler-invokes-target",
        }
    )
    adapter = EventBridgeScheduler(client, settings)

    def stored(name: str) -> Stored | None:
        try:
            schedule = client.get_schedule(Name=name, GroupName=GROUP)
        except client.exceptions.ResourceNotFoundException:
            return None
        target = json.loads(schedule["Target"]["Input"])
        return Stored(
            schedule["ScheduleExpression"],
            schedule["ScheduleExpressionTimezone"],
            schedule["State"] == "ENABLED",
            {name: target[name] for name in ("schedule_id", "kind", "occurrence") if name in target},
            target.get("generation"),
        )

    return SchedulerUnderTest(adapter, stored, adapter.calls)


def in_memory(request: pytest.FixtureRequest) -> SchedulerUnderTest:
    scheduler = InMemoryScheduler(GROUP, ManualClock())
    return SchedulerUnderTest(scheduler, lambda name: as_stored(scheduler.get(name)), scheduler.calls)


def recording_fake(request: pytest.FixtureRequest) -> SchedulerUnderTest:
    fake = RecordingScheduler(GROUP)
    return SchedulerUnderTest(fake, lambda name: as_stored(fake.get(name)), fake.calls)


@pytest.fixture(params=[eventbridge, in_memory, recording_fake], ids=["eventbridge", "local", "fake"])
def subject(request: pytest.FixtureRequest) -> SchedulerUnderTest:
    return request.param(request)


AT_NINE = datetime(2030, 7, 28, 9, 0, tzinfo=UTC)
ONE_TIME_TARGET = {"schedule_id": SCHEDULE_ID, "kind": "one_time"}


def test_arn_for_is_computed_without_a_call_and_is_what_create_returns(subject):
    # Given nothing was created yet
    # When the ARN of a name is asked for
    arn = subject.scheduler.arn_for(ONCE)
    # Then no API call was made, and it names the group and the schedule
    assert sum(subject.calls.values()) == 0
    assert arn.startswith("arn:aws:scheduler:") and arn.endswith(f":schedule/{GROUP}/{ONCE}")
    # And creating the schedule returns that same ARN
    assert subject.scheduler.create(one_time(AT_NINE)) == arn


def test_a_created_one_time_schedule_is_held_at_its_utc_time_with_its_target(subject):
    subject.scheduler.create(one_time(AT_NINE))
    assert subject.stored(ONCE) == Stored("at(2030-07-28T09:00:00)", "UTC", True, ONE_TIME_TARGET)


def test_a_created_recurring_schedule_is_held_as_its_cron_translation_in_its_zone(subject):
    subject.scheduler.create(recurring("0 9 * * MON-FRI", "America/New_York", enabled=False))
    held = subject.stored(CRON)
    assert held == Stored(
        "cron(0 9 ? * 2-6 *)", "America/New_York", False, {"schedule_id": SCHEDULE_ID, "kind": "recurring"}
    )


def test_creating_a_name_that_exists_updates_it_to_the_new_definition(subject):
    # Given a schedule (e.g. created by an attempt whose answer was lost)
    arn = subject.scheduler.create(one_time(AT_NINE))
    # When a schedule with the same name is created again, with another time and generation
    again = subject.scheduler.create(one_time(datetime(2031, 1, 1, tzinfo=UTC), generation=7))
    # Then CreateSchedule is idempotent by name: the same schedule now holds the second definition
    assert again == arn
    held = subject.stored(ONCE)
    assert held.expression == "at(2031-01-01T00:00:00)"
    assert held.generation == 7


def test_the_generation_travels_in_the_target_input(subject):
    # Given definitions carrying their record's generation
    subject.scheduler.create(one_time(AT_NINE, generation=3))
    subject.scheduler.update(recurring("0 9 * * *", generation=5))
    # Then each AWS schedule's target input carries it, for the delivery to be checked against the record
    assert subject.stored(ONCE).generation == 3
    assert subject.stored(CRON).generation == 5


def test_list_names_pages_through_the_group_with_a_cursor(subject):
    # Given five schedules in the group
    names = sorted(f"once-{index}" for index in range(5))
    for name in names:
        subject.scheduler.create(one_time(AT_NINE, name=name))
    # When the group is listed two at a time, following the cursor
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        page, token = subject.scheduler.list_names(token, 2)
        assert len(page) <= 2
        seen.extend(page)
        if token is None:
            break
    # Then every name was seen exactly once, and the last page ended the listing
    assert sorted(seen) == names and token is None


def test_list_names_of_an_empty_group_is_one_empty_page(subject):
    assert subject.scheduler.list_names(None, 10) == ([], None)


def test_update_replaces_the_whole_definition_and_keeps_the_arn(subject):
    # Given an enabled schedule
    arn = subject.scheduler.create(one_time(AT_NINE))
    # When it is updated to another time, disabled
    updated = subject.scheduler.update(one_time(datetime(2030, 8, 1, 18, 30, tzinfo=UTC), enabled=False))
    # Then the same schedule holds the new time and state
    assert updated == arn
    assert subject.stored(ONCE) == Stored("at(2030-08-01T18:30:00)", "UTC", False, ONE_TIME_TARGET)


def test_update_of_a_missing_schedule_creates_it(subject):
    # Given a schedule that is gone (EventBridge deleted it after firing, or it was never created)
    assert subject.stored(CRON) is None
    # When it is updated
    arn = subject.scheduler.update(recurring("30 2 * * *", "Europe/Paris"))
    # Then it exists with the definition given
    assert arn == subject.scheduler.arn_for(CRON)
    assert subject.stored(CRON).expression == "cron(30 2 * * ? *)"


def test_delete_removes_the_schedule_and_deleting_a_missing_one_is_not_an_error(subject):
    # Given a schedule
    subject.scheduler.create(one_time(AT_NINE))
    # When it is deleted, twice
    subject.scheduler.delete(ONCE)
    subject.scheduler.delete(ONCE)
    # Then it is gone, and the name can be used again
    assert subject.stored(ONCE) is None
    subject.scheduler.create(one_time(AT_NINE))
    assert subject.stored(ONCE) is not None


def test_schedules_are_independent_by_name(subject):
    subject.scheduler.create(one_time(AT_NINE))
    subject.scheduler.create(recurring("0 * * * *", "UTC"))
    subject.scheduler.delete(CRON)
    assert subject.stored(CRON) is None and subject.stored(ONCE) is not None


@pytest.mark.parametrize(
    "definition",
    [
        ScheduleDefinition(name=ONCE, schedule_id=SCHEDULE_ID, kind=ScheduleKind.ONE_TIME),
        ScheduleDefinition(name=CRON, schedule_id=SCHEDULE_ID, kind=ScheduleKind.RECURRING),
        recurring("61 * * * *", enabled=False),
    ],
    ids=["one-time-without-a-time", "recurring-without-an-expression", "disabled-with-an-invalid-expression"],
)
def test_a_definition_the_scheduler_cannot_express_is_refused_and_nothing_is_held(subject, definition):
    # When a definition EventBridge could not be given is created, or updated onto a missing schedule
    for write in (subject.scheduler.create, subject.scheduler.update):
        with pytest.raises(ValueError):
            write(definition)
    # Then nothing is held under its name (a disabled schedule is validated too: it may be enabled later)
    assert subject.stored(definition.name) is None


def test_a_compensating_dst_firing_is_an_at_schedule_naming_its_occurrence(subject):
    # Given the compensating firing of a recurring schedule at 06:30Z on New York's fall-back night
    from workflow_service.schedules.dst import compensation_definitions

    instant = datetime(2030, 11, 3, 6, 30, tzinfo=UTC)
    [definition] = compensation_definitions(SCHEDULE_ID, [instant], 4, "30 1 * * *", "America/New_York")
    # When it is created
    subject.scheduler.create(definition)
    # Then the scheduler holds a one-off at() in UTC whose target names the schedule, the occurrence and the generation
    stored = subject.stored(definition.name)
    assert stored == Stored(
        "at(2030-11-03T06:30:00)",
        "UTC",
        True,
        {"schedule_id": SCHEDULE_ID, "kind": "recurring", "occurrence": "2030-11-03T06:30:00Z"},
    )
    assert stored.generation == 4
