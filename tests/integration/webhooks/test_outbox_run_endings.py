"""The runs the service itself ends (not a turn, not the user's stop) get their workflow_run_completed
event: the terminal write carries the owning team's outbox marker, and the event is written and sent from
it. (A recurring schedule's cancel_previous: tests/integration/schedules/test_schedule_policies.py.)"""

from __future__ import annotations

from tests.support.api import call
from tests.support.webhook_outbox import execute, make_workflow, stored_run
from workflow_service.ports.webhooks import WebhookAction


def completion_of(hooks, run_id: str):
    """The run's one workflow_run_completed event."""
    events = [e for e in hooks.of(WebhookAction.WORKFLOW_RUN_COMPLETED) if e.workflow_run_id == run_id]
    assert len(events) == 1, f"run {run_id} has {len(events)} workflow_run_completed events"
    return events[0]


def test_the_live_runs_of_a_deleted_workflow_emit_their_completion(caller, services, hooks):
    # Given a subscribed team's workflow with a run waiting for input
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    # When the workflow is deleted
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status in (200, 204)
    # Then the run it cancelled has its completion event, handed to delivery, and no marker left
    completed = completion_of(hooks, run_id)
    assert completed.dedupe_key == f"workflow_run_completed:{run_id}:cancelled"
    assert completed.payload["termination_source"] == "workflow_deleted"
    assert completed.event_id in hooks.queue.drain()
    assert not stored_run(services, run_id)["workflow_run"].get("webhook_outbox")


def test_a_run_the_reaper_fails_emits_its_completion(caller, services, hooks, clock):
    # Given a subscribed team's run waiting for input
    hooks.subscribe(caller.team_id)
    workflow_id = make_workflow(caller)
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    # When its input deadline passes and the reaper fails it
    clock.advance(seconds=services.settings.reaper.input_timeout_seconds + 1)
    assert services.reaper.service.reap()["input_expired"] == 1
    # Then its completion event was written by the reaper's own write, not re-emitted from a lost marker
    completed = completion_of(hooks, run_id)
    assert completed.dedupe_key == f"workflow_run_completed:{run_id}:failed"
    assert completed.payload["termination_source"] == "stale_run_reaper"
    assert completed.event_id in hooks.queue.drain()
    assert not stored_run(services, run_id)["workflow_run"].get("webhook_outbox")
    assert services.reaper.service.reap()["webhook_markers_reemitted"] == 0
