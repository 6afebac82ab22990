"""Shared shapes: ObjectIds, UTC timestamps with Z, ``_id`` aliasing, strict request bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from workflow_service.models.common import AuditedModel, format_utc
from workflow_service.models.execution import ExecuteWorkflowRequest
from workflow_service.models.runs import WorkflowRunInput
from workflow_service.models.workflows import Workflow


def test_id_is_serialized_as_underscore_id_and_accepted_either_way():
    by_alias = AuditedModel.model_validate({"_id": "5eb7cf5a86d9755df3a6c593"})
    by_name = AuditedModel(id="5eb7cf5a86d9755df3a6c593")
    assert by_alias.model_dump(mode="json")["_id"] == by_name.model_dump(mode="json")["_id"]
    assert "id" not in by_alias.model_dump(mode="json")


@pytest.mark.parametrize("bad", ["5EB7CF5A86D9755DF3A6C593", "5eb7cf5a86d9755df3a6c59", "zzzzzzzzzzzzzzzzzzzzzzzz"])
def test_object_ids_must_be_24_lowercase_hex(bad):
    with pytest.raises(ValidationError) as error:
        WorkflowRunInput(workflow_id=bad)
    assert error.value.errors()[0]["loc"] == ("workflow_id",)


def test_datetimes_are_iso_utc_with_z():
    paris = timezone(timedelta(hours=1))
    workflow = Workflow(name="w", created_at=datetime(2030, 1, 1, 10, 0, tzinfo=paris))
    assert workflow.model_dump(mode="json")["created_at"] == "2030-01-01T09:00:00Z"
    assert format_utc(datetime(2030, 1, 1, 9, 0, 0, 123456, tzinfo=UTC)) == "2030-01-01T09:00:00.123Z"
    # Stored BSON dates come back naive; they are UTC.
    assert Workflow(name="w", created_at=datetime(2030, 1, 1)).created_at.tzinfo is UTC


def test_run_input_defaults_match_the_contract():
    run_input = WorkflowRunInput()
    assert run_input.command == "start" and run_input.dynamic_variables == {} and run_input.thread_to_node_inputs == {}


def test_request_bodies_reject_unknown_fields_by_name():
    with pytest.raises(ValidationError) as error:
        ExecuteWorkflowRequest.model_validate({"run_input": {}, "runid": "x"})
    assert error.value.errors()[0]["loc"] == ("runid",) and error.value.errors()[0]["type"] == "extra_forbidden"


def test_no_model_field_takes_list_or_tuple_as_its_default_factory():
    # Given every model the domain package declares
    import importlib
    import inspect
    import pkgutil

    from pydantic import BaseModel

    import workflow_service.models as models_package

    builtin_factories = []
    for module_info in pkgutil.iter_modules(models_package.__path__):
        module = importlib.import_module(f"{models_package.__name__}.{module_info.name}")
        for model in vars(module).values():
            if not (inspect.isclass(model) and issubclass(model, BaseModel) and model.__module__ == module.__name__):
                continue
            # When a field's default factory is a builtin with a text signature (list, tuple)
            builtin_factories += [
                f"{model.__module__}.{model.__name__}.{name}"
                for name, field in model.model_fields.items()
                if getattr(field.default_factory, "__module__", None) == "builtins"
                and getattr(field.default_factory, "__text_signature__", None)
            ]
    # Then there is none: pydantic would parse that signature with tokenize on a cold start (empty_list)
    assert builtin_factories == []
