"""The reaper's schedule reconciliation: lost run outcomes and given-up firings are repaired, once.

The real runs service, schedule repositories and reaper on the in-memory store; "lost" is simulated
where it happens in production: the run-finished notification raising inside ``RunLifecycle.finalize``,
a run submission failing transiently, a delivery dying after the run was created.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from tests.integration.schedules.conftest import finish_first_turn, fire, iso
from tests.support.api import call
from workflow_service.errors import StoreUnavailable
from workflow_service.models.runs import TerminationSource
from workflow_service.models.schedules import ScheduleKind, ScheduleTargetEvent
from workflow_service.schedules.aws_convergence import AWS_REPAIR_COUNTS
from workflow_service.schedules.reconciliation import REPAIR_COUNTS, ScheduleReconciliation

GRACE_SECONDS = 900  # REAPER_SCHEDULE_FIRING_GRACE_SECONDS' default
LIVE = ["not_started", "started", "running", "waiting_for_user_input"]


# -- helpers -------------------------------------------------------------------------------------


def schedule(caller, workflow, clock, **body) -> dict[str, Any]:
    """A one-time schedule one minute ahead, with the input the workflow's greeting needs."""
    body.setdefault("run_input", {"dynamic_variables": {"reportType": "daily"}})
    reply = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(clock.now() + timedelta(minutes=1)), **body},
    )
    assert reply.status == 200, reply
    return reply.body


def stored(caller, schedule_id: str) -> dict[str, Any]:
    return call("get_workflow_schedule", caller=caller, path={"schedule_id": schedule_id}).body


def repairs(summary: dict[str, Any]) -> dict[str, int]:
    """The run-side repair counts (the AWS-side ones have their own suite: test_aws_convergence; the
    overlap policy's, test_schedule_policies)."""
    return {
        name: summary[name] for name in REPAIR_COUNTS if name not in AWS_REPAIR_COUNTS and name != "overlap_repaired"
    }


def no_repairs(summary: dict[str, Any]) -> bool:
    return {summary[name] for name in REPAIR_COUNTS} == {0} and summary["errors"] == 0


def schedule_documents(services) -> list[dict[str, Any]]:
    raw = services.core.database.raw
    return [
        *raw["workflow_schedules"].find({}, sort=[("_id", 1)]),
        *raw["recurring_schedules"].find({}, sort=[("_id", 1)]),
        *raw["recurring_schedule_history"].find({}, sort=[("_id", 1)]),
    ]


def run_ids(services) -> list[str]:
    return [str(document["_id"]) for document in services.core.database.raw["workflow_runs"].find({}, {"_id": 1})]


def delete_run(services, run_id: str) -> None:
    assert services.core.database.raw["workflow_runs"].delete_one({"_id": ObjectId(run_id)}).deleted_count == 1


@contextmanager
def outcome_notifications_lost(services) -> Iterator[None]:
    """Runs ending meanwhile do not reach the schedules (the listener raises inside ``finalize``)."""
    listener = services.schedules.run_listener

    def store_blip(run) -> None:
        raise StoreUnavailable("the database did not answer in time")

    listener.on_run_finished = store_blip
    try:
        yield
    finally:
        del listener.on_run_finished


@contextmanager
def run_submissions_failing(services) -> Iterator[None]:
    """Every run submission fails transiently (the database or the work queue is unreachable)."""
    runs = services.runs.submission

    def unreachable(*args, **kwargs):
        raise StoreUnavailable("the database is unreachable")

    runs.submit = unreachable
    try:
        yield
    finally:
        del runs.submit


def fire_and_give_up(services, created: dict[str, Any]) -> None:
    """A delivery claims the schedule, its run submission fails, and EventBridge gives up retrying."""
    with run_submissions_failing(services), pytest.raises(StoreUnavailable):
        fire(created["_id"], "one_time", created["scheduled_time"])


# -- (a) one-time schedules whose run outcome was lost ---------------------------------------------


def test_a_schedule_whose_run_outcome_was_lost_is_completed_by_the_next_pass(services, caller, workflow, clock):
    # Given a fired schedule whose run is still going
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    run_id = fire(created["_id"], "one_time", created["scheduled_time"])["run_id"]
    # Then a pass leaves it alone: the run's own end records the outcome
    assert no_repairs(services.reaper.service.reap())
    assert stored(caller, created["_id"])["status"] == "in_progress"
    # When the run completes but the notification to the schedules is lost
    with outcome_notifications_lost(services):
        assert finish_first_turn(services, run_id)["status"] == "completed"
    assert stored(caller, created["_id"])["status"] == "in_progress"
    # Then the next pass completes the schedule, linked to its run
    summary = services.reaper.service.reap()
    assert repairs(summary) == {
        "schedules_reconciled": 1,
        "schedules_refired": 0,
        "schedules_failed": 0,
        "history_reconciled": 0,
        "history_counts_settled": 0,
    }
    current = stored(caller, created["_id"])
    assert (current["status"], current["actual_run_id"], current["error_message"]) == ("completed", run_id, None)
    # And a second pass changes nothing
    before = schedule_documents(services)
    assert no_repairs(services.reaper.service.reap())
    assert schedule_documents(services) == before


