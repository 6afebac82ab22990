"""The in-process SQS queue and poller: the delivery guarantees the trigger and run-work consumers rely on."""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any

import pytest

from workflow_service.adapters.local.sqs_queue import (
    LocalQueuePoller,
    LocalSqsQueue,
    UnreadableBatchResponse,
    failed_message_ids,
)

VISIBILITY = 30


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> LocalSqsQueue:
    return LocalSqsQueue("triggers", visibility_timeout_seconds=VISIBILITY, max_receive_count=3, clock=clock)


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


def test_a_received_message_is_an_sqs_event_record(queue):
    message_id = queue.send_message(
        '{"workflow_id":"w1"}',
        message_attributes={
            "source": {"DataType": "String", "StringValue": "crm"},
            "priority": {"DataType": "Number", "StringValue": "5"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )

    [record] = queue.receive()

    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["messageId"] == message_id
    assert record["body"] == '{"workflow_id":"w1"}'
    assert record["md5OfBody"] == hashlib.md5(b'{"workflow_id":"w1"}').hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:local:000000000000:triggers"
    assert record["awsRegion"] == "local"
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SentTimestamp"].isdigit()
    assert attributes["ApproximateFirstReceiveTimestamp"].isdigit()
    assert attributes["SenderId"]
    assert record["messageAttributes"]["source"] == {
        "stringValue": "crm",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["priority"]["dataType"] == "Number"
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"


def test_receive_returns_at_most_the_requested_number_in_send_order(queue):
    sent = [queue.send_message(f"m{index}") for index in range(12)]

    first = queue.receive(max_messages=10)
    second = queue.receive(max_messages=10)

    assert [record["messageId"] for record in first + second] == sent
    assert queue.receive() == []


def test_a_received_message_is_invisible_until_the_visibility_timeout_then_redelivered(queue, clock):
    message_id = queue.send_message("hello")
    [first] = queue.receive()

    clock.advance(VISIBILITY - 1)
    assert queue.receive() == []
    assert queue.approximate_visible_count() == 0
    assert queue.approximate_not_visible_count() == 1

    clock.advance(1)
    [again] = queue.receive()
    assert again["messageId"] == message_id
    assert again["receiptHandle"] != first["receiptHandle"]
    assert again["attributes"]["ApproximateReceiveCount"] == "2"
    assert (
        again["attributes"]["ApproximateFirstReceiveTimestamp"]
        == first["attributes"]["ApproximateFirstReceiveTimestamp"]
    )


def test_a_deleted_message_is_never_redelivered(queue, clock):
    queue.send_message("hello")
    [record] = queue.receive()

    assert queue.delete(record["receiptHandle"]) is True
    clock.advance(VISIBILITY * 10)

    assert queue.receive() == []
    assert queue.approximate_visible_count() == 0
    assert queue.delete(record["receiptHandle"]) is False


def test_a_stale_receipt_handle_does_not_delete_a_redelivered_message(queue, clock):
    queue.send_message("hello")
    [first] = queue.receive()
    clock.advance(VISIBILITY)
    [second] = queue.receive()

    assert queue.delete(first["receiptHandle"]) is False
    assert queue.delete(second["receiptHandle"]) is True


def test_a_delayed_message_becomes_visible_after_its_delay(queue, clock):
    queue.send_message("later", delay_seconds=60)

    assert queue.receive() == []
    clock.advance(60)
    assert [record["body"] for record in queue.receive()] == ["later"]


def test_a_message_received_more_than_max_receive_count_times_moves_to_the_dead_letter_queue(queue, clock):
    message_id = queue.send_message("poison")
    for expected_count in ("1", "2", "3"):
        [record] = queue.receive()
        assert record["attributes"]["ApproximateReceiveCount"] == expected_count
        clock.advance(VISIBILITY)

    assert queue.receive() == []
    assert queue.approximate_visible_count() == 0

    dead_letter_queue = queue.dead_letter_queue
    assert dead_letter_queue is not None
    assert dead_letter_queue.name == "triggers-dlq"
    [dead] = dead_letter_queue.receive()
    assert dead["messageId"] == message_id
    assert dead["body"] == "poison"
    assert dead["eventSourceARN"] == "arn:aws:sqs:local:000000000000:triggers-dlq"
    assert dead_letter_queue.dead_letter_queue is None


@pytest.mark.parametrize("max_messages", [0, 11])
def test_receive_rejects_batch_sizes_sqs_rejects(queue, max_messages):
    with pytest.raises(ValueError):
        queue.receive(max_messages=max_messages)


@pytest.mark.parametrize(
    ("body", "attributes"),
    [
        ("", None),
        ("x" * 262_145, None),
        ("bad \x00 char", None),
        ("ok", {"n": {"DataType": "Number", "StringValue": "not-a-number"}}),
        ("ok", {"n": {"DataType": "Float", "StringValue": "1"}}),
    ],
)
def test_send_rejects_what_sqs_rejects(queue, body, attributes):
    with pytest.raises(ValueError):
        queue.send_message(body, message_attributes=attributes)
    assert queue.approximate_visible_count() == 0


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
