"""Production operability: the secrets extension, the MongoDB connection budget, the metrics namespace."""

from __future__ import annotations

import copy
import json

import pytest

from infra.config import ConfigError, load_config, read_cdk_json_context
from infra.connection_budget import ConcurrencyPlan
from infra.route_table import load_route_table
from tests.infra.infra_template import functions_by_name, logical_id_of, resources_of_type

EXTENSION_LAYER_NAME = "AWS-Parameters-and-Secrets-Lambda-Extension"
EXTENSION_VARIABLES = {
    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
    "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
    "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE",
    "SECRETS_MANAGER_TTL",
}
# Lambda keeps this many of the account's concurrent executions unreserved.
UNRESERVED_FLOOR = 100


@pytest.fixture
def context():
    return copy.deepcopy(read_cdk_json_context())


def _extension_layers(properties: dict) -> list:
    """The function's layers that are the extension (a literal ARN, or a lookup in the template's mapping)."""
    return [
        layer
        for layer in properties.get("Layers", [])
        if (isinstance(layer, str) and f":layer:{EXTENSION_LAYER_NAME}" in layer)
        or (isinstance(layer, dict) and "Fn::FindInMap" in layer)
    ]


def test_secret_readers_get_the_extension_layer_and_its_settings_and_nobody_else(synthesized):
    extension = synthesized.default_config.secrets_extension
    functions = functions_by_name(synthesized.template())
    for spec in synthesized.routes.functions:
        properties = functions[spec.name][1]
        environment = properties["Environment"]["Variables"]
        if "store" in spec.uses:
            assert len(_extension_layers(properties)) == 1, spec.name
            assert environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == str(extension.http_port) == "2773"
            assert environment["PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"] == "true"
            assert environment["PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE"] == str(extension.cache_size)
            assert environment["SECRETS_MANAGER_TTL"] == str(extension.secrets_manager_ttl_seconds)
        else:
            assert _extension_layers(properties) == [], spec.name
            assert EXTENSION_VARIABLES.isdisjoint(environment), spec.name


def test_a_stage_in_a_region_gets_that_regions_layer_for_its_architecture(synthesized):
    config = synthesized.full_config
    expected = config.secrets_extension.layer_arns[config.region][config.lambda_.architecture]
    assert expected.startswith(f"arn:aws:lambda:{config.region}:") and expected.split(":")[6].endswith("-Arm64")
    functions = functions_by_name(synthesized.template("full"))
    for spec in synthesized.routes.functions:
        if "store" in spec.uses:
            assert _extension_layers(functions[spec.name][1]) == [expected], spec.name


def test_a_region_less_stage_maps_every_listed_region_in_each_template(synthesized):
    config = synthesized.default_config
    architecture = config.lambda_.architecture
    for name, template in synthesized.separate_templates["default"].items():
        (mapping,) = template["Mappings"].values()
        assert {region: row["LayerArn"] for region, row in mapping.items()} == {
            region: arns[architecture] for region, arns in config.secrets_extension.layer_arns.items()
        }, name


def test_a_region_missing_from_the_extension_map_fails_with_the_key_named(context):
    with pytest.raises(ConfigError, match=r"secrets_extension\.layer_arns\.ap-south-2\.arm64 is missing"):
        load_config({**context, "region": "ap-south-2"})


def test_an_extension_arn_of_another_region_or_architecture_is_rejected(context):
    arns = context["workflow_service"]["secrets_extension"]["layer_arns"]
    arns["us-west-2"]["arm64"] = arns["us-east-1"]["arm64"]
    arns["eu-west-1"]["arm64"] = arns["eu-west-1"]["x86_64"]
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert "us-west-2.arm64" in str(raised.value) and "eu-west-1.arm64" in str(raised.value)


def test_every_function_reports_metrics_under_the_configured_namespace(synthesized):
    namespace = synthesized.default_config.observability.metrics_namespace
    assert namespace == "WorkflowService"
    for name, (_, properties) in functions_by_name(synthesized.template()).items():
        environment = properties["Environment"]["Variables"]
        assert environment["POWERTOOLS_METRICS_NAMESPACE"] == namespace, name
        assert environment["POWERTOOLS_SERVICE_NAME"] == synthesized.default_config.service_name, name


def test_an_aws_namespace_is_rejected(context):
    context["workflow_service"]["observability"]["metrics_namespace"] = "AWS/Lambda"
    with pytest.raises(ConfigError, match="metrics_namespace"):
        load_config(context)