def test_a_lost_failure_fails_the_schedule_with_the_runs_error(services, caller, workflow, clock):
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    run_id = fire(created["_id"], "one_time", created["scheduled_time"])["run_id"]
    with outcome_notifications_lost(services):
        services.runs.lifecycle.fail_run(
            run_id, "HTTP request timeout", TerminationSource.EXECUTION_ERROR, LIVE, team_id=caller.team_id
        )
    assert services.reaper.service.reap()["schedules_reconciled"] == 1
    current = stored(caller, created["_id"])
    assert (current["status"], current["error_message"]) == ("failed", "HTTP request timeout")
    # The notification finally arriving (a repeated finalize) changes nothing
    services.schedules.run_listener.on_run_finished(services.runs.queries.get(caller.team_id, run_id))
    assert stored(caller, created["_id"]) == current


def test_a_schedule_whose_run_no_longer_exists_is_failed_saying_so(services, caller, workflow, clock):
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    run_id = fire(created["_id"], "one_time", created["scheduled_time"])["run_id"]
    delete_run(services, run_id)
    assert services.reaper.service.reap()["schedules_reconciled"] == 1
    current = stored(caller, created["_id"])
    assert current["status"] == "failed" and current["actual_run_id"] == run_id
    assert current["error_message"] == f"run {run_id} no longer exists"
    before = schedule_documents(services)
    assert no_repairs(services.reaper.service.reap())
    assert schedule_documents(services) == before


# -- (b) one-time schedules claimed by a delivery that never started the run -----------------------


def test_a_firing_given_up_by_eventbridge_is_fired_again_after_the_grace_period(services, caller, workflow, clock):
    # Given a schedule whose delivery claimed it, could not submit the run, and was not retried
    created = schedule(caller, workflow, clock, run_input={"dynamic_variables": {"reportType": "weekly"}})
    clock.advance(minutes=1)
    fire_and_give_up(services, created)
    assert stored(caller, created["_id"])["status"] == "in_progress" and run_ids(services) == []
    # Within the grace period (EventBridge may still retry) a pass leaves it alone
    clock.advance(seconds=GRACE_SECONDS - 1)
    assert no_repairs(services.reaper.service.reap())
    assert run_ids(services) == []
    # After it, the pass fires the schedule again: one run, for the original scheduled time and input
    clock.advance(seconds=2)
    summary = services.reaper.service.reap()
    assert repairs(summary) == {
        "schedules_reconciled": 0,
        "schedules_refired": 1,
        "schedules_failed": 0,
        "history_reconciled": 0,
        "history_counts_settled": 0,
    }
    [run_id] = run_ids(services)
    current = stored(caller, created["_id"])
    assert (current["status"], current["actual_run_id"]) == ("in_progress", run_id)
    run = services.runs.queries.get(caller.team_id, run_id).workflow_run
    assert run.trigger.schedule_id == created["_id"] and iso(run.trigger.scheduled_time) == created["scheduled_time"]
    # And the run's end completes the schedule the usual way, with the schedule's input
    finished = finish_first_turn(services, run_id)
    assert finished["input_output_pairs"][0]["run_input"]["dynamic_variables"] == {"reportType": "weekly"}
    assert stored(caller, created["_id"])["status"] == "completed"
    # And neither a second pass nor a late redelivery (a DLQ redrive) makes a second run
    assert no_repairs(services.reaper.service.reap())
    assert fire(created["_id"], "one_time", created["scheduled_time"])["outcome"] == "duplicate"
    assert run_ids(services) == [run_id]


