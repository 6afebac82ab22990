"""The schedule-target handler and run outcomes, with the real runs service on an in-memory store."""

from __future__ import annotations

import threading
from datetime import timedelta

from tests.integration.schedules.conftest import count, finish_first_turn, fire, iso
from tests.support.api import call
from workflow_service.adapters.mongo.schedule_generations import ONE_TIME
from workflow_service.errors import StoreUnavailable
from workflow_service.models.runs import TerminationSource


def schedule(caller, workflow, clock, minutes: int = 1, **body) -> dict:
    reply = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(clock.now() + timedelta(minutes=minutes)), **body},
    )
    assert reply.status == 200, reply
    return reply.body


def stored(caller, schedule_id: str) -> dict:
    return call("get_workflow_schedule", caller=caller, path={"schedule_id": schedule_id}).body


def pushed_generation(services, schedule_id: str) -> int:
    """The generation the schedule's AWS definition carries in its target input (the record's desired one)."""
    from bson import ObjectId

    return services.core.database.raw[ONE_TIME].find_one({"_id": ObjectId(schedule_id)})["desired_generation"]


def runs_of(services, workflow) -> list[dict]:
    return list(services.core.database.raw["workflow_runs"].find({"workflow_run.workflow_id": workflow["_id"]}))


def test_a_firing_starts_the_run_and_the_schedule_completes_when_the_run_does(services, caller, workflow, clock):
    # Given a pending schedule with input, now due
    created = schedule(caller, workflow, clock, run_input={"dynamic_variables": {"reportType": "weekly"}})
    clock.advance(minutes=1)
    # When EventBridge delivers it
    outcome = fire(created["_id"], "one_time", created["scheduled_time"])
    # Then a run started with trigger "schedule" and is linked; the schedule is in progress
    assert outcome["outcome"] == "started"
    current = stored(caller, created["_id"])
    assert current["status"] == "in_progress" and current["actual_run_id"] == outcome["run_id"]
    run = services.runs.queries.get(caller.team_id, outcome["run_id"]).workflow_run
    assert run.trigger.type == "schedule" and run.trigger.schedule_id == created["_id"]
    assert run.trigger.scheduled_time.isoformat().startswith(created["scheduled_time"][:19])
    # When the run executes to its end
    finished = finish_first_turn(services, outcome["run_id"])
    # Then the schedule is completed, and the run saw the schedule's input
    assert finished["status"] == "completed"
    assert stored(caller, created["_id"])["status"] == "completed"
    assert finished["input_output_pairs"][0]["run_input"]["dynamic_variables"] == {"reportType": "weekly"}


def test_a_duplicate_delivery_makes_no_second_run(services, caller, workflow, clock):
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    first = fire(created["_id"], "one_time", created["scheduled_time"])
    second = fire(created["_id"], "one_time", created["scheduled_time"])
    assert first["outcome"] == "started"
    assert second["outcome"] == "duplicate" and second["run_id"] == first["run_id"]
    assert len(runs_of(services, workflow)) == 1


