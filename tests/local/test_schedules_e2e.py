"""Schedules over HTTP against ``python -m local``: the local scheduler fires them into real runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.local_runtime import LocalService
from tests.support.workflows import greeting_workflow

V1 = "/workflows/v1"


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def workflow_id(service) -> str:
    status, body, _ = service.request(
        "POST", f"{V1}/workflows", {"name": "Scheduled report", "workflow_config": greeting_workflow()}
    )
    assert status == 200, body
    return body["workflow"]["_id"]


def test_a_one_time_schedule_three_seconds_ahead_runs_and_completes(service, workflow_id):
    # Given a schedule three seconds from now
    when = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    status, created, _ = service.request(
        "POST",
        f"{V1}/workflows/{workflow_id}/schedules",
        {
            "scheduled_time": when.isoformat().replace("+00:00", "Z"),
            "run_input": {"dynamic_variables": {"reportType": "daily"}},
        },
    )
    assert status == 200, created
    assert created["status"] == "pending"

    # When the local scheduler fires it, Then it completes with the run it started
    def completed():
        _, schedule, _ = service.request("GET", f"{V1}/workflow-schedules/{created['_id']}")
        return schedule if schedule["status"] in ("completed", "failed") else None

    schedule = service.wait_for(completed, timeout=30, interval=0.5)
    assert schedule["status"] == "completed", schedule
    assert schedule["actual_run_id"] is not None and schedule["error_message"] is None
    status, run, _ = service.request("GET", f"{V1}/workflow-runs/{schedule['actual_run_id']}")
    inner = run["workflow_run"]["workflow_run"]
    assert inner["status"] == "completed"
    assert inner["trigger"]["type"] == "schedule" and inner["trigger"]["schedule_id"] == created["_id"]
    events = inner["input_output_pairs"][0]["run_output"]["events"]
    assert any(event.get("message") == "Report daily" for event in events)


def test_a_past_time_is_refused_over_http(service, workflow_id):
    status, body, _ = service.request(
        "POST", f"{V1}/workflows/{workflow_id}/schedules", {"scheduled_time": "2020-01-01T00:00:00Z"}
    )
    assert status == 422 and body["detail"][0]["loc"] == ["body", "scheduled_time"]


@pytest.mark.slow
def test_an_every_minute_cron_schedule_fires_and_shows_history(service, workflow_id):
    # Takes up to a minute: the first firing is at the next whole minute.
    status, created, _ = service.request(
        "POST",
        "/api/v1/schedules",
        {"workflowId": workflow_id, "cronExpression": "* * * * *", "inputData": [{"json": {"reportType": "minute"}}]},
    )
    assert status == 201, created

    def history():
        _, body, _ = service.request("GET", f"/api/v1/schedules/{created['id']}/history")
        return body if body["total"] and body["data"][0]["status"] != "running" else None

    body = service.wait_for(history, timeout=75, interval=1.0)
    entry = body["data"][0]
    assert entry["status"] == "success", entry
    assert entry["scheduledTime"].endswith(":00Z") and entry["duration"] >= 0
    status, schedule, _ = service.request("GET", f"/api/v1/schedules/{created['id']}")
    assert (
        schedule["runCount"] >= 1 and schedule["successCount"] >= 1 and schedule["lastStatus"] in ("success", "running")
    )
    service.request("POST", f"/api/v1/schedules/{created['id']}/disable")
