"""Dedupe records live apart from runs: a delivery's key stays used after its run is deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.integration.schedules.conftest import create_workflow, fire
from tests.integration.triggers.conftest import consume, create_trigger, failed_ids, send_signed, sqs_record
from tests.support.api import call

Delivery = Callable[[], str | None]
"""Delivers the same event again each call; returns the run id its answer names, None if it names none."""


def webhook_delivery(caller, clock, workflow_id: str) -> Delivery:
    trigger = create_trigger(caller, workflow_id, "webhook")
    signed_at = clock.now()

    def deliver() -> str | None:
        reply = send_signed(trigger, {"ticket": 7}, signed_at, webhook_id="msg_once")
        assert reply.status == 202, reply
        return reply.body["run_id"]

    return deliver


def sqs_message_delivery(caller, clock, workflow_id: str) -> Delivery:
    create_trigger(caller, workflow_id, "sqs")
    body = json.dumps({"workflow_id": workflow_id})

    def deliver() -> str | None:
        assert failed_ids(consume(sqs_record(body, message_id="message-1"))) == set()
        return None

    return deliver


def recurring_firing_delivery(caller, clock, workflow_id: str) -> Delivery:
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"cron_expression": "0 9 * * *", "timezone": "UTC"},
    )
    assert reply.status == 200, reply

    def deliver() -> str | None:
        return fire(reply.body["_id"], "recurring", "2030-01-02T09:00:00Z")["run_id"]

    return deliver


def runs_of(services, workflow_id: str) -> list[str]:
    documents = services.core.database.raw["workflow_runs"].find({"workflow_run.workflow_id": workflow_id})
    return [str(document["_id"]) for document in documents]


@pytest.mark.parametrize(
    "make_delivery",
    [webhook_delivery, sqs_message_delivery, recurring_firing_delivery],
    ids=["webhook-id", "sqs-message-id", "recurring-firing"],
)
def test_deleting_a_run_never_reopens_its_dedupe_key(services, caller, clock, make_delivery):
    # Given a delivery that made one run, and that run deleted by its team
    workflow_id = create_workflow(caller)["_id"]
    deliver = make_delivery(caller, clock, workflow_id)
    deliver()
    (run_id,) = runs_of(services, workflow_id)
    deleted = call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id})
    assert deleted.status == 200, deleted
    # When the same delivery arrives again (a replay, a redelivery, a retried firing) a minute later
    clock.advance(minutes=1)
    answered = deliver()
    # Then it is acknowledged as done and makes no new run
    assert runs_of(services, workflow_id) == []
    assert answered in (None, run_id)


def test_a_replayed_webhook_whose_run_was_deleted_is_accepted_naming_that_run_without_a_status(services, caller, clock):
    # Given a webhook delivery whose run was deleted
    workflow_id = create_workflow(caller)["_id"]
    trigger = create_trigger(caller, workflow_id, "webhook")
    first = send_signed(trigger, {"n": 1}, clock.now(), webhook_id="msg_gone")
    call("delete_workflow_run", caller=caller, path={"workflow_run_id": first.body["run_id"]})
    # When the sender retries it (2xx stops a Standard Webhooks sender; a 4xx would be retried for days)
    replay = send_signed(trigger, {"n": 1}, clock.now(), webhook_id="msg_gone")
    # Then it is accepted as a duplicate: the deleted run's id, no status, nothing started
    assert replay.status == 202
    assert replay.body == {"run_id": first.body["run_id"], "status": None, "queue_position": None}
    assert runs_of(services, workflow_id) == []


def test_a_duplicate_still_finds_its_run_and_a_new_key_still_makes_one(services, caller, clock):
    # Given a webhook delivery that made a run
    workflow_id = create_workflow(caller)["_id"]
    trigger = create_trigger(caller, workflow_id, "webhook")
    first = send_signed(trigger, {"n": 1}, clock.now(), webhook_id="msg_a")
    # When it is replayed, and another webhook id arrives
    replay = send_signed(trigger, {"n": 1}, clock.now(), webhook_id="msg_a")
    other = send_signed(trigger, {"n": 2}, clock.now(), webhook_id="msg_b")
    # Then the replay names the same run, and the new id made a second run
    assert replay.status == first.status == other.status == 202
    assert replay.body["run_id"] == first.body["run_id"] != other.body["run_id"]
    assert sorted(runs_of(services, workflow_id)) == sorted([first.body["run_id"], other.body["run_id"]])


def test_a_crash_between_the_reservation_and_the_run_converges_on_the_reserved_run(
    services, caller, clock, monkeypatch
):
    # Given an SQS message whose first delivery reserved its key and crashed before inserting the run
    workflow_id = create_workflow(caller)["_id"]
    create_trigger(caller, workflow_id, "sqs")
    body = json.dumps({"workflow_id": workflow_id})
    repository = services.runs.repository
    real_insert = repository.insert

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the reservation and the run")

    monkeypatch.setattr(repository, "insert", crash)
    assert failed_ids(consume(sqs_record(body, message_id="m-1"))) == {"m-1"}
    record = services.core.database.raw["dedupe_records"].find_one({"_id": "sqs-message:m-1"})
    assert record["state"] == "reserved" and runs_of(services, workflow_id) == []
    # When SQS redelivers it
    monkeypatch.setattr(repository, "insert", real_insert)
    assert failed_ids(consume(sqs_record(body, message_id="m-1", receive_count=2))) == set()
    # Then exactly one run exists, with the id reserved first, and the record says so
    assert runs_of(services, workflow_id) == [record["target_id"]]
    record = services.core.database.raw["dedupe_records"].find_one({"_id": "sqs-message:m-1"})
    assert record["state"] == "created"


def test_webhook_ids_are_remembered_for_the_window_and_at_least_twice_the_tolerance(services, caller, clock):
    # Given a webhook delivery
    workflow_id = create_workflow(caller)["_id"]
    trigger = create_trigger(caller, workflow_id, "webhook")
    send_signed(trigger, {"n": 1}, clock.now(), webhook_id="msg_ttl")
    # Then its record expires after the 24 h window (the default), which exceeds 2 x the tolerance
    record = services.core.database.raw["dedupe_records"].find_one({"_id": f"webhook:{trigger['_id']}:msg_ttl"})
    window = services.settings.dedupe.window_seconds
    assert window == 86400 > 2 * services.settings.triggers.webhook_tolerance_seconds
    assert record["expires_at"] == clock.now() + timedelta(seconds=window)


def test_a_webhook_tolerance_longer_than_half_the_window_stretches_the_webhook_window_only(database, clock):
    from workflow_service import wiring
    from workflow_service.settings import Settings

    # Given a signature tolerance of 20 h (twice that exceeds the 24 h window)
    settings = Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "WEBHOOK_TOLERANCE_SECONDS": "72000"})
    windows = wiring.Services(settings, database=database, clock=clock).runs.dedupe_windows
    # Then webhook ids are remembered 40 h, every other source the 24 h window
    assert windows.seconds_for("webhook") == 144000
    assert windows.seconds_for("sqs-message") == windows.seconds_for("recurring") == 86400
