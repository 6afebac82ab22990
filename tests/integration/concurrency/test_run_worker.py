"""The run-worker Lambda: SQS batches with partial batch responses."""

from __future__ import annotations

import logging

import pytest
import run_worker

from local.lambda_runtime import LocalLambdaContext
from local.worker_emulation import create_local_worker_component
from tests.integration.concurrency.helpers import make_team, make_workflow, status_of, submit
from workflow_service.models.concurrency import WorkMessage

UNKNOWN_RUN = "5eb7cf5a86d9755df3a6c593"


def record(message_id: str, body: str) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:run-work",
        "awsRegion": "us-east-1",
    }


def invoke(*records: dict) -> dict:
    return run_worker.handler({"Records": list(records)}, LocalLambdaContext("run_worker"))


def test_partial_batch_failure_reports_only_the_bad_messages(services, caplog, monkeypatch):
    # Given an admitted run, a run whose turn crashes, an unknown run and a message that is not JSON
    team_id = make_team(services, limit=5)
    workflow_id = make_workflow(services, team_id)
    good = submit(services, team_id, workflow_id)
    crashing = submit(services, team_id, workflow_id)
    real_first_turn = services.runs.submission.run_first_turn

    def first_turn(run_id):
        if run_id == crashing.id:
            raise RuntimeError("the engine exploded")
        return real_first_turn(run_id)

    monkeypatch.setattr(services.runs.submission, "run_first_turn", first_turn)
    caplog.set_level(logging.INFO, logger="workflow_service.handlers.run_worker")

    # When one batch carries all four
    response = invoke(
        record("m-good", WorkMessage(run_id=good.id).to_body()),
        record("m-garbage", "run it please"),
        record("m-crash", WorkMessage(run_id=crashing.id).to_body()),
        record("m-unknown", WorkMessage(run_id=UNKNOWN_RUN).to_body()),
    )

    # Then only the unreadable message and the crashed turn are retried
    assert sorted(failure["itemIdentifier"] for failure in response["batchItemFailures"]) == ["m-crash", "m-garbage"]
    # And the good run executed its first turn; the unknown run was a no-op, not a failure
    assert status_of(services, good.id) == "waiting_for_user_input"
    assert status_of(services, crashing.id) == "started"
    # And each failure is logged with its reason
    assert any("m-garbage" in r.getMessage() and "rejected" in r.getMessage() for r in caplog.records)
    assert any("m-crash" in r.getMessage() and crashing.id in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body", ["", "{}", '{"run_id": 42}', '{"run_id": "not-an-id"}', "[1]"])
def test_a_batch_of_only_invalid_messages_is_answered_not_raised(services, body):
    response = invoke(record("m-1", body or " "))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


def test_local_worker_component_polls_the_wired_work_queue(services):
    # Given the local worker component over the same Services the dispatcher enqueues to
    class Runtime:
        pass

    runtime = Runtime()
    runtime.services = services
    component = create_local_worker_component(runtime)
    team_id = make_team(services, limit=1)
    run = submit(services, team_id, make_workflow(services, team_id))
    # When its poller drains the queue once
    outcome = component.poller.drain_once()
    # Then the admitted run's first turn ran through the real handler and the message was deleted
    assert outcome.deleted and not outcome.failed
    assert status_of(services, run.id) == "waiting_for_user_input"
