"""JSON Schemas that accept exactly what the models accept (the OpenAPI document's building blocks).

pydantic writes ``X | None = None`` as "X or null", even when a validator of the field refuses an
explicit null (absent means "leave unchanged", null is refused with a 422). A client, or a fuzzer,
reading such a schema sends null and is refused. ``StrictJsonSchema`` asks each model's own
validator whether it takes null for such a field and drops ``null`` from the schema when it does
not, so the published schema follows the validation instead of a hand-kept list.

Query parameters are strings on the wire: there is no way to send a JSON null, and absent already
means the default, so their schemas carry no ``null`` branch and no ``$defs`` references (they are
inlined: a parameter schema is not a document of its own).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

_NULL = {"type": "null"}
# Every body is refused when an integer anywhere in it leaves BSON's int64 (models.common
# first_unstorable), so an integer field's schema says so unless it already bounds itself tighter.
INT64_MINIMUM = -(2**63)
INT64_MAXIMUM = 2**63 - 1


def refuses_null(model: type[BaseModel], field_name: str) -> bool:
    """Whether ``model`` refuses an explicit null for ``field_name`` (validated alone, as an assignment)."""
    try:
        model.__pydantic_validator__.validate_assignment(model.model_construct(), field_name, None)
    except ValidationError as refused:
        return all(error["loc"][:1] == (field_name,) for error in refused.errors())
    except Exception:  # a model validator that needs the other fields: no verdict, keep the schema as it is
        return False
    return False


def without_null(schema: JsonSchemaValue) -> JsonSchemaValue:
    """``schema`` minus its ``null`` alternative (and a ``null`` default): "X or null" becomes "X"."""
    alternatives = schema.get("anyOf")
    if not isinstance(alternatives, list) or _NULL not in alternatives:
        return schema
    remaining = [alternative for alternative in alternatives if alternative != _NULL]
    stripped = {key: value for key, value in schema.items() if key != "anyOf"}
    if stripped.get("default", 0) is None:
        del stripped["default"]
    if len(remaining) == 1:
        return {**remaining[0], **stripped}
    return {**stripped, "anyOf": remaining}


class StrictJsonSchema(GenerateJsonSchema):
    """pydantic's generator, except that a field whose validator refuses null is not nullable, and an
    integer is bounded to int64."""

    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        json_schema = super().int_schema(schema)
        if "minimum" not in json_schema and "exclusiveMinimum" not in json_schema:
            json_schema["minimum"] = INT64_MINIMUM
        if "maximum" not in json_schema and "exclusiveMaximum" not in json_schema:
            json_schema["maximum"] = INT64_MAXIMUM
        return json_schema

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        model = schema["cls"]
        properties = json_schema.get("properties")
        if self.mode != "validation" or not isinstance(properties, dict):
            return json_schema
        for field_name, field in model.model_fields.items():
            key = field.alias if field.alias and field.alias in properties else field_name
            if key in properties and refuses_null(model, field_name):
                properties[key] = without_null(properties[key])
        return json_schema


def query_parameter_schemas(model: type[BaseModel]) -> tuple[dict[str, JsonSchemaValue], set[str]]:
    """Each query parameter's schema (self-contained, never null) and the names of the required ones."""
    document = model.model_json_schema(schema_generator=StrictJsonSchema)
    definitions = document.get("$defs", {})
    schemas = {
        name: without_null(_inlined(schema, definitions)) for name, schema in document.get("properties", {}).items()
    }
    return schemas, set(document.get("required", []))


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        target = copy.deepcopy(definitions[reference.removeprefix("#/$defs/")])
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return _inlined({**target, **siblings}, definitions)
    return {key: _inlined(value, definitions) for key, value in schema.items()}
