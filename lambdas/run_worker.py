"""SQS consumer of the internal run-work queue: executes the first turn of each admitted run.

Partial batch responses (ReportBatchItemFailures): a message whose run fails to execute, or whose
body is not a work message, is reported as a batch item failure and retried; after the queue's
max receive count it lands in the dead-letter queue. A redelivered message for a run that already
started its first turn is a no-op (``run_first_turn`` returns None).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from workflow_service.models.concurrency import InvalidWorkMessage, WorkMessage
from workflow_service.observability import append_keys, load_powertools, observed
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

logger = logging.getLogger("workflow_service.handlers.run_worker")

# A batch made only of bad messages is answered with its failures listed, like any other batch.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> str | None:
    append_keys(message_id=record.message_id)
    try:
        run_id = WorkMessage.from_body(record.body).run_id
    except InvalidWorkMessage as problem:
        logger.error("work message %s rejected: %s", record.message_id, problem)
        raise
    append_keys(run_id=run_id)
    try:
        run = services().runs.submission.run_first_turn(run_id)
    except Exception:
        logger.exception(
            "work message %s: the first turn of run %s failed; it will be retried", record.message_id, run_id
        )
        raise
    if run is None:
        logger.info("work message %s: run %s already started its first turn; nothing to do", record.message_id, run_id)
        return None
    return str(run.workflow_run.status)


def handle_batch(event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# The first turn calls LLMs and HTTP endpoints: traced when TRACING_ENABLED.
handler = observed(handle_batch, calls_out=True)
