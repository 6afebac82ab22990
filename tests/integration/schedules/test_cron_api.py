"""Seed 002's Schedules API (/api/v1/schedules): shapes, filters, errors and history, exactly as documented."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.schedules.conftest import count, create_workflow, finish_first_turn, fire
from tests.support.api import call
from workflow_service.models.runs import TerminationSource

SEED_SCHEDULE_FIELDS = {
    "id",
    "workflowId",
    "workflowName",
    "cronExpression",
    "timezone",
    "enabled",
    "inputData",
    "nextRun",
    "lastRun",
    "lastStatus",
    "runCount",
    "successCount",
    "failureCount",
    "createdAt",
    "updatedAt",
}
# Issue 14's policies: extra fields beside seed 002's, in every answer.
POLICY_FIELDS = {"overlapPolicy", "flexibleWindowMinutes", "startAt", "endAt"}


def create(caller, workflow_id: str, **body):
    return call(
        "api_create_schedule",
        caller=caller,
        body={
            "workflowId": workflow_id,
            "cronExpression": "0 9 * * MON-FRI",
            "timezone": "America/New_York",
            "enabled": True,
            "inputData": [{"json": {"reportType": "daily"}}],
            **body,
        },
    )


def test_create_is_201_with_the_seed_fields_and_local_next_run(caller, workflow):
    reply = create(caller, workflow["_id"])
    assert reply.status == 201, reply
    body = reply.body
    assert set(body) == SEED_SCHEDULE_FIELDS | POLICY_FIELDS | {"dstPolicy"}
    assert body["workflowId"] == workflow["_id"] and body["workflowName"] == "Daily Report"
    assert body["cronExpression"] == "0 9 * * MON-FRI" and body["timezone"] == "America/New_York"
    assert body["nextRun"] == "2030-01-01T09:00:00-05:00"
    assert body["createdAt"] == "2030-01-01T12:00:00Z" and body["updatedAt"] == "2030-01-01T12:00:00Z"
    assert body["inputData"] == [{"json": {"reportType": "daily"}}]
    assert body["lastRun"] is None and body["runCount"] == 0


def test_timezone_defaults_to_utc_and_enabled_to_true(caller, workflow):
    reply = call(
        "api_create_schedule", caller=caller, body={"workflowId": workflow["_id"], "cronExpression": "0 0 1 * *"}
    )
    assert reply.status == 201
    assert reply.body["timezone"] == "UTC" and reply.body["enabled"] is True
    assert reply.body["nextRun"] == "2030-02-01T00:00:00Z" and reply.body["inputData"] == []


def test_get_and_list_with_filters(caller, other_caller, workflow):
    second_workflow = create_workflow(caller, name="Weekly")
    first = create(caller, workflow["_id"]).body
    second = create(caller, second_workflow["_id"], cronExpression="0 0 * * 0").body
    call("api_disable_schedule", caller=caller, path={"id": second["id"]})
    foreign = create_workflow(other_caller)
    create(other_caller, foreign["_id"])

    got = call("api_get_schedule", caller=caller, path={"id": first["id"]})
    assert got.status == 200 and got.body == first
    everything = call("api_list_schedules", caller=caller)
    assert everything.status == 200 and set(everything.body) == {"data", "total"}
    assert [s["id"] for s in everything.body["data"]] == [first["id"], second["id"]] and everything.body["total"] == 2
    assert [s["workflowName"] for s in everything.body["data"]] == ["Daily Report", "Weekly"]
    enabled = call("api_list_schedules", caller=caller, query={"enabled": "true"}).body
    assert [s["id"] for s in enabled["data"]] == [first["id"]] and enabled["total"] == 1
    disabled = call("api_list_schedules", caller=caller, query={"enabled": "false"}).body
    assert [s["id"] for s in disabled["data"]] == [second["id"]] and disabled["data"][0]["nextRun"] is None
    by_workflow = call("api_list_schedules", caller=caller, query={"workflowId": second_workflow["_id"]}).body
    assert [s["id"] for s in by_workflow["data"]] == [second["id"]]


def test_errors_use_the_seed_envelope(services, caller, other_caller, workflow):
    bad_cron = create(caller, workflow["_id"], cronExpression="0 9 * * FUNDAY")
    assert bad_cron.status == 400, bad_cron
    assert bad_cron.body["code"] == "VALIDATION_ERROR" and bad_cron.body["error"] == "Invalid cronExpression"
    assert "FUNDAY" in bad_cron.body["details"]["cronExpression"]
    bad_zone = create(caller, workflow["_id"], timezone="Nowhere/City")
    assert bad_zone.status == 400 and set(bad_zone.body["details"]) == {"timezone"}
    both_days = create(caller, workflow["_id"], cronExpression="0 9 1 * MON")
    assert both_days.status == 400 and "EITHER" in both_days.body["details"]["cronExpression"]
    missing = call("api_create_schedule", caller=caller, body={"workflowId": workflow["_id"]})
    assert missing.status == 400 and set(missing.body["details"]) == {"cronExpression"}
    foreign = create_workflow(other_caller)
    for workflow_id in (foreign["_id"], "5eb7cf5a86d9755df3a6c593"):
        unknown = create(caller, workflow_id)
        assert unknown.status == 400 and set(unknown.body["details"]) == {"workflowId"}, unknown
    assert count(services, "recurring_schedules") == 0 and services.schedules.scheduler.names() == []

    not_found = call("api_get_schedule", caller=caller, path={"id": "5eb7cf5a86d9755df3a6c593"})
    assert not_found.status == 404 and not_found.body == {"error": "Schedule not found", "code": "NOT_FOUND"}
    # An id that cannot exist (the seed's own example style) is simply not found, as the seed documents.
    foreign_style = call("api_get_schedule", caller=caller, path={"id": "sched-123"})
    assert foreign_style.status == 404 and foreign_style.body == {"error": "Schedule not found", "code": "NOT_FOUND"}


def test_the_same_workflow_expression_and_zone_twice_is_409(caller, workflow):
    assert create(caller, workflow["_id"]).status == 201
    again = create(caller, workflow["_id"], inputData=[])
    assert again.status == 409
    assert again.body == {"error": "Schedule already exists for this workflow", "code": "CONFLICT"}


def test_put_is_a_partial_update_and_accepts_what_get_returned(services, caller, workflow):
    created = create(caller, workflow["_id"]).body
    reply = call(
        "api_update_schedule",
        caller=caller,
        path={"id": created["id"]},
        body={"cronExpression": "0 8 * * MON-FRI", "timezone": "Europe/London"},
    )
    assert reply.status == 200, reply
    assert reply.body["cronExpression"] == "0 8 * * MON-FRI" and reply.body["timezone"] == "Europe/London"
    assert reply.body["nextRun"] == "2030-01-02T08:00:00Z" and reply.body["inputData"] == created["inputData"]
    echoed = call(
        "api_update_schedule", caller=caller, path={"id": created["id"]}, body={**reply.body, "enabled": False}
    )
    assert echoed.status == 200 and echoed.body["enabled"] is False and echoed.body["nextRun"] is None
    moved = call(
        "api_update_schedule",
        caller=caller,
        path={"id": created["id"]},
        body={"workflowId": create_workflow(caller, name="x")["_id"]},
    )
    assert moved.status == 400 and set(moved.body["details"]) == {"workflowId"}
    bad = call("api_update_schedule", caller=caller, path={"id": created["id"]}, body={"cronExpression": "* * *"})
    assert bad.status == 400 and set(bad.body["details"]) == {"cronExpression"}
    typo = call("api_update_schedule", caller=caller, path={"id": created["id"]}, body={"cronExpresion": "* * * * *"})
    assert typo.status == 400 and set(typo.body["details"]) == {"cronExpresion"}


def test_enable_and_disable_answer_id_enabled_and_next_run(caller, workflow):
    created = create(caller, workflow["_id"]).body
    disabled = call("api_disable_schedule", caller=caller, path={"id": created["id"]})
    assert disabled.status == 200 and disabled.body == {"id": created["id"], "enabled": False, "nextRun": None}
    enabled = call("api_enable_schedule", caller=caller, path={"id": created["id"]})
    assert enabled.body == {"id": created["id"], "enabled": True, "nextRun": "2030-01-01T09:00:00-05:00"}


def test_delete_is_204_then_404(services, caller, other_caller, workflow):
    created = create(caller, workflow["_id"]).body
    assert call("api_delete_schedule", caller=other_caller, path={"id": created["id"]}).status == 404
    reply = call("api_delete_schedule", caller=caller, path={"id": created["id"]})
    assert reply.status == 204 and reply.raw == ""
    assert call("api_get_schedule", caller=caller, path={"id": created["id"]}).status == 404
    assert services.schedules.scheduler.names() == []


def test_history_in_the_schedules_zone_newest_first_with_error_only_on_failures(services, caller, workflow, clock):
    created = create(caller, workflow["_id"]).body
    # A success on Tuesday, 2 s long, then a failure on Wednesday
    clock.current = datetime(2030, 1, 1, 14, 0, 0, 500_000, tzinfo=UTC)
    monday = fire(created["id"], "recurring", "2030-01-01T14:00:00Z")["run_id"]
    clock.advance(seconds=2)
    finish_first_turn(services, monday)
    clock.current = datetime(2030, 1, 2, 14, 0, 0, 500_000, tzinfo=UTC)
    tuesday = fire(created["id"], "recurring", "2030-01-02T14:00:00Z")["run_id"]
    clock.advance(milliseconds=500)
    services.runs.lifecycle.fail_run(
        tuesday,
        "HTTP request timeout",
        TerminationSource.EXECUTION_ERROR,
        ["not_started", "started", "running"],
        team_id=caller.team_id,
    )

    history = call("api_get_schedule_history", caller=caller, path={"id": created["id"]}, query={"limit": 10})
    assert history.status == 200, history
    assert history.body == {
        "data": [
            {
                "executionId": tuesday,
                "scheduledTime": "2030-01-02T09:00:00-05:00",
                "startedAt": "2030-01-02T09:00:00.500-05:00",
                "finishedAt": "2030-01-02T09:00:01.000-05:00",
                "status": "failed",
                "duration": 500,
                "error": "HTTP request timeout",
            },
            {
                "executionId": monday,
                "scheduledTime": "2030-01-01T09:00:00-05:00",
                "startedAt": "2030-01-01T09:00:00.500-05:00",
                "finishedAt": "2030-01-01T09:00:02.500-05:00",
                "status": "success",
                "duration": 2000,
            },
        ],
        "total": 2,
    }
    limited = call("api_get_schedule_history", caller=caller, path={"id": created["id"]}, query={"limit": 1}).body
    assert len(limited["data"]) == 1 and limited["total"] == 2
    schedule = call("api_get_schedule", caller=caller, path={"id": created["id"]}).body
    assert schedule["lastRun"] == "2030-01-02T09:00:00-05:00" and schedule["lastStatus"] == "failed"
    assert (schedule["runCount"], schedule["successCount"], schedule["failureCount"]) == (2, 1, 1)


@pytest.mark.parametrize("limit", [0, 101, "ten"])
def test_history_limit_out_of_range_is_400(caller, workflow, limit):
    created = create(caller, workflow["_id"]).body
    reply = call("api_get_schedule_history", caller=caller, path={"id": created["id"]}, query={"limit": limit})
    assert reply.status == 400 and set(reply.body["details"]) == {"limit"}


def test_history_limit_defaults_to_20(services, caller, workflow, clock):
    created = create(caller, workflow["_id"], cronExpression="* * * * *", timezone="UTC").body
    for minute in range(25):
        clock.current = datetime(2030, 1, 1, 13, minute, 1, tzinfo=UTC)
        fire(created["id"], "recurring", f"2030-01-01T13:{minute:02d}:00Z")
    reply = call("api_get_schedule_history", caller=caller, path={"id": created["id"]}).body
    assert len(reply["data"]) == 20 and reply["total"] == 25
    assert reply["data"][0]["scheduledTime"] == "2030-01-01T13:24:00Z"
