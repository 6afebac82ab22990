"""cdk.json context parsing and route-table reading: fast, no synthesis."""

from __future__ import annotations

import copy
import json

import pytest

from infra.config import ConfigError, load_config, load_config_from_cdk_json, read_cdk_json_context
from infra.route_table import ROUTES_JSON, RouteTableError, load_route_table


@pytest.fixture
def context():
    return copy.deepcopy(read_cdk_json_context())


def test_the_shipped_context_parses(context):
    config = load_config(context)
    assert config.stage == context["stage"]
    assert config.lambda_.runtime_name == f"python{context['workflow_service']['lambda']['python_version']}"
    assert config.vpc is None


def test_a_stage_overlay_is_merged_over_the_defaults(context):
    # Given the prod overlay in cdk.json, When the prod stage is selected
    config = load_config({**context, "stage": "prod"})
    # Then overridden values change and the rest keep their defaults
    assert config.removal_policy == "retain"
    assert config.lambda_.log_retention_days == 365
    assert config.lambda_.python_version == context["workflow_service"]["lambda"]["python_version"]
    assert config.resource_prefix.endswith("-prod")


def test_a_misspelt_key_fails_instead_of_being_ignored(context):
    context["workflow_service"]["reaper"]["rate_minute"] = 5
    with pytest.raises(ConfigError, match=r"reaper: unknown key\(s\) \['rate_minute'\]"):
        load_config(context)


def test_a_queue_that_would_redeliver_during_processing_is_rejected(context):
    context["workflow_service"]["work_queue"]["visibility_timeout_seconds"] = 30
    with pytest.raises(ConfigError, match=r"work_queue\.visibility_timeout_seconds"):
        load_config(context)


def test_a_retention_cloudwatch_does_not_offer_is_rejected(context):
    context["workflow_service"]["lambda"]["log_retention_days"] = 31
    with pytest.raises(ConfigError, match="log_retention_days"):
        load_config(context)


def test_a_value_outside_what_aws_accepts_names_its_key(context):
    # EventBridge Scheduler's RetryPolicy takes 0..185 attempts.
    context["workflow_service"]["schedules"]["retry_attempts"] = 186
    with pytest.raises(ConfigError, match=r"workflow_service\.schedules\.retry_attempts: .*185, got 186"):
        load_config(context)


def test_a_number_written_as_a_string_is_rejected_not_coerced(context):
    context["workflow_service"]["lambda"]["memory_overrides"]["runs"] = "1024"
    with pytest.raises(ConfigError, match=r"workflow_service\.lambda\.memory_overrides\.runs: .*integer"):
        load_config(context)


def test_a_misspelt_key_in_a_stage_overlay_is_rejected_too(context):
    context["workflow_service_stages"]["prod"]["api"]["throttling_rate"] = 10
    with pytest.raises(ConfigError, match=r"workflow_service\.api: unknown key\(s\) \['throttling_rate'\]"):
        load_config({**context, "stage": "prod"})


def test_every_problem_is_reported_at_once(context):
    context["workflow_service"]["reaper"]["batch_size"] = 0
    del context["workflow_service"]["alarms"]["period_minutes"]
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert str(raised.value).splitlines() == [
        "workflow_service.reaper.batch_size: Input should be greater than or equal to 1, got 0",
        "workflow_service.alarms.period_minutes is missing",
    ]


def test_the_layer_build_and_the_stack_read_the_same_python_version(tmp_path, context):
    # The layer build reads cdk.json through the same loader: change the one value, both follow.
    context["workflow_service"]["lambda"]["python_version"] = "3.13"
    context["workflow_service"]["lambda"]["architecture"] = "x86_64"
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"app": "python app.py", "context": context}))
    config = load_config_from_cdk_json(path=cdk_json)
    assert config.lambda_.runtime_name == "python3.13"
    assert config.lambda_.pip_platform == "manylinux2014_x86_64"


def test_the_route_table_yields_one_function_per_row():
    document = json.loads(ROUTES_JSON.read_text())
    table = load_route_table()
    assert len(table.routes) == sum(len(rows) for rows in document["routes"].values())
    assert {spec.name for spec in table.events} == {row["name"] for row in document["events"]}


def test_a_row_using_an_unknown_resource_is_rejected(tmp_path):
    document = json.loads(ROUTES_JSON.read_text())
    first_group = next(iter(document["routes"]))
    document["routes"][first_group][0]["uses"] = ["store", "dynamodb"]
    path = tmp_path / "routes.json"
    path.write_text(json.dumps(document))
    with pytest.raises(RouteTableError, match="unknown 'uses'"):
        load_route_table(path)


def test_an_event_row_without_infra_wiring_is_rejected(tmp_path):
    document = json.loads(ROUTES_JSON.read_text())
    document["events"].append({"name": "nightly_export", "source": "cron", "summary": "", "uses": []})
    path = tmp_path / "routes.json"
    path.write_text(json.dumps(document))
    with pytest.raises(RouteTableError, match="nightly_export"):
        load_route_table(path)


def test_an_llm_gateway_for_an_unknown_provider_or_without_https_is_rejected(context):
    context["workflow_service"]["llm"]["gateways"] = {
        "mistral": {"base_url": "https://gateway.example.com/v1"},
        "anthropic": {"base_url": "http://gateway.example.com/v1"},
    }
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert "llm.gateways.mistral" in str(raised.value)
    assert "llm.gateways.anthropic.base_url" in str(raised.value)


def test_an_llm_gateway_with_a_key_secret_is_accepted(context):
    context["workflow_service"]["llm"]["gateways"] = {
        "google": {"base_url": "https://gateway.example.com/v1", "api_key_secret_name": "svc/google-gateway-key"}
    }
    gateway = load_config(context).llm.gateways["google"]
    assert (gateway.base_url, gateway.api_key_secret_name) == (
        "https://gateway.example.com/v1",
        "svc/google-gateway-key",
    )
