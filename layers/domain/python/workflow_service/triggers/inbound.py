"""Starting runs from outside: signed inbound webhooks and trigger-queue (SQS) messages.

Both start runs asynchronously through the runs capability's ``submit``, which queues the run when
no concurrency slot is free and deduplicates on a key, so a replayed webhook or a redelivered or
duplicated message returns the run already made instead of making a second one:

- webhook: ``webhook:{trigger_id}:{webhook-id}``;
- queue message: ``sqs:{workflow_id}:{idempotency_key}`` when the message has a key, else
  ``sqs-message:{SQS message id}`` (SQS redelivers a message with the same id).

The keys are dedupe records apart from the runs (``ports.DedupeRecords``), so a key stays used after
its run is deleted: such a duplicate starts nothing and is acknowledged as delivered (a webhook
answers 202 with the deleted run's id and no status; a queue message succeeds), because a producer
retrying a refused duplicate would retry forever. A webhook id is remembered for
max(DEDUPE_WINDOW_SECONDS, 2 x WEBHOOK_TOLERANCE_SECONDS): longer than any replay the timestamp
check lets through; message ids and idempotency keys for DEDUPE_WINDOW_SECONDS (24 h).

The run belongs to the workflow's team (stored on the trigger when it was created for that team's
workflow) and is created by ``trigger:{trigger_id}``.

Run input from a webhook: the JSON object body becomes ``dynamic_variables`` (each top-level key a
``{{placeholder}}`` value), and the whole body is also kept as ``miscellaneous.webhook_payload``
so nested data stays reachable as sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from workflow_service.errors import FieldProblem, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed
from workflow_service.models.common import Caller, first_unstorable, reject_unstorable_json
from workflow_service.models.runs import RunTrigger, TriggerType, WorkflowRunInput, WorkflowRunsModel
from workflow_service.models.triggers import TriggerQueueMessage, WebhookAccepted
from workflow_service.ports.dedupe import AlreadyProcessed
from workflow_service.triggers.signatures import SignatureRejected, verify

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.runs import RunSubmitter
    from workflow_service.ports.triggers import TriggerRepository
    from workflow_service.settings.schedules import TriggerSettings

WEBHOOK_PAYLOAD_KEY = "webhook_payload"

logger = logging.getLogger(__name__)


class InvalidTriggerMessage(Exception):
    """A trigger-queue message that can never start a run as it stands; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def triggered_by(trigger_id: str) -> str:
    """The user id recorded as a triggered run's creator."""
    return f"trigger:{trigger_id}"


