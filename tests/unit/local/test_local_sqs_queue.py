"""The in-process SQS queue: the delivery guarantees the trigger and run-work consumers rely on."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.support.local_sqs import VISIBILITY


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
