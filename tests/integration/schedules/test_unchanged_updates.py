"""An update that changes nothing EventBridge holds makes no new generation.

A new generation makes every delivery of the previous one stale (dropped, DESIGN.md section 4), so a
PATCH that re-sends the stored values (or changes only fields AWS never sees) while a firing is in
flight must not cost that firing. One that changes only fields AWS never sees makes no AWS call; one
that re-sends values AWS holds pushes them again at the same generation, so re-sending a schedule still
repairs one missing from EventBridge. Both API surfaces, one-time and recurring schedules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from local.scheduler_emulation import target_event
from tests.integration.schedules.conftest import iso
from tests.integration.schedules.crashes import deliver_due
from tests.support.api import Reply, call
from workflow_service.schedules.recurring_changes import AWS_FIELDS


@dataclass(frozen=True)
class Surface:
    """One schedule kind on one API: how to create it, change it, and what a change AWS sees is."""

    name: str
    collection: str
    create: Callable[[Any, dict[str, Any], Any], Reply]
    update: Callable[[Any, str, dict[str, Any]], Reply]
    id_field: str
    unchanged: tuple[dict[str, Any], ...]  # bodies that re-send stored values or touch only MongoDB fields
    changed: dict[str, Any]  # a body AWS must see
    due_after: timedelta  # from the set-up's clock to the schedule's next firing
    aws_keys: frozenset[str]  # the body fields AWS holds a value of
    aws_name: str  # the EventBridge schedule's name, before the id

    def mongo_only(self, body: dict[str, Any]) -> bool:
        return not self.aws_keys & set(body)

    def schedule(self, caller, workflow, clock) -> str:
        reply = self.create(caller, workflow, clock)
        assert reply.status in (200, 201), reply
        return reply.body[self.id_field]


def _create_one_time(caller, workflow, clock) -> Reply:
    return call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(clock.now() + timedelta(hours=1))},
    )


def _update_one_time(caller, schedule_id: str, body: dict[str, Any]) -> Reply:
    return call("update_workflow_schedule", caller=caller, path={"schedule_id": schedule_id}, body=body)


def _create_recurring(caller, workflow, clock) -> Reply:
    return call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "0 * * * *", "timezone": "Europe/Berlin", "enabled": True},
    )


def _update_recurring(caller, schedule_id: str, body: dict[str, Any]) -> Reply:
    return call("update_recurring_schedule", caller=caller, path={"schedule_id": schedule_id}, body=body)


def _create_cron_api(caller, workflow, clock) -> Reply:
    body = {"workflowId": workflow["_id"], "cronExpression": "0 * * * *", "timezone": "Europe/Berlin"}
    return call("api_create_schedule", caller=caller, body=body)


def _update_cron_api(caller, schedule_id: str, body: dict[str, Any]) -> Reply:
    return call("api_update_schedule", caller=caller, path={"id": schedule_id}, body=body)


ONE_HOUR_AHEAD = "2030-01-01T13:00:00Z"  # the set-up's clock is 2030-01-01T12:00:00Z
ONE_TIME = Surface(
    "one-time",
    "workflow_schedules",
    _create_one_time,
    _update_one_time,
    "_id",
    unchanged=(
        {"scheduled_time": ONE_HOUR_AHEAD},
        {"scheduled_time": "2030-01-01T14:00:00+01:00"},  # the same instant, spelled in another offset
        {"version": None},
        {"scheduled_time": ONE_HOUR_AHEAD, "run_input": {"dynamic_variables": {"reportType": "weekly"}}},
    ),
    changed={"scheduled_time": "2030-01-01T13:30:00Z"},
    due_after=timedelta(hours=1),
    aws_keys=frozenset({"scheduled_time"}),
    aws_name="once-",
)
RECURRING = Surface(
    "recurring",
    "recurring_schedules",
    _create_recurring,
    _update_recurring,
    "_id",
    unchanged=(
        {"enabled": True},
        {"cron_expression": "0 * * * *"},
        {"cron_expression": "0 * * * *", "timezone": "Europe/Berlin", "enabled": True},
        {"dst_policy": {"spring_forward": "skip", "fall_back": "first"}},
        {"input_data": [{"json": {"reportType": "weekly"}}], "overlap_policy": "skip"},
        {"flexible_window_minutes": 0, "start_at": None, "end_at": None},
    ),
    changed={"cron_expression": "30 * * * *"},
    due_after=timedelta(hours=1),
    aws_keys=frozenset(AWS_FIELDS),
    aws_name="cron-",
)
CRON_API = Surface(
    "cron api",
    "recurring_schedules",
    _create_cron_api,
    _update_cron_api,
    "id",
    unchanged=(
        # A PUT that sends the whole schedule again, with only its input changed.
        {
            "cronExpression": "0 * * * *",
            "timezone": "Europe/Berlin",
            "enabled": True,
            "inputData": [{"json": {"reportType": "weekly"}}],
        },
        {"enabled": True},
    ),
    changed={"enabled": False},
    due_after=timedelta(hours=1),
    aws_keys=frozenset({"cronExpression", "timezone", "enabled"}),
    aws_name="cron-",
)
SURFACES = pytest.mark.parametrize("surface", [ONE_TIME, RECURRING, CRON_API], ids=lambda surface: surface.name)


def generations(services, surface: Surface, schedule_id: str) -> tuple[int, int]:
    document = services.core.database.raw[surface.collection].find_one({"_id": ObjectId(schedule_id)})
    return document["desired_generation"], document["applied_generation"]


def aws_calls(services) -> int:
    return sum(services.schedules.scheduler.calls.values())


@SURFACES
def test_an_update_that_changes_nothing_aws_holds_keeps_the_generation_and_calls_aws_only_to_re_send(
    services, caller, workflow, clock, surface
):
    # Given a schedule EventBridge holds at its generation
    schedule_id = surface.schedule(caller, workflow, clock)
    generation = generations(services, surface, schedule_id)
    assert not all(surface.mongo_only(body) for body in surface.unchanged)
    for body in surface.unchanged:
        calls = aws_calls(services)
        updates = services.schedules.scheduler.calls["UpdateSchedule"]
        # When it is updated with the stored values, or only with fields AWS never sees
        reply = surface.update(caller, schedule_id, body)
        # Then the update is answered and stored with no new generation; only a body re-sending values
        # AWS holds sends them again (one UpdateSchedule), and one touching only MongoDB calls nothing
        assert reply.status == 200, (body, reply)
        assert generations(services, surface, schedule_id) == generation, body
        if surface.mongo_only(body):
            assert aws_calls(services) == calls, body
        else:
            assert services.schedules.scheduler.calls["UpdateSchedule"] == updates + 1, body
            assert aws_calls(services) == calls + 1, body


@SURFACES
def test_re_sending_a_schedule_repairs_one_missing_from_eventbridge(services, caller, workflow, clock, surface):
    # Given a schedule whose EventBridge schedule was deleted behind the service's back
    schedule_id = surface.schedule(caller, workflow, clock)
    generation = generations(services, surface, schedule_id)
    name = surface.aws_name + schedule_id
    services.schedules.scheduler.delete(name)
    assert services.schedules.scheduler.get(name) is None
    # When the client re-sends the values it holds
    body = next(body for body in surface.unchanged if not surface.mongo_only(body))
    assert surface.update(caller, schedule_id, body).status == 200
    # Then EventBridge holds the schedule again, at the same generation, and it fires
    assert services.schedules.scheduler.get(name) is not None
    assert generations(services, surface, schedule_id) == generation
    clock.advance(seconds=surface.due_after.total_seconds())
    assert [outcome["outcome"] for outcome in deliver_due(services, clock)] == ["started"]


def test_an_unchanged_update_still_stores_and_answers_what_it_changes(services, caller, workflow, clock):
    # Given a recurring and a one-time schedule
    recurring = RECURRING.schedule(caller, workflow, clock)
    once = ONE_TIME.schedule(caller, workflow, clock)
    clock.advance(minutes=5)
    # When each is updated with its stored timing and a new input
    weekly = [{"json": {"reportType": "weekly"}}]
    reply = RECURRING.update(caller, recurring, {"cron_expression": "0 * * * *", "input_data": weekly})
    moved = ONE_TIME.update(
        caller, once, {"scheduled_time": ONE_HOUR_AHEAD, "run_input": {"dynamic_variables": {"reportType": "weekly"}}}
    )
    # Then the answers carry the change and the update's time, and a read shows the same
    assert reply.body["input_data"] == weekly and reply.body["updated_at"] == iso(clock.now()), reply
    assert reply.body["next_run"] == "2030-01-01T13:00:00Z"
    assert call("get_recurring_schedule", caller=caller, path={"schedule_id": recurring}).body == reply.body
    assert moved.body["run_input"]["dynamic_variables"] == {"reportType": "weekly"}, moved
    assert moved.body["scheduled_time"] == ONE_HOUR_AHEAD and moved.body["updated_at"] == iso(clock.now())
    assert call("get_workflow_schedule", caller=caller, path={"schedule_id": once}).body == moved.body


@SURFACES
def test_a_delivery_in_flight_during_an_unchanged_update_still_fires(services, caller, workflow, clock, surface):
    # Given a schedule whose firing EventBridge has sent but the target has not yet handled
    # (sent 30 s early, as EventBridge may, so that its time is still in the future for the update)
    schedule_id = surface.schedule(caller, workflow, clock)
    clock.advance(seconds=surface.due_after.total_seconds() - 30)
    [in_flight] = services.schedules.scheduler.take_due(clock.now() + timedelta(seconds=30))
    # When the schedule is updated meanwhile with values that change nothing AWS holds
    assert surface.update(caller, schedule_id, surface.unchanged[0]).status == 200
    # Then the delivery is the schedule's current generation, and it starts its run
    from schedule_target import handler

    outcome = handler(target_event(in_flight), None)
    assert outcome["outcome"] == "started", outcome


@SURFACES
def test_a_delivery_sent_after_an_unchanged_update_fires(services, caller, workflow, clock, surface):
    schedule_id = surface.schedule(caller, workflow, clock)
    assert surface.update(caller, schedule_id, surface.unchanged[0]).status == 200
    clock.advance(seconds=surface.due_after.total_seconds())
    assert [outcome["outcome"] for outcome in deliver_due(services, clock)] == ["started"]


@SURFACES
def test_an_update_aws_must_see_still_makes_a_new_generation_and_pushes_it(services, caller, workflow, clock, surface):
    schedule_id = surface.schedule(caller, workflow, clock)
    desired, _ = generations(services, surface, schedule_id)
    updates = services.schedules.scheduler.calls["UpdateSchedule"]
    assert surface.update(caller, schedule_id, surface.changed).status == 200
    assert generations(services, surface, schedule_id) == (desired + 1, desired + 1)
    assert services.schedules.scheduler.calls["UpdateSchedule"] == updates + 1


@SURFACES
def test_an_unchanged_update_still_pushes_what_a_crashed_request_left_owing(services, caller, workflow, clock, surface):
    # Given a schedule whose last push a crash cut short (MongoDB at a generation AWS does not hold)
    schedule_id = surface.schedule(caller, workflow, clock)
    services.core.database.raw[surface.collection].update_one(
        {"_id": ObjectId(schedule_id)},
        {"$inc": {"desired_generation": 1}, "$set": {"needs_push": True}},
    )
    desired, _ = generations(services, surface, schedule_id)
    # When the client sends an update that changes nothing AWS holds
    assert surface.update(caller, schedule_id, surface.unchanged[0]).status == 200
    # Then the owed push is made, at the same generation
    assert generations(services, surface, schedule_id) == (desired, desired)


def test_an_unchanged_recurring_update_racing_a_real_change_writes_its_values_and_pushes_them(
    services, caller, workflow, clock
):
    # Given a request re-sending the stored expression, and another moving it while the first is between
    # its read and its write
    schedule_id = RECURRING.schedule(caller, workflow, clock)
    repository = services.schedules.recurring_repository
    real_update = repository.update
    racing: list[Reply] = []

    def moved_meanwhile(*args, **kwargs):
        repository.update = real_update  # the racing request writes straight through
        racing.append(RECURRING.update(caller, schedule_id, {"cron_expression": "30 * * * *"}))
        return real_update(*args, **kwargs)

    repository.update = moved_meanwhile
    try:
        reply = RECURRING.update(caller, schedule_id, {"cron_expression": "0 * * * *"})
    finally:
        del repository.update
    assert racing[0].status == 200 and reply.status == 200, (racing, reply)
    # Then the later write wins in MongoDB and in AWS alike: its expression, at a generation AWS holds
    assert reply.body["cron_expression"] == "0 * * * *"
    desired, applied = generations(services, RECURRING, schedule_id)
    assert desired == applied == 3
    assert services.schedules.scheduler.get(f"cron-{schedule_id}").cron_expression == "0 * * * *"


def test_an_unchanged_one_time_update_racing_a_move_writes_its_time_and_pushes_it(services, caller, workflow, clock):
    schedule_id = ONE_TIME.schedule(caller, workflow, clock)
    repository = services.schedules.one_time_repository
    real_update = repository.update_pending
    racing: list[Reply] = []

    def moved_meanwhile(*args, **kwargs):
        repository.update_pending = real_update  # the racing request writes straight through
        racing.append(ONE_TIME.update(caller, schedule_id, ONE_TIME.changed))
        return real_update(*args, **kwargs)

    repository.update_pending = moved_meanwhile
    try:
        reply = ONE_TIME.update(caller, schedule_id, {"scheduled_time": ONE_HOUR_AHEAD})
    finally:
        del repository.update_pending
    assert racing[0].status == 200 and reply.status == 200, (racing, reply)
    assert reply.body["scheduled_time"] == ONE_HOUR_AHEAD
    assert generations(services, ONE_TIME, schedule_id) == (3, 3)
    assert services.schedules.scheduler.get(f"once-{schedule_id}").fire_at == clock.now() + timedelta(hours=1)
