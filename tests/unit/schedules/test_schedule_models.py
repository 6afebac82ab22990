"""Schedule shapes: time rules of the request models, seed 002's time rendering, input merging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from workflow_service.models.cron_api import format_in_zone
from workflow_service.models.recurring import InputItem, merged_dynamic_variables
from workflow_service.models.schedule_api import CreateScheduleRequest
from workflow_service.models.schedules import ScheduleKind, ScheduleTargetEvent, schedule_name


def test_scheduled_time_is_kept_in_utc_to_the_second_and_a_time_without_an_offset_is_utc():
    request = CreateScheduleRequest.model_validate({"scheduled_time": "2030-01-01T10:00:00.999-05:00"})
    assert request.scheduled_time == datetime(2030, 1, 1, 15, 0, 0, tzinfo=UTC)
    naive = CreateScheduleRequest.model_validate({"scheduled_time": "2030-01-01T10:00:00"})
    assert naive.scheduled_time == datetime(2030, 1, 1, 10, 0, 0, tzinfo=UTC)
    with pytest.raises(ValidationError) as raised:
        CreateScheduleRequest.model_validate({"scheduled_time": "soon"})
    assert raised.value.errors()[0]["loc"] == ("scheduled_time",)


@pytest.mark.parametrize(
    ("value", "zone", "milliseconds", "expected"),
    [
        (datetime(2024, 1, 27, 14, 0, tzinfo=UTC), "America/New_York", False, "2024-01-27T09:00:00-05:00"),
        (datetime(2024, 7, 27, 13, 0, tzinfo=UTC), "America/New_York", False, "2024-07-27T09:00:00-04:00"),
        (
            datetime(2024, 1, 26, 14, 0, 0, 500_000, tzinfo=UTC),
            "America/New_York",
            False,
            "2024-01-26T09:00:00.500-05:00",
        ),
        (datetime(2024, 1, 25, 14, 0, 1, tzinfo=UTC), "America/New_York", True, "2024-01-25T09:00:01.000-05:00"),
        (datetime(2024, 1, 27, 9, 0, tzinfo=UTC), "UTC", False, "2024-01-27T09:00:00Z"),
        (datetime(2024, 1, 27, 9, 0, tzinfo=UTC), "Europe/London", False, "2024-01-27T09:00:00Z"),
        (datetime(2024, 7, 27, 8, 0, tzinfo=UTC), "Europe/London", False, "2024-07-27T09:00:00+01:00"),
        (None, "UTC", False, None),
    ],
)
def test_seed_times_are_wall_clock_in_the_schedules_zone_with_its_offset(value, zone, milliseconds, expected):
    assert format_in_zone(value, zone, milliseconds=milliseconds) == expected


def test_input_items_merge_in_order_and_only_accept_the_json_key():
    items = [InputItem.model_validate({"json": {"a": 1, "b": 1}}), InputItem.model_validate({"json": {"b": 2}})]
    assert merged_dynamic_variables(items) == {"a": 1, "b": 2}
    assert items[0].model_dump(by_alias=True) == {"json": {"a": 1, "b": 1}}
    for wrong in ({"data": {}}, {"json": {}, "binary": {}}, {"json": [1]}):
        with pytest.raises(ValidationError):
            InputItem.model_validate(wrong)


def test_schedule_names_are_derived_from_the_id_and_fit_eventbridge_rules():
    name = schedule_name(ScheduleKind.ONE_TIME, "65f1a2b3c4d5e6f708192a3b")
    assert name == "once-65f1a2b3c4d5e6f708192a3b" and len(name) <= 64
    assert schedule_name(ScheduleKind.RECURRING, "65f1a2b3c4d5e6f708192a3b").startswith("cron-")


def test_the_target_event_parses_eventbridges_scheduled_time():
    event = ScheduleTargetEvent.model_validate(
        {"schedule_id": "65f1a2b3c4d5e6f708192a3b", "kind": "recurring", "scheduled_time": "2030-07-28T18:26:00Z"}
    )
    assert event.due_time(datetime(2000, 1, 1, tzinfo=UTC)) == datetime(2030, 7, 28, 18, 26, tzinfo=UTC)
    template = ScheduleTargetEvent.template("65f1a2b3c4d5e6f708192a3b", ScheduleKind.ONE_TIME)
    assert template["scheduled_time"] == "<aws.scheduler.scheduled-time>"
