"""Over HTTP against ``python -m local``: a second team and key, and data kept between restarts."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.local_runtime import LocalService
from tests.support.workflows import waiting_workflow
from workflow_service.http.routes import route_table

V1 = "/workflows/v1"
A_WORKFLOW = {"name": "Kept", "workflow_config": waiting_workflow()}


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


def create_workflow(service: LocalService) -> dict:
    status, created, _ = service.request("POST", f"{V1}/workflows", A_WORKFLOW)
    assert status == 200, created
    return created["workflow"]


def test_a_second_team_made_locally_sees_none_of_the_first_teams_workflows(service):
    first_teams_workflow = create_workflow(service)

    status, team, _ = service.request("POST", "/local/teams", {"name": "Team B", "max_concurrent_runs": 3})
    assert status == 200, team
    assert (team["name"], team["max_concurrent_runs"]) == ("Team B", 3)
    status, key, _ = service.request("POST", f"/local/teams/{team['team_id']}/keys", {"user_id": "bob"})
    assert status == 200, key
    assert key["team_id"] == team["team_id"] and key["api_key"].startswith("wfk_")

    status, listed, _ = service.request("GET", f"{V1}/workflows", api_key=key["api_key"])
    assert (status, listed["total"], listed["workflows"]) == (200, 0, [])
    status, _, _ = service.request("GET", f"{V1}/workflows/{first_teams_workflow['_id']}", api_key=key["api_key"])
    assert status == 404


def test_local_endpoints_answer_only_the_dev_key(service):
    status, team, _ = service.request("POST", "/local/teams", {"name": "Team C"})
    assert status == 200 and team["max_concurrent_runs"] >= 1  # the default team limit
    status, key, _ = service.request("POST", f"/local/teams/{team['team_id']}/keys", {"user_id": "carol"})
    assert status == 200

    for other_key in (None, "wfk_not_a_key", key["api_key"]):
        status, body, _ = service.request("POST", "/local/teams", {"name": "Sneaky"}, api_key=other_key)
        assert (status, body) == (401, {"message": "Unauthorized"})
        assert service.request("GET", "/local/trigger-queue", api_key=other_key)[0] == 401


def test_bad_team_and_key_requests_name_the_problem(service):
    status, body, _ = service.request("POST", "/local/teams", {"max_concurrent_runs": 0})
    assert status == 422
    assert {tuple(problem["loc"]) for problem in body["detail"]} == {("body", "name"), ("body", "max_concurrent_runs")}
    status, body, _ = service.request("POST", "/local/teams/5eb7cf5a86d9755df3a6c593/keys", {"user_id": "dan"})
    assert status == 404 and "not found" in body["detail"]
    assert service.request("GET", "/local/teams")[0] == 405


def test_nothing_under_local_is_in_the_route_table_infra_deploys():
    assert [route.path for route in route_table() if route.path.startswith("/local")] == []


def test_with_a_data_file_a_workflow_survives_a_restart_and_the_chosen_key_still_works(tmp_path):
    data_file = tmp_path / "local-data.json"
    environment = {"WORKFLOWS_LOCAL_DATA_FILE": str(data_file)}
    # No WORKFLOWS_DEV_API_KEY: the runtime chooses one, and must choose it again after the restart.
    first = LocalService(env=environment, api_key=None)
    try:
        workflow = create_workflow(first)
        status, version, _ = first.request("POST", f"{V1}/workflows/{workflow['_id']}/versions", {"version_name": "v1"})
        assert status == 200, version
    finally:
        first.stop()
    assert json.loads(data_file.read_text())["format"] == "workflow-service local data"
    assert [path.name for path in tmp_path.iterdir()] == [data_file.name]  # no temporary file left behind

    second = LocalService(env=environment, api_key=None)
    try:
        assert second.api_key == first.api_key
        status, found, _ = second.request("GET", f"{V1}/workflows/{workflow['_id']}")
        assert status == 200, found
        assert found["workflow"]["created_at"] == workflow["created_at"]
        status, versions, _ = second.request("GET", f"{V1}/workflows/{workflow['_id']}/versions")
        assert [v["version_number"] for v in versions["versions"]] == [0, 1]
    finally:
        second.stop()


def test_without_a_data_file_nothing_is_kept(tmp_path):
    first = LocalService()
    try:
        workflow = create_workflow(first)
    finally:
        first.stop()
    second = LocalService()
    try:
        assert second.request("GET", f"{V1}/workflows/{workflow['_id']}")[0] == 404
    finally:
        second.stop()


def test_idle_the_runtime_prints_nothing_after_its_banner(tmp_path):
    # Reaper passes every 0.1 s and a data file to save: neither may talk while nothing happens.
    idle = LocalService(
        env={"REAPER_LOCAL_INTERVAL_SECONDS": "0.1", "WORKFLOWS_LOCAL_DATA_FILE": str(tmp_path / "data.json")}
    )
    time.sleep(1.5)
    printed_after_banner = idle.stop()
    assert printed_after_banner.strip() == ""
    for promised in ("/workflows/v1/docs", idle.api_key, "curl", "/local/teams"):
        assert promised in idle.banner
