"""Late and repeated EventBridge deliveries under an overlap policy: a delivery is retried for up to an
hour, so an occurrence can arrive after a newer one started, or again after it was decided."""

from __future__ import annotations

import pytest

from tests.integration.schedules.conftest import count, finish_first_turn, fire
from tests.integration.schedules.crashes import SimulatedCrash, crash_after, crash_before
from tests.integration.schedules.test_schedule_policies import (
    create,
    history,
    minute,
    run_status,
    stop,
    waiting_workflow,
)
from tests.support.api import call


def schedule_counts(caller, schedule_id: str) -> tuple[int, int]:
    got = call("get_recurring_schedule", caller=caller, path={"schedule_id": schedule_id}).body
    return got["run_count"], got["failure_count"]


def active_firing(services) -> dict | None:
    return services.core.database.raw["recurring_schedules"].find_one({})["active_firing"]


def test_cancel_previous_late_redelivery_of_an_older_firing_leaves_the_newer_run_live(services, caller, clock):
    # Given cancel_previous, 12:01's run replaced by 12:02's, which waits for input
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="cancel_previous")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    second = fire(schedule["_id"], "recurring", minute(clock, 2))
    assert second["outcome"] == "started"
    finish_first_turn(services, second["run_id"])
    # When EventBridge redelivers 12:01 (its first attempt's Lambda failed after the run existed)
    clock.advance(seconds=30)
    late = fire(schedule["_id"], "recurring", "2030-01-01T12:01:00Z")
    # Then nothing is cancelled or made: 12:02's run is live and still the active firing
    assert late["outcome"] in {"duplicate", "skipped"} and late["run_id"] in {None, first["run_id"]}, late
    assert run_status(services, second["run_id"]) == ("waiting_for_user_input", None)
    assert active_firing(services)["run_id"] == second["run_id"]
    assert count(services, "workflow_runs") == 2
    assert [(row["scheduled_time"], row["status"]) for row in history(caller, schedule["_id"])] == [
        ("2030-01-01T12:01:00Z", "failed"),
        ("2030-01-01T12:02:00Z", "running"),
    ]


def test_cancel_previous_older_firing_first_delivered_late_is_skipped_as_superseded(services, caller, clock):
    # Given cancel_previous and 12:02's run waiting for input, 12:01's first delivery never arrived
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="cancel_previous")
    second = fire(schedule["_id"], "recurring", minute(clock, 2))
    finish_first_turn(services, second["run_id"])
    # When 12:01 is finally delivered (a retry of an attempt that failed before doing anything)
    late = fire(schedule["_id"], "recurring", "2030-01-01T12:01:00Z")
    # Then 12:01 is a skipped row saying why, and 12:02's run is untouched
    assert late["outcome"] == "skipped" and late["run_id"] is None, late
    assert run_status(services, second["run_id"]) == ("waiting_for_user_input", None)
    assert count(services, "workflow_runs") == 1
    rows = history(caller, schedule["_id"])
    assert [(row["scheduled_time"], row["status"], row.get("reason")) for row in rows] == [
        ("2030-01-01T12:01:00Z", "skipped", "superseded"),
        ("2030-01-01T12:02:00Z", "running", None),
    ]
    assert schedule_counts(caller, schedule["_id"]) == (1, 0)


def test_skip_redelivery_of_a_skipped_firing_after_the_run_ended_makes_no_run(services, caller, clock):
    # Given skip, 12:01's run waiting for input and 12:02 recorded as skipped
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="skip")
    first = fire(schedule["_id"], "recurring", minute(clock, 1))
    finish_first_turn(services, first["run_id"])
    assert fire(schedule["_id"], "recurring", minute(clock, 2))["outcome"] == "skipped"
    # When 12:01's run ends and EventBridge then redelivers 12:02 (its first answer was lost)
    stop(caller, first["run_id"])
    again = fire(schedule["_id"], "recurring", "2030-01-01T12:02:00Z")
    # Then 12:02 stays skipped: no run is made for it, none is counted, nothing is left active
    assert again["outcome"] == "duplicate" and again["run_id"] is None, again
    assert count(services, "workflow_runs") == 1
    assert [(row["scheduled_time"], row["status"]) for row in history(caller, schedule["_id"])] == [
        ("2030-01-01T12:01:00Z", "failed"),
        ("2030-01-01T12:02:00Z", "skipped"),
    ]
    assert schedule_counts(caller, schedule["_id"]) == (1, 1) and active_firing(services) is None
    # And the next firing is not skipped behind a run made for 12:02
    assert fire(schedule["_id"], "recurring", minute(clock, 3))["outcome"] == "started"


def test_allow_redelivery_of_a_firing_that_could_not_start_makes_no_run(services, caller, workflow, clock):
    # Given an allow schedule whose 12:01 firing could not start (its version was gone then)
    schedule = create(caller, workflow["_id"], version=0)
    versions = services.core.database.raw["workflow_versions"]
    saved = list(versions.find({"workflow_id": workflow["_id"]}))
    versions.delete_many({"workflow_id": workflow["_id"]})
    assert fire(schedule["_id"], "recurring", minute(clock, 1))["outcome"] == "failed"
    # When the version is back and EventBridge redelivers 12:01
    versions.insert_many(saved)
    again = fire(schedule["_id"], "recurring", "2030-01-01T12:01:00Z")
    # Then the occurrence stays failed: no run is made that its history row would never name
    assert again["outcome"] == "duplicate" and again["run_id"] is None, again
    assert count(services, "workflow_runs") == 0
    [row] = history(caller, schedule["_id"])
    assert row["status"] == "failed" and row["execution_id"] is None
    assert schedule_counts(caller, schedule["_id"]) == (1, 1)


@pytest.mark.parametrize(("crash", "outcome"), [(crash_before, "started"), (crash_after, "duplicate")])
def test_a_firing_that_died_around_its_history_row_converges_on_its_one_run(services, caller, clock, crash, outcome):
    # Given skip, and 12:01's first delivery died after submitting its run, before or after its row
    schedule = create(caller, waiting_workflow(caller)["_id"], overlap_policy="skip")
    with crash(services.schedules.recurring_repository, "start_execution"), pytest.raises(SimulatedCrash):
        fire(schedule["_id"], "recurring", minute(clock, 1))
    [made] = services.core.database.raw["workflow_runs"].find({})
    # When EventBridge redelivers 12:01
    again = fire(schedule["_id"], "recurring", "2030-01-01T12:01:00Z")
    # Then it finds that run: no second one, one running row naming it, and it is the active firing
    assert (again["outcome"], again["run_id"]) == (outcome, str(made["_id"])), again
    assert count(services, "workflow_runs") == 1
    [row] = history(caller, schedule["_id"])
    assert (row["status"], row["execution_id"]) == ("running", str(made["_id"]))
    assert active_firing(services)["run_id"] == str(made["_id"])
    assert schedule_counts(caller, schedule["_id"]) == (1, 0)
