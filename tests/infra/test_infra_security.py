"""Least privilege, cdk-nag and the CloudFormation resource limit, for both synthesized stacks."""

from __future__ import annotations

import pytest

from tests.infra.infra_template import (
    actions_of,
    as_list,
    functions_by_name,
    logical_id_of,
    resources_of_type,
    role_statements,
)

STACKS = ("default", "full")
# Actions that cannot be scoped to a resource, so Resource "*" is the only form AWS accepts.
# Actions IAM cannot scope to a resource (the service authorization reference lists none for them).
RESOURCE_STAR_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "scheduler:ListSchedules"}


def _all_statements(template) -> list[tuple[str, dict]]:
    statements = []
    for logical_id, role in resources_of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            statements.extend((logical_id, s) for s in policy["PolicyDocument"]["Statement"])
    for logical_id, policy in resources_of_type(template, "AWS::IAM::Policy").items():
        statements.extend((logical_id, s) for s in policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


@pytest.mark.parametrize("which", STACKS)
def test_no_statement_grants_a_wildcard_action(synthesized, which):
    offending = [
        (owner, action)
        for owner, statement in _all_statements(synthesized.template(which))
        for action in as_list(statement["Action"])
        if action == "*" or action.endswith(":*") or action.endswith("*")
    ]
    assert offending == []


@pytest.mark.parametrize("which", STACKS)
def test_resource_star_only_for_actions_that_cannot_be_scoped(synthesized, which):
    offending = [
        (owner, sorted(set(as_list(statement["Action"])) - RESOURCE_STAR_ACTIONS))
        for owner, statement in _all_statements(synthesized.template(which))
        if "*" in as_list(statement["Resource"]) and not set(as_list(statement["Action"])) <= RESOURCE_STAR_ACTIONS
    ]
    assert offending == []


def test_functions_without_store_cannot_read_the_database_secret(synthesized):
    template = synthesized.template()
    functions = functions_by_name(template)
    for spec in synthesized.routes.functions:
        statements = role_statements(template, logical_id_of(functions[spec.name][1]["Role"]))
        secret_actions = {a for a in actions_of(statements) if a.startswith("secretsmanager:")}
        if "store" in spec.uses:
            assert secret_actions == {"secretsmanager:GetSecretValue"}, spec.name
        else:
            assert secret_actions == set(), spec.name


def test_database_secret_grant_names_exactly_that_secret(synthesized):
    template = synthesized.template()
    name = synthesized.default_config.store.mongodb_secret_name
    resources = [
        resource
        for _, statement in _all_statements(template)
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert resources
    assert all(resource["Fn::Join"][1][-1] == f":secret:{name}-??????" for resource in resources)


def test_llm_users_may_invoke_bedrock_models_and_their_regions_inference_profiles_only(synthesized):
    template = synthesized.template("full")
    region = synthesized.full_config.llm.bedrock_region
    functions = functions_by_name(template)
    for spec in synthesized.routes.functions:
        statements = role_statements(template, logical_id_of(functions[spec.name][1]["Role"]))
        bedrock = [s for s in statements if any(a.startswith("bedrock:") for a in as_list(s["Action"]))]
        if "llm" not in spec.uses:
            assert bedrock == [], spec.name
            continue
        assert actions_of(bedrock) == {"bedrock:InvokeModel"}, spec.name
        for statement in bedrock:
            for resource in as_list(statement["Resource"]):
                text = (
                    resource
                    if isinstance(resource, str)
                    else "".join(part if isinstance(part, str) else "" for part in resource["Fn::Join"][1])
                )
                # The account's profiles in its Region; the models in any Region (a cross-Region profile
                # routes the call to a model elsewhere, and IAM checks the model there too)
                if text.endswith(":inference-profile/*"):
                    assert f":bedrock:{region}:" in text, (spec.name, resource)
                else:
                    assert text.endswith(":bedrock:*::foundation-model/*"), (spec.name, resource)


def test_vpc_functions_get_the_eni_permissions(synthesized):
    template = synthesized.template("full")
    functions = functions_by_name(template)
    for name, (_, properties) in functions.items():
        role = template["Resources"][logical_id_of(properties["Role"])]["Properties"]
        assert any("AWSLambdaVPCAccessExecutionRole" in str(arn) for arn in role.get("ManagedPolicyArns", [])), name


@pytest.mark.parametrize("which", STACKS)
def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(synthesized, which):
    # cdk-nag v3 is a policy-validation plugin: validate the stack's construct tree directly.
    from infra.application import nag_pack

    stack = synthesized.default_stack if which == "default" else synthesized.full_stack
    report = nag_pack().validate_scope(stack)
    findings = [
        (violation.rule_name, violation.severity, [r.construct_path for r in violation.violating_resources][:3])
        for violation in report.violations
    ]
    assert findings == []


@pytest.mark.parametrize("which", STACKS)
def test_synthesis_reports_no_error_or_warning_annotations(synthesized, which):
    from aws_cdk.assertions import Annotations, Match

    stack = synthesized.default_stack if which == "default" else synthesized.full_stack
    annotations = Annotations.from_stack(stack)
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


def test_routes_with_the_same_needs_share_a_role_and_event_handlers_have_their_own(synthesized):
    # Sharing keeps the templates far from the resource limit without granting any route more than its
    # "uses"; a role serves the routes of one group only, so it never spans two templates.
    functions = functions_by_name(synthesized.template())
    role_of = {name: logical_id_of(properties["Role"]) for name, (_, properties) in functions.items()}
    routes_by_role: dict[str, set[tuple[str, ...]]] = {}
    for spec in synthesized.routes.routes:
        routes_by_role.setdefault(role_of[spec.name], set()).add(tuple(sorted(spec.uses)))
    assert all(len(uses_sets) == 1 for uses_sets in routes_by_role.values())
    assert len(routes_by_role) == len(
        {(spec.capability, tuple(sorted(spec.uses))) for spec in synthesized.routes.routes}
    )
    event_roles = [role_of[spec.name] for spec in synthesized.routes.events]
    assert len(set(event_roles)) == len(event_roles)
    assert set(event_roles).isdisjoint(routes_by_role)
