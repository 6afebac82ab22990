"""One-time schedules over the /workflows/v1 handlers (seed 000), with the in-memory scheduler."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.schedules.conftest import count, create_workflow, fire, iso
from tests.support.api import call
from workflow_service.models.schedules import ScheduleKind, schedule_name

SEED_000_FIELDS = {
    "workflow_id",
    "scheduled_time",
    "team_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "_id",
    "status",
    "run_input",
    "version",
    "schedule_name",
    "scheduler_arn",
    "actual_run_id",
    "scheduled_by_name",
    "error_message",
}


def create(caller, workflow_id: str, **body):
    return call("create_workflow_schedule", caller=caller, path={"workflow_id": workflow_id}, body=body)


def nothing_written(services) -> bool:
    return count(services, "workflow_schedules") == 0 and services.schedules.scheduler.names() == []


def test_create_answers_the_seed_shape_and_creates_the_aws_schedule(services, caller, workflow, clock):
    # Given a workflow and a time one hour ahead
    when = clock.now() + timedelta(hours=1)
    # When a schedule is created
    reply = create(
        caller,
        workflow["_id"],
        scheduled_time=iso(when),
        scheduled_by_name="Alice",
        run_input={"dynamic_variables": {"reportType": "daily"}},
    )
    # Then it is pending with every seed-000 field, and EventBridge has a one-time schedule for it
    assert reply.status == 200, reply
    body = reply.body
    assert set(body) == SEED_000_FIELDS
    assert body["status"] == "pending" and body["workflow_id"] == workflow["_id"]
    assert body["scheduled_time"] == iso(when) and body["scheduled_time"].endswith("Z")
    assert body["team_id"] == caller.team_id and body["created_by"] == "alice"
    assert body["run_input"]["dynamic_variables"] == {"reportType": "daily"}
    assert body["version"] is None and body["actual_run_id"] is None and body["error_message"] is None
    name = schedule_name(ScheduleKind.ONE_TIME, body["_id"])
    assert body["schedule_name"] == name and body["scheduler_arn"].endswith(f"/{name}")
    definition = services.schedules.scheduler.get(name)
    assert definition is not None and definition.fire_at == when and definition.schedule_id == body["_id"]


def test_a_time_with_an_offset_is_stored_in_utc_to_the_second(caller, workflow):
    reply = create(caller, workflow["_id"], scheduled_time="2030-06-01T09:30:15.750+02:00")
    assert reply.status == 200, reply
    assert reply.body["scheduled_time"] == "2030-06-01T07:30:15Z"


def test_a_time_without_an_offset_is_taken_as_utc(services, caller, workflow):
    # Given a time with no offset, as the SDK sends datetime.utcnow() + timedelta(...)
    reply = create(caller, workflow["_id"], scheduled_time="2030-06-01T09:00:00")
    # Then it is scheduled at that time in UTC
    assert reply.status == 200, reply
    assert reply.body["scheduled_time"] == "2030-06-01T09:00:00Z"


@pytest.mark.parametrize(
    ("scheduled_time", "message_part"),
    [
        ("2029-12-31T12:00:00Z", "must be in the future"),
        ("2029-12-31T12:00:00", "must be in the future"),
        ("not a time", "datetime"),
    ],
)
def test_a_past_or_malformed_time_is_refused_naming_the_field_and_nothing_is_written(
    services, caller, workflow, scheduled_time, message_part
):
    reply = create(caller, workflow["_id"], scheduled_time=scheduled_time)
    assert reply.status == 422, reply
    [problem] = reply.body["detail"]
    assert problem["loc"] == ["body", "scheduled_time"]
    assert message_part in problem["msg"]
    assert nothing_written(services)


def test_scheduled_time_is_required(services, caller, workflow):
    reply = create(caller, workflow["_id"])
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "scheduled_time"]
    assert nothing_written(services)


def test_an_unknown_or_foreign_workflow_is_404_and_nothing_is_written(services, caller, other_caller, clock):
    foreign = create_workflow(other_caller)
    when = iso(clock.now() + timedelta(hours=1))
    for workflow_id in (foreign["_id"], "5eb7cf5a86d9755df3a6c593"):
        reply = create(caller, workflow_id, scheduled_time=when)
        assert reply.status == 404, reply
        assert workflow_id in reply.body["detail"]
    assert nothing_written(services)


def test_a_malformed_workflow_id_is_422_naming_the_path_parameter(services, caller, clock):
    reply = create(caller, "not-an-id", scheduled_time=iso(clock.now() + timedelta(hours=1)))
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["path", "workflow_id"]
    assert nothing_written(services)


def test_a_version_that_does_not_exist_is_refused_naming_the_field(services, caller, workflow, clock):
    reply = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1)), version=7)
    assert reply.status == 422, reply
    assert reply.body["detail"][0]["loc"] == ["body", "version"]
    assert nothing_written(services)


def test_an_existing_version_is_pinned(caller, workflow, clock):
    reply = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1)), version=0)
    assert reply.status == 200 and reply.body["version"] == 0


def test_run_input_must_start_a_run_of_this_workflow(services, caller, workflow, other_caller, clock):
    when = iso(clock.now() + timedelta(hours=1))
    reply = create(caller, workflow["_id"], scheduled_time=when, run_input={"command": "data"})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "run_input", "command"]
    other = create_workflow(other_caller)
    reply = create(caller, workflow["_id"], scheduled_time=when, run_input={"workflow_id": other["_id"]})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "run_input", "workflow_id"]
    reply = create(caller, workflow["_id"], scheduled_time=when, unknown_field=1)
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "unknown_field"]
    assert nothing_written(services)


def test_lists_are_bare_arrays_filtered_by_status_with_skip_and_limit(caller, other_caller, workflow, clock):
    # Given three schedules, one of them cancelled, and another team's schedule
    ids = [
        create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=hours))).body["_id"]
        for hours in (3, 1, 2)
    ]
    call("cancel_workflow_schedule", caller=caller, path={"schedule_id": ids[2]})
    foreign = create_workflow(other_caller)
    create(other_caller, foreign["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1)))
    # When the team's schedules are listed
    everything = call("list_team_workflow_schedules", caller=caller)
    # Then it is a bare array of this team's schedules, soonest first
    assert everything.status == 200 and isinstance(everything.body, list)
    assert [s["_id"] for s in everything.body] == [ids[1], ids[2], ids[0]]
    pending = call("list_team_workflow_schedules", caller=caller, query={"status": "pending"})
    assert [s["_id"] for s in pending.body] == [ids[1], ids[0]]
    page = call("list_team_workflow_schedules", caller=caller, query={"skip": 1, "limit": 1})
    assert [s["_id"] for s in page.body] == [ids[2]]
    per_workflow = call("list_workflow_schedules", caller=caller, path={"workflow_id": workflow["_id"]})
    assert len(per_workflow.body) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"skip": -1}, "skip"), ({"status": "done"}, "status")],
)
def test_list_parameters_out_of_range_are_422(caller, query, field):
    reply = call("list_team_workflow_schedules", caller=caller, query=query)
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["query", field]


def test_another_teams_schedules_and_workflows_are_404(caller, other_caller, workflow, clock):
    created = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1))).body
    assert call("get_workflow_schedule", caller=other_caller, path={"schedule_id": created["_id"]}).status == 404
    assert call("list_workflow_schedules", caller=other_caller, path={"workflow_id": workflow["_id"]}).status == 404
    patch = call(
        "update_workflow_schedule",
        caller=other_caller,
        path={"schedule_id": created["_id"]},
        body={"scheduled_by_name": "x"},
    )
    assert patch.status == 422  # scheduled_by_name is not updatable: refused before any lookup
    moved = call(
        "update_workflow_schedule",
        caller=other_caller,
        path={"schedule_id": created["_id"]},
        body={"scheduled_time": iso(clock.now() + timedelta(hours=5))},
    )
    assert moved.status == 404
    assert call("cancel_workflow_schedule", caller=other_caller, path={"schedule_id": created["_id"]}).status == 404
    mine = call("get_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]})
    assert mine.body["status"] == "pending"


def test_moving_a_pending_schedule_moves_its_aws_schedule(services, caller, workflow, clock):
    created = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1))).body
    later = clock.now() + timedelta(days=1)
    clock.advance(seconds=5)
    reply = call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": created["_id"]},
        body={"scheduled_time": iso(later), "run_input": {"dynamic_variables": {"x": 1}}},
    )
    assert reply.status == 200, reply
    assert reply.body["scheduled_time"] == iso(later) and reply.body["run_input"]["dynamic_variables"] == {"x": 1}
    assert reply.body["updated_at"] == iso(clock.now())
    assert services.schedules.scheduler.get(created["schedule_name"]).fire_at == later
    stored = call("get_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).body
    assert stored == reply.body


def test_patch_refuses_a_past_time_a_null_time_and_a_missing_version_changing_nothing(
    services, caller, workflow, clock
):
    created = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1))).body
    path = {"schedule_id": created["_id"]}
    for body, loc in [
        ({"scheduled_time": iso(clock.now() - timedelta(minutes=1))}, ["body", "scheduled_time"]),
        ({"scheduled_time": None}, ["body", "scheduled_time"]),
        ({"version": 3}, ["body", "version"]),
    ]:
        reply = call("update_workflow_schedule", caller=caller, path=path, body=body)
        assert reply.status == 422 and reply.body["detail"][0]["loc"] == loc, reply
    assert call("get_workflow_schedule", caller=caller, path=path).body == created
    assert iso(services.schedules.scheduler.get(created["schedule_name"]).fire_at) == created["scheduled_time"]


def test_a_schedule_that_already_fired_cannot_be_updated_or_cancelled(services, caller, workflow, clock):
    # Given a schedule that has fired (in progress)
    created = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(minutes=1))).body
    clock.advance(minutes=1)
    assert fire(created["_id"], "one_time", created["scheduled_time"])["outcome"] == "started"
    path = {"schedule_id": created["_id"]}
    before = call("get_workflow_schedule", caller=caller, path=path).body
    # When it is updated or cancelled
    update = call(
        "update_workflow_schedule",
        caller=caller,
        path=path,
        body={"scheduled_time": iso(clock.now() + timedelta(hours=1))},
    )
    cancel = call("cancel_workflow_schedule", caller=caller, path=path)
    # Then both are 409 and nothing changed
    assert update.status == 409 and "in_progress" in update.body["detail"]
    assert cancel.status == 409
    assert call("get_workflow_schedule", caller=caller, path=path).body == before


def test_cancel_keeps_the_record_as_cancelled_and_deletes_the_aws_schedule(services, caller, workflow, clock):
    created = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1))).body
    path = {"schedule_id": created["_id"]}
    reply = call("cancel_workflow_schedule", caller=caller, path=path)
    assert reply.status == 204 and reply.raw == ""
    assert call("get_workflow_schedule", caller=caller, path=path).body["status"] == "cancelled"
    assert services.schedules.scheduler.get(created["schedule_name"]) is None
    # Repeating the cancel is harmless; changing a cancelled schedule is not allowed
    assert call("cancel_workflow_schedule", caller=caller, path=path).status == 204
    update = call("update_workflow_schedule", caller=caller, path=path, body={"run_input": {}})
    assert update.status == 409 and "cancelled" in update.body["detail"]


def test_deleting_the_workflow_cancels_its_pending_schedules_and_their_aws_schedules(services, caller, workflow, clock):
    created = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1))).body
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow["_id"]}).status == 200
    stored = call("get_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).body
    assert stored["status"] == "cancelled" and "workflow was deleted" in stored["error_message"]
    assert services.schedules.scheduler.names() == []


def test_racing_time_changes_leave_eventbridge_on_the_time_mongodb_kept(services, caller, workflow, clock, monkeypatch):
    schedule_id = create(caller, workflow["_id"], scheduled_time=iso(clock.now() + timedelta(hours=1))).body["_id"]
    first, second = clock.now() + timedelta(hours=2), clock.now() + timedelta(hours=3)
    scheduler = services.schedules.scheduler
    original_update = scheduler.update
    raced = []

    def update_after_a_racing_patch(definition):
        # Given the first PATCH's AWS call is overtaken: the second PATCH writes MongoDB and AWS first
        if not raced:
            raced.append(True)
            reply = call(
                "update_workflow_schedule",
                caller=caller,
                path={"schedule_id": schedule_id},
                body={"scheduled_time": iso(second)},
            )
            assert reply.status == 200, reply
        return original_update(definition)

    monkeypatch.setattr(scheduler, "update", update_after_a_racing_patch)
    # When the first PATCH's (now stale) AWS update lands last
    reply = call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": schedule_id},
        body={"scheduled_time": iso(first)},
    )
    # Then it re-reads MongoDB and pushes the surviving time: both agree on the second PATCH's time
    assert reply.status == 200 and reply.body["scheduled_time"] == iso(second)
    stored = services.schedules.one_time_repository.get(caller.team_id, schedule_id)
    aws = scheduler.get(schedule_name(ScheduleKind.ONE_TIME, schedule_id))
    assert stored.scheduled_time == second and aws.fire_at == second


def test_the_seeds_own_example_body_is_accepted_and_its_run_starts_in_the_callers_team(
    services, caller, workflow, clock
):
    # Given seed 000's example body: a foreign run id and team id, an empty initial_state, a start node
    run_input = {
        "dynamic_variables": {"name": "Ann"},
        "runtime_variables": {},
        "miscellaneous": {},
        "command": "start",
        "workflow_id": workflow["_id"],
        "version_number": 0,
        "run_by": "scheduler-bot",
        "workflow_run_id": "5eb7cf5a86d9755df3a6c593",
        "team_id": "someone-elses-team",
        "start_node_logical_id": "hello",
        "initial_state": {},
        "thread_to_node_inputs": {},
    }
    when = clock.now() + timedelta(hours=1)
    # When it is created
    reply = create(caller, workflow["_id"], scheduled_time=iso(when), run_input=run_input, version=0)
    # Then the stored input names the caller's team and no run id, and initial_state {} means none
    assert reply.status == 200, reply
    stored = reply.body["run_input"]
    assert stored["team_id"] == caller.team_id and stored["workflow_run_id"] is None
    assert stored["initial_state"] is None
    # And when it fires, a new run of the caller's team starts and runs (rather than failing later)
    clock.advance(hours=1)
    fired = fire(reply.body["_id"], "one_time", iso(when))
    assert fired["outcome"] == "started", fired
    run = services.runs.repository.get(caller.team_id, fired["run_id"])
    assert run is not None and run.workflow_run.status.value != "failed", run.workflow_run.error


def test_a_start_node_the_version_lacks_is_refused_at_create_and_update(services, caller, workflow, clock):
    when = iso(clock.now() + timedelta(hours=1))
    # When a schedule would start its run at a node the workflow's version does not have
    reply = create(caller, workflow["_id"], scheduled_time=when, run_input={"start_node_logical_id": "nowhere"})
    # Then it is refused now, naming the field, instead of failing when it fires
    assert reply.status == 422, reply
    assert reply.body["detail"][0]["loc"] == ["body", "run_input", "start_node_logical_id"]
    assert "has no node 'nowhere'" in reply.body["detail"][0]["msg"]
    assert nothing_written(services)
    # And a PATCH that would do the same is refused and changes nothing
    created = create(caller, workflow["_id"], scheduled_time=when)
    patch = call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": created.body["_id"]},
        body={"run_input": {"start_node_logical_id": "nowhere"}},
    )
    assert patch.status == 422 and patch.body["detail"][0]["loc"] == ["body", "run_input", "start_node_logical_id"]
    assert services.schedules.one_time.get(caller.team_id, created.body["_id"]).run_input is None
