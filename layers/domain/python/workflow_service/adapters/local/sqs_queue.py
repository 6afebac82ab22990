"""An in-process queue with Amazon SQS semantics: the local trigger queue and run-work queue.

The local runtime's event source mapping emulation (``local.sqs_event_source``) receives from it and
hands the real SQS handlers ``{"Records": [...]}`` batches, so the records ``receive`` returns are
shaped exactly like an SQS event source mapping's.

Semantics kept from SQS (standard queue): a received message is invisible for the visibility timeout
and comes back unless deleted; each receive issues a new receipt handle and only the latest one
deletes; ``ApproximateReceiveCount`` counts receives; with a redrive policy, a message that has been
received ``max_receive_count`` times moves to the dead-letter queue on its next receive instead of
being delivered. Delivery order is send order (SQS does not promise one; a stable order keeps local
runs reproducible).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 262_144
MAX_MESSAGE_ATTRIBUTES = 10
MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200
# The IAM user id SQS reports as the sender; any well-formed value will do locally.
_SENDER_ID = "AIDALOCALRUNTIME00000"
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
# The characters SQS accepts in a message body (anything else is rejected by SendMessage).
_INVALID_BODY_CHARACTER = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class _StoredMessage:
    message_id: str
    body: str
    md5_of_body: str
    message_attributes: dict[str, dict[str, Any]]
    sent_timestamp_ms: int
    visible_at: float
    receive_count: int = 0
    first_receive_timestamp_ms: int | None = None
    receipt_handle: str | None = None


class LocalSqsQueue:
    """A thread-safe in-memory standard SQS queue with a visibility timeout and a redrive policy.

    ``max_receive_count=None`` means no redrive policy (no dead-letter queue); otherwise a queue named
    ``<name>-dlq`` is created and exposed as ``dead_letter_queue``. ``clock`` drives visibility and
    delays (inject a fake one in tests); ``wall_clock`` only stamps the epoch timestamps SQS reports.
    """

    def __init__(
        self,
        name: str,
        visibility_timeout_seconds: float = 30,
        max_receive_count: int | None = 3,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not _QUEUE_NAME.fullmatch(name):
            raise ValueError(f"invalid queue name {name!r}: 1-80 letters, digits, hyphens or underscores")
        if not 0 <= visibility_timeout_seconds <= MAX_VISIBILITY_TIMEOUT_SECONDS:
            raise ValueError(f"visibility_timeout_seconds must be 0..{MAX_VISIBILITY_TIMEOUT_SECONDS}")
        if max_receive_count is not None and not 1 <= max_receive_count <= 1000:
            raise ValueError("max_receive_count must be 1..1000")
        self.name = name
        self.arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{name}"
        self.visibility_timeout_seconds = visibility_timeout_seconds
        self.max_receive_count = max_receive_count
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._messages: dict[str, _StoredMessage] = {}  # insertion order is delivery order
        self._message_id_by_receipt_handle: dict[str, str] = {}
        self.dead_letter_queue: LocalSqsQueue | None = (
            LocalSqsQueue(f"{name}-dlq", visibility_timeout_seconds, None, clock, wall_clock)
            if max_receive_count is not None
            else None
        )

    def send_message(
        self,
        body: str,
        message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
        delay_seconds: int = 0,
    ) -> str:
        """Enqueue ``body``; returns the new message id. Validates like SQS SendMessage.

        ``message_attributes`` uses SendMessage's shape: ``{"name": {"DataType": "String",
        "StringValue": "..."}}`` (``BinaryValue`` bytes for Binary types).
        """
        if not isinstance(body, str) or not body:
            raise ValueError("message body must be a non-empty string")
        if _INVALID_BODY_CHARACTER.search(body):
            raise ValueError("message body contains characters outside the set SQS allows")
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be 0..{MAX_DELAY_SECONDS}")
        attributes, attributes_size = _record_message_attributes(message_attributes or {})
        if len(body.encode("utf-8")) + attributes_size > MAX_MESSAGE_BYTES:
            raise ValueError(f"message is larger than {MAX_MESSAGE_BYTES} bytes (body plus attributes)")
        message = _StoredMessage(
            message_id=str(uuid.uuid4()),
            body=body,
            md5_of_body=hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(),
            message_attributes=attributes,
            sent_timestamp_ms=self._now_epoch_ms(),
            visible_at=self._clock() + delay_seconds,
        )
        with self._lock:
            self._messages[message.message_id] = message
        return message.message_id

    def receive(self, max_messages: int = 10) -> list[dict[str, Any]]:
        """Up to ``max_messages`` (1..10) visible messages as SQS event records; they become invisible.

        A message already received ``max_receive_count`` times is moved to the dead-letter queue here
        instead of being returned, as SQS's redrive policy does.
        """
        if not 1 <= max_messages <= 10:
            raise ValueError("max_messages must be 1..10")
        records: list[dict[str, Any]] = []
        with self._lock:
            now = self._clock()
            for message in list(self._messages.values()):
                if len(records) == max_messages:
                    break
                if message.visible_at > now:
                    continue
                if self._exhausted(message) and self.dead_letter_queue is not None:
                    self._forget(message)
                    # Moved while holding our lock so the message is never in neither queue; a
                    # dead-letter queue has no queue of its own, so the lock order cannot cycle.
                    self.dead_letter_queue._accept_dead_letter(message)
                    logger.warning(
                        "queue %s: message %s was received %d times; moved to %s",
                        self.name,
                        message.message_id,
                        message.receive_count,
                        self.dead_letter_queue.name,
                    )
                    continue
                records.append(self._deliver(message, now))
        return records

    def delete(self, receipt_handle: str) -> bool:
        """Delete the message ``receipt_handle`` was issued for; True if a message was deleted.

        As in SQS, a handle from an earlier receive of a message that has since been received again
        does not delete it, and deleting an already deleted message is not an error.
        """
        with self._lock:
            message_id = self._message_id_by_receipt_handle.pop(receipt_handle, None)
            message = self._messages.pop(message_id, None) if message_id is not None else None
            return message is not None

    def approximate_visible_count(self) -> int:
        """Messages available for retrieval now (SQS ApproximateNumberOfMessages)."""
        with self._lock:
            now = self._clock()
            return sum(1 for message in self._messages.values() if message.visible_at <= now)

    def approximate_not_visible_count(self) -> int:
        """Messages in flight or delayed (SQS ApproximateNumberOfMessagesNotVisible, plus delayed)."""
        with self._lock:
            now = self._clock()
            return sum(1 for message in self._messages.values() if message.visible_at > now)

    def _exhausted(self, message: _StoredMessage) -> bool:
        return self.max_receive_count is not None and message.receive_count >= self.max_receive_count

    def _deliver(self, message: _StoredMessage, now: float) -> dict[str, Any]:
        if message.receipt_handle is not None:
            self._message_id_by_receipt_handle.pop(message.receipt_handle, None)
        message.receive_count += 1
        if message.first_receive_timestamp_ms is None:
            message.first_receive_timestamp_ms = self._now_epoch_ms()
        message.receipt_handle = secrets.token_urlsafe(48)
        message.visible_at = now + self.visibility_timeout_seconds
        self._message_id_by_receipt_handle[message.receipt_handle] = message.message_id
        return {
            "messageId": message.message_id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(message.sent_timestamp_ms),
                "SenderId": _SENDER_ID,
                "ApproximateFirstReceiveTimestamp": str(message.first_receive_timestamp_ms),
            },
            "messageAttributes": {name: dict(value) for name, value in message.message_attributes.items()},
            "md5OfBody": message.md5_of_body,
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": LOCAL_REGION,
        }

    def _forget(self, message: _StoredMessage) -> None:
        self._messages.pop(message.message_id, None)
        if message.receipt_handle is not None:
            self._message_id_by_receipt_handle.pop(message.receipt_handle, None)

    def _accept_dead_letter(self, message: _StoredMessage) -> None:
        # SQS keeps the message id, body, attributes and sent time when redriving to a DLQ.
        moved = _StoredMessage(
            message_id=message.message_id,
            body=message.body,
            md5_of_body=message.md5_of_body,
            message_attributes=message.message_attributes,
            sent_timestamp_ms=message.sent_timestamp_ms,
            visible_at=self._clock(),
        )
        with self._lock:
            self._messages[moved.message_id] = moved

    def _now_epoch_ms(self) -> int:
        return int(self._wall_clock() * 1000)


def _record_message_attributes(
    attributes: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, dict[str, Any]], int]:
    """SendMessage attributes → the Lambda record shape, and their size as SQS counts it."""
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise ValueError(f"at most {MAX_MESSAGE_ATTRIBUTES} message attributes are allowed")
    converted: dict[str, dict[str, Any]] = {}
    size = 0
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType")
        if not isinstance(data_type, str) or data_type.split(".", 1)[0] not in ("String", "Number", "Binary"):
            raise ValueError(f"message attribute {name!r}: DataType must be String, Number or Binary[.custom]")
        record: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": data_type}
        if data_type.startswith("Binary"):
            value = attribute.get("BinaryValue")
            if not isinstance(value, bytes | bytearray) or not value:
                raise ValueError(f"message attribute {name!r}: a Binary attribute needs a non-empty BinaryValue")
            record["binaryValue"] = base64.b64encode(bytes(value)).decode("ascii")
            value_size = len(value)
        else:
            value = attribute.get("StringValue")
            if not isinstance(value, str) or not value:
                raise ValueError(f"message attribute {name!r}: a {data_type} attribute needs a StringValue")
            if data_type.startswith("Number"):
                try:
                    Decimal(value)
                except InvalidOperation:
                    raise ValueError(f"message attribute {name!r}: {value!r} is not a number") from None
            record["stringValue"] = value
            value_size = len(value.encode("utf-8"))
        converted[name] = record
        size += len(name.encode("utf-8")) + len(data_type.encode("utf-8")) + value_size
    return converted, size


__all__ = ["LocalSqsQueue"]
