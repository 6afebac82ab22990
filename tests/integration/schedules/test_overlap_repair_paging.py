"""The reaper's overlap repair pages through every schedule with an active firing, not only the first batch."""

from __future__ import annotations

import pytest

from tests.integration.schedules.conftest import finish_first_turn, fire
from tests.integration.schedules.crashes import SimulatedCrash, crash_before
from tests.integration.schedules.test_schedule_policies import minute, waiting_workflow
from tests.support.api import call
from workflow_service.settings import Settings


@pytest.fixture
def settings() -> Settings:
    # One schedule per read, so the healthy firing fills the first batch by itself.
    return Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "STAGE": "test", "REAPER_BATCH_SIZE": "1"})


def skip_overlapping(caller, workflow_id: str, cron: str) -> dict:
    body = {"cron_expression": cron, "overlap_policy": "skip"}
    reply = call("create_recurring_schedule", caller=caller, path={"workflow_id": workflow_id}, body=body)
    assert reply.status == 200, reply
    return reply.body


def runs_of(services, schedule_id: str) -> int:
    return services.core.database.raw["workflow_runs"].count_documents(
        {"workflow_run.trigger.recurring_schedule_id": schedule_id}
    )


def test_a_claim_a_crash_left_behind_healthy_firings_is_started_by_the_next_pass(services, caller, clock):
    # Given two schedules; the first (lower id) holds a healthy active firing: its run waits for input
    workflow_id = waiting_workflow(caller)["_id"]
    # (two spellings of "every minute": one workflow may not have the same cron twice)
    healthy = skip_overlapping(caller, workflow_id, "* * * * *")
    crashed = skip_overlapping(caller, workflow_id, "*/1 * * * *")
    finish_first_turn(services, fire(healthy["_id"], "recurring", minute(clock, 1))["run_id"])
    # and the second's firing was claimed, then its Lambda died before the run was submitted
    with crash_before(services.schedules.overlap._starter, "start"), pytest.raises(SimulatedCrash):
        fire(crashed["_id"], "recurring", minute(clock, 1))
    assert runs_of(services, crashed["_id"]) == 0
    # When a reaper pass runs after the firing grace period
    clock.advance(seconds=services.settings.reaper.schedule_firing_grace_seconds + 1)
    summary = services.reaper.service.reap()
    # Then it reached the second schedule past the first batch and started its claimed firing
    assert runs_of(services, crashed["_id"]) == 1
    assert summary["overlap_repaired"] >= 1
    assert runs_of(services, healthy["_id"]) == 1
