"""The trigger queue's consumer: one workflow run per SQS message, with partial batch responses.

Message body, a JSON object (``workflow_service.models.triggers.TriggerQueueMessage``)::

    {
      "workflow_id": "<24-hex id; required; the workflow must have an enabled SQS trigger>",
      "run_input": {"dynamic_variables": {...}, "runtime_variables": {...}, "miscellaneous": {...},
                    "thread_to_node_inputs": {...}},          # optional, each part optional
      "version": 3,                                            # optional; default the active version
      "idempotency_key": "crm-lead-8812"                       # optional
    }

The run belongs to the workflow's team. A message that cannot start a run (not JSON, unknown or
invalid fields, no enabled SQS trigger, a missing workflow or version) is logged with its reason and
reported in ``batchItemFailures``; SQS redelivers it and, after the queue's max receive count, moves
it to the dead-letter queue. The other messages of the batch are unaffected. A duplicate — the same
idempotency key for the workflow, or a redelivery of the same message — finds the run already made
and succeeds without a second run, also when that run has been deleted since.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from workflow_service.observability import append_keys, load_powertools, observed
from workflow_service.triggers.inbound import InvalidTriggerMessage
from workflow_service.wiring import services

# Through load_powertools: a plain import would let Powertools' package init import botocore.
load_powertools()
from aws_lambda_powertools.utilities.batch import (  # noqa: E402
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord  # noqa: E402

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = logging.getLogger("workflow_service.handlers.trigger_queue_consumer")

# A batch whose every record failed is still answered with its batchItemFailures (not an exception),
# so each message is retried and dead-lettered on its own count, as with partial failures.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    """Start the run one message asks for; raising marks the message failed (redelivered, then DLQ)."""
    receive_count = record.attributes.approximate_receive_count
    append_keys(trigger="sqs", message_id=record.message_id, run_id=None)
    try:
        run = services().triggers.inbound.start_from_queue_message(record.message_id, record.body)
    except InvalidTriggerMessage as invalid:
        logger.warning("trigger message %s rejected (receive %s): %s", record.message_id, receive_count, invalid.reason)
        raise
    except Exception:
        logger.exception("trigger message %s failed (receive %s); it will be retried", record.message_id, receive_count)
        raise
    if run is None:
        logger.info("trigger message %s: already processed (its run was deleted); acknowledged", record.message_id)
        return
    append_keys(run_id=run.id, team_id=run.team_id, workflow_id=run.workflow_run.workflow_id)
    logger.info("trigger message %s -> run %s (%s)", record.message_id, run.id, run.workflow_run.status.value)


def handle_batch(event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# A run admitted at once may execute its first turn inline (LLM, HTTP): traced when TRACING_ENABLED.
handler = observed(handle_batch, calls_out=True)