def test_a_cancelled_schedule_fires_into_a_no_op(services, caller, workflow, clock):
    created = schedule(caller, workflow, clock)
    assert call("cancel_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).status == 204
    clock.advance(minutes=1)
    outcome = fire(created["_id"], "one_time", created["scheduled_time"])
    assert outcome["outcome"] == "skipped" and "cancelled" in outcome["reason"]
    assert stored(caller, created["_id"])["status"] == "cancelled"
    assert runs_of(services, workflow) == []


def race_cancel_and_delivery(caller, created: dict) -> tuple[bool, bool]:
    """Release a cancel and a delivery of ``created`` together; whether each took effect."""
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def cancel():
        barrier.wait()
        results["cancel"] = call("cancel_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]})

    def deliver():
        barrier.wait()
        results["fire"] = fire(created["_id"], "one_time", created["scheduled_time"])

    threads = [threading.Thread(target=cancel), threading.Thread(target=deliver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results["cancel"].status == 204, results["fire"]["outcome"] == "started"


def test_cancel_racing_a_firing_has_exactly_one_outcome(services, caller, workflow, clock):
    # Many rounds of a cancel and a delivery released together: exactly one of them wins each time.
    started_runs = 0
    for _ in range(15):
        created = schedule(caller, workflow, clock)
        clock.advance(minutes=1)
        cancelled, started = race_cancel_and_delivery(caller, created)
        clock.advance(minutes=-1)
        assert cancelled != started
        final = stored(caller, created["_id"])
        assert final["status"] == ("cancelled" if cancelled else "in_progress")
        assert (final["actual_run_id"] is not None) == started
        started_runs += started
    assert len(runs_of(services, workflow)) == started_runs


def test_a_run_that_cannot_start_fails_the_schedule_with_the_reason(services, caller, workflow, clock):
    # Given a schedule pinned to version 1, which is then deleted
    reply = call(
        "create_workflow_version", caller=caller, path={"workflow_id": workflow["_id"]}, body={"version_name": "v1"}
    )
    assert reply.status == 200, reply
    created = schedule(caller, workflow, clock, version=1)
    assert (
        call(
            "delete_workflow_version", caller=caller, path={"workflow_id": workflow["_id"], "version_number": 1}
        ).status
        == 200
    )
    clock.advance(minutes=1)
    # When it fires
    outcome = fire(created["_id"], "one_time", created["scheduled_time"])
    # Then no run exists and the schedule failed, saying why
    assert outcome["outcome"] == "failed"
    current = stored(caller, created["_id"])
    assert current["status"] == "failed" and "could not start" in current["error_message"]
    assert "not found" in current["error_message"] and current["actual_run_id"] is None
    assert runs_of(services, workflow) == []


def test_a_failed_run_fails_the_schedule_with_its_error(services, caller, workflow, clock):
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    run_id = fire(created["_id"], "one_time", created["scheduled_time"])["run_id"]
    services.runs.lifecycle.fail_run(
        run_id,
        "no heartbeat for 900 s",
        TerminationSource.STALE_RUN_REAPER,
        ["not_started", "started", "running"],
        team_id=caller.team_id,
    )
    current = stored(caller, created["_id"])
    assert current["status"] == "failed" and current["error_message"] == "no heartbeat for 900 s"
    # Telling the listener again (the reaper may repeat it) changes nothing
    services.schedules.run_listener.on_run_finished(services.runs.queries.get(caller.team_id, run_id))
    assert stored(caller, created["_id"]) == current


def test_an_early_delivery_for_a_moved_schedule_is_ignored(services, caller, workflow, clock):
    # Given a schedule moved one hour later while its old time was being delivered
    created = schedule(caller, workflow, clock)
    later = clock.now() + timedelta(hours=1)
    call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": created["_id"]},
        body={"scheduled_time": iso(later)},
    )
    clock.advance(minutes=1)
    # When the old time's delivery arrives
    outcome = fire(created["_id"], "one_time", created["scheduled_time"])
    # Then nothing happens; the schedule still waits for its new time
    assert outcome["outcome"] == "skipped" and "moved" in outcome["reason"]
    assert stored(caller, created["_id"])["status"] == "pending"
    clock.current = later
    assert fire(created["_id"], "one_time", iso(later))["outcome"] == "started"


def test_a_delivery_at_the_start_of_the_minute_fires_a_schedule_set_later_in_that_minute(
    services, caller, workflow, clock
):
    # Given a one-time schedule at 45 s past a minute (EventBridge invokes with 60-second precision:
    # anywhere from hh:mm:00 to hh:mm:59)
    start_of_minute = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=2)
    created = schedule(caller, workflow, clock, scheduled_time=iso(start_of_minute + timedelta(seconds=45)))
    # When EventBridge delivers it at the start of that minute
    clock.current = start_of_minute + timedelta(seconds=1)
    outcome = fire(created["_id"], "one_time", created["scheduled_time"])
    # Then it fires (an at() schedule deletes itself after that delivery: there is no later one)
    assert outcome["outcome"] == "started", outcome
    assert stored(caller, created["_id"])["status"] != "pending"


def test_a_transient_failure_is_raised_and_the_redelivery_finishes_the_firing(
    services, caller, workflow, clock, monkeypatch
):
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    real_submit = services.runs.submission.submit
    calls = {"n": 0}

    def flaky_submit(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise StoreUnavailable("the database is unreachable")
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(services.runs.submission, "submit", flaky_submit)
    # (each delivery carries the generation the push put in the target input, as EventBridge's retries do)
    pushed = pushed_generation(services, created["_id"])
    try:
        fire(created["_id"], "one_time", created["scheduled_time"], pushed)
        raise AssertionError("the transient failure should propagate so EventBridge retries")
    except StoreUnavailable:
        pass
    assert stored(caller, created["_id"])["status"] == "in_progress"
    retried = fire(created["_id"], "one_time", created["scheduled_time"], pushed)
    assert retried["outcome"] == "started"
    assert stored(caller, created["_id"])["actual_run_id"] == retried["run_id"]
    assert len(runs_of(services, workflow)) == 1


def test_a_malformed_event_is_rejected_without_raising(services):
    from schedule_target import handler

    assert handler({"schedule_id": "nope", "kind": "one_time"}, None)["outcome"] == "rejected"
    assert handler({"hello": "world"}, None)["outcome"] == "rejected"
    assert count(services, "workflow_runs") == 0
