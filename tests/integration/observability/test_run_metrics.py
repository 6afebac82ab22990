"""The metrics a run emits, through the real handlers and wiring (in-memory metrics sink)."""

from __future__ import annotations

from tests.support.api import Caller, call
from tests.support.workflows import waiting_workflow

ONE_NODE = {"nodes": [{"logical_id": "only", "type": "no_op", "is_start": True}]}


def make_workflow(caller, config) -> str:
    reply = call("create_workflow", caller=caller, body={"name": "metered", "workflow_config": config})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def test_an_executed_run_emits_runs_started_and_runs_finished_with_trigger_and_status(caller, metrics):
    workflow_id = make_workflow(caller, ONE_NODE)
    # When a one-node run is executed to its end
    reply = call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"run_input": {}})
    assert reply.status == 200 and reply.body["status"] == "completed", reply
    run_id = reply.body["run_id"]
    # Then it was counted once started and once finished, dimensioned by trigger and status only
    (started,) = metrics.named("RunsStarted")
    (finished,) = metrics.named("RunsFinished")
    assert (started.value, started.unit, started.dimensions) == (1, "Count", {"trigger": "manual", "status": "started"})
    assert finished.dimensions == {"trigger": "manual", "status": "completed"}
    # And its ids travel as metadata, never as dimensions
    assert finished.metadata == {"run_id": run_id, "team_id": caller.team_id, "workflow_id": workflow_id}
    (turn,) = metrics.named("TurnDuration")
    assert turn.unit == "Milliseconds" and turn.value >= 0 and turn.dimensions == {}


def test_a_run_queued_behind_a_full_team_is_refused_then_waits_and_starts(services, metrics):
    # Given a team with one slot, held by a run waiting for input
    team = services.auth.service.create_team("Small team", max_concurrent_runs=1)
    key = services.auth.service.create_key(team.id, "carol", "test key")
    caller = Caller(team_id=team.id, user_id="carol", api_key=key.plaintext)
    workflow_id = make_workflow(caller, waiting_workflow())
    holder = call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"run_input": {}})
    assert holder.body["status"] == "waiting_for_user_input", holder
    # When a second run is submitted, it is queued: the team scope refused it a slot
    queued = call("start_or_resume_workflow_run", caller=caller, body={"workflow_id": workflow_id})
    assert queued.body["workflow_run"]["workflow_run"]["status"] == "not_started", queued
    assert [m.dimensions for m in metrics.named("RunsStarted")] == [
        {"trigger": "manual", "status": "started"},
        {"trigger": "manual", "status": "queued"},
    ]
    assert {"scope": "team"} in [m.dimensions for m in metrics.named("AdmissionRefused")]
    # And once the holder is stopped, the queued run starts and its wait in the queue is measured
    stopped = call(
        "start_or_resume_workflow_run",
        caller=caller,
        body={"command": "stop", "workflow_run_id": holder.body["run_id"]},
    )
    assert stopped.status == 200, stopped
    (wait,) = metrics.named("QueueWait")
    assert wait.unit == "Milliseconds" and wait.value >= 0
    assert wait.metadata["run_id"] == queued.body["workflow_run"]["_id"]
    assert metrics.named("QueueDepth")[-1].value == 0
    assert {"trigger": "manual", "status": "cancelled"} in [m.dimensions for m in metrics.named("RunsFinished")]
