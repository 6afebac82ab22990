"""Issue 11, item 7: the published OpenAPI document accepts exactly what the service accepts."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from workflow_service.http.openapi import openapi_document, resolve_model
from workflow_service.http.routes import route_table

RUN_ID = "5eb7cf5a86d9755df3a6c593"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def references(node: Any, where: str = "#") -> list[tuple[str, str]]:
    """Every ``$ref`` in ``node`` with the JSON pointer of the object that holds it."""
    if isinstance(node, dict):
        found = [(where, node["$ref"])] if "$ref" in node else []
        for key, value in node.items():
            found.extend(references(value, f"{where}/{key}"))
        return found
    if isinstance(node, list):
        return [item for index, value in enumerate(node) for item in references(value, f"{where}/{index}")]
    return []


def resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), f"{reference} points outside the document"
    target: Any = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(target, dict) and part in target, f"{reference} does not resolve (no {part!r})"
        target = target[part]
    return target


def body_validator(document: dict[str, Any], method: str, path: str) -> jsonschema_rs.Validator:
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def body_schema_of(document: dict[str, Any], model_name: str) -> dict[str, Any]:
    return document["components"]["schemas"][model_name]


def test_issue11_every_ref_in_the_whole_document_resolves(document):
    found = references(document)

    assert len(found) > 100  # the walk reaches responses, bodies, parameters and nested schemas
    for where, reference in found:
        assert isinstance(resolve(document, reference), dict), f"{where}: {reference}"


def test_issue11_query_parameters_are_self_contained_and_never_null(document):
    parameters = {
        (path, parameter["name"]): parameter["schema"]
        for path, item in document["paths"].items()
        for operation in item.values()
        for parameter in operation["parameters"]
        if parameter["in"] == "query"
    }

    assert parameters[("/workflows/v1/workflow-runs", "status")]["enum"][:2] == ["not_started", "started"]
    assert "enum" in parameters[("/workflows/v1/workflow-schedules", "status")]
    for (path, name), schema in parameters.items():
        assert references(schema) == [], f"{path} ?{name} refers outside itself"
        assert {"type": "null"} not in schema.get("anyOf", []) and schema.get("type") != "null", (path, name)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("UpdateWorkflowRequest", "name"),
        ("UpdateTriggerRequest", "enabled"),
        ("UpdateTriggerRequest", "name"),
        ("UpdateScheduleRequest", "scheduled_time"),
        ("UpdateScheduleRequest", "run_input"),
    ],
)
def test_issue11_a_field_the_service_refuses_as_null_is_not_nullable(document, model, field):
    validator = jsonschema_rs.validator_for({**body_schema_of(document, model), "components": document["components"]})

    assert not validator.is_valid({field: None})


def test_issue11_every_nullable_body_field_accepts_null_when_sent():
    # The converse, over every body of every route: where the schema says null, the model takes it.
    document = openapi_document()
    for route in route_table():
        if not route.body:
            continue
        model = resolve_model(route.body)
        schema = body_schema_of(document, model.__name__)
        for name, field_schema in schema.get("properties", {}).items():
            if {"type": "null"} in field_schema.get("anyOf", []):
                field_name = next(n for n, f in model.model_fields.items() if (f.alias or n) == name)
                instance = model.model_construct()
                model.__pydantic_validator__.validate_assignment(instance, field_name, None)


def test_issue11_a_description_null_still_clears_it(document):
    validator = jsonschema_rs.validator_for(
        {**body_schema_of(document, "UpdateWorkflowRequest"), "components": document["components"]}
    )

    assert validator.is_valid({"description": None})


def test_issue11_start_or_resume_says_which_id_each_command_needs(document):
    validator = body_validator(document, "post", "/workflows/v1/workflow-runs")

    assert not validator.is_valid({})
    assert not validator.is_valid({"command": "pause"})
    assert validator.is_valid({"workflow_id": RUN_ID})
    assert validator.is_valid({"command": "pause", "workflow_run_id": RUN_ID})
    assert "workflow_run_id" in document["paths"]["/workflows/v1/workflow-runs"]["post"]["description"]


def test_issue11_execute_says_a_first_turn_must_start(document):
    validator = body_validator(document, "post", "/workflows/v1/workflows/{workflow_id}/execute")

    assert validator.is_valid({"run_input": {}})
    assert not validator.is_valid({"run_input": {"command": "data"}})
    assert validator.is_valid({"run_input": {"command": "data"}, "run_id": RUN_ID})


def test_issue11_ids_in_bodies_carry_the_object_id_pattern(document):
    run_input = body_schema_of(document, "WorkflowRunInput")["properties"]["workflow_id"]

    assert run_input["anyOf"][0]["pattern"] == "^[0-9a-f]{24}$"


def test_issue11_inbound_webhook_documents_its_headers_body_and_answers(document):
    operation = document["paths"]["/workflows/v1/hooks/{trigger_id}"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}

    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(header["required"] for header in headers.values())
    body = operation["requestBody"]
    assert body["required"] and body["content"]["application/json"]["schema"]["type"] == "object"
    assert {"202", "401", "404", "413", "422"} <= set(operation["responses"])
    assert "security" not in operation


def test_every_status_the_error_table_can_give_is_documented_where_it_can_happen(document):
    runs = document["paths"]["/workflows/v1/workflow-runs"]
    execute = document["paths"]["/workflows/v1/workflows/{workflow_id}/execute"]["post"]

    assert "400" in runs["get"]["responses"]  # end before start
    assert {"401", "403", "409", "413", "422", "429", "503"} <= set(execute["responses"])
    assert "422" not in document["paths"]["/api/v1/schedules"]["post"]["responses"]  # seed 002 answers 400


def test_every_integer_in_the_document_is_bounded_to_64_bits(document):
    # Given the published document, every integer schema in it (bodies, queries, answers)
    integers = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                integers.append((where, node))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(document, "#")
    # Then each says what the service refuses: nothing beyond int64 either way
    assert integers
    for where, schema in integers:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        assert low is not None and low >= -(2**63), where
        assert high is not None and high <= 2**63 - 1, where
