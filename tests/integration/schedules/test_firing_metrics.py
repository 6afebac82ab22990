"""What a schedule's firing emits: its lateness, and a run started with trigger "schedule"."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.schedules.conftest import fire, iso
from tests.support.api import call


def test_a_late_firing_measures_its_lateness_and_counts_a_scheduled_run(caller, workflow, clock, metrics):
    due = clock.now() + timedelta(minutes=1)
    reply = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(due)},
    )
    assert reply.status == 200, reply
    # When EventBridge delivers it 90 seconds after its time
    clock.advance(minutes=1, seconds=90)
    outcome = fire(reply.body["_id"], "one_time", reply.body["scheduled_time"])
    assert outcome["outcome"] == "started", outcome
    # Then the lateness is fired - scheduled, in milliseconds, with the schedule id as metadata only
    (lateness,) = metrics.named("ScheduleFireLateness")
    assert (lateness.value, lateness.unit, lateness.dimensions) == (90_000, "Milliseconds", {})
    assert lateness.metadata == {"schedule_id": reply.body["_id"]}
    assert metrics.named("RunsStarted")[-1].dimensions["trigger"] == "schedule"
