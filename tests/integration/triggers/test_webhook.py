"""The public inbound webhook: Standard Webhooks signatures (signed by the reference library) -> runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.integration.triggers.conftest import (
    MAX_WEBHOOK_BODY_BYTES,
    TOLERANCE_SECONDS,
    create_trigger,
    create_workflow,
    post_webhook,
    runs_in_store,
    send_signed,
    signed_headers,
)
from tests.support.api import call

UNKNOWN_ID = "65f1a2b3c4d5e6f708192a3b"


@pytest.fixture
def webhook(caller):
    return create_trigger(caller, create_workflow(caller), "webhook")


def test_a_signed_call_starts_a_run_whose_input_is_the_body(caller, services, clock, webhook):
    # Given a ticket payload signed with the trigger's secret
    payload = {"ticket_id": 812, "subject": "Refund", "customer": {"email": "ada@example.com"}}
    # When it is posted to the webhook URL
    reply = send_signed(webhook, payload, clock.now(), webhook_id="msg_001")
    # Then it is accepted with the run id, and the run belongs to the workflow's team
    assert reply.status == 202, reply
    assert reply.body["status"] == "started" and reply.body["queue_position"] is None
    (run,) = runs_in_store(services)
    assert str(run["_id"]) == reply.body["run_id"]
    assert run["team_id"] == caller.team_id and run["created_by"] == f"trigger:{webhook['_id']}"
    inner = run["workflow_run"]
    assert inner["workflow_id"] == webhook["workflow_id"]
    assert inner["trigger"]["type"] == "webhook" and inner["trigger"]["trigger_id"] == webhook["_id"]
    assert inner["trigger"]["message_id"] == "msg_001"
    # And the body's keys are the dynamic variables; the whole body is kept as sent
    assert inner["pending_input"]["dynamic_variables"] == payload
    assert inner["pending_input"]["miscellaneous"]["webhook_payload"] == payload
    # And the run is readable through the runs API by the team
    fetched = call("get_workflow_run", caller=caller, path={"workflow_run_id": reply.body["run_id"]})
    assert fetched.status == 200


def test_a_tampered_body_is_401_and_starts_nothing(services, clock, webhook):
    body = json.dumps({"amount": 10})
    headers = signed_headers(webhook["secret"], "msg_1", clock.now(), body)
    reply = post_webhook(webhook["_id"], json.dumps({"amount": 10_000}), headers)
    assert reply.status == 401 and "signature" in reply.body["detail"]
    assert runs_in_store(services) == []


def test_a_stale_timestamp_is_401_even_with_a_valid_signature(services, clock, webhook):
    # Given a correctly signed call captured now
    body = json.dumps({"n": 1})
    headers = signed_headers(webhook["secret"], "msg_1", clock.now(), body)
    # When it arrives just past the tolerance
    clock.advance(seconds=TOLERANCE_SECONDS + 1)
    reply = post_webhook(webhook["_id"], body, headers)
    # Then it is refused and nothing runs
    assert reply.status == 401 and "seconds away from now" in reply.body["detail"]
    assert runs_in_store(services) == []


def test_a_timestamp_from_the_future_beyond_the_tolerance_is_401(services, clock, webhook):
    reply = send_signed(webhook, {"n": 1}, clock.now() + timedelta(seconds=TOLERANCE_SECONDS + 1))
    assert reply.status == 401
    assert runs_in_store(services) == []


def test_a_replayed_webhook_id_answers_with_the_same_run_and_makes_no_second(services, clock, webhook):
    # Given an accepted call
    body = json.dumps({"n": 1})
    headers = signed_headers(webhook["secret"], "msg_replayed", clock.now(), body)
    first = post_webhook(webhook["_id"], body, headers)
    assert first.status == 202
    # When the identical request is replayed within the tolerance, and once more re-signed later
    clock.advance(seconds=30)
    replay = post_webhook(webhook["_id"], body, headers)
    resent = send_signed(webhook, {"n": 2}, clock.now(), webhook_id="msg_replayed")
    # Then both answer 202 with the first run, and there is one run
    assert (replay.status, resent.status) == (202, 202)
    assert replay.body["run_id"] == first.body["run_id"] == resent.body["run_id"]
    assert len(runs_in_store(services)) == 1


def test_the_same_webhook_id_on_two_triggers_makes_two_runs(caller, services, clock, webhook):
    other = create_trigger(caller, webhook["workflow_id"], "webhook")
    first = send_signed(webhook, {"n": 1}, clock.now(), webhook_id="msg_shared")
    second = send_signed(other, {"n": 1}, clock.now(), webhook_id="msg_shared")
    assert first.body["run_id"] != second.body["run_id"]
    assert len(runs_in_store(services)) == 2


def test_an_oversized_body_is_413_before_the_trigger_or_signature_is_looked_at(services, clock, webhook):
    body = json.dumps({"blob": "x" * MAX_WEBHOOK_BODY_BYTES})
    signed = post_webhook(webhook["_id"], body, signed_headers(webhook["secret"], "msg_1", clock.now(), body))
    unsigned_unknown = post_webhook(UNKNOWN_ID, body)
    assert signed.status == 413 and str(MAX_WEBHOOK_BODY_BYTES) in signed.body["detail"]
    assert unsigned_unknown.status == 413
    assert runs_in_store(services) == []


def test_a_body_exactly_at_the_limit_is_accepted(services, clock, webhook):
    padding = MAX_WEBHOOK_BODY_BYTES - len(json.dumps({"blob": ""}))
    body = json.dumps({"blob": "x" * padding})
    assert len(body.encode()) == MAX_WEBHOOK_BODY_BYTES
    assert send_signed(webhook, body, clock.now()).status == 202


@pytest.mark.parametrize("trigger_id", [UNKNOWN_ID, "not-an-object-id"])
def test_an_unknown_trigger_is_404(services, trigger_id):
    reply = post_webhook(trigger_id, "{}", {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x"})
    assert reply.status == 404


def test_a_disabled_trigger_is_404_until_enabled_again(caller, services, clock, webhook):
    path = {"workflow_id": webhook["workflow_id"], "trigger_id": webhook["_id"]}
    call("update_trigger", caller=caller, path=path, body={"enabled": False})
    assert send_signed(webhook, {"n": 1}, clock.now()).status == 404
    assert runs_in_store(services) == []
    call("update_trigger", caller=caller, path=path, body={"enabled": True})
    assert send_signed(webhook, {"n": 1}, clock.now()).status == 202


def test_an_sqs_trigger_id_has_no_webhook(caller, clock):
    sqs = create_trigger(caller, create_workflow(caller), "sqs")
    assert post_webhook(sqs["_id"], "{}").status == 404


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_401(services, clock, webhook, missing):
    headers = signed_headers(webhook["secret"], "msg_1", clock.now(), "{}")
    del headers[missing]
    reply = post_webhook(webhook["_id"], "{}", headers)
    assert reply.status == 401 and "missing" in reply.body["detail"]
    assert runs_in_store(services) == []


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', ""])
def test_a_signed_body_that_is_not_a_json_object_is_422(services, clock, webhook, body):
    reply = send_signed(webhook, body, clock.now())
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body"]
    assert runs_in_store(services) == []


def test_a_signed_body_nested_too_deeply_is_422_naming_where_and_starts_nothing(services, clock, webhook):
    body = '{"a": ' * 65 + "1" + "}" * 65
    reply = send_signed(webhook, body, clock.now())
    assert reply.status == 422 and reply.body["detail"][0]["type"] == "too_deeply_nested"
    assert reply.body["detail"][0]["loc"][:2] == ["body", "a"]
    assert runs_in_store(services) == []


def test_a_signed_body_with_an_integer_beyond_64_bits_is_422_naming_where_and_starts_nothing(services, clock, webhook):
    # Given a correctly signed body whose order id is larger than BSON's int64
    body = '{"order": {"id": 18446744073709551616}}'

    # When it arrives, Then it is refused naming the integer, as execute refuses it, and nothing starts
    reply = send_signed(webhook, body, clock.now())
    assert reply.status == 422, reply
    assert reply.body["detail"][0]["type"] == "int64_overflow"
    assert reply.body["detail"][0]["loc"] == ["body", "order", "id"]
    assert runs_in_store(services) == []


def test_a_signed_body_with_a_lone_surrogate_escape_is_422_naming_where_and_starts_nothing(services, clock, webhook):
    # Valid JSON, but no UTF-8 encodes "\ud800", so MongoDB could not store it (it was a 500)
    reply = send_signed(webhook, '{"order": {"note": "\\ud800"}}', clock.now())
    assert reply.status == 422, reply
    assert reply.body["detail"][0]["type"] == "string_unicode"
    assert reply.body["detail"][0]["loc"] == ["body", "order", "note"]
    assert runs_in_store(services) == []


def test_a_base64_encoded_proxy_body_is_verified_on_its_decoded_bytes(services, clock, webhook):
    import base64

    from tests.support.api import proxy_event

    body = json.dumps({"name": "Zoë"})
    event = proxy_event(
        "receive_webhook",
        path={"trigger_id": webhook["_id"]},
        headers=signed_headers(webhook["secret"], "msg_b64", clock.now(), body),
    )
    event.update(body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
    from receive_webhook import handler

    response = handler(event, None)
    assert response["statusCode"] == 202
    (run,) = runs_in_store(services)
    assert run["workflow_run"]["pending_input"]["dynamic_variables"] == {"name": "Zoë"}


def test_when_the_workflow_limit_is_reached_the_next_call_is_queued_with_its_position(caller, services, clock):
    # Given a workflow capped at one concurrent run, with a webhook trigger
    workflow_id = create_workflow(caller, max_concurrent_runs=1)
    trigger = create_trigger(caller, workflow_id, "webhook")
    # When two calls arrive
    first = send_signed(trigger, {"n": 1}, clock.now())
    second = send_signed(trigger, {"n": 2}, clock.now())
    # Then the first holds the slot and the second waits first in line
    assert (first.status, second.status) == (202, 202)
    assert first.body["status"] == "started"
    assert second.body["status"] == "not_started" and second.body["queue_position"] == 1
