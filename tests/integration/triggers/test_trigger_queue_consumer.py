"""The SQS trigger-queue consumer: partial batch responses, poison messages, duplicates."""

from __future__ import annotations

import json
import logging

import pytest

from local.sqs_event_source import LocalQueuePoller
from tests.integration.triggers.conftest import (
    consume,
    create_trigger,
    create_workflow,
    failed_ids,
    runs_in_store,
    sqs_record,
)
from tests.support.api import call
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

UNKNOWN_WORKFLOW = "65f1a2b3c4d5e6f708192a3b"


@pytest.fixture
def workflow_id(caller):
    """A workflow with an enabled SQS trigger."""
    workflow_id = create_workflow(caller)
    create_trigger(caller, workflow_id, "sqs")
    return workflow_id


def message(workflow_id: str, **fields) -> str:
    return json.dumps({"workflow_id": workflow_id, **fields})


def test_a_batch_reports_exactly_its_bad_messages_and_runs_the_good_one(caller, services, workflow_id, caplog):
    # Given a batch with one good message, one that is not JSON, one naming an unknown workflow
    good = sqs_record(message(workflow_id, run_input={"dynamic_variables": {"lead": "Ada"}}))
    not_json = sqs_record("{workflow_id: oops")
    unknown = sqs_record(message(UNKNOWN_WORKFLOW))
    # When the consumer handles it
    with caplog.at_level(logging.WARNING, logger="workflow_service.handlers.trigger_queue_consumer"):
        response = consume(good, not_json, unknown)
    # Then exactly the two bad messages are reported for retry, each with its reason logged
    assert failed_ids(response) == {not_json["messageId"], unknown["messageId"]}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"{not_json['messageId']} rejected (receive 1): the message body is not JSON" in logged
    assert f"{unknown['messageId']} rejected (receive 1): workflow {UNKNOWN_WORKFLOW} does not exist" in logged
    # And one run exists, for the workflow's team, carrying the message's input and ids
    (run,) = runs_in_store(services)
    assert run["team_id"] == caller.team_id
    inner = run["workflow_run"]
    assert inner["workflow_id"] == workflow_id and inner["pending_input"]["dynamic_variables"] == {"lead": "Ada"}
    assert inner["trigger"]["type"] == "sqs" and inner["trigger"]["message_id"] == good["messageId"]
    assert inner["trigger"]["idempotency_key"] is None


def test_an_all_good_batch_reports_no_failures(services, workflow_id):
    response = consume(sqs_record(message(workflow_id)), sqs_record(message(workflow_id)))
    assert response == {"batchItemFailures": []}
    assert len(runs_in_store(services)) == 2


def test_an_all_bad_batch_is_still_a_partial_response_listing_each_message(services):
    bad = [sqs_record("[]"), sqs_record(message(UNKNOWN_WORKFLOW))]
    response = consume(*bad)
    assert failed_ids(response) == {record["messageId"] for record in bad}


def test_a_duplicate_idempotency_key_makes_one_run_and_both_messages_succeed(services, workflow_id):
    first = sqs_record(message(workflow_id, idempotency_key="lead-8812"))
    duplicate = sqs_record(message(workflow_id, idempotency_key="lead-8812", run_input={"dynamic_variables": {"x": 1}}))
    assert consume(first)["batchItemFailures"] == []
    assert consume(duplicate)["batchItemFailures"] == []
    (run,) = runs_in_store(services)
    assert run["workflow_run"]["trigger"]["idempotency_key"] == "lead-8812"
    assert run["workflow_run"]["trigger"]["message_id"] == first["messageId"]


def test_the_same_idempotency_key_for_another_workflow_is_another_run(caller, services, workflow_id):
    other_workflow = create_workflow(caller)
    create_trigger(caller, other_workflow, "sqs")
    response = consume(
        sqs_record(message(workflow_id, idempotency_key="k")), sqs_record(message(other_workflow, idempotency_key="k"))
    )
    assert response["batchItemFailures"] == []
    assert len(runs_in_store(services)) == 2


def test_a_redelivered_message_makes_no_second_run(services, workflow_id):
    # Given a message processed once (say its deletion was lost)
    record = sqs_record(message(workflow_id))
    consume(record)
    # When SQS delivers it again
    redelivered = {**sqs_record(record["body"], message_id=record["messageId"], receive_count=2)}
    response = consume(redelivered)
    # Then it succeeds and there is still one run
    assert response["batchItemFailures"] == []
    assert len(runs_in_store(services)) == 1


class Killed(BaseException):
    """The Lambda dying mid-message: nothing after it runs."""


