"""The trigger-queue message contract and the trigger shapes' public rules."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from workflow_service.models.runs import RunCommand
from workflow_service.models.triggers import Trigger, TriggerKind, TriggerWithSecret, UpdateTriggerRequest
from workflow_service.triggers.inbound import InvalidTriggerMessage, parse_queue_message

WORKFLOW_ID = "65f1a2b3c4d5e6f708192a3b"


def test_a_minimal_message_names_only_the_workflow():
    message = parse_queue_message(json.dumps({"workflow_id": WORKFLOW_ID}))
    assert message.workflow_id == WORKFLOW_ID
    assert message.version is None and message.idempotency_key is None
    run_input = message.run_input.to_run_input()
    assert run_input.command == RunCommand.START and run_input.dynamic_variables == {}


def test_a_full_message_carries_run_input_version_and_key_into_a_start_input():
    body = {
        "workflow_id": WORKFLOW_ID,
        "run_input": {
            "dynamic_variables": {"patient": "Ada"},
            "runtime_variables": {"clinic": "north"},
            "miscellaneous": {"source": "crm"},
            "thread_to_node_inputs": {"0": {"node_run_inputs": [{"type": "llm", "messages": []}]}},
        },
        "version": 2,
        "idempotency_key": "lead-8812",
    }
    message = parse_queue_message(json.dumps(body))
    run_input = message.run_input.to_run_input()
    assert (message.version, message.idempotency_key) == (2, "lead-8812")
    assert run_input.dynamic_variables == {"patient": "Ada"}
    assert run_input.runtime_variables == {"clinic": "north"}
    assert run_input.miscellaneous == {"source": "crm"}
    assert run_input.thread_to_node_inputs["0"].node_run_inputs == [{"type": "llm", "messages": []}]
    assert run_input.workflow_run_id is None and run_input.team_id is None


@pytest.mark.parametrize(
    "body, reason",
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        ('["a"]', "JSON list, not an object"),
        ("{}", "workflow_id: Field required"),
        ('{"workflow_id": "123"}', "workflow_id: String should match pattern"),
        (json.dumps({"workflow_id": WORKFLOW_ID, "version": -1}), "version: Input should be greater than or equal"),
        (json.dumps({"workflow_id": WORKFLOW_ID, "idempotency_key": ""}), "idempotency_key"),
        (json.dumps({"workflow_id": WORKFLOW_ID, "team_id": "other"}), "team_id: Extra inputs are not permitted"),
        (json.dumps({"workflow_id": WORKFLOW_ID, "run_input": {"command": "stop"}}), "run_input.command: Extra"),
        (json.dumps({"workflow_id": WORKFLOW_ID, "run_input": {"dynamic_variables": []}}), "dynamic_variables"),
        ("[" * 100_000, "not JSON"),
        ('{"workflow_id": "' + WORKFLOW_ID + '", "x": ' + "[" * 70 + "]" * 70 + "}", "nested more than 64 levels"),
        ('{"workflow_id": "' + WORKFLOW_ID + '", "x": "\\ud800"}', "not valid Unicode"),
    ],
)
def test_an_invalid_message_is_rejected_with_a_reason_naming_the_problem(body, reason):
    with pytest.raises(InvalidTriggerMessage) as rejected:
        parse_queue_message(body)
    assert reason in rejected.value.reason


def test_only_webhook_triggers_have_a_webhook_path():
    webhook = Trigger(_id=WORKFLOW_ID, workflow_id=WORKFLOW_ID, type=TriggerKind.WEBHOOK, name="crm")
    sqs = Trigger(_id=WORKFLOW_ID, workflow_id=WORKFLOW_ID, type=TriggerKind.SQS, name="queue")
    assert webhook.model_dump(mode="json")["webhook_path"] == f"/workflows/v1/hooks/{WORKFLOW_ID}"
    assert sqs.model_dump(mode="json")["webhook_path"] is None


def test_only_the_with_secret_shape_serializes_the_secret():
    trigger = Trigger(_id=WORKFLOW_ID, workflow_id=WORKFLOW_ID, type=TriggerKind.WEBHOOK, name="crm", has_secret=True)
    shown = TriggerWithSecret.of(trigger, "whsec_abc").model_dump(mode="json")
    assert shown["secret"] == "whsec_abc" and shown["webhook_path"].endswith(WORKFLOW_ID)
    assert "secret" not in trigger.model_dump(mode="json")


@pytest.mark.parametrize("body", [{"enabled": None}, {"name": None}, {"name": ""}, {"enabled": True, "type": "sqs"}])
def test_an_update_rejects_nulls_empty_names_and_unknown_fields(body):
    with pytest.raises(ValidationError):
        UpdateTriggerRequest.model_validate(body)


def test_an_update_leaves_absent_fields_unset():
    assert UpdateTriggerRequest.model_validate({"enabled": False}).model_dump(exclude_unset=True) == {"enabled": False}
