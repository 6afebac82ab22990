"""Every template CloudFormation receives: headroom under the resource limit, cfn-lint, the API deployment."""

from __future__ import annotations

import json

import pytest

from tests.infra.infra_template import (
    NESTED_STACK_TYPE,
    merged_template,
    nested_stacks,
    read_templates,
    resources_of_type,
    template_files,
)

STACKS = ("default", "full")
# CloudFormation refuses more than 500 resources per template; the design keeps 40% of it free, so
# that the route table can double without a failed deploy.
MAX_RESOURCES_PER_TEMPLATE = 300
# CloudFormation's other per-template limits that nested stacks spend: references to the parent
# arrive as parameters, references from it leave as outputs.
MAX_PARAMETERS_PER_TEMPLATE = 200
MAX_OUTPUTS_PER_TEMPLATE = 200
# The regions the stages deploy to, and those the secrets-extension map covers.
LINT_REGIONS = ["us-east-1", "eu-west-1"]
# W3005 ("DependsOn is already implied by a Ref/GetAtt"): CDK writes explicit DependsOn for construct
# dependencies (e.g. a function on its role's policy) even where a reference implies the same order.
IGNORED_LINT_RULES = ["W3005"]


def _resource_counts(separate_templates: dict[str, dict]) -> dict[str, int]:
    return {name: len(template["Resources"]) for name, template in separate_templates.items()}


@pytest.mark.parametrize("which", STACKS)
def test_every_template_leaves_room_under_the_resource_limit(synthesized, which):
    counts = _resource_counts(synthesized.separate_templates[which])
    print(f"{which}: {counts}")
    assert len(counts) > 1, "the routes live in nested stacks"
    assert max(counts.values()) <= MAX_RESOURCES_PER_TEMPLATE, counts


@pytest.fixture(scope="module")
def doubled(synthesized, tmp_path_factory):
    """The default stage synthesized with every route also served a second time under ``/copy``."""
    from infra.application import add_service_stack, create_app
    from infra.route_table import ROUTES_JSON, load_route_table

    document = json.loads(ROUTES_JSON.read_text())
    for group, rows in document["routes"].items():
        document["routes"][group] = rows + [
            {**row, "name": f"{row['name']}_2", "path": f"/copy{row['path']}"} for row in rows
        ]
    path = tmp_path_factory.mktemp("routes") / "routes.json"
    path.write_text(json.dumps(document))
    routes = load_route_table(path)
    app = create_app(outdir=str(tmp_path_factory.mktemp("cdk.out.doubled")))
    stack = add_service_stack(app, synthesized.default_config, routes)
    separate = read_templates(template_files(stack, app.synth()))
    return routes, separate


def test_a_doubled_route_table_still_fits_every_template(synthesized, doubled):
    routes, separate = doubled
    assert len(routes.routes) == 2 * len(synthesized.routes.routes)
    counts = _resource_counts(separate)
    print(f"doubled route table ({len(routes.routes)} routes): {counts}, {sum(counts.values())} in all")
    assert max(counts.values()) <= MAX_RESOURCES_PER_TEMPLATE, counts
    for name, template in separate.items():
        assert len(template.get("Parameters", {})) <= MAX_PARAMETERS_PER_TEMPLATE, name
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS_PER_TEMPLATE, name


def test_the_deployment_follows_every_route_group_and_changes_with_the_route_table(synthesized, doubled):
    template = synthesized.separate_templates["default"][synthesized.default_stack.stack_name]
    ((deployment_id, deployment),) = resources_of_type(template, "AWS::ApiGateway::Deployment").items()
    assert set(deployment["DependsOn"]) >= set(resources_of_type(template, NESTED_STACK_TYPE))
    (stage,) = resources_of_type(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["DeploymentId"] == {"Ref": deployment_id}
    # A new logical id is a new deployment: the stage then serves the new routes.
    _, doubled_separate = doubled
    doubled_parent = doubled_separate[synthesized.default_stack.stack_name]
    (doubled_deployment_id,) = resources_of_type(doubled_parent, "AWS::ApiGateway::Deployment")
    assert doubled_deployment_id != deployment_id


def test_the_route_groups_are_the_route_tables_groups(synthesized):
    nested = nested_stacks(synthesized.default_stack)
    descriptions = sorted(synthesized.separate_templates["default"][logical_id]["Description"] for logical_id in nested)
    prefix = synthesized.default_config.resource_prefix
    assert descriptions == sorted(f"{prefix}: the {group} routes" for group in synthesized.routes.groups)


def test_the_merged_view_holds_every_resource_once(synthesized):
    separate = synthesized.separate_templates["default"]
    parent = separate[synthesized.default_stack.stack_name]
    merged = merged_template(parent, {name: t for name, t in separate.items() if t is not parent})
    assert len(merged["Resources"]) == sum(_resource_counts(separate).values())


@pytest.mark.parametrize("which", STACKS)
def test_cfn_lint_finds_no_error_or_warning(synthesized, which):
    from pathlib import Path

    from cfnlint.api import ManualArgs, lint_file

    findings = []
    for name, path in synthesized.template_files[which].items():
        for match in lint_file(Path(path), ManualArgs(regions=LINT_REGIONS, ignore_checks=IGNORED_LINT_RULES)):
            findings.append(f"{name}: {match.rule.id} {match.message} ({match.path_string})")
    assert findings == []
