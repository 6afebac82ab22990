"""Issue 3 over HTTP against ``python -m local``: turns, conditions, an HTTP node, the step guard."""

from __future__ import annotations

import pytest

from tests.support.fake_http_server import RecordingServer
from tests.support.local_runtime import LocalService
from tests.support.workflows import looping_workflow, user_message, weather_workflow

V1 = "/workflows/v1"


@pytest.fixture(scope="module")
def weather():
    server = RecordingServer({"/weather": (200, {"forecast": "sunny", "high_c": 21})})
    yield server
    server.close()


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


def create_workflow(service, config) -> str:
    status, body, _ = service.request("POST", f"{V1}/workflows", {"name": "e2e", "workflow_config": config})
    assert status == 200, body
    return body["workflow"]["_id"]


def says(events) -> list[str]:
    return [event["message"] for event in events if event["type"] == "say_static"]


def test_three_execute_turns_with_exact_events_and_statuses(service, weather):
    workflow_id = create_workflow(service, weather_workflow(weather.url))
    url = f"{V1}/workflows/{workflow_id}/execute"

    status, first, _ = service.request(
        "POST", url, {"run_input": {"dynamic_variables": {"name": "Ann", "city": "Rome"}}}
    )
    assert status == 200, first
    assert (first["status"], first["turn_number"], first["is_waiting_for_input"], first["is_completed"]) == (
        "waiting_for_user_input",
        1,
        True,
        False,
    )
    assert [e["type"] for e in first["events"]] == [
        "start_workflow",
        "start_thread",
        "start_node_run",
        "say_static",
        "assistant_response",
        "end_node_run",
        "busy_wait_for_user_message",
        "workflow_show_state",
    ]
    assert says(first["events"]) == ["Hi Ann, do you want the weather?"]
    assert first["next_input_hint"]["origin_node_logical_id"] == "greet"

    status, second, _ = service.request(
        "POST",
        url,
        {"run_id": first["run_id"], "run_input": {"command": "data", "thread_to_node_inputs": user_message("yes!")}},
    )
    assert (second["status"], second["turn_number"]) == ("waiting_for_user_input", 2)
    assert [e["type"] for e in second["events"]] == [
        "user_messages",
        "conditional_edge",
        "start_node_run",
        "http_request",
        "end_node_run",
        "direct_edge",
        "start_node_run",
        "say_static",
        "assistant_response",
        "end_node_run",
        "busy_wait_for_user_message",
        "workflow_show_state",
    ]
    edge = next(e for e in second["events"] if e["type"] == "conditional_edge")
    assert edge["edge_logical_id"] == "wants_weather" and edge["destination_node_logical_id"] == "fetch"
    assert weather.requests[-1]["path"] == "/weather?city=Rome"
    assert "sunny" in says(second["events"])[0]

    status, third, _ = service.request(
        "POST",
        url,
        {"run_id": first["run_id"], "run_input": {"command": "data", "thread_to_node_inputs": user_message("no")}},
    )
    assert (third["status"], third["turn_number"], third["is_completed"], third["error"]) == (
        "completed",
        3,
        True,
        None,
    )
    assert [e["type"] for e in third["events"]] == [
        "user_messages",
        "direct_edge",
        "start_node_run",
        "end_node_run",
        "end_thread",
        "workflow_show_state",
        "end_workflow",
    ]

    status, run, _ = service.request("GET", f"{V1}/workflow-runs/{first['run_id']}")
    assert run["workflow_run"]["workflow_run"]["status"] == "completed"
    assert len(run["workflow_run"]["workflow_run"]["input_output_pairs"]) == 3


def test_the_same_run_through_workflow_runs(service, weather):
    workflow_id = create_workflow(service, weather_workflow(weather.url))
    status, started, _ = service.request(
        "POST", f"{V1}/workflow-runs", {"workflow_id": workflow_id, "dynamic_variables": {"name": "Bo", "city": "Oslo"}}
    )
    assert status == 200, started
    run_id = started["workflow_run"]["_id"]
    assert started["workflow_run"]["workflow_run"]["status"] == "waiting_for_user_input"
    for answer, expected in (("yes", "waiting_for_user_input"), ("thanks", "completed")):
        status, body, _ = service.request(
            "POST",
            f"{V1}/workflow-runs",
            {"command": "data", "workflow_run_id": run_id, "thread_to_node_inputs": user_message(answer)},
        )
        assert status == 200 and body["workflow_run"]["workflow_run"]["status"] == expected
    assert weather.requests[-1]["path"] == "/weather?city=Oslo"


def test_self_looping_workflow_is_aborted(service):
    workflow_id = create_workflow(service, looping_workflow())
    status, body, _ = service.request("POST", f"{V1}/workflows/{workflow_id}/execute", {"run_input": {}})
    assert status == 200
    assert body["status"] == "aborted_looping_risk" and body["is_completed"]
    assert "workflow_error" in [e["type"] for e in body["events"]]


def test_bad_commands_over_http(service):
    workflow_id = create_workflow(service, looping_workflow())
    status, body, _ = service.request("POST", f"{V1}/workflow-runs", {"command": "data"})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "workflow_run_id"]
    status, body, _ = service.request(
        "POST",
        f"{V1}/workflows/{workflow_id}/execute",
        {"run_id": "5eb7cf5a86d9755df3a6c593", "run_input": {"command": "data"}},
    )
    assert status == 404
