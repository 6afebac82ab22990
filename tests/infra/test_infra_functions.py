"""Every route and event row becomes exactly one correctly configured Lambda function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import runtime_env
from tests.infra.infra_template import as_list, functions_by_name, logical_id_of, resources_of_type, role_statements
from workflow_service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]

# What each "uses" entry must put in the environment (the brief's contract, stated independently).
REQUIRED_ENVIRONMENT = {
    "store": {"MONGODB_SECRET_ARN", "MONGODB_DATABASE", "MONGODB_MAX_POOL_SIZE"},
    "llm": {"LLM_DEFAULT_PROVIDER"},
    "scheduler": {"SCHEDULE_GROUP_NAME", "SCHEDULE_TARGET_ARN", "SCHEDULER_ROLE_ARN", "SCHEDULE_DLQ_ARN"},
    "work_queue": {"RUN_WORK_QUEUE_URL"},
    "trigger_queue": {"TRIGGER_QUEUE_URL"},
    "webhook_queue": {"WEBHOOK_DELIVERY_QUEUE_URL"},
}
COMMON_ENVIRONMENT = {"STAGE", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}


def test_one_function_per_route_row_and_per_event_row(synthesized, template):
    # Given the route table, When the stack is synthesized, Then each row has exactly one function
    expected = {spec.name for spec in synthesized.routes.functions}
    template.resource_count_is("AWS::Lambda::Function", len(expected))
    assert set(functions_by_name(synthesized.template())) == expected


def test_each_function_handler_is_its_rows_module(synthesized, template):
    for spec in synthesized.routes.functions:
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": f"{spec.name}.handler",
                "FunctionName": f"{synthesized.default_config.resource_prefix}-{spec.name}",
            },
        )


def test_every_handler_module_exists_in_lambdas():
    # Fails until every row's handler (lambdas/<name>.py) is written: a deployed function would not import.
    from infra.route_table import load_route_table

    missing = [
        spec.module_file
        for spec in load_route_table().functions
        if not (REPO_ROOT / "lambdas" / spec.module_file).is_file()
    ]
    assert missing == []


def test_environment_names_are_settings_aliases(synthesized):
    # Every variable infra sets must be one the runtime models; a typo would be silently ignored.
    known = Settings.environment_variable_names() | runtime_env.READ_BY_THE_PLATFORM
    for which in ("default", "full"):
        for name, (_, properties) in functions_by_name(synthesized.template(which)).items():
            environment = set(properties["Environment"]["Variables"])
            assert environment - known == set(), f"{which}/{name} sets unknown variables"


def test_environment_carries_what_each_use_requires_and_nothing_of_other_uses(synthesized):
    functions = functions_by_name(synthesized.template())
    for spec in synthesized.routes.functions:
        environment = set(functions[spec.name][1]["Environment"]["Variables"])
        required = COMMON_ENVIRONMENT.union(*(REQUIRED_ENVIRONMENT[use] for use in spec.uses))
        assert required <= environment, f"{spec.name} lacks {sorted(required - environment)}"
        foreign = set().union(*(variables for use, variables in REQUIRED_ENVIRONMENT.items() if use not in spec.uses))
        assert environment & foreign == set(), f"{spec.name} gets variables of resources it does not use"


def test_every_function_skips_pydantic_plugin_discovery(synthesized):
    # Its entry-point scan would run on every cold start's first model build.
    for which in ("default", "full"):
        for name, (_, properties) in functions_by_name(synthesized.template(which)).items():
            assert properties["Environment"]["Variables"]["PYDANTIC_DISABLE_PLUGINS"] == "__all__", f"{which}/{name}"


def test_functions_share_runtime_architecture_tracing_layer_and_code(synthesized):
    config = synthesized.default_config
    template = synthesized.template()
    (layer_id,) = resources_of_type(template, "AWS::Lambda::LayerVersion")
    functions = [properties for _, properties in functions_by_name(template).values()]
    assert {fn["Runtime"] for fn in functions} == {config.lambda_.runtime_name}
    assert {tuple(fn["Architectures"]) for fn in functions} == {(config.lambda_.architecture,)}
    assert {fn["TracingConfig"]["Mode"] for fn in functions} == {"Active"}
    assert all({"Ref": layer_id} in fn["Layers"] for fn in functions)
    # One code asset (the lambdas/ directory) for every function.
    assert len({fn["Code"]["S3Key"] for fn in functions}) == 1


def test_each_function_logs_to_its_own_group_with_configured_retention(synthesized):
    template = synthesized.template()
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    used = []
    for name, (_, properties) in functions_by_name(template).items():
        group_id = logical_id_of(properties["LoggingConfig"]["LogGroup"])
        assert (
            log_groups[group_id]["Properties"]["RetentionInDays"]
            == synthesized.default_config.lambda_.log_retention_days
        ), name
        used.append(group_id)
    assert len(used) == len(set(used))


def test_memory_and_timeout_follow_capability_overrides(synthesized):
    lambda_config = synthesized.default_config.lambda_
    functions = functions_by_name(synthesized.template())
    for spec in synthesized.routes.functions:
        properties = functions[spec.name][1]
        assert properties["MemorySize"] == lambda_config.memory_for(spec.capability), spec.name
        assert properties["Timeout"] == lambda_config.timeout_for(spec.capability), spec.name
    # The worker really gets its override (guards against overrides keyed by a name nobody has).
    assert functions["run_worker"][1]["MemorySize"] == lambda_config.memory_overrides["run_worker"]


def test_route_functions_fit_api_gateway_integration_timeout(synthesized):
    functions = functions_by_name(synthesized.template())
    assert all(functions[spec.name][1]["Timeout"] <= 29 for spec in synthesized.routes.routes)


def test_layer_is_built_for_the_deployed_runtime(synthesized, built_layer):
    # The stamp records what pip installed; it must match the runtime the functions run on.
    import json

    stamp = json.loads((built_layer.layer_dir.parent / f"{built_layer.layer_dir.name}.stamp.json").read_text())
    config = synthesized.default_config
    assert f"python{stamp['python_version']}" == config.lambda_.runtime_name
    assert stamp["platform"] == config.lambda_.pip_platform
    (layer,) = resources_of_type(synthesized.template(), "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == [config.lambda_.runtime_name]
    assert not (built_layer.layer_dir / "python" / "boto3").exists()
    assert (built_layer.layer_dir / "python" / "workflow_service" / "http" / "routes.json").is_file()


def test_the_layer_serves_the_openapi_document_the_code_generates_without_generating_it(built_layer):
    # The deployed get_openapi parses what the build wrote instead of building every model's schema.
    import json

    from workflow_service.http.openapi import openapi_document

    built = built_layer.layer_dir / "python" / "workflow_service" / "http" / "openapi.json"
    assert json.loads(built.read_text()) == json.loads(json.dumps(openapi_document()))


def test_every_module_of_the_layer_ships_bytecode_for_the_runtime(synthesized, built_layer):
    # A layer is read-only in Lambda: a module without bytecode is compiled again on every cold start.
    if built_layer.bytecode_compiler is None:
        pytest.skip("no Python of the runtime's version on this machine: the build shipped sources only")
    tag = "cpython-" + synthesized.default_config.lambda_.python_version.replace(".", "")
    site = built_layer.layer_dir / "python"
    sources = [path for path in site.rglob("*.py") if path.parent.name != "__pycache__"]
    missing = [
        path.relative_to(site).as_posix()
        for path in sources
        if not (path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").is_file()
    ]
    assert len(sources) > 900
    assert missing == []


def test_functions_join_the_configured_vpc(synthesized):
    vpc = synthesized.full_config.vpc
    for name, (_, properties) in functions_by_name(synthesized.template("full")).items():
        assert sorted(properties["VpcConfig"]["SubnetIds"]) == sorted(vpc.subnet_ids), name
        assert properties["VpcConfig"]["SecurityGroupIds"] == list(vpc.security_group_ids), name
    assert all("VpcConfig" not in properties for _, properties in functions_by_name(synthesized.template()).values())


# ELF header: e_machine is the little-endian 16-bit word at byte 18; 183 is EM_AARCH64, 62 EM_X86_64.
ELF_MAGIC = b"\x7fELF"
ELF_MACHINE_BY_ARCHITECTURE = {"arm64": 183, "x86_64": 62}
WHEEL_PLATFORM_BY_ARCHITECTURE = {"arm64": "aarch64", "x86_64": "x86_64"}


def test_layer_binaries_are_built_for_the_functions_architecture(synthesized, built_layer):
    # A wheel for the wrong CPU installs fine and fails only at import time in Lambda: check the bytes.
    architecture = synthesized.default_config.lambda_.architecture
    site = built_layer.layer_dir / "python"
    machines = {}
    for shared_object in site.rglob("*.so*"):
        header = shared_object.read_bytes()[:20]
        if header[:4] == ELF_MAGIC:
            machines[shared_object.relative_to(site).as_posix()] = int.from_bytes(header[18:20], "little")
    assert any(path.startswith("pydantic_core/") for path in machines), "pydantic-core ships a compiled extension"
    expected = ELF_MACHINE_BY_ARCHITECTURE[architecture]
    assert {path: machine for path, machine in machines.items() if machine != expected} == {}
    # The wheel tags say the same: every platform-specific wheel is for this architecture.
    for wheel in site.glob("*.dist-info/WHEEL"):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        platform_tags = [tag.rsplit("-", 1)[-1] for tag in tags if not tag.endswith("-any")]
        assert all(WHEEL_PLATFORM_BY_ARCHITECTURE[architecture] in tag for tag in platform_tags), (wheel, tags)


def test_llm_gateways_reach_every_function_and_their_keys_only_the_llm_users(synthesized):
    # Given the full stage, which names an Anthropic gateway (its key in Secrets Manager) and a Google one
    template = synthesized.template("full")
    functions = functions_by_name(template)
    gateways = synthesized.full_config.llm.gateways
    key_arn = runtime_env.llm_gateway_api_key_secret_arn("anthropic")
    for spec in synthesized.routes.functions:
        environment = functions[spec.name][1]["Environment"]["Variables"]
        # Then every function knows the gateways (a workflow write checks its configs against them)
        for provider, gateway in gateways.items():
            assert environment[runtime_env.llm_gateway_base_url(provider)] == gateway.base_url, spec.name
        # and only the functions that call an LLM get the key's secret, and may read it
        statements = role_statements(template, logical_id_of(functions[spec.name][1]["Role"]))
        readable = [
            json.dumps(statement["Resource"])
            for statement in statements
            if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
        ]
        reads_key = any("anthropic-gateway-key" in resource for resource in readable)
        assert (key_arn in environment) == ("llm" in spec.uses) == reads_key, spec.name
        assert runtime_env.llm_gateway_api_key_secret_arn("google") not in environment
