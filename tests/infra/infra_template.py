"""Reading a synthesized CloudFormation template (plain dicts), shared by the infra tests."""

from __future__ import annotations

from typing import Any


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def functions_by_name(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Route/event name -> (logical id, properties) of its Lambda function."""
    result = {}
    for logical_id, resource in resources_of_type(template, "AWS::Lambda::Function").items():
        properties = resource["Properties"]
        result[properties["Handler"].removesuffix(".handler")] = (logical_id, properties)
    return result


def role_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement granted to a role: its inline policies and the AWS::IAM::Policy attached to it."""
    role = template["Resources"][role_logical_id]["Properties"]
    statements = [
        statement for policy in role.get("Policies", []) for statement in policy["PolicyDocument"]["Statement"]
    ]
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def logical_id_of(reference: Any) -> str | None:
    """The logical id a Ref / Fn::GetAtt points at."""
    if isinstance(reference, dict):
        if "Ref" in reference:
            return reference["Ref"]
        if "Fn::GetAtt" in reference:
            return reference["Fn::GetAtt"][0]
    return None


NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"


def nested_stacks(stack: Any) -> dict[str, Any]:
    """``stack``'s nested stacks, keyed by the logical id of their AWS::CloudFormation::Stack in it."""
    from aws_cdk import Stack

    return {
        stack.resolve(construct.nested_stack_resource.logical_id): construct
        for construct in stack.node.find_all()
        if Stack.is_stack(construct) and construct.nested_stack_parent is stack
    }


def template_files(stack: Any, assembly: Any) -> dict[str, str]:
    """Where ``stack``'s template (keyed by the stack name) and its nested templates (by logical id) were written."""
    from pathlib import Path

    artifact = assembly.get_stack_by_name(stack.stack_name)
    return {stack.stack_name: artifact.template_full_path} | {
        logical_id: str(Path(assembly.directory) / nested.template_file)
        for logical_id, nested in nested_stacks(stack).items()
    }


def read_templates(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    import json
    from pathlib import Path

    return {name: json.loads(Path(path).read_text()) for name, path in files.items()}


def merged_template(parent: dict[str, Any], nested: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One template holding the resources of ``parent`` and of its ``nested`` templates, as if they were one.

    A nested template refers to the parent's resources through parameters, and the parent to the
    nested ones through outputs; both are replaced by what they stand for, so a Ref or Fn::GetAtt
    names the resource's own logical id wherever it is, and the tests read the whole deployment
    without caring which template a resource landed in.
    """
    outputs_by_stack = {}
    resources = {}
    for stack_id, template in nested.items():
        passed = parent["Resources"][stack_id]["Properties"].get("Parameters", {})
        resolved = _substitute(template, lambda node, passed=passed: _parameter_value(node, passed))
        outputs_by_stack[stack_id] = {name: output["Value"] for name, output in resolved.get("Outputs", {}).items()}
        clashes = set(resources) & set(resolved["Resources"])
        assert not clashes, f"logical ids in more than one template: {sorted(clashes)}"
        resources.update(resolved["Resources"])
    merged = _substitute(parent, lambda node: _output_value(node, outputs_by_stack))
    clashes = set(resources) & set(merged["Resources"])
    assert not clashes, f"logical ids in more than one template: {sorted(clashes)}"
    merged["Resources"].update(resources)
    return merged


def _parameter_value(node: Any, passed: dict[str, Any]) -> Any:
    if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in passed:
        return passed[node["Ref"]]
    return None


def _output_value(node: Any, outputs_by_stack: dict[str, dict[str, Any]]) -> Any:
    if isinstance(node, dict) and set(node) == {"Fn::GetAtt"}:
        stack_id, attribute = node["Fn::GetAtt"]
        if stack_id in outputs_by_stack and attribute.startswith("Outputs."):
            return outputs_by_stack[stack_id][attribute.removeprefix("Outputs.")]
    return None


def _substitute(node: Any, replacement: Any) -> Any:
    replaced = replacement(node)
    if replaced is not None:
        return replaced
    if isinstance(node, dict):
        return {key: _substitute(value, replacement) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(item, replacement) for item in node]
    return node