def test_a_delivery_that_died_after_creating_the_run_is_linked_to_that_run(
    services, caller, workflow, clock, monkeypatch
):
    # Given a delivery that created the run and died before linking it to the schedule
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    with monkeypatch.context() as patched:

        def died(schedule_id: str, run_id: str) -> None:
            raise RuntimeError("the Lambda container was killed")

        patched.setattr(services.schedules.one_time_repository, "record_run", died)
        with pytest.raises(RuntimeError):
            services.schedules.firing.fire(ScheduleTargetEvent(schedule_id=created["_id"], kind=ScheduleKind.ONE_TIME))
    [run_id] = run_ids(services)
    # And the run then completed, its notification lost too
    with outcome_notifications_lost(services):
        finish_first_turn(services, run_id)
    assert stored(caller, created["_id"])["actual_run_id"] is None
    # When a pass runs after the grace period
    clock.advance(seconds=GRACE_SECONDS + 1)
    summary = services.reaper.service.reap()
    # Then the same run is linked (no second run) and the schedule completed, in that one pass
    assert summary["schedules_refired"] == 1 and summary["schedules_reconciled"] == 1
    assert run_ids(services) == [run_id]
    current = stored(caller, created["_id"])
    assert (current["status"], current["actual_run_id"]) == ("completed", run_id)
    assert no_repairs(services.reaper.service.reap())


def test_a_firing_whose_run_can_no_longer_start_fails_the_schedule_with_the_reason(services, caller, workflow, clock):
    # Given a schedule pinned to version 1, given up by EventBridge, and version 1 deleted meanwhile
    path = {"workflow_id": workflow["_id"]}
    assert call("create_workflow_version", caller=caller, path=path, body={"version_name": "v1"}).status == 200
    created = schedule(caller, workflow, clock, version=1)
    clock.advance(minutes=1)
    fire_and_give_up(services, created)
    assert call("delete_workflow_version", caller=caller, path={**path, "version_number": 1}).status == 200
    # When a pass runs after the grace period
    clock.advance(seconds=GRACE_SECONDS + 1)
    summary = services.reaper.service.reap()
    # Then the schedule failed, saying why; no run exists
    assert summary["schedules_failed"] == 1 and summary["schedules_refired"] == 0
    current = stored(caller, created["_id"])
    assert current["status"] == "failed" and current["error_message"].startswith("the run could not start: ")
    assert "not found" in current["error_message"] and run_ids(services) == []
    assert no_repairs(services.reaper.service.reap())


def test_a_firing_still_failing_is_retried_by_a_later_pass_not_in_a_loop(services, caller, workflow, clock):
    created = schedule(caller, workflow, clock)
    clock.advance(minutes=1)
    fire_and_give_up(services, created)
    clock.advance(seconds=GRACE_SECONDS + 1)
    with run_submissions_failing(services), pytest.raises(StoreUnavailable):
        services.reaper.service.reap()  # a store outage fails the pass; the rate rule's next tick is the retry
    # The failed attempt re-claimed the schedule, so the next attempt waits another grace period
    assert no_repairs(services.reaper.service.reap())
    clock.advance(seconds=GRACE_SECONDS + 1)
    assert services.reaper.service.reap()["schedules_refired"] == 1
    assert stored(caller, created["_id"])["actual_run_id"] == run_ids(services)[0]


# -- (c) recurring history rows whose run outcome was lost -----------------------------------------


def recurring_firing(services, caller, workflow, clock) -> tuple[dict[str, Any], str]:
    """A recurring schedule fired at 14:00 (delivered at 14:00:00.4); the schedule and the run id."""
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "0 14 * * *", "timezone": "UTC", "input_data": [{"json": {"reportType": "daily"}}]},
    )
    assert reply.status == 200, reply
    clock.current = datetime(2030, 1, 1, 14, 0, 0, 400_000, tzinfo=UTC)
    outcome = fire(reply.body["_id"], "recurring", "2030-01-01T14:00:00Z")
    assert outcome["outcome"] == "started"
    return reply.body, outcome["run_id"]


def history_and_counts(caller, schedule_id: str) -> tuple[list[dict[str, Any]], tuple[int, int, int], str]:
    path = {"schedule_id": schedule_id}
    history = call("get_recurring_schedule_history", caller=caller, path=path).body["history"]
    current = call("get_recurring_schedule", caller=caller, path=path).body
    return history, (current["run_count"], current["success_count"], current["failure_count"]), current["last_status"]


