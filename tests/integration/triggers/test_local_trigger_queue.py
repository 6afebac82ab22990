"""The local runtime's trigger queue: the local-only send endpoint and the consumer component."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from local.trigger_queue_emulation import (
    MESSAGES_PATH,
    QUEUE_PATH,
    create_local_trigger_queue_component,
    handle_local_trigger_queue_request,
)
from tests.integration.triggers.conftest import create_trigger, create_workflow, runs_in_store


@pytest.fixture
def component(services):
    return create_local_trigger_queue_component(SimpleNamespace(services=services))


def test_a_message_sent_to_the_endpoint_starts_a_run_through_the_real_consumer(caller, services, component):
    # Given a workflow with an SQS trigger
    workflow_id = create_workflow(caller)
    create_trigger(caller, workflow_id, "sqs")
    body = json.dumps({"workflow_id": workflow_id, "run_input": {"dynamic_variables": {"lead": "Ada"}}})
    # When a developer posts the message body to the local endpoint
    status, document = handle_local_trigger_queue_request(services.triggers.queue, "POST", MESSAGES_PATH, body.encode())
    # Then it is queued, and the next poll hands it to the consumer, which starts the run
    assert status == 202 and document["queue"] == services.triggers.queue.name
    outcome = component.poller.drain_once()
    assert outcome.deleted == (document["message_id"],)
    (run,) = runs_in_store(services)
    assert run["workflow_run"]["trigger"]["message_id"] == document["message_id"]
    assert run["workflow_run"]["pending_input"]["dynamic_variables"] == {"lead": "Ada"}


def test_an_invalid_message_is_accepted_by_the_endpoint_and_failed_by_the_consumer(services, component):
    status, document = handle_local_trigger_queue_request(services.triggers.queue, "POST", MESSAGES_PATH, b"oops")
    assert status == 202
    outcome = component.poller.drain_once()
    assert outcome.failed == (document["message_id"],)
    status, counts = handle_local_trigger_queue_request(services.triggers.queue, "GET", QUEUE_PATH, b"")
    assert status == 200
    assert counts["in_flight"] == 1 and counts["visible"] == 0
    assert counts["max_receive_count"] == 5 and counts["dead_letter_queue"]["messages"] == 0


@pytest.mark.parametrize("body, reason", [(b"", "non-empty"), (b"\xff\xfe", "UTF-8"), (b"\x00", "characters")])
def test_the_endpoint_refuses_what_sqs_would_refuse(services, body, reason):
    status, document = handle_local_trigger_queue_request(services.triggers.queue, "POST", MESSAGES_PATH, body)
    assert status == 400 and reason in document["detail"]
    assert services.triggers.queue.approximate_visible_count() == 0


def test_other_paths_are_not_served_and_wrong_methods_are_405(services):
    queue = services.triggers.queue
    assert handle_local_trigger_queue_request(queue, "GET", "/workflows/v1/workflows", b"") is None
    assert handle_local_trigger_queue_request(queue, "GET", MESSAGES_PATH, b"")[0] == 405
    assert handle_local_trigger_queue_request(queue, "POST", QUEUE_PATH + "/", b"{}")[0] == 405


def test_the_trigger_queue_is_one_instance_per_services_and_local_only(services, settings):
    from workflow_service.settings import Settings
    from workflow_service.wiring import Services

    assert services.triggers.queue is services.triggers.queue
    deployed = Services(Settings.from_environ({"STAGE": "prod"}), database=services.core.database)
    with pytest.raises(RuntimeError, match="only in the local runtime"):
        _ = deployed.triggers.queue
