"""The webhook delivery function: one delivery attempt per SQS message, with partial batch responses.

Message body ``{"event_id": "<id>"}`` (sent by the emitter, by a retry with its delay, by the reaper's
due-time sweep and by the manual-retry route). A message whose event has nothing to attempt now
(already delivered or failed, not due, or being attempted by another deliverer) succeeds without a
request. A message the service cannot read, or whose attempt could not be recorded (the store is
down), is reported in ``batchItemFailures``: SQS redelivers it and, after the queue's max receive
count, moves it to the dead-letter queue (an alarm watches it). The event itself is never lost with a
message: the reaper's due sweep re-sends every open event whose time has passed.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from workflow_service.observability import append_keys, load_powertools, observed
from workflow_service.wiring import services

# Through load_powertools: a plain import would let Powertools' package init import botocore, which a
# delivery needs only to queue a retry.
load_powertools()
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response  # noqa: E402
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord  # noqa: E402

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = logging.getLogger("workflow_service.handlers.deliver_webhook_events")

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class UnreadableDeliveryMessage(ValueError):
    """The message body is not ``{"event_id": "<non-empty string>"}``."""


def event_id_of(body: str) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        raise UnreadableDeliveryMessage("the message body is not JSON") from None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    if not isinstance(event_id, str) or not event_id:
        raise UnreadableDeliveryMessage('the message body has no "event_id" string')
    return event_id


def record_handler(record: SQSRecord) -> None:
    """Make the attempt one message asks for; raising marks the message failed (redelivered, then DLQ)."""
    append_keys(trigger="webhook_delivery", message_id=record.message_id)
    try:
        event_id = event_id_of(record.body)
    except UnreadableDeliveryMessage as unreadable:
        logger.error("delivery message %s rejected: %s", record.message_id, unreadable)
        raise
    try:
        services().webhooks.delivery.deliver(event_id)
    except Exception:
        logger.exception("delivery of webhook event %s failed; the message will be retried", event_id)
        raise


def handle_batch(event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


handler = observed(handle_batch, calls_out=True)