@pytest.mark.parametrize("which", ["default", "full"])
def test_the_synthesized_limits_keep_connections_within_the_budget(synthesized, which):
    config = synthesized.default_config if which == "default" else synthesized.full_config
    template = synthesized.template(which)
    functions = functions_by_name(template)
    maximum_by_function = {
        logical_id_of(mapping["Properties"]["FunctionName"]): mapping["Properties"]["ScalingConfig"][
            "MaximumConcurrency"
        ]
        for mapping in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
    }
    per_container = None
    connections = 0
    reserved_total = 0
    for spec in synthesized.routes.functions:
        logical_id, properties = functions[spec.name]
        reserved = properties.get("ReservedConcurrentExecutions")
        reserved_total += reserved or 0
        if "store" not in spec.uses:
            continue
        pool = int(properties["Environment"]["Variables"]["MONGODB_MAX_POOL_SIZE"])
        # The pool plus pymongo's one polling monitor on the primary.
        per_container = pool + 1
        bound = reserved if reserved is not None else maximum_by_function.get(logical_id)
        assert bound, f"{spec.name} holds connections but nothing bounds its containers"
        connections += bound * per_container
    print(f"{which}: at most {connections} connections of {config.store.connection_budget}, {reserved_total} reserved")
    assert per_container == 3
    assert connections <= config.store.connection_budget
    assert all(2 <= maximum <= 1000 for maximum in maximum_by_function.values())
    assert reserved_total <= config.lambda_.account_concurrent_executions - UNRESERVED_FLOOR
    # The reaper runs one pass at a time.
    assert functions["reaper"][1]["ReservedConcurrentExecutions"] == 1


def test_weighted_routes_get_their_share_of_the_api_concurrency_in_the_template(synthesized):
    # Given the shipped weights (execute_workflow 12, an unnamed route 1)
    config = synthesized.default_config
    functions = functions_by_name(synthesized.template())

    # When the template is synthesized
    def reserved(name: str) -> int:
        return functions[name][1]["ReservedConcurrentExecutions"]

    # Then the synchronous execute route may run 12 times as many containers as a route weighing 1
    assert config.store.api_weights["execute_workflow"] == 12
    assert "rename_workflow_version" not in config.store.api_weights
    assert reserved("execute_workflow") == 12 * reserved("rename_workflow_version")
    assert reserved("execute_workflow") >= 30
    assert reserved("get_workflow_run") > reserved("get_workflow") > reserved("rename_workflow_version") >= 1


