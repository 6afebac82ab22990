"""Recurring schedules under /workflows/v1: validation, AWS state, firings, history and previews."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.schedules.conftest import count, create_workflow, finish_first_turn, fire
from tests.support.api import call
from workflow_service.models.runs import TerminationSource
from workflow_service.models.schedules import ScheduleKind, schedule_name

WEEKDAYS_9AM = "0 9 * * MON-FRI"


def create(caller, workflow_id: str, **body):
    return call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"cron_expression": WEEKDAYS_9AM, "timezone": "America/New_York", **body},
    )


def nothing_written(services) -> bool:
    return count(services, "recurring_schedules") == 0 and services.schedules.scheduler.names() == []


def test_create_stores_the_translation_and_the_next_run(services, caller, workflow):
    # Given "now" is Tuesday 2030-01-01 12:00 UTC (07:00 in New York)
    reply = create(caller, workflow["_id"], input_data=[{"json": {"reportType": "daily"}}])
    assert reply.status == 200, reply
    body = reply.body
    # Then the next run is 09:00 New York the same day, in UTC, and EventBridge gets the exact translation
    assert body["next_run"] == "2030-01-01T14:00:00Z"
    assert body["eventbridge_expression"] == "cron(0 9 ? * 2-6 *)"
    assert body["workflow_name"] == "Daily Report" and body["enabled"] is True
    assert body["run_count"] == body["success_count"] == body["failure_count"] == 0
    assert body["last_run"] is None and body["last_status"] is None
    assert body["input_data"] == [{"json": {"reportType": "daily"}}]
    definition = services.schedules.scheduler.get(schedule_name(ScheduleKind.RECURRING, body["_id"]))
    assert definition.cron_expression == WEEKDAYS_9AM and definition.timezone == "America/New_York"
    assert definition.enabled is True


@pytest.mark.parametrize(
    ("body", "loc", "message_part"),
    [
        ({"cron_expression": "61 9 * * *"}, ["body", "cron_expression"], "minute value 61"),
        ({"cron_expression": "0 9 * *"}, ["body", "cron_expression"], "5"),
        ({"cron_expression": "0 9 1 * MON"}, ["body", "cron_expression"], "EITHER"),
        ({"cron_expression": "0 9 L * *"}, ["body", "cron_expression"], "day-of-month"),
        ({"cron_expression": "* * 31 2 *"}, ["body", "cron_expression"], "never fires"),
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"], "unknown time zone"),
        ({"cron_expression": ""}, ["body", "cron_expression"], "at least 1"),
        ({"version": 4}, ["body", "version"], "does not exist"),
        ({"input_data": [{"data": {}}]}, ["body", "input_data", 0, "json"], "required"),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_nothing_is_written(
    services, caller, workflow, body, loc, message_part
):
    reply = create(caller, workflow["_id"], **body)
    assert reply.status == 422, reply
    problem = reply.body["detail"][0]
    assert problem["loc"] == loc and message_part in problem["msg"], problem
    assert nothing_written(services)


def test_unknown_and_foreign_workflows_are_404(services, caller, other_caller):
    foreign = create_workflow(other_caller)
    for workflow_id in (foreign["_id"], "5eb7cf5a86d9755df3a6c593"):
        assert create(caller, workflow_id).status == 404
    assert nothing_written(services)


def test_the_same_expression_and_zone_twice_for_a_workflow_is_409(services, caller, workflow):
    assert create(caller, workflow["_id"]).status == 200
    duplicate = create(caller, workflow["_id"], cron_expression="0 9 * * mon-fri")
    assert duplicate.status == 409 and duplicate.body["detail"] == "Schedule already exists for this workflow"
    assert create(caller, workflow["_id"], timezone="Europe/London").status == 200
    assert count(services, "recurring_schedules") == 2 and len(services.schedules.scheduler.names()) == 2


def test_disable_and_enable_map_to_the_aws_state_and_next_run(services, caller, workflow):
    created = create(caller, workflow["_id"]).body
    path = {"schedule_id": created["_id"]}
    name = created["schedule_name"]
    disabled = call("disable_recurring_schedule", caller=caller, path=path)
    assert disabled.status == 200 and disabled.body["enabled"] is False and disabled.body["next_run"] is None
    assert (
        services.schedules.scheduler.get(name).enabled is False and services.schedules.scheduler.next_due(name) is None
    )
    enabled = call("enable_recurring_schedule", caller=caller, path=path)
    assert enabled.body["enabled"] is True and enabled.body["next_run"] == "2030-01-01T14:00:00Z"
    assert services.schedules.scheduler.get(name).enabled is True


def test_update_changes_the_aws_schedule_and_a_clash_changes_nothing(services, caller, workflow):
    first = create(caller, workflow["_id"]).body
    second = create(caller, workflow["_id"], cron_expression="30 6 * * *").body
    path = {"schedule_id": second["_id"]}
    moved = call(
        "update_recurring_schedule",
        caller=caller,
        path=path,
        body={"cron_expression": "15 7 1 * *", "timezone": "Europe/London"},
    )
    assert moved.status == 200, moved
    assert moved.body["eventbridge_expression"] == "cron(15 7 1 * ? *)"
    assert moved.body["next_run"] == "2030-02-01T07:15:00Z"
    assert services.schedules.scheduler.get(second["schedule_name"]).cron_expression == "15 7 1 * *"
    clash = call(
        "update_recurring_schedule",
        caller=caller,
        path=path,
        body={"cron_expression": first["cron_expression"], "timezone": first["timezone"]},
    )
    assert clash.status == 409
    bad = call("update_recurring_schedule", caller=caller, path=path, body={"cron_expression": "0 25 * * *"})
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["body", "cron_expression"]
    current = call("get_recurring_schedule", caller=caller, path=path).body
    assert current["cron_expression"] == "15 7 1 * *" and current["timezone"] == "Europe/London"
    assert services.schedules.scheduler.get(second["schedule_name"]).timezone == "Europe/London"


def test_delete_removes_the_schedule_its_aws_schedule_and_its_history(services, caller, workflow, clock):
    created = create(caller, workflow["_id"]).body
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")
    path = {"schedule_id": created["_id"]}
    assert call("delete_recurring_schedule", caller=caller, path=path).status == 204
    assert call("get_recurring_schedule", caller=caller, path=path).status == 404
    assert services.schedules.scheduler.names() == [] and count(services, "recurring_schedule_history") == 0
    assert call("delete_recurring_schedule", caller=caller, path=path).status == 404


def test_each_firing_is_one_run_one_history_row_and_counted_once(services, caller, workflow, clock):
    # Given a schedule with input data, at its first firing time
    created = create(
        caller, workflow["_id"], input_data=[{"json": {"reportType": "daily", "a": 1}}, {"json": {"a": 2}}]
    ).body
    clock.current = datetime(2030, 1, 1, 14, 0, 0, 400_000, tzinfo=UTC)
    # When EventBridge delivers the firing twice
    first = fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")
    second = fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")
    # Then one run exists, keyed by the firing, with the merged input data as dynamic variables
    assert first["outcome"] == "started" and second["outcome"] == "duplicate"
    assert second["run_id"] == first["run_id"]
    assert count(services, "workflow_runs") == 1
    run = services.runs.queries.get(caller.team_id, first["run_id"]).workflow_run
    assert run.trigger.recurring_schedule_id == created["_id"]
    path = {"schedule_id": created["_id"]}
    running = call("get_recurring_schedule", caller=caller, path=path).body
    assert running["run_count"] == 1 and running["last_status"] == "running"
    assert running["last_run"] == "2030-01-01T14:00:00Z" and running["next_run"] == "2030-01-02T14:00:00Z"
    # When the run finishes two seconds later
    clock.advance(seconds=2)
    finished = finish_first_turn(services, first["run_id"])
    assert finished["input_output_pairs"][0]["run_input"]["dynamic_variables"] == {"reportType": "daily", "a": 2}
    # Then the history row and the counters record the success once
    history = call("get_recurring_schedule_history", caller=caller, path=path)
    assert history.status == 200 and history.body["total"] == 1
    [row] = history.body["history"]
    assert row == {
        "execution_id": first["run_id"],
        "scheduled_time": "2030-01-01T14:00:00Z",
        "started_at": "2030-01-01T14:00:00.400Z",
        "finished_at": "2030-01-01T14:00:02.400Z",
        "status": "success",
        "duration_ms": 2000,
        "error": None,
    }
    done = call("get_recurring_schedule", caller=caller, path=path).body
    assert (done["run_count"], done["success_count"], done["failure_count"]) == (1, 1, 0)
    assert done["last_status"] == "success"


def test_a_failed_firing_counts_as_a_failure_with_its_error(services, caller, workflow, clock):
    created = create(caller, workflow["_id"]).body
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    run_id = fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")["run_id"]
    services.runs.lifecycle.fail_run(
        run_id,
        "HTTP request timeout",
        TerminationSource.EXECUTION_ERROR,
        ["not_started", "started", "running"],
        team_id=caller.team_id,
    )
    path = {"schedule_id": created["_id"]}
    [row] = call("get_recurring_schedule_history", caller=caller, path=path).body["history"]
    assert row["status"] == "failed" and row["error"] == "HTTP request timeout"
    current = call("get_recurring_schedule", caller=caller, path=path).body
    assert (current["run_count"], current["success_count"], current["failure_count"]) == (1, 0, 1)
    assert current["last_status"] == "failed"


def test_a_disabled_or_deleted_schedule_fires_into_a_no_op(services, caller, workflow, clock):
    created = create(caller, workflow["_id"]).body
    call("disable_recurring_schedule", caller=caller, path={"schedule_id": created["_id"]})
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    assert fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")["outcome"] == "skipped"
    call("delete_recurring_schedule", caller=caller, path={"schedule_id": created["_id"]})
    assert fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")["outcome"] == "skipped"
    assert count(services, "workflow_runs") == 0


def test_a_firing_whose_workflow_is_gone_is_recorded_as_failed(services, caller, workflow, clock):
    created = create(caller, workflow["_id"], version=0).body
    services.core.database.raw["workflow_versions"].delete_many({"workflow_id": workflow["_id"]})
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    assert fire(created["_id"], "recurring", "2030-01-01T14:00:00Z")["outcome"] == "failed"
    path = {"schedule_id": created["_id"]}
    [row] = call("get_recurring_schedule_history", caller=caller, path=path).body["history"]
    assert row["status"] == "failed" and row["execution_id"] is None and "could not start" in row["error"]
    assert call("get_recurring_schedule", caller=caller, path=path).body["failure_count"] == 1


def test_list_filters_by_workflow_and_state_and_isolates_teams(caller, other_caller, workflow):
    other_workflow = create_workflow(caller, name="Other")
    a = create(caller, workflow["_id"]).body
    b = create(caller, other_workflow["_id"]).body
    call("disable_recurring_schedule", caller=caller, path={"schedule_id": b["_id"]})
    foreign = create_workflow(other_caller)
    create(other_caller, foreign["_id"])
    everything = call("list_recurring_schedules", caller=caller).body
    assert [s["_id"] for s in everything["recurring_schedules"]] == [a["_id"], b["_id"]] and everything["total"] == 2
    assert [s["workflow_name"] for s in everything["recurring_schedules"]] == ["Daily Report", "Other"]
    enabled = call("list_recurring_schedules", caller=caller, query={"enabled": True}).body
    assert [s["_id"] for s in enabled["recurring_schedules"]] == [a["_id"]]
    by_workflow = call("list_recurring_schedules", caller=caller, query={"workflow_id": other_workflow["_id"]}).body
    assert by_workflow["total"] == 1 and by_workflow["recurring_schedules"][0]["enabled"] is False
    assert call("get_recurring_schedule", caller=other_caller, path={"schedule_id": a["_id"]}).status == 404


def test_deleting_the_workflow_deletes_its_recurring_schedules(services, caller, workflow):
    created = create(caller, workflow["_id"]).body
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow["_id"]}).status == 200
    assert call("get_recurring_schedule", caller=caller, path={"schedule_id": created["_id"]}).status == 404
    assert services.schedules.scheduler.names() == []


def test_preview_lists_utc_fire_times_skipping_the_spring_gap(caller):
    # 02:30 does not exist in New York on 2030-03-10 (clocks jump from 02:00 to 03:00)
    reply = call(
        "preview_schedule",
        caller=caller,
        body={
            "cron_expression": "30 2 * * *",
            "timezone": "America/New_York",
            "start": "2030-03-08T12:00:00Z",
            "count": 3,
        },
    )
    assert reply.status == 200, reply
    assert reply.body["fire_times"] == ["2030-03-09T07:30:00Z", "2030-03-11T06:30:00Z", "2030-03-12T06:30:00Z"]
    assert reply.body["eventbridge_expression"] == "cron(30 2 * * ? *)"


def test_preview_fires_an_ambiguous_fall_time_once(caller):
    # 01:30 happens twice in London on 2030-10-27; EventBridge fires the first one only
    reply = call(
        "preview_schedule",
        caller=caller,
        body={
            "cron_expression": "30 1 * * *",
            "timezone": "Europe/London",
            "start": "2030-10-26T12:00:00Z",
            "count": 2,
        },
    )
    assert reply.body["fire_times"] == ["2030-10-27T00:30:00Z", "2030-10-28T01:30:00Z"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"cron_expression": "* * * * *", "count": 101}, ["body", "count"]),
        ({"cron_expression": "* * * * *", "start": "2030-01-01T00:00:00"}, ["body", "start"]),
        ({"cron_expression": "0 0 31 2 MON"}, ["body", "cron_expression"]),
    ],
)
def test_preview_refuses_bad_input_naming_the_field(caller, body, loc):
    reply = call("preview_schedule", caller=caller, body=body)
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == loc


def test_racing_changes_leave_eventbridge_on_what_mongodb_kept(services, caller, workflow, monkeypatch):

    created = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "0 9 * * *", "timezone": "UTC"},
    )
    assert created.status == 200, created
    schedule_id = created.body["_id"]
    scheduler = services.schedules.scheduler
    original_update = scheduler.update
    raced = []

    def update_after_a_racing_change(definition):
        # Given the disable's AWS call is overtaken by a cron change that writes MongoDB and AWS first
        if not raced:
            raced.append(True)
            reply = call(
                "update_recurring_schedule",
                caller=caller,
                path={"schedule_id": schedule_id},
                body={"cron_expression": "30 10 * * *"},
            )
            assert reply.status == 200, reply
        return original_update(definition)

    monkeypatch.setattr(scheduler, "update", update_after_a_racing_change)
    reply = call("disable_recurring_schedule", caller=caller, path={"schedule_id": schedule_id})
    assert reply.status == 200
    # Then AWS holds MongoDB's final state: the new expression, disabled
    stored = services.schedules.recurring_repository.get(caller.team_id, schedule_id)
    aws = scheduler.get(schedule_name(ScheduleKind.RECURRING, schedule_id))
    assert stored.cron_expression == aws.cron_expression == "30 10 * * *"
    assert stored.enabled is False and aws.enabled is False
