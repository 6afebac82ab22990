"""Paused runs expire: the reaper fails a run paused longer than the pause TTL (here 120 s), and what
the run was linked to (one-time schedules, recurring history rows) finishes with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.concurrency.helpers import (
    REAPER_TEST_ENVIRONMENT,
    drain_worker,
    holders,
    make_team,
    make_workflow,
    status_of,
    stored_run,
    submit,
)
from tests.support.api import Caller, call
from tests.support.workflows import waiting_workflow
from workflow_service.errors import NoSlotAvailable
from workflow_service.models.common import format_utc
from workflow_service.models.runs import RunCommand, RunStatus, WorkflowRunInput
from workflow_service.settings import Settings

PAUSE_TTL_SECONDS = 120


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environ({**REAPER_TEST_ENVIRONMENT, "REAPER_PAUSE_TTL_SECONDS": str(PAUSE_TTL_SECONDS)})


def command(services, team_id: str, run_id: str, verb: RunCommand):
    return services.runs.submission.start_or_resume(
        Caller(team_id, "alice"), WorkflowRunInput(command=verb, workflow_run_id=run_id)
    )


def paused_run(services, team_id: str) -> str:
    """A run that waited for input, then was paused (holding no slot)."""
    run = submit(services, team_id, make_workflow(services, team_id))
    drain_worker(services)
    assert status_of(services, run.id) == "waiting_for_user_input"
    command(services, team_id, run.id, RunCommand.PAUSE)
    assert status_of(services, run.id) == "paused"
    return run.id


def test_a_paused_run_past_its_pause_deadline_is_failed_by_the_reaper(services, clock):
    # Given a run paused at 12:00 (its deadline 12:02) and one paused a minute later
    team_id = make_team(services, limit=2)
    paused_first = paused_run(services, team_id)
    assert stored_run(services, paused_first).workflow_run.pause_deadline_at == clock.now() + timedelta(seconds=120)
    clock.advance(seconds=60)
    paused_later = paused_run(services, team_id)
    # When a reaper pass runs just after the first deadline
    clock.advance(seconds=61)
    summary = services.reaper.service.reap()
    # Then the first run is failed by the reaper with a reason naming the pause, the other is still paused
    assert summary["pause_expired"] == 1
    inner = stored_run(services, paused_first).workflow_run
    assert inner.status is RunStatus.FAILED and inner.termination_source == "stale_run_reaper"
    assert inner.error == "paused longer than the pause TTL without being resumed (deadline 2030-01-01T12:02:00Z)"
    assert inner.pause_deadline_at is None and inner.finished_at == clock.now()
    assert status_of(services, paused_later) == "paused"
    # And a pass after the second deadline fails that one too
    clock.advance(seconds=60)
    assert services.reaper.service.reap()["pause_expired"] == 1
    assert status_of(services, paused_later) == "failed"


def test_a_resumed_run_is_not_reaped_by_its_old_pause_deadline(services, clock):
    # Given a paused run resumed before its deadline (it waits for input again, holding a slot)
    team_id = make_team(services, limit=1)
    run_id = paused_run(services, team_id)
    clock.advance(seconds=60)
    resumed = command(services, team_id, run_id, RunCommand.RESUME)
    assert resumed.workflow_run.status is RunStatus.WAITING_FOR_USER_INPUT
    assert stored_run(services, run_id).workflow_run.pause_deadline_at is None
    # When a reaper pass runs after the old pause deadline (but within the input timeout)
    clock.advance(seconds=PAUSE_TTL_SECONDS)
    summary = services.reaper.service.reap()
    # Then the run is left alone, still holding its slot
    assert summary["pause_expired"] == 0 and summary["already_handled"] == 0
    assert status_of(services, run_id) == "waiting_for_user_input"
    assert holders(services, f"team:{team_id}") == [run_id]


def test_a_resume_refused_for_lack_of_a_slot_leaves_the_pause_deadline_in_force(services, clock):
    # Given a paused run whose resume is refused: another run took the team's only slot
    team_id = make_team(services, limit=1)
    run_id = paused_run(services, team_id)
    holder = submit(services, team_id, make_workflow(services, team_id))
    assert status_of(services, holder.id) == "started"
    with pytest.raises(NoSlotAvailable):
        command(services, team_id, run_id, RunCommand.RESUME)
    assert status_of(services, run_id) == "paused"
    # When a reaper pass runs after its pause deadline
    clock.advance(seconds=PAUSE_TTL_SECONDS + 1)
    services.reaper.service.reap()
    # Then the run is failed for its pause
    assert stored_run(services, run_id).workflow_run.error.startswith("paused longer than the pause TTL")


def waiting_workflow_of(caller) -> str:
    reply = call("create_workflow", caller=caller, body={"name": "Waits", "workflow_config": waiting_workflow()})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def fire(schedule_id: str, kind: str, scheduled_time: str) -> dict:
    from schedule_target import handler

    return handler({"schedule_id": schedule_id, "kind": kind, "scheduled_time": scheduled_time}, None)


def test_a_scheduled_run_that_expires_paused_fails_its_schedule_and_history_row(services, caller, clock):
    # Given a one-time schedule and a recurring schedule (9:00 New York on weekdays) of a workflow that
    # waits for input, each fired: their runs wait, then are paused
    workflow_id = waiting_workflow_of(caller)
    at = format_utc(clock.now() + timedelta(minutes=1))
    one_time = call(
        "create_workflow_schedule", caller=caller, path={"workflow_id": workflow_id}, body={"scheduled_time": at}
    ).body
    recurring = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"cron_expression": "0 9 * * 1-5", "timezone": "America/New_York"},
    ).body
    clock.advance(minutes=1)
    one_time_run = fire(one_time["_id"], "one_time", one_time["scheduled_time"])["run_id"]
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    recurring_run = fire(recurring["_id"], "recurring", "2030-01-01T14:00:00Z")["run_id"]
    drain_worker(services)
    for run_id in (one_time_run, recurring_run):
        command(services, caller.team_id, run_id, RunCommand.PAUSE)
    assert call("get_workflow_schedule", caller=caller, path={"schedule_id": one_time["_id"]}).body["status"] == (
        "in_progress"
    )
    # When the pause TTL passes and the reaper runs
    clock.advance(seconds=PAUSE_TTL_SECONDS + 1)
    assert services.reaper.service.reap()["pause_expired"] == 2
    # Then the one-time schedule failed with the run's reason
    schedule = call("get_workflow_schedule", caller=caller, path={"schedule_id": one_time["_id"]}).body
    assert schedule["status"] == "failed" and schedule["error_message"].startswith("paused longer than the pause TTL")
    # And the recurring firing's history row finished as failed, counted as a failure
    path = {"schedule_id": recurring["_id"]}
    [row] = call("get_recurring_schedule_history", caller=caller, path=path).body["history"]
    assert row["status"] == "failed" and row["error"].startswith("paused longer than the pause TTL")
    assert row["finished_at"] == format_utc(clock.now())
    assert call("get_recurring_schedule", caller=caller, path=path).body["failure_count"] == 1