def test_weights_share_the_api_part_without_exceeding_it(context):
    # Given the API part of the default budget: 1500 // 3 containers, less the reaper's, times 0.6
    api_part = int((1500 // 3 - 1) * 0.6)

    # When no route is weighted
    even = ConcurrencyPlan.of(load_config(_weights(context, {})), load_route_table())
    functions = [name for name in even.reserved if name not in ("reaper", "schedule_target")]

    # Then every API function gets the same share, rounded down
    assert {even.reserved[name] for name in functions} == {api_part // len(functions)}

    # When one route weighs as much as all the others together
    heavy = ConcurrencyPlan.of(
        load_config(_weights(context, {"execute_workflow": len(functions) - 1})), load_route_table()
    )

    # Then it gets half the API part, each other one its share of the other half, within the budget
    assert heavy.reserved["execute_workflow"] == api_part // 2
    assert {heavy.reserved[name] for name in functions if name != "execute_workflow"} == {
        api_part // (2 * (len(functions) - 1))
    }
    assert sum(heavy.reserved[name] for name in functions) <= api_part
    assert heavy.connections <= 1500


def test_a_weight_for_an_unknown_function_is_a_config_error(context):
    with pytest.raises(ConfigError, match=r"store\.api_weights names \['execute_workflows'\]"):
        ConcurrencyPlan.of(load_config(_weights(context, {"execute_workflows": 5})), load_route_table())


def test_weights_that_leave_a_route_no_execution_are_a_config_error(context):
    with pytest.raises(ConfigError, match=r"is too small.*least weighted"):
        ConcurrencyPlan.of(load_config(_weights(context, {"execute_workflow": 1000})), load_route_table())


def _weights(context: dict, weights: dict[str, int]) -> dict:
    context["workflow_service"]["store"]["api_weights"] = weights
    return context


def test_a_budget_too_small_for_the_functions_is_a_config_error(context):
    context["workflow_service"]["store"]["connection_budget"] = 60
    with pytest.raises(ConfigError, match=r"store\.connection_budget \(60\) is too small"):
        ConcurrencyPlan.of(load_config(context), load_route_table())


def test_reservations_that_would_starve_the_account_are_a_config_error(context):
    # 30,000 connections would reserve far more than the 900 executions a default account can spare.
    context["workflow_service"]["store"]["connection_budget"] = 30000
    with pytest.raises(ConfigError, match=r"leave|unreserved"):
        ConcurrencyPlan.of(load_config(context), load_route_table())
    context["workflow_service"]["lambda"]["account_concurrent_executions"] = 20000
    plan = ConcurrencyPlan.of(load_config(context), load_route_table())
    assert plan.connections <= 30000


def test_explicit_queue_concurrency_over_the_budget_is_a_config_error(context):
    context["workflow_service"]["work_queue"]["max_concurrency"] = 1000
    with pytest.raises(ConfigError, match=r"over workflow_service\.store\.connection_budget"):
        ConcurrencyPlan.of(load_config(context), load_route_table())


def _dashboard(template: dict) -> tuple[dict, dict[str, object]]:
    """The dashboard body as JSON, with each CloudFormation reference in it replaced by a placeholder."""
    (dashboard,) = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    references = {f"@ref{index}": part for index, part in enumerate(parts) if not isinstance(part, str)}
    by_index = {id(part): name for name, part in references.items()}
    body = "".join(part if isinstance(part, str) else by_index[id(part)] for part in parts)
    return json.loads(body), references


def _widget(body: dict, title: str) -> dict:
    (widget,) = [widget for widget in body["widgets"] if widget["properties"].get("title") == title]
    return widget["properties"]


def test_the_dashboard_shows_the_custom_metrics_alarms_dead_letters_and_every_function(synthesized):
    template = synthesized.template()
    namespace = synthesized.default_config.observability.metrics_namespace
    body, references = _dashboard(template)
    text = json.dumps(body)
    for metric in ("RunsStarted", "RunsFinished", "TurnDuration", "AdmissionRefused", "QueueDepth", "QueueWait"):
        assert f'"{metric}"' in text or f'\\"{metric}\\"' in text, metric
    for metric in ("ScheduleFireLateness", "ReaperRepairs"):
        assert metric in text, metric
    for breakdown, metric in (
        ("trigger,status", "RunsStarted"),
        ("trigger,status", "RunsFinished"),
        ("scope", "AdmissionRefused"),
        ("kind", "ReaperRepairs"),
        ("outcome", "WebhookDeliveries"),
    ):
        assert f'{{{namespace},service,{breakdown}}} MetricName=\\"{metric}\\"' in text, metric

    alarm_ids = set(resources_of_type(template, "AWS::CloudWatch::Alarm"))
    shown_alarms = {logical_id_of(references[name]) for name in _widget(body, "Alarms")["alarms"]}
    assert shown_alarms == alarm_ids

    dead_letters = _widget(body, "Dead letters waiting")["metrics"]
    assert [line[1] for line in dead_letters] == ["ApproximateNumberOfMessagesVisible"] * 4

    function_ids = {logical_id for logical_id, _ in functions_by_name(template).values()}
    capabilities = {spec.capability for spec in synthesized.routes.functions}
    for title in ("Lambda error rate (%), by capability", "Lambda throttle rate (%), by capability"):
        lines = _widget(body, title)["metrics"]
        expressions = [line[0]["expression"] for line in lines if isinstance(line[0], dict) and "expression" in line[0]]
        assert len(expressions) == len(capabilities), title
        graphed = {
            logical_id_of(references[part])
            for line in lines
            for part in line
            if isinstance(part, str) and part in references
        }
        assert graphed == function_ids, title
    durations = [
        logical_id_of(references[line[3]])
        for widget in body["widgets"]
        if widget["properties"].get("title", "").startswith("p95 duration")
        for line in widget["properties"]["metrics"]
        if line[1] == "Duration" and line[-1]["stat"] == "p95"
    ]
    assert sorted(durations) == sorted(function_ids)


def _emitted_metric_dimensions() -> dict[str, set[str]]:
    """Metric name -> dimension keys, read from the runtime's ``emit(...)`` calls (literal names and
    dimension dicts), so the dashboard can be checked against what is really emitted."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "layers" / "domain" / "python" / "workflow_service"
    emitted: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit"):
                continue
            if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                continue
            keys: set[str] = set()
            for keyword in node.keywords:
                if keyword.arg == "dimensions" and isinstance(keyword.value, ast.Dict):
                    keys = {key.value for key in keyword.value.keys if isinstance(key, ast.Constant)}
            emitted[node.args[0].value] = keys
    return emitted


def test_the_dashboard_queries_each_metric_by_exactly_the_dimensions_the_runtime_emits():
    # CloudWatch identifies a metric by its exact dimension set: a dashboard query with other
    # dimensions than the runtime's shows an empty graph, silently.
    from infra.constructs.dashboard import CUSTOM_METRICS

    emitted = _emitted_metric_dimensions()
    assert {metric.name: set(metric.breakdown) for metric in CUSTOM_METRICS} == emitted
