"""The queue the SQS handlers read (the trigger queue and the run-work queue): ``LocalSqsQueue`` against
Amazon SQS (moto), with the same redrive policy on both.

Each side is driven through a small driver that speaks in SQS terms (send, receive, delete, "the
visibility timeout passes"). The local queue's clock is moved; on SQS the in-flight messages' visibility
is set to 0, which is what the timeout passing amounts to. moto accepts bodies real SQS rejects (empty,
oversized, invalid characters), so SendMessage validation is asserted by the local queue's own suite,
not here; so is deleting with an earlier receipt handle, where SQS promises nothing ("might not be
deleted") and moto deletes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
import pytest

from tests.support.local_sqs import ManualMonotonicClock
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

VISIBILITY_TIMEOUT_SECONDS = 30
MAX_RECEIVE_COUNT = 2


@dataclass(frozen=True)
class Received:
    message_id: str
    body: str
    receipt_handle: str
    receive_count: int
    md5_of_body: str
    attributes: dict[str, tuple[str, str]]  # name -> (data type, string value)


class QueueDriver(Protocol):
    def send(self, body: str, attributes: dict[str, tuple[str, str]] | None = None, delay_seconds: int = 0) -> str: ...

    def receive(self, max_messages: int = 10) -> list[Received]: ...

    def delete(self, receipt_handle: str) -> None: ...

    def pass_visibility_timeout(self) -> None: ...

    def receive_dead_letters(self) -> list[Received]: ...


def _send_attributes(attributes: dict[str, tuple[str, str]] | None) -> dict[str, dict[str, str]]:
    return {name: {"DataType": kind, "StringValue": value} for name, (kind, value) in (attributes or {}).items()}


class LocalDriver:
    def __init__(self) -> None:
        self.clock = ManualMonotonicClock()
        self.queue = LocalSqsQueue("contract-queue", VISIBILITY_TIMEOUT_SECONDS, MAX_RECEIVE_COUNT, self.clock)

    def send(self, body: str, attributes: dict[str, tuple[str, str]] | None = None, delay_seconds: int = 0) -> str:
        return self.queue.send_message(body, _send_attributes(attributes), delay_seconds)

    def receive(self, max_messages: int = 10) -> list[Received]:
        return [self._received(record) for record in self.queue.receive(max_messages)]

    def delete(self, receipt_handle: str) -> None:
        self.queue.delete(receipt_handle)

    def pass_visibility_timeout(self) -> None:
        self.clock.advance(VISIBILITY_TIMEOUT_SECONDS + 1)

    def receive_dead_letters(self) -> list[Received]:
        assert self.queue.dead_letter_queue is not None
        return [self._received(record) for record in self.queue.dead_letter_queue.receive(10)]

    @staticmethod
    def _received(record: dict[str, Any]) -> Received:
        attributes = {
            name: (value["dataType"], value["stringValue"]) for name, value in record["messageAttributes"].items()
        }
        return Received(
            record["messageId"],
            record["body"],
            record["receiptHandle"],
            int(record["attributes"]["ApproximateReceiveCount"]),
            record["md5OfBody"],
            attributes,
        )


class SqsDriver:
    def __init__(self, region: str) -> None:
        self.client = boto3.client("sqs", region_name=region)
        self.dead_letter_url = self.client.create_queue(QueueName="contract-queue-dlq")["QueueUrl"]
        dead_letter_arn = self.client.get_queue_attributes(QueueUrl=self.dead_letter_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        attributes = {"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS), "RedrivePolicy": json.dumps(redrive)}
        self.url = self.client.create_queue(QueueName="contract-queue", Attributes=attributes)["QueueUrl"]
        self.in_flight: dict[str, str] = {}  # message id -> latest receipt handle

    def send(self, body: str, attributes: dict[str, tuple[str, str]] | None = None, delay_seconds: int = 0) -> str:
        request: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": body, "DelaySeconds": delay_seconds}
        if attributes:
            request["MessageAttributes"] = _send_attributes(attributes)
        return self.client.send_message(**request)["MessageId"]

    def receive(self, max_messages: int = 10) -> list[Received]:
        received = self._receive(self.url, max_messages)
        self.in_flight.update({message.message_id: message.receipt_handle for message in received})
        return received

    def delete(self, receipt_handle: str) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)
        self.in_flight = {key: handle for key, handle in self.in_flight.items() if handle != receipt_handle}

    def pass_visibility_timeout(self) -> None:
        for receipt_handle in self.in_flight.values():
            self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
        self.in_flight.clear()

    def receive_dead_letters(self) -> list[Received]:
        return self._receive(self.dead_letter_url, 10)

    def _receive(self, url: str, max_messages: int) -> list[Received]:
        answer = self.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        return [
            Received(
                message["MessageId"],
                message["Body"],
                message["ReceiptHandle"],
                int(message["Attributes"]["ApproximateReceiveCount"]),
                message["MD5OfBody"],
                {
                    name: (value["DataType"], value["StringValue"])
                    for name, value in message.get("MessageAttributes", {}).items()
                },
            )
            for message in answer.get("Messages", [])
        ]


@pytest.fixture(params=["sqs", "local"])
def queue(request: pytest.FixtureRequest) -> QueueDriver:
    if request.param == "sqs":
        return SqsDriver(request.getfixturevalue("mocked_aws"))
    return LocalDriver()


def test_a_sent_message_is_received_once_with_its_id_body_checksum_and_attributes(queue):
    # When a message with attributes is sent
    body = '{"workflow_id": "w", "note": "café"}'
    message_id = queue.send(body, {"source": ("String", "crm"), "priority": ("Number", "2")})
    # Then one receive hands it over, as sent, for the first time, with the MD5 of its UTF-8 bytes
    [message] = queue.receive()
    assert (message.message_id, message.body, message.receive_count) == (message_id, body, 1)
    assert message.md5_of_body == hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()
    assert message.attributes == {"source": ("String", "crm"), "priority": ("Number", "2")}


def test_a_received_message_is_invisible_until_its_visibility_timeout_passes_then_comes_back(queue):
    # Given a message a consumer received and did not delete
    queue.send("work")
    [first] = queue.receive()
    # Then no other receive gets it while the consumer holds it
    assert queue.receive() == []
    # When the visibility timeout passes
    queue.pass_visibility_timeout()
    # Then it is delivered again, counted as a second receive, with a new receipt handle
    [again] = queue.receive()
    assert again.message_id == first.message_id and again.receive_count == 2
    assert again.receipt_handle != first.receipt_handle


def test_a_deleted_message_is_never_delivered_again(queue):
    queue.send("done")
    [message] = queue.receive()
    queue.delete(message.receipt_handle)
    queue.pass_visibility_timeout()
    assert queue.receive() == []


def test_a_receive_returns_at_most_the_number_asked_for_and_leaves_the_rest(queue):
    sent = {queue.send(f"message {n}") for n in range(3)}
    first = queue.receive(max_messages=2)
    rest = queue.receive(max_messages=2)
    assert len(first) == 2 and len(rest) == 1
    assert {message.message_id for message in first + rest} == sent


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(queue):
    # Given a message that failed on every one of its allowed receives
    message_id = queue.send("poison")
    for _ in range(MAX_RECEIVE_COUNT):
        assert [message.message_id for message in queue.receive()] == [message_id]
        queue.pass_visibility_timeout()
    # When it would be received once more
    # Then it is not delivered, and the dead-letter queue holds it with its id and body
    assert queue.receive() == []
    [dead] = queue.receive_dead_letters()
    assert (dead.message_id, dead.body) == (message_id, "poison")


def test_a_delayed_message_is_not_delivered_before_its_delay(queue):
    # (Only the first half is asserted on both: moto's delay runs on the wall clock.)
    queue.send("later", delay_seconds=600)
    now = queue.send("now")
    assert [message.message_id for message in queue.receive()] == [now]
