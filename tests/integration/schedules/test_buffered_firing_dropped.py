"""buffer_one: a firing that waits for the previous run starts when that run ends only if its schedule
would still fire it then: disabled or re-bounded since, it is dropped as a skipped row, never run."""

from __future__ import annotations

import pytest
from bson import ObjectId

from tests.integration.schedules.conftest import count, finish_first_turn, fire
from tests.integration.schedules.crashes import SimulatedCrash, crash_before
from tests.integration.schedules.test_schedule_policies import create, history, minute, stop, waiting_workflow
from tests.support.api import call


def buffered_behind_a_waiting_run(services, caller, clock) -> tuple[dict, str]:
    """A buffer_one schedule: 12:01's run waits for input and 12:02 waits for it."""
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="buffer_one")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    assert fire(schedule["_id"], "recurring", minute(clock, 2))["outcome"] == "buffered"
    return schedule, first["run_id"]


def overlap_state(services) -> tuple[object, object]:
    document = services.core.database.raw["recurring_schedules"].find_one({})
    return document["active_firing"], document["buffered_firing"]


def disable(caller, schedule_id: str) -> None:
    reply = call("disable_recurring_schedule", caller=caller, path={"schedule_id": schedule_id})
    assert reply.status == 200 and reply.body["enabled"] is False, reply


def rows(caller, schedule_id: str) -> list[tuple[str, str, str | None]]:
    return [(row["scheduled_time"], row["status"], row.get("reason")) for row in history(caller, schedule_id)]


def test_disabling_a_schedule_drops_its_buffered_firing_when_the_run_ends(services, caller, clock):
    # Given 12:02 buffered behind 12:01's waiting run, and the schedule disabled
    schedule, first_run = buffered_behind_a_waiting_run(services, caller, clock)
    disable(caller, schedule["_id"])
    # When 12:01's run ends
    stop(caller, first_run)
    # Then 12:02 is not run: it is a skipped row saying why, and nothing waits or is active
    assert count(services, "workflow_runs") == 1
    assert rows(caller, schedule["_id"]) == [
        ("2030-01-01T12:01:00Z", "failed", None),
        ("2030-01-01T12:02:00Z", "skipped", "schedule disabled"),
    ]
    assert overlap_state(services) == (None, None)
    # And once enabled again the schedule's next firing runs
    assert call("enable_recurring_schedule", caller=caller, path={"schedule_id": schedule["_id"]}).status == 200
    assert fire(schedule["_id"], "recurring", minute(clock, 3))["outcome"] == "started"


def test_a_buffered_firing_before_a_moved_start_at_is_dropped_when_the_run_ends(services, caller, clock):
    # Given 12:02 buffered, then start_at moved to 13:00
    schedule, first_run = buffered_behind_a_waiting_run(services, caller, clock)
    body = {"start_at": "2030-01-01T13:00:00Z"}
    reply = call("update_recurring_schedule", caller=caller, path={"schedule_id": schedule["_id"]}, body=body)
    assert reply.status == 200, reply
    # When 12:01's run ends
    stop(caller, first_run)
    # Then 12:02, outside the bounds now, is skipped and not run
    assert count(services, "workflow_runs") == 1
    assert rows(caller, schedule["_id"])[1] == (
        "2030-01-01T12:02:00Z",
        "skipped",
        "outside the schedule's start_at/end_at",
    )
    assert overlap_state(services) == (None, None)


def test_the_reaper_drops_the_buffered_firing_of_a_disabled_schedule_whose_run_end_was_lost(services, caller, clock):
    # Given 12:02 buffered, the schedule disabled, and 12:01's run ended with its notification lost
    schedule, first_run = buffered_behind_a_waiting_run(services, caller, clock)
    disable(caller, schedule["_id"])
    services.core.database.raw["workflow_runs"].update_one(
        {"_id": ObjectId(first_run)}, {"$set": {"workflow_run.status": "failed"}}
    )
    # When the reaper's schedule reconciliation runs
    services.schedules.reconciliation.reconcile(50)
    # Then the buffered firing is dropped, not run
    assert count(services, "workflow_runs") == 1
    assert rows(caller, schedule["_id"])[1] == ("2030-01-01T12:02:00Z", "skipped", "schedule disabled")
    assert overlap_state(services) == (None, None)


def test_the_reaper_drops_a_crash_left_claim_of_a_schedule_disabled_since(services, caller, clock):
    # Given 12:02 promoted at 12:01's run end, whose start died before submitting its run
    schedule, first_run = buffered_behind_a_waiting_run(services, caller, clock)
    with crash_before(services.runs.submission, "submit"), pytest.raises(SimulatedCrash):
        stop(caller, first_run)
    active, _ = overlap_state(services)
    assert active is not None and active["run_id"] is None
    # When the schedule is disabled and the reaper passes once the claim's grace is over
    disable(caller, schedule["_id"])
    clock.advance(seconds=901)
    services.schedules.reconciliation.reconcile(50)
    # Then the claimed firing is dropped as skipped: no run, nothing active
    assert count(services, "workflow_runs") == 1
    assert rows(caller, schedule["_id"])[1] == ("2030-01-01T12:02:00Z", "skipped", "schedule disabled")
    assert overlap_state(services) == (None, None)
