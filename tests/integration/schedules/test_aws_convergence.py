"""The reaper's AWS half of schedule reconciliation: tombstones, cancels, orphans, its grace and its cost;
and creates given a ``schedule_id`` (what an Idempotency-Key retry uses).

Real handlers, services and reaper on the in-memory store, the in-memory scheduler as EventBridge.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from tests.integration.schedules.conftest import count, iso
from tests.integration.schedules.crashes import SimulatedCrash, crash_before, deliver_due, reap_after_grace
from tests.integration.schedules.test_crash_convergence import (
    create_one_time,
    create_recurring,
    held_fire_at,
    held_recurring,
    move,
)
from tests.support.api import call
from tests.support.schedule_definitions import one_time, recurring
from workflow_service.models.common import new_object_id
from workflow_service.models.recurring import InputItem
from workflow_service.models.schedule_api import CreateScheduleRequest
from workflow_service.models.schedules import ScheduleKind, schedule_name
from workflow_service.schedules.aws_convergence import LISTING_STATE_KEY

DAY = 86400


def orphan(services, kind: ScheduleKind, clock) -> str:
    """An AWS schedule named like one of ours, with no record (e.g. left by an undo whose delete failed)."""
    name = schedule_name(kind, new_object_id())
    definition = one_time(clock.now() + timedelta(days=30), name=name)
    if kind is ScheduleKind.RECURRING:
        definition = recurring("0 * * * *", name=name)
    services.schedules.scheduler.create(definition)
    return name


# -- tombstones --------------------------------------------------------------------------------------


def test_a_tombstone_left_by_a_crash_before_delete_schedule_is_applied_by_the_sweep(services, caller, workflow, clock):
    # Given a recurring schedule with a history row, deleted by a request that died before DeleteSchedule
    created = create_recurring(caller, workflow)
    path = {"schedule_id": created["_id"]}
    clock.advance(hours=1)
    assert [outcome["outcome"] for outcome in deliver_due(services, clock)] == ["started"]
    with crash_before(services.schedules.scheduler, "delete"), pytest.raises(SimulatedCrash):
        call("delete_recurring_schedule", caller=caller, path=path)
    # Then the schedule is gone for the API at once, although EventBridge still holds it
    assert call("get_recurring_schedule", caller=caller, path=path).status == 404
    assert call("get_recurring_schedule_history", caller=caller, path=path).status == 404
    assert call("list_recurring_schedules", caller=caller).body["total"] == 0
    assert call("delete_recurring_schedule", caller=caller, path=path).status == 404
    assert held_recurring(services, created["_id"]) is not None
    # And a firing of it meanwhile starts nothing
    clock.advance(hours=1)
    [outcome] = deliver_due(services, clock)
    assert outcome["outcome"] == "skipped" and outcome["reason"] == "no such schedule"
    # When the reaper passes
    assert reap_after_grace(services, clock).get("tombstones_applied", 0) == 1
    # Then EventBridge no longer holds it, and the record and its history are gone
    assert held_recurring(services, created["_id"]) is None
    assert count(services, "recurring_schedules") == 0 and count(services, "recurring_schedule_history") == 0


def test_a_tombstone_does_not_block_creating_the_same_schedule_again(services, caller, workflow, clock):
    # Given a schedule deleted by a request that died before DeleteSchedule
    created = create_recurring(caller, workflow)
    with crash_before(services.schedules.scheduler, "delete"), pytest.raises(SimulatedCrash):
        call("delete_recurring_schedule", caller=caller, path={"schedule_id": created["_id"]})
    # When the same expression and zone is scheduled again for the workflow
    again = create_recurring(caller, workflow)
    # Then it is created (the tombstone was applied first), and only the new one is in EventBridge
    assert again["_id"] != created["_id"]
    assert held_recurring(services, created["_id"]) is None and held_recurring(services, again["_id"]) is not None


def test_an_aws_error_deleting_a_recurring_schedule_answers_503_and_keeps_it(services, caller, workflow, clock):
    created = create_recurring(caller, workflow)
    path = {"schedule_id": created["_id"]}
    services.schedules.scheduler.delete = _unavailable
    try:
        assert call("delete_recurring_schedule", caller=caller, path=path).status == 503
    finally:
        del services.schedules.scheduler.delete
    assert call("get_recurring_schedule", caller=caller, path=path).status == 200
    # AWS may have deleted it before failing: the revived schedule owes a push, which recreates it
    services.schedules.scheduler.delete(schedule_name(ScheduleKind.RECURRING, created["_id"]))
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    assert held_recurring(services, created["_id"]) is not None


def _unavailable(*args):
    from workflow_service.errors import UpstreamUnavailable

    raise UpstreamUnavailable("EventBridge Scheduler failed (ThrottlingException)")


def test_a_cancel_that_died_before_delete_schedule_is_finished_by_the_sweep(services, caller, workflow, clock):
    created = create_one_time(caller, workflow, clock.now() + timedelta(hours=1))
    path = {"schedule_id": created["_id"]}
    with crash_before(services.schedules.scheduler, "delete"), pytest.raises(SimulatedCrash):
        call("cancel_workflow_schedule", caller=caller, path=path)
    assert call("get_workflow_schedule", caller=caller, path=path).body["status"] == "cancelled"
    assert held_fire_at(services, created["_id"]) is not None
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    assert held_fire_at(services, created["_id"]) is None


# -- the sweep's grace and cost ----------------------------------------------------------------------


def test_the_sweep_leaves_a_schedule_whose_writer_may_still_be_in_flight(services, caller, workflow, clock):
    created = create_one_time(caller, workflow, clock.now() + timedelta(hours=1))
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, created["_id"], clock.now() + timedelta(hours=2))
    # A pass within the grace period pushes nothing; the first one after it does
    assert services.reaper.service.reap().get("schedules_pushed", 0) == 0
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1


def test_the_sweep_reads_only_the_schedules_owing_a_push(services, caller, workflow, clock):
    # Given one schedule owing a push among many that are in step with EventBridge
    def reads_of_a_pass() -> tuple[int, int]:
        repository = services.schedules.one_time_repository
        real = repository.needing_push
        returned: list[int] = []

        def counted(*args):
            batch = real(*args)
            returned.append(len(batch))
            return batch

        repository.needing_push = counted
        services.core.database.counter.reset()
        try:
            services.reaper.service.reap()
        finally:
            del repository.needing_push
        calls = services.core.database.counter.calls
        return sum(returned), sum(n for key, n in calls.items() if key.split(".")[0] == "workflow_schedules")

    lagging = create_one_time(caller, workflow, clock.now() + timedelta(hours=3))
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, lagging["_id"], clock.now() + timedelta(hours=4))
    services.reaper.service.reap()  # within the grace: pushes nothing, and the day's group listing is done
    # Then a pass reads that one schedule, however many others exist, and pays the same round trips
    documents, alone = _first_pass_after_restoring(services, caller, workflow, clock, lagging, reads_of_a_pass, 0)
    assert documents == 1
    documents, among_many = _first_pass_after_restoring(services, caller, workflow, clock, lagging, reads_of_a_pass, 25)
    assert documents == 1 and among_many == alone


def _first_pass_after_restoring(services, caller, workflow, clock, lagging, reads_of_a_pass, healthy: int):
    """Add ``healthy`` in-step schedules, make ``lagging`` owe a push again, then measure one pass."""
    for index in range(healthy):
        create_one_time(caller, workflow, clock.now() + timedelta(hours=5, minutes=index))
    raw = services.core.database.raw["workflow_schedules"]
    raw.update_one(
        {"_id": ObjectId(lagging["_id"])},
        {"$inc": {"desired_generation": 1}, "$set": {"needs_push": True, "generation_at": clock.now()}},
    )
    clock.advance(seconds=121)
    return reads_of_a_pass()


# -- orphans -----------------------------------------------------------------------------------------


def test_the_group_listing_deletes_aws_schedules_without_a_record_and_nothing_else(services, caller, workflow, clock):
    # Given schedules with records, AWS schedules named like ours without one, and a name not ours
    kept_once = create_one_time(caller, workflow, clock.now() + timedelta(hours=1))
    kept_cron = create_recurring(caller, workflow)
    orphans = [orphan(services, ScheduleKind.ONE_TIME, clock), orphan(services, ScheduleKind.RECURRING, clock)]
    services.schedules.scheduler.create(one_time(clock.now() + timedelta(days=1), name="someone-elses"))
    # When the reaper passes
    summary = services.reaper.service.reap()
    # Then the orphans are deleted, and everything else is kept
    assert summary.get("orphans_deleted", 0) == 2
    names = services.schedules.scheduler.names()
    assert not set(orphans) & set(names)
    assert {
        schedule_name(ScheduleKind.ONE_TIME, kept_once["_id"]),
        schedule_name(ScheduleKind.RECURRING, kept_cron["_id"]),
        "someone-elses",
    } <= set(names)


def test_the_group_listing_pages_with_a_stored_cursor_and_runs_at_most_once_a_day(services, caller, workflow, clock):
    # Given five orphans, and a sweep reading two names per page
    orphans = {orphan(services, ScheduleKind.ONE_TIME, clock) for _ in range(5)}
    reconciler = services.schedules.reconciliation
    scheduler = services.schedules.scheduler
    # When passes run: each reads one page, resuming from the cursor kept in MongoDB
    deleted = [reconciler.reconcile(2)["orphans_deleted"] for _ in range(3)]
    assert deleted == [2, 2, 1] and not orphans & set(scheduler.names())
    state = services.core.database.raw["reconciler_state"].find_one({"_id": LISTING_STATE_KEY})
    assert state["next_token"] is None
    # Then the round is over: passes the same day list nothing; a day later a new round starts
    listed = scheduler.calls["ListSchedules"]
    reconciler.reconcile(2)
    assert scheduler.calls["ListSchedules"] == listed
    clock.advance(seconds=DAY)
    late = orphan(services, ScheduleKind.RECURRING, clock)
    assert reconciler.reconcile(2)["orphans_deleted"] == 1 and late not in scheduler.names()


# -- create with a schedule_id (Idempotency-Key retries) ----------------------------------------------


def _one_time_request(clock) -> CreateScheduleRequest:
    return CreateScheduleRequest.model_validate({"scheduled_time": iso(clock.now() + timedelta(hours=1))})


def test_a_one_time_create_with_a_new_schedule_id_creates_it_under_that_id(services, caller, workflow, clock):
    schedule_id = new_object_id()
    created = services.schedules.one_time.create(
        caller.team_id, "alice", workflow["_id"], _one_time_request(clock), schedule_id=schedule_id
    )
    assert created.id == schedule_id and held_fire_at(services, schedule_id) == created.scheduled_time


def test_a_one_time_create_retried_with_its_schedule_id_converges_instead_of_creating(
    services, caller, workflow, clock
):
    # Given a create that died before CreateSchedule
    schedule_id = new_object_id()
    service = services.schedules.one_time
    request = _one_time_request(clock)
    with crash_before(services.schedules.scheduler, "create"), pytest.raises(SimulatedCrash):
        service.create(caller.team_id, "alice", workflow["_id"], request, schedule_id=schedule_id)
    # When it is retried with the same schedule id
    again = service.create(caller.team_id, "alice", workflow["_id"], request, schedule_id=schedule_id)
    # Then no second schedule exists, and the first is now in EventBridge
    assert again.id == schedule_id and count(services, "workflow_schedules") == 1
    assert held_fire_at(services, schedule_id) == request.scheduled_time
    assert services.reaper.service.reap().get("schedules_pushed", 0) == 0  # nothing left owing


def test_a_create_with_another_teams_schedule_id_is_refused(services, caller, other_caller, workflow, clock):
    schedule_id = new_object_id()
    services.schedules.one_time.create(
        caller.team_id, "alice", workflow["_id"], _one_time_request(clock), schedule_id=schedule_id
    )
    from workflow_service.errors import Conflict

    with pytest.raises(Conflict):
        services.schedules.one_time.create(
            other_caller.team_id, "bob", workflow["_id"], _one_time_request(clock), schedule_id=schedule_id
        )


def test_a_recurring_create_retried_with_its_schedule_id_converges_instead_of_creating(
    services, caller, workflow, clock
):
    schedule_id = new_object_id()
    service = services.schedules.recurring
    arguments: tuple[Any, ...] = (caller.team_id, "alice", workflow["_id"], "0 * * * *", "UTC", True, [], None)
    with crash_before(services.schedules.scheduler, "create"), pytest.raises(SimulatedCrash):
        service.create(*arguments, schedule_id=schedule_id)
    assert held_recurring(services, schedule_id) is None
    again = service.create(*arguments, schedule_id=schedule_id)
    assert again.id == schedule_id and again.next_run is not None
    assert count(services, "recurring_schedules") == 1 and held_recurring(services, schedule_id) is not None
    # And a new id creates the schedule under exactly that id
    fresh_id = new_object_id()
    fresh = service.create(
        caller.team_id,
        "alice",
        workflow["_id"],
        "30 * * * *",
        "UTC",
        True,
        [InputItem(json={})],
        None,
        schedule_id=fresh_id,
    )
    assert fresh.id == fresh_id and held_recurring(services, fresh_id).cron_expression == "30 * * * *"


def test_the_camel_case_api_create_passes_the_schedule_id_through(services, caller, workflow, clock):
    from workflow_service.models.cron_api import CreateRequest

    schedule_id = new_object_id()
    request = CreateRequest.model_validate({"workflowId": workflow["_id"], "cronExpression": "0 * * * *"})
    first = services.schedules.cron_api.create(caller.team_id, "alice", request, schedule_id=schedule_id)
    again = services.schedules.cron_api.create(caller.team_id, "alice", request, schedule_id=schedule_id)
    assert first.id == again.id == schedule_id and count(services, "recurring_schedules") == 1


def test_a_push_that_fails_in_the_sweep_is_counted_and_left_for_the_next_pass(services, caller, workflow, clock):
    created = create_one_time(caller, workflow, clock.now() + timedelta(hours=1))
    new = clock.now() + timedelta(hours=2)
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, created["_id"], new)
    services.schedules.scheduler.update = _unavailable
    try:
        failed = reap_after_grace(services, clock)
    finally:
        del services.schedules.scheduler.update
    assert failed.get("schedules_pushed", 0) == 0 and failed["errors"] == 1
    assert services.reaper.service.reap().get("schedules_pushed", 0) == 1
    assert held_fire_at(services, created["_id"]) == new


def test_the_group_listing_finds_a_recurring_schedule_aws_holds_in_the_wrong_state(services, caller, workflow, clock):
    # Given an enabled schedule that AWS holds disabled although the record says it is in step (a late
    # push of an older generation by a writer that died before re-reading: no delivery can reveal it)
    created = create_recurring(caller, workflow)
    held = held_recurring(services, created["_id"])
    services.schedules.scheduler.update(held._replace(enabled=False))
    # When the group listing reaches it
    assert services.reaper.service.reap().get("drift_found", 0) == 1
    # Then the schedule owes a push, which the next pass after the grace period makes
    assert reap_after_grace(services, clock).get("schedules_pushed", 0) == 1
    assert held_recurring(services, created["_id"]).enabled is True
