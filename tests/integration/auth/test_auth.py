"""API keys: the authorizer handler and the admin CLI, against the in-memory store."""

from __future__ import annotations

import json

import authorizer
import pytest

from workflow_service import cli

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/workflows/v1/workflows"


def authorize(token):
    return authorizer.handler({"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN}, None)


def test_valid_key_allows_the_whole_api_and_carries_team_and_user(caller):
    answer = authorize(f"Bearer {caller.api_key}")
    statement = answer["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    # One cached policy must cover every method and path of the stage.
    assert statement["Resource"] == "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"
    assert answer["context"]["team_id"] == caller.team_id and answer["context"]["user_id"] == "alice"


@pytest.mark.parametrize("token", [None, "", "Bearer", "Basic abc", "Bearer wfk_unknown", "wfk_no_scheme"])
def test_missing_or_bad_keys_are_unauthorized(services, token):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(token)


def test_keys_are_stored_hashed(services, caller):
    stored = services.core.database.raw["api_keys"].find_one({"team_id": caller.team_id})
    assert caller.api_key not in json.dumps(stored, default=str)
    assert len(stored["key_hash"]) == 64


def run_cli(services, *argv):
    return cli.run(list(argv), services)


def test_cli_creates_a_team_and_a_key_that_authenticates_until_revoked(services):
    team = run_cli(services, "create-team", "--name", "Acme", "--max-concurrent-runs", "3")
    assert team["max_concurrent_runs"] == 3
    key = run_cli(services, "create-key", "--team-id", team["team_id"], "--user-id", "ops", "--name", "ci")
    assert key["api_key"].startswith("wfk_") and "not shown again" in key["note"]
    assert authorize(f"Bearer {key['api_key']}")["context"]["team_id"] == team["team_id"]
    listed = run_cli(services, "list-keys", "--team-id", team["team_id"])
    assert listed["keys"][0]["key_id"] == key["key_id"] and "api_key" not in listed["keys"][0]
    assert run_cli(services, "revoke-key", "--key-id", key["key_id"]) == {"key_id": key["key_id"], "revoked": True}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(f"Bearer {key['api_key']}")


def test_cli_refuses_a_key_for_an_unknown_team_and_writes_nothing(services):
    from workflow_service.errors import NotFound

    with pytest.raises(NotFound):
        run_cli(services, "create-key", "--team-id", "5eb7cf5a86d9755df3a6c593", "--user-id", "x")
    assert services.core.database.raw["api_keys"].count_documents({}) == 0


def test_cli_main_prints_json_and_reports_errors(services, capsys):
    assert cli.main(["create-team", "--name", "T", "--max-concurrent-runs", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "T"
    assert cli.main(["revoke-key", "--key-id", "nope"]) == 1
    assert "not found" in capsys.readouterr().err


def test_cli_refuses_a_team_limit_below_one_and_writes_nothing(services, capsys):
    # Given a team allowed 3 concurrent runs
    team = run_cli(services, "create-team", "--name", "Acme", "--max-concurrent-runs", "3")

    # When its limit is set to 0
    assert cli.main(["set-team-limit", "--team-id", team["team_id"], "--max-concurrent-runs", "0"]) == 1

    # Then the CLI names the problem, the team keeps its limit, and it still gets keys
    assert "max_concurrent_runs: must be at least 1" in capsys.readouterr().err
    assert services.auth.service.get_team(team["team_id"]).max_concurrent_runs == 3
    assert run_cli(services, "create-key", "--team-id", team["team_id"], "--user-id", "ops", "--name", "ci")["api_key"]


def test_cli_creates_the_declared_indexes(services):
    created = run_cli(services, "create-indexes")["indexes"]
    assert "key_hash_unique" in created["api_keys"]
    assert "dedupe_key_unique" in created["workflow_runs"]


def test_dev_key_provisioning_is_idempotent(services):
    first = services.auth.service.ensure_key("Dev", 5, "developer", "wfk_dev_fixed")
    second = services.auth.service.ensure_key("Dev", 5, "developer", "wfk_dev_fixed")
    assert first == second
    assert services.core.database.raw["teams"].count_documents({}) == 1