def test_a_recurring_firing_whose_outcome_was_lost_is_finished_and_counted_once(services, caller, workflow, clock):
    created, run_id = recurring_firing(services, caller, workflow, clock)
    # Given the run completed two seconds later, its notification lost
    clock.advance(seconds=2)
    with outcome_notifications_lost(services):
        finish_first_turn(services, run_id)
    [row], counts, _ = history_and_counts(caller, created["_id"])
    assert row["status"] == "running" and counts == (1, 0, 0)
    # When a pass runs a minute later
    clock.advance(minutes=1)
    summary = services.reaper.service.reap()
    # Then the row records the run as the listener would have (its real finish time), counted once
    assert repairs(summary) == {
        "schedules_reconciled": 0,
        "schedules_refired": 0,
        "schedules_failed": 0,
        "history_reconciled": 1,
        "history_counts_settled": 0,
    }
    [row], counts, last_status = history_and_counts(caller, created["_id"])
    assert row == {
        "execution_id": run_id,
        "scheduled_time": "2030-01-01T14:00:00Z",
        "started_at": "2030-01-01T14:00:00.400Z",
        "finished_at": "2030-01-01T14:00:02.400Z",
        "status": "success",
        "duration_ms": 2000,
        "error": None,
    }
    assert counts == (1, 1, 0) and last_status == "success"
    # And the late notification, and a second pass, count nothing twice
    services.schedules.run_listener.on_run_finished(services.runs.queries.get(caller.team_id, run_id))
    before = schedule_documents(services)
    assert no_repairs(services.reaper.service.reap())
    assert schedule_documents(services) == before
    assert history_and_counts(caller, created["_id"])[1:] == ((1, 1, 0), "success")


def test_a_recurring_firing_whose_run_no_longer_exists_is_failed_saying_so(services, caller, workflow, clock):
    created, run_id = recurring_firing(services, caller, workflow, clock)
    # A pass while the run is live leaves the row alone
    assert no_repairs(services.reaper.service.reap())
    delete_run(services, run_id)
    clock.advance(seconds=30)
    assert services.reaper.service.reap()["history_reconciled"] == 1
    [row], counts, last_status = history_and_counts(caller, created["_id"])
    assert (row["status"], row["error"]) == ("failed", f"run {run_id} no longer exists")
    assert row["finished_at"] == "2030-01-01T14:00:30.400Z" and row["duration_ms"] == 30_000
    assert counts == (1, 0, 1) and last_status == "failed"
    assert no_repairs(services.reaper.service.reap())


# -- cost and bounds ------------------------------------------------------------------------------


def reconciler(services) -> ScheduleReconciliation:
    return ScheduleReconciliation(
        services.schedules.one_time_repository,
        services.schedules.recurring_repository,
        services.runs.repository,
        services.schedules.run_listener,
        services.schedules.firing,
        services.core.clock,
        firing_grace_seconds=GRACE_SECONDS,
    )


def test_the_sweep_pages_past_live_firings_within_its_budget(services, caller, workflow, clock):
    # Given four schedules whose runs are live, then one whose outcome was lost (the highest id)
    created = [schedule(caller, workflow, clock) for _ in range(5)]
    clock.advance(minutes=1)
    fired = [fire(item["_id"], "one_time", item["scheduled_time"])["run_id"] for item in created]
    with outcome_notifications_lost(services):
        services.runs.lifecycle.fail_run(
            fired[-1], "HTTP request timeout", TerminationSource.EXECUTION_ERROR, LIVE, team_id=caller.team_id
        )
    # A budget of two batches of two reaches only the live ones, and says the sweep is incomplete
    short = reconciler(services).reconcile(2, max_batches=2)
    assert short["schedules_reconciled"] == 0 and short["complete"] is False
    # Three batches reach the stuck one
    enough = reconciler(services).reconcile(2, max_batches=3)
    assert enough["schedules_reconciled"] == 1 and enough["complete"] is True
    assert stored(caller, created[-1]["_id"])["status"] == "failed"
    # And a sweep told to stop reads nothing
    stopped = reconciler(services).reconcile(2, max_batches=3, should_stop=lambda: True)
    assert stopped["complete"] is False


def test_a_pass_costs_the_same_however_many_schedules_have_finished(services, caller, workflow, clock):
    def schedule_round_trips_of_a_pass() -> int:
        services.core.database.counter.reset()
        services.reaper.service.reap()
        calls = services.core.database.counter.calls
        return sum(n for key, n in calls.items() if key.split(".")[0].startswith(("workflow_schedules", "recurring")))

    baseline = schedule_round_trips_of_a_pass()
    for item in [schedule(caller, workflow, clock) for _ in range(8)]:
        clock.advance(minutes=1)
        finish_first_turn(services, fire(item["_id"], "one_time", item["scheduled_time"])["run_id"])
        assert stored(caller, item["_id"])["status"] == "completed"
    # One empty read per sweep: in-progress, running rows, rows owing counts, owed pushes (two kinds),
    # overdue pending, active overlap-policy firings, DST plans due
    assert schedule_round_trips_of_a_pass() == baseline == 8