class InboundTriggers:
    """Turns verified webhook calls and valid queue messages into (deduplicated) runs."""

    def __init__(
        self, triggers: TriggerRepository, runs: RunSubmitter, clock: Clock, settings: TriggerSettings
    ) -> None:
        self._triggers = triggers
        self._runs = runs
        self._clock = clock
        self._settings = settings

    # -- inbound webhook --------------------------------------------------------------------------

    def receive_webhook(self, trigger_id: str, headers: Mapping[str, str], raw_body: bytes) -> WebhookAccepted:
        """Verify a webhook call and start (or find, for a replayed ``webhook-id``) its run. A replay
        whose run was deleted starts nothing: the answer names that run, with no status.

        Checked in this order: body size (PayloadTooLarge), an enabled webhook trigger (NotFound),
        the Standard Webhooks headers and signature (Unauthorized), a JSON object body
        (ValidationFailed). The size comes first so an oversized body costs no lookup or HMAC.
        """
        limit = self._settings.webhook_max_body_bytes
        if len(raw_body) > limit:
            raise PayloadTooLarge(f"the webhook body is {len(raw_body)} bytes; the limit is {limit} bytes")
        found = self._triggers.find_webhook(trigger_id)
        if found is None or not found[0].enabled:
            raise NotFound("webhook trigger", trigger_id)
        trigger, secret = found
        try:
            webhook_id = verify(
                secret,
                headers,
                raw_body,
                now=self._clock.now(),
                tolerance_seconds=self._settings.webhook_tolerance_seconds,
            )
        except SignatureRejected as rejected:
            raise Unauthorized(rejected.reason) from None
        payload = _json_object(raw_body)
        run_input = WorkflowRunInput(dynamic_variables=payload, miscellaneous={WEBHOOK_PAYLOAD_KEY: payload})
        try:
            run = self._runs.submit(
                Caller(trigger.team_id or "", triggered_by(trigger_id)),
                trigger.workflow_id,
                None,
                run_input,
                RunTrigger(type=TriggerType.WEBHOOK, trigger_id=trigger_id, message_id=webhook_id),
                dedupe_key=f"webhook:{trigger_id}:{webhook_id}",
            )
        except AlreadyProcessed as duplicate:
            logger.info("webhook %s of trigger %s: replay of a deleted run, nothing started", webhook_id, trigger_id)
            return WebhookAccepted(run_id=duplicate.target_id, status=None)
        return WebhookAccepted(
            run_id=run.stored_id, status=run.workflow_run.status, queue_position=run.workflow_run.queue_position
        )

    # -- trigger queue ----------------------------------------------------------------------------

    def start_from_queue_message(self, message_id: str, body: str) -> WorkflowRunsModel | None:
        """Start (or find, for a duplicate) the run a trigger-queue message asks for; None for a
        duplicate whose run was deleted since (nothing started: the message is done).

        Raises InvalidTriggerMessage when the message can never succeed as it stands (bad JSON or
        fields, no enabled SQS trigger on the workflow, a missing workflow or version); anything else
        raised (the store unreachable) is transient. Both leave the message for redelivery and,
        after the queue's max receive count, the dead-letter queue.
        """
        message = parse_queue_message(body)
        trigger = self._triggers.find_sqs_trigger(message.workflow_id)
        if trigger is None:
            raise InvalidTriggerMessage(f"workflow {message.workflow_id} does not exist or has no SQS trigger")
        if not trigger.enabled:
            raise InvalidTriggerMessage(f"the SQS trigger of workflow {message.workflow_id} is disabled")
        if message.idempotency_key is not None:
            dedupe_key = f"sqs:{message.workflow_id}:{message.idempotency_key}"
        else:
            dedupe_key = f"sqs-message:{message_id}"
        try:
            run = self._runs.submit(
                Caller(trigger.team_id or "", triggered_by(str(trigger.id))),
                message.workflow_id,
                message.version,
                message.run_input.to_run_input(),
                RunTrigger(
                    type=TriggerType.SQS,
                    trigger_id=trigger.id,
                    message_id=message_id,
                    idempotency_key=message.idempotency_key,
                ),
                dedupe_key=dedupe_key,
            )
        except AlreadyProcessed as duplicate:
            logger.info("trigger message %s: %s; nothing started", message_id, duplicate.message)
            return None
        except NotFound as missing:
            raise InvalidTriggerMessage(missing.message) from None
        return run


def parse_queue_message(body: str) -> TriggerQueueMessage:
    """The message a queue body holds; InvalidTriggerMessage names every problem otherwise."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidTriggerMessage("the message body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidTriggerMessage(f"the message body is a JSON {type(document).__name__}, not an object")
    unstorable = first_unstorable(document)
    if unstorable is not None:
        where = ".".join(str(part) for part in unstorable.path) or "body"
        raise InvalidTriggerMessage(f"the message body holds {unstorable.message} at {where}")
    try:
        return TriggerQueueMessage.model_validate(document)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in invalid.errors(include_url=False)
        )
        raise InvalidTriggerMessage(f"invalid message fields: {problems}") from None


def _json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed(FieldProblem(("body",), "JSON decode error", "json_invalid")) from None
    if not isinstance(payload, dict):
        raise ValidationFailed(FieldProblem(("body",), "the webhook body must be a JSON object", "dict_type"))
    reject_unstorable_json(payload)
    return payload
