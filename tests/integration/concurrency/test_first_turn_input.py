"""A run's first turn starts the workflow with the input it was queued with, whichever command runs it."""

from __future__ import annotations

from tests.integration.concurrency.helpers import make_team, make_workflow, status_of
from tests.support.api import Caller, call
from tests.support.workflows import greeting_workflow
from workflow_service.models.runs import RunTrigger, TriggerType, WorkflowRunInput


def test_a_run_paused_before_its_first_turn_and_resumed_starts_with_its_queued_input(services):
    # Given a run started asynchronously with dynamic variables, admitted but not yet run by a worker
    team_id = make_team(services, limit=2)
    workflow_id = make_workflow(services, team_id, config=greeting_workflow())
    caller = Caller(team_id, "alice")
    run = services.runs.submission.submit(
        caller,
        workflow_id,
        None,
        WorkflowRunInput(dynamic_variables={"reportType": "weekly"}),
        RunTrigger(type=TriggerType.WEBHOOK),
    )
    assert status_of(services, run.id) == "started"
    # When the user pauses it and then resumes it, adding a variable of their own
    body = {"workflow_run_id": run.id}
    assert call("start_or_resume_workflow_run", caller=caller, body={**body, "command": "pause"}).status == 200
    resumed = call(
        "start_or_resume_workflow_run",
        caller=caller,
        body={**body, "command": "resume", "dynamic_variables": {"audience": "board"}},
    )
    # Then its first turn ran with the variables it was queued with, and the resume's added to them
    assert resumed.status == 200, resumed
    (pair,) = resumed.body["workflow_run"]["workflow_run"]["input_output_pairs"]
    assert pair["run_input"]["dynamic_variables"] == {"reportType": "weekly", "audience": "board"}
    said = [event["message"] for event in pair["run_output"]["events"] if event["type"] == "say_static"]
    assert said == ["Report weekly"]
