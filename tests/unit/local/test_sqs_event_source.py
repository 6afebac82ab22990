"""The event source mapping emulation: batches, partial batch responses and redelivery, as Lambda does them."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from local.sqs_event_source import LocalQueuePoller, UnreadableBatchResponse, failed_message_ids
from tests.support.local_sqs import VISIBILITY
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue


class RecordingHandler:
    """An SQS handler that records batches and reports the bodies in ``fail_bodies`` as failed."""

    def __init__(self, fail_bodies: tuple[str, ...] = (), raise_error: bool = False) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail_bodies = fail_bodies
        self.raise_error = raise_error

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.batches.append(event["Records"])
        if self.raise_error:
            raise RuntimeError("consumer crashed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record in event["Records"]
                if record["body"] in self.fail_bodies
            ]
        }


def test_the_poller_deletes_successes_and_redelivers_reported_failures(queue, clock):
    # Given three messages and a consumer that reports the second as failed
    for body in ("one", "two", "three"):
        queue.send_message(body)
    handler = RecordingHandler(fail_bodies=("two",))
    poller = LocalQueuePoller(queue, handler)

    # When one batch is processed
    outcome = poller.drain_once()

    # Then the whole batch was delivered in one event, and only the failure stays on the queue
    assert [record["body"] for record in handler.batches[0]] == ["one", "two", "three"]
    assert len(outcome.failed) == 1
    assert len(outcome.deleted) == 2
    assert queue.approximate_not_visible_count() == 1

    # And after the visibility timeout only the failed message is redelivered
    clock.advance(VISIBILITY)
    handler.fail_bodies = ()
    poller.drain_once()
    [redelivered] = handler.batches[1]
    assert redelivered["body"] == "two"
    assert redelivered["attributes"]["ApproximateReceiveCount"] == "2"
    clock.advance(VISIBILITY)
    assert queue.receive() == []


def test_a_handler_exception_redelivers_the_whole_batch(queue, clock):
    for body in ("one", "two"):
        queue.send_message(body)
    poller = LocalQueuePoller(queue, RecordingHandler(raise_error=True))

    outcome = poller.drain_once()

    assert outcome.handler_error is True
    assert outcome.deleted == ()
    clock.advance(VISIBILITY)
    assert sorted(record["body"] for record in queue.receive()) == ["one", "two"]


def test_an_unreadable_batch_response_redelivers_the_whole_batch(queue, clock):
    queue.send_message("one")
    queue.send_message("two")
    poller = LocalQueuePoller(queue, lambda event, context: {"batchItemFailures": [{"itemIdentifier": "unknown"}]})

    poller.drain_once()

    clock.advance(VISIBILITY)
    assert len(queue.receive()) == 2


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_empty_batch_responses_mean_complete_success(response):
    assert failed_message_ids(response, {"m1"}) == set()


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "m1"}]},
        {"batchItemFailures": "m1"},
        "not an object",
    ],
)
def test_malformed_batch_responses_fail_the_whole_batch(response):
    with pytest.raises(UnreadableBatchResponse):
        failed_message_ids(response, {"m1"})


def test_the_poller_passes_a_lambda_context(queue):
    contexts: list[Any] = []
    queue.send_message("one")

    LocalQueuePoller(
        queue, lambda event, context: contexts.append(context), function_name="trigger_consumer"
    ).drain_once()

    [context] = contexts
    assert context.function_name == "trigger_consumer"
    assert context.aws_request_id
    assert context.get_remaining_time_in_millis() > 0


def test_a_started_poller_delivers_in_the_background_until_stopped():
    queue = LocalSqsQueue("work", visibility_timeout_seconds=VISIBILITY)
    delivered = threading.Event()
    bodies: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        bodies.extend(record["body"] for record in event["Records"])
        delivered.set()

    poller = LocalQueuePoller(queue, handler, interval_seconds=0.01)
    poller.start()
    try:
        queue.send_message("background")
        assert delivered.wait(timeout=10)
    finally:
        poller.stop()

    assert bodies == ["background"]
    assert queue.approximate_visible_count() + queue.approximate_not_visible_count() == 0
