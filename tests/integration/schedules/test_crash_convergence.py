"""Schedules converge after a crash between MongoDB and EventBridge (issue 10, defects 4, 5 and 6).

The real handlers, services and reaper on the in-memory store, the local runtime's in-memory
scheduler as EventBridge (firing emulated from what it holds), a manual clock. Each case kills the
request at one call (``SimulatedCrash``), then either retries the request or does not, and checks
that EventBridge ends up holding what MongoDB says and that the schedule fires when it should.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from tests.integration.schedules.conftest import iso
from tests.integration.schedules.crashes import (
    SimulatedCrash,
    crash_after,
    crash_before,
    deliver_due,
    reap_after_grace,
)
from tests.support.api import call
from workflow_service.models.schedules import ScheduleKind, schedule_name

GREETING_INPUT = {"dynamic_variables": {"reportType": "daily"}}


def create_one_time(caller, workflow, when) -> dict[str, Any]:
    reply = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(when), "run_input": GREETING_INPUT},
    )
    assert reply.status == 200, reply
    return reply.body


def move(caller, schedule_id: str, when):
    return call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": schedule_id},
        body={"scheduled_time": iso(when)},
    )


def one_time_record(caller, schedule_id: str) -> dict[str, Any]:
    return call("get_workflow_schedule", caller=caller, path={"schedule_id": schedule_id}).body


def held_fire_at(services, schedule_id: str):
    """When EventBridge will fire the one-time schedule (None: it holds no such schedule)."""
    return services.schedules.scheduler.next_due(schedule_name(ScheduleKind.ONE_TIME, schedule_id))


def create_recurring(caller, workflow, **body) -> dict[str, Any]:
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "0 * * * *", "timezone": "UTC", **body},
    )
    assert reply.status == 200, reply
    return reply.body


def held_recurring(services, schedule_id: str):
    return services.schedules.scheduler.get(schedule_name(ScheduleKind.RECURRING, schedule_id))


def started(outcomes: list[dict[str, Any]]) -> list[str]:
    return [outcome["run_id"] for outcome in outcomes if outcome["outcome"] == "started"]


# -- defect 4 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("repair", ["retry", "sweep"])
def test_moving_a_one_time_schedule_with_a_crash_before_update_schedule_is_repaired(
    services, caller, workflow, clock, repair
):
    # Given a schedule in an hour, moved to two hours, the request dying right before UpdateSchedule
    old, new = clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2)
    created = create_one_time(caller, workflow, old)
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, created["_id"], new)
    assert one_time_record(caller, created["_id"])["scheduled_time"] == iso(new)  # MongoDB took the move
    assert held_fire_at(services, created["_id"]) == old  # EventBridge did not
    # When the client retries the same request, or nobody does and the reaper passes
    if repair == "retry":
        assert move(caller, created["_id"], new).status == 200
    else:
        assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    # Then EventBridge holds the new time: nothing fires at the old one, and the run starts at the new one
    assert held_fire_at(services, created["_id"]) == new
    clock.advance(seconds=(old - clock.now()).total_seconds())
    assert deliver_due(services, clock) == []
    clock.advance(hours=1)
    assert len(started(deliver_due(services, clock))) == 1
    assert one_time_record(caller, created["_id"])["status"] == "in_progress"


def test_a_delivery_of_the_old_time_is_dropped_as_stale_and_the_schedule_is_pushed_again(
    services, caller, workflow, clock
):
    # Given a schedule moved from 10 to 30 minutes ahead by a request that died before UpdateSchedule
    old, new = clock.now() + timedelta(minutes=10), clock.now() + timedelta(minutes=30)
    created = create_one_time(caller, workflow, old)
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, created["_id"], new)
    # When EventBridge fires the old definition before anything repaired it
    clock.advance(minutes=10)
    [outcome] = deliver_due(services, clock)
    # Then the delivery is dropped (its generation is older than the record's): no run, still pending
    assert outcome["outcome"] == "skipped" and "stale delivery" in outcome["reason"], outcome
    assert one_time_record(caller, created["_id"])["status"] == "pending"
    assert count_runs(services) == 0
    # And the next pass pushes the schedule again (the old at() deleted itself), so it fires at its time
    assert held_fire_at(services, created["_id"]) is None
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    assert held_fire_at(services, created["_id"]) == new
    clock.advance(minutes=20)
    assert len(started(deliver_due(services, clock))) == 1


def count_runs(services) -> int:
    return services.core.database.raw["workflow_runs"].count_documents({})


def test_an_aws_error_answer_undoes_the_move_and_the_sweep_converges_aws_on_the_restored_time(
    services, caller, workflow, clock
):
    # Given a schedule whose move reached EventBridge, though EventBridge answered an error (a timeout)
    from workflow_service.errors import UpstreamUnavailable

    old, new = clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2)
    created = create_one_time(caller, workflow, old)
    scheduler = services.schedules.scheduler
    real_update = scheduler.update

    def applied_then_timed_out(definition):
        real_update(definition)
        raise UpstreamUnavailable("EventBridge Scheduler UpdateSchedule failed (ReadTimeoutError)")

    scheduler.update = applied_then_timed_out
    try:
        reply = move(caller, created["_id"], new)
    finally:
        del scheduler.update
    # Then the caller got 503 and the schedule keeps its old time
    assert reply.status == 503
    assert one_time_record(caller, created["_id"])["scheduled_time"] == iso(old)
    # And although EventBridge holds the new time for now, a firing of it would be stale, and the next
    # pass puts EventBridge back on the old time
    assert held_fire_at(services, created["_id"]) == new
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    assert held_fire_at(services, created["_id"]) == old


# -- defect 5 --------------------------------------------------------------------------------------

RECURRING_CHANGES = {
    "enable": ({"enabled": False}, "enable_recurring_schedule", None),
    "disable": ({}, "disable_recurring_schedule", None),
    "cron and zone": ({}, "update_recurring_schedule", {"cron_expression": "30 * * * *", "timezone": "Asia/Tokyo"}),
}


@pytest.mark.parametrize("repair", ["retry", "sweep"])
@pytest.mark.parametrize("change", list(RECURRING_CHANGES))
def test_enabling_a_recurring_schedule_with_a_crash_before_update_schedule_is_repaired(
    services, caller, workflow, clock, change, repair
):
    # Given a recurring schedule, changed by a request that died right before UpdateSchedule
    initial, route, body = RECURRING_CHANGES[change]
    created = create_recurring(caller, workflow, input_data=[{"json": GREETING_INPUT["dynamic_variables"]}], **initial)
    path = {"schedule_id": created["_id"]}
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        call(route, caller=caller, path=path, body=body)
    record = call("get_recurring_schedule", caller=caller, path=path).body
    held = held_recurring(services, created["_id"])
    assert (held.enabled, held.cron_expression, held.timezone) != (
        record["enabled"],
        record["cron_expression"],
        record["timezone"],
    )
    # When the client retries the same request, or nobody does and the reaper passes
    if repair == "retry":
        assert call(route, caller=caller, path=path, body=body).status == 200
    else:
        assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    # Then EventBridge holds what the record says, and fires (or not) accordingly
    held = held_recurring(services, created["_id"])
    assert (held.enabled, held.cron_expression, held.timezone) == (
        record["enabled"],
        record["cron_expression"],
        record["timezone"],
    )
    clock.advance(hours=1)
    fired = started(deliver_due(services, clock))
    assert len(fired) == (1 if record["enabled"] else 0)


def test_a_recurring_delivery_of_a_stale_generation_is_dropped_without_a_run_or_history_row(
    services, caller, workflow, clock
):
    # Given a recurring schedule disabled by a request that died before UpdateSchedule (AWS still enabled)
    created = create_recurring(caller, workflow)
    path = {"schedule_id": created["_id"]}
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        call("disable_recurring_schedule", caller=caller, path=path)
    # When EventBridge fires the old, enabled definition
    clock.advance(hours=1)
    [outcome] = deliver_due(services, clock)
    # Then it is dropped: no run, no history row, and the schedule owes a push the next pass makes
    assert outcome["outcome"] == "skipped" and "stale delivery" in outcome["reason"], outcome
    assert count_runs(services) == 0
    assert call("get_recurring_schedule_history", caller=caller, path=path).body["total"] == 0
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    assert held_recurring(services, created["_id"]).enabled is False


# -- defect 6 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["before its time", "after its time", "after its workflow is gone"])
def test_creating_a_one_time_schedule_with_a_crash_before_create_schedule_is_repaired(
    services, caller, workflow, clock, metrics, when
):
    # Given a create that died right before CreateSchedule: a pending record, nothing in EventBridge
    due = clock.now() + timedelta(minutes=30)
    with crash_before(services.schedules.scheduler, "create"), pytest.raises(SimulatedCrash):
        create_one_time(caller, workflow, due)
    [document] = services.core.database.raw["workflow_schedules"].find({})
    schedule_id = str(document["_id"])
    assert document["status"] == "pending" and held_fire_at(services, schedule_id) is None
    if when == "before its time":
        # When the reaper passes before its time
        assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
        # Then EventBridge holds it, and it fires at its time
        assert held_fire_at(services, schedule_id) == due
        clock.advance(seconds=(due - clock.now()).total_seconds())
        assert len(started(deliver_due(services, clock))) == 1
        assert one_time_record(caller, schedule_id)["status"] == "in_progress"
        return
    if when == "after its workflow is gone":
        services.core.database.raw["workflows"].delete_one({"_id": ObjectId(workflow["_id"])})
    # When the first reaper pass comes only after its time (plus the grace period)
    clock.advance(minutes=30)
    summary = reap_after_grace(services, clock)
    record = one_time_record(caller, schedule_id)
    if when == "after its time":
        # Then it is fired late, through the normal firing path, and the lateness is measured
        assert summary.get("schedules_fired_late", 0) == 1
        assert record["status"] == "in_progress" and record["actual_run_id"]
        (lateness,) = metrics.named("ScheduleFireLateness")
        assert lateness.value == 121_000
    else:
        # Then it fails with the reason, and no run is made
        assert summary.get("schedules_failed", 0) == 1
        assert record["status"] == "failed" and "could not start" in record["error_message"]
        assert count_runs(services) == 0
    # And nothing is left pending for a later pass
    assert reap_after_grace(services, clock).get("schedules_fired_late", 0) == 0


# -- crashes after the AWS call (its answer lost) ------------------------------------------------


@pytest.mark.parametrize("repair", ["retry", "sweep"])
def test_a_move_that_died_after_update_schedule_fires_once_at_the_new_time(services, caller, workflow, clock, repair):
    # Given a move whose UpdateSchedule took effect, the request dying before it recorded that
    old, new = clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2)
    created = create_one_time(caller, workflow, old)
    with crash_after(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, created["_id"], new)
    assert held_fire_at(services, created["_id"]) == new
    # When the request is retried, or the reaper passes: pushing again is harmless
    if repair == "retry":
        assert move(caller, created["_id"], new).status == 200
    else:
        assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    # Then nothing is owed any more, and the schedule fires once, at the new time
    assert services.reaper.service.reap().get("schedules_pushed", 0) == 0
    clock.advance(seconds=(new - clock.now()).total_seconds())
    assert len(started(deliver_due(services, clock))) == 1
    assert deliver_due(services, clock) == []


def test_a_recurring_create_that_died_after_create_schedule_is_pushed_once_and_fires(services, caller, workflow, clock):
    with crash_after(services.schedules.scheduler, "create"), pytest.raises(SimulatedCrash):
        create_recurring(caller, workflow)
    [document] = services.core.database.raw["recurring_schedules"].find({})
    assert document["applied_generation"] < document["desired_generation"]
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    clock.advance(hours=1)
    assert len(started(deliver_due(services, clock))) == 1


def test_a_workflow_delete_that_died_after_its_mark_is_finished_by_the_reaper(services, caller, workflow, clock):
    # Given a workflow with a recurring schedule and a pending one-time schedule
    recurring = create_recurring(caller, workflow)
    one_time = create_one_time(caller, workflow, clock.now() + timedelta(hours=3))
    versions = services.core.database.raw["workflow_versions"]
    assert versions.count_documents({"workflow_id": workflow["_id"]}) == 1
    # When its DELETE dies after marking it deleted, before anything was wound down
    schedules_listener = services.schedules.deletion_listener
    with crash_before(schedules_listener, "on_workflow_deleted"), pytest.raises(SimulatedCrash):
        call("delete_workflow", caller=caller, path={"workflow_id": workflow["_id"]})
    assert call("get_workflow", caller=caller, path={"workflow_id": workflow["_id"]}).status == 404
    assert held_recurring(services, recurring["_id"]) is not None
    # and nobody retries it: a reaper pass within the grace period leaves it to the request
    assert services.reaper.service.reap()["workflow_deletions_finished"] == 0
    # Then the first pass after the grace period finishes it: no schedule fires for the deleted workflow
    summary = reap_after_grace(services, clock)
    assert summary["workflow_deletions_finished"] == 1
    assert held_recurring(services, recurring["_id"]) is None
    assert held_fire_at(services, one_time["_id"]) is None
    assert one_time_record(caller, one_time["_id"])["status"] == "cancelled"
    reply = call("get_recurring_schedule", caller=caller, path={"schedule_id": recurring["_id"]})
    assert reply.status == 404
    raw = services.core.database.raw
    assert raw["workflows"].find_one({"_id": ObjectId(workflow["_id"])}) is None
    assert versions.count_documents({"workflow_id": workflow["_id"]}) == 0
    # and the next pass finds nothing more to do
    assert reap_after_grace(services, clock)["workflow_deletions_finished"] == 0
