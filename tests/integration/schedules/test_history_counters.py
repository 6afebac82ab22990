"""A recurring schedule's run, success and failure counters stay equal to its history through crashes
(between a history row's write and the counters', or after the counters and before the row's mark is
cleared) and through a backfill of an occurrence that ran nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.schedules.conftest import finish_first_turn, fire
from tests.integration.schedules.crashes import SimulatedCrash, crash_after, crash_before
from tests.support.api import call
from tests.support.workflows import endless_conversation_workflow

HOURLY = "0 * * * *"
AT_14 = "2030-01-01T14:00:00Z"
REPORT_INPUT = [{"json": {"reportType": "daily"}}]  # what the greeting workflow's node needs


def create(caller, workflow_id: str, **body: Any) -> dict[str, Any]:
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"cron_expression": HOURLY, "timezone": "UTC", "input_data": REPORT_INPUT, **body},
    )
    assert reply.status == 200, reply
    return reply.body


def counters(caller, schedule_id: str) -> tuple[int, int, int]:
    got = call("get_recurring_schedule", caller=caller, path={"schedule_id": schedule_id}).body
    return got["run_count"], got["success_count"], got["failure_count"]


def history(caller, schedule_id: str) -> list[dict[str, Any]]:
    reply = call("get_recurring_schedule_history", caller=caller, path={"schedule_id": schedule_id})
    assert reply.status == 200, reply
    return list(reversed(reply.body["history"]))  # oldest first


def schedules_collection(services):
    return services.schedules.recurring_repository._schedules


def reap(services) -> dict[str, Any]:
    return services.reaper.service.reap()


@pytest.mark.parametrize("repair", ["retried delivery", "reaper"])
def test_a_firing_that_died_before_its_counters_is_counted_once(services, caller, workflow, clock, repair):
    # Given an hourly schedule whose 14:00 delivery dies right after writing its history row
    schedule = create(caller, workflow["_id"])
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    with crash_before(schedules_collection(services), "update_one"), pytest.raises(SimulatedCrash):
        fire(schedule["_id"], "recurring", AT_14)
    assert [row["status"] for row in history(caller, schedule["_id"])] == ["running"]
    assert counters(caller, schedule["_id"]) == (0, 0, 0)
    # When EventBridge retries the delivery, or no retry comes and the reaper passes
    if repair == "retried delivery":
        assert fire(schedule["_id"], "recurring", AT_14)["outcome"] == "duplicate"
    else:
        assert reap(services)["history_counts_settled"] == 1
    # Then the run is counted once, however often the repair repeats
    assert counters(caller, schedule["_id"]) == (1, 0, 0)
    fire(schedule["_id"], "recurring", AT_14)
    assert reap(services)["history_counts_settled"] == 0
    assert counters(caller, schedule["_id"]) == (1, 0, 0)
    got = call("get_recurring_schedule", caller=caller, path={"schedule_id": schedule["_id"]}).body
    assert got["last_status"] == "running" and got["last_run"].startswith("2030-01-01T14:00:00")


def test_a_firing_that_died_after_its_counters_is_not_counted_twice(services, caller, workflow, clock):
    schedule = create(caller, workflow["_id"])
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    with crash_after(schedules_collection(services), "update_one"), pytest.raises(SimulatedCrash):
        fire(schedule["_id"], "recurring", AT_14)
    assert counters(caller, schedule["_id"]) == (1, 0, 0)
    # When the delivery is retried and the reaper passes (the row still carries its mark)
    assert fire(schedule["_id"], "recurring", AT_14)["outcome"] == "duplicate"
    assert reap(services)["history_counts_settled"] == 0
    # Then the run still counts once
    assert counters(caller, schedule["_id"]) == (1, 0, 0)


def test_a_run_end_that_died_before_its_counters_is_counted_by_the_reaper(services, caller, workflow, clock):
    # Given a firing whose run completes, and the outcome's write dies before the counters
    schedule = create(caller, workflow["_id"])
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    run_id = fire(schedule["_id"], "recurring", AT_14)["run_id"]
    with crash_before(schedules_collection(services), "update_one"), pytest.raises(SimulatedCrash):
        finish_first_turn(services, run_id)
    assert [row["status"] for row in history(caller, schedule["_id"])] == ["success"]
    assert counters(caller, schedule["_id"]) == (1, 0, 0)
    # When the reaper passes (twice)
    assert reap(services)["history_counts_settled"] == 1
    assert reap(services)["history_counts_settled"] == 0
    # Then the success is counted once, and it is the schedule's last status
    assert counters(caller, schedule["_id"]) == (1, 1, 0)
    got = call("get_recurring_schedule", caller=caller, path={"schedule_id": schedule["_id"]}).body
    assert got["last_status"] == "success"


def backfill_13_to_14(caller, schedule_id: str) -> dict[str, Any]:
    reply = call(
        "backfill_recurring_schedule",
        caller=caller,
        path={"schedule_id": schedule_id},
        body={"start": "2030-01-01T13:00:00Z", "end": AT_14},
    )
    assert reply.status == 200, reply
    [occurrence] = reply.body["occurrences"]
    return occurrence


def test_backfilling_a_skipped_occurrence_runs_it_and_records_its_run(services, caller, clock):
    # Given a skip-policy schedule whose 14:00 firing was skipped while the 13:00 run waited
    waits = call(
        "create_workflow", caller=caller, body={"name": "Waits", "workflow_config": endless_conversation_workflow()}
    ).body["workflow"]
    schedule = create(caller, waits["_id"], overlap_policy="skip")
    clock.current = datetime(2030, 1, 1, 13, 0, 1, tzinfo=UTC)
    first = fire(schedule["_id"], "recurring", "2030-01-01T13:00:00Z")["run_id"]
    finish_first_turn(services, first)
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    assert fire(schedule["_id"], "recurring", AT_14)["outcome"] == "skipped"
    assert counters(caller, schedule["_id"]) == (1, 0, 0)
    # When 14:00 is backfilled
    clock.current = datetime(2030, 1, 1, 14, 30, tzinfo=UTC)
    occurrence = backfill_13_to_14(caller, schedule["_id"])
    # Then it gets a run, says so, and its history row names that run
    assert occurrence["created"] is True and occurrence["run_id"] not in (None, first)
    row = history(caller, schedule["_id"])[-1]
    assert (row["execution_id"], row["status"], row.get("backfill"), row.get("reason")) == (
        occurrence["run_id"],
        "running",
        True,
        None,
    )
    assert counters(caller, schedule["_id"]) == (2, 0, 0)
    # And a repeated backfill finds that run instead of making another
    again = backfill_13_to_14(caller, schedule["_id"])
    assert (again["created"], again["run_id"]) == (False, occurrence["run_id"])
    assert counters(caller, schedule["_id"]) == (2, 0, 0)


def test_backfilling_an_occurrence_that_could_not_start_runs_it_and_moves_the_counters(
    services, caller, workflow, clock
):
    # Given a firing that failed because its workflow version was briefly gone
    schedule = create(caller, workflow["_id"], version=0)
    versions = services.core.database.raw["workflow_versions"]
    held = list(versions.find({"workflow_id": workflow["_id"]}))
    versions.delete_many({"workflow_id": workflow["_id"]})
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    assert fire(schedule["_id"], "recurring", AT_14)["outcome"] == "failed"
    assert counters(caller, schedule["_id"]) == (1, 0, 1)
    versions.insert_many(held)
    # When 14:00 is backfilled and its run completes
    occurrence = backfill_13_to_14(caller, schedule["_id"])
    assert occurrence["created"] is True and occurrence["error"] is None
    finish_first_turn(services, occurrence["run_id"])
    # Then the occurrence is a success of that run, no longer a failure
    [row] = history(caller, schedule["_id"])
    assert (row["execution_id"], row["status"], row["error"]) == (occurrence["run_id"], "success", None)
    assert counters(caller, schedule["_id"]) == (1, 1, 0)