def test_a_message_redelivered_after_a_crash_and_the_runs_deletion_makes_no_run(
    services, caller, workflow_id, monkeypatch
):
    # Given a message whose run was inserted, and whose consumer died before marking the key processed
    record = sqs_record(message(workflow_id, idempotency_key="lead-1"), message_id="m-1")

    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(services.core.dedupe_records, "mark_created", dies)
    with pytest.raises(Killed):
        consume(record)
    monkeypatch.undo()
    (run,) = runs_in_store(services)
    # And the team deleted that run before SQS delivered the message again
    assert call("delete_workflow_run", caller=caller, path={"workflow_run_id": str(run["_id"])}).status in (200, 204)
    # When it is redelivered
    response = consume(sqs_record(record["body"], message_id="m-1", receive_count=2))
    # Then it succeeds as a duplicate and the deleted run is not made again
    assert response["batchItemFailures"] == []
    assert runs_in_store(services) == []


def test_version_selects_the_version_and_a_missing_version_fails_the_message(caller, services, workflow_id):
    call("create_workflow_version", caller=caller, path={"workflow_id": workflow_id}, body={"version_name": "v1"})
    good = sqs_record(message(workflow_id, version=1))
    missing = sqs_record(message(workflow_id, version=7))
    assert failed_ids(consume(good, missing)) == {missing["messageId"]}
    (run,) = runs_in_store(services)
    assert run["workflow_run"]["version_number"] == 1


def test_a_disabled_sqs_trigger_or_only_a_webhook_trigger_fails_the_message(caller, services, caplog):
    disabled = create_workflow(caller)
    trigger = create_trigger(caller, disabled, "sqs", enabled=False)
    webhook_only = create_workflow(caller)
    create_trigger(caller, webhook_only, "webhook")
    records = [sqs_record(message(disabled)), sqs_record(message(webhook_only))]
    with caplog.at_level(logging.WARNING, logger="workflow_service.handlers.trigger_queue_consumer"):
        response = consume(*records)
    assert failed_ids(response) == {record["messageId"] for record in records}
    assert f"the SQS trigger of workflow {disabled} is disabled" in caplog.text
    assert runs_in_store(services) == []
    # Once enabled, the same message starts a run
    call(
        "update_trigger",
        caller=caller,
        path={"workflow_id": disabled, "trigger_id": trigger["_id"]},
        body={"enabled": True},
    )
    assert consume(records[0])["batchItemFailures"] == []


def test_a_message_cannot_choose_the_team(services, caller, other_caller, workflow_id):
    # A message carrying a team id is rejected (unknown field); the run's team is always the workflow's
    rejected = sqs_record(message(workflow_id, team_id=other_caller.team_id))
    assert failed_ids(consume(rejected)) == {rejected["messageId"]}
    consume(sqs_record(message(workflow_id)))
    assert [run["team_id"] for run in runs_in_store(services)] == [caller.team_id]


def test_a_poison_message_ends_in_the_dead_letter_queue_while_good_ones_are_deleted(services, workflow_id):
    # Given a local SQS queue with a redrive policy of 2 receives and no visibility delay
    from trigger_queue_consumer import handler

    queue = LocalSqsQueue("trigger-test", visibility_timeout_seconds=0, max_receive_count=2)
    poller = LocalQueuePoller(queue, handler, function_name="trigger_queue_consumer")
    poison_id = queue.send_message("definitely not json")
    good_id = queue.send_message(message(workflow_id))
    # When the consumer polls until the queue is empty
    outcomes = [poller.drain_once() for _ in range(3)]
    # Then the good message was deleted on its first delivery, the poison one failed twice, then moved
    assert outcomes[0].deleted == (good_id,) and outcomes[0].failed == (poison_id,)
    assert outcomes[1].failed == (poison_id,)
    assert outcomes[2].delivered == ()
    assert queue.approximate_visible_count() == 0
    (dead,) = queue.dead_letter_queue.receive()
    assert dead["messageId"] == poison_id and dead["body"] == "definitely not json"
    assert len(runs_in_store(services)) == 1


def test_a_message_with_an_integer_beyond_64_bits_is_reported_and_starts_nothing(services, workflow_id, caplog):
    # Given a message whose run input holds an integer BSON cannot store
    huge = sqs_record(message(workflow_id, run_input={"dynamic_variables": {"id": 2**64}}))
    # When the consumer handles it
    with caplog.at_level(logging.WARNING, logger="workflow_service.handlers.trigger_queue_consumer"):
        response = consume(huge)
    # Then the message is reported (never a crashed batch), the reason names the integer, and no run exists
    assert failed_ids(response) == {huge["messageId"]}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "does not fit in 64 bits" in logged and "run_input.dynamic_variables.id" in logged
    assert runs_in_store(services) == []
